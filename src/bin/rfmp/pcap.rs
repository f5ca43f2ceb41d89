//! `rfmp transcript --pcap FILE`: the teaching session as a capture for
//! Wireshark, with its key log ([`rfmp::teach::pcap::write_session`]).

use crate::CliResult;
use clap::ValueEnum;
use rfmp::handshake::session::Algorithm;
use std::path::{Path, PathBuf};

/// `transcript --cipher`: which teaching session to capture.
#[derive(Clone, Copy, ValueEnum)]
pub enum PcapCipher {
    /// The unsecured session: its key log has no line.
    None,
    /// The Caesar session.
    Caesar,
    /// The AES session.
    Aes,
}

/// Write the capture to `pcap` and its key log to `<pcap>.keys`, then say
/// where they are and the `tshark` command that reads them.
///
/// # Errors
/// Those of [`rfmp::teach::pcap::write_session`]: a file that cannot be
/// written.
pub fn write(pcap: &Path, cipher: PcapCipher) -> CliResult<()> {
    let algorithm = match cipher {
        PcapCipher::None => None,
        PcapCipher::Caesar => Some(Algorithm::Caesar),
        PcapCipher::Aes => Some(Algorithm::Aes),
    };
    let mut keys = pcap.as_os_str().to_owned();
    keys.push(".keys");
    let keys = PathBuf::from(keys);
    rfmp::teach::pcap::write_session(algorithm, pcap, &keys)?;
    println!("capture: {}", pcap.display());
    println!("key log: {}", keys.display());
    println!("read it with the dissector of contrib/wireshark (Wireshark 4.0 or later):");
    println!(
        "    tshark -X lua_script:contrib/wireshark/rfmp.lua -o rfmp.keylog_file:{} -r {}",
        keys.display(),
        pcap.display()
    );
    Ok(())
}
