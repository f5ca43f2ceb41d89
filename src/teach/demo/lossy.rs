//! The demo's lossy-link section: the real link on both sides, over a
//! link that damages and drops frames on purpose, every frame and every
//! reaction shown.

use super::DEMO_LARGE_MESSAGE_BYTES;
use super::chat::short_frame;
use crate::error::{Error, Result};
use crate::handshake::framing::Connection;
use crate::handshake::helpers::os_rng;
use crate::handshake::keys::ServerKey;
use crate::handshake::session::Algorithm;
use crate::link::frames::Direction;
use crate::link::reliable::Delivery;
use crate::link::{Fault, Faults, Link, LinkConfig, Trace};
use crate::teach::narrate::Narrator;
use rsa::PrivateKey;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;

/// The fault section: the real [`Link`] on both sides, over a link that
/// damages and drops frames on purpose, with every frame and every reaction
/// shown.
pub(super) fn run_faults(
    n: &mut Narrator,
    faults: Faults,
    server_key: &ServerKey,
    client_key: &PrivateKey,
) -> Result<()> {
    n.banner("A lossy link: damaged and dropped frames, recovered")?;
    n.say(&format!(
        "Both sides now run the real link (src/link/mod.rs) over AES, and each side's \
         sender damages {:.0}% of frames (one bit flipped) and drops {:.0}% \
         (fault seed {}). The client sends a {DEMO_LARGE_MESSAGE_BYTES}-byte \
         message (3 fragments) and two short ones; the server echoes them.",
        faults.corrupt_rate * 100.0,
        faults.drop_rate * 100.0,
        faults.seed
    ))?;
    let (trace_tx, trace) = mpsc::channel();
    let config = LinkConfig { faults, trace: Some(trace_tx), ..LinkConfig::default() };
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server_config = config.clone();
    let server = thread::scope(|scope| -> Result<Vec<Vec<u8>>> {
        let server = scope.spawn(move || -> Result<()> {
            let (stream, _) = listener.accept()?;
            let accepted = crate::handshake::server::handshake(
                Connection::new(stream),
                server_key,
                &mut os_rng(),
            )?;
            let link = Link::start(accepted.session, Direction::ServerToClient, server_config)?;
            loop {
                match link.receive()? {
                    Delivery::Message(message) => link.try_send(message)?,
                    Delivery::End => return link.close(),
                }
            }
        });
        let mode = crate::handshake::client::Mode::Secured {
            algorithm: Algorithm::Aes,
            client_public_key: client_key.to_public_key(),
        };
        let stream = TcpStream::connect(addr)?;
        let (session, _) =
            crate::handshake::client::handshake(Connection::new(stream), &mode, &mut os_rng())?;
        let link = Link::start(session, Direction::ClientToServer, config)?;
        let large: Vec<u8> = (0..DEMO_LARGE_MESSAGE_BYTES).map(|i| b'a' + (i % 26) as u8).collect();
        let sent = [large, b"second".to_vec(), b"third".to_vec()];
        for message in &sent {
            link.send(message.clone())?;
        }
        let mut echoes = Vec::new();
        for _ in &sent {
            match link.receive()? {
                Delivery::Message(echo) => echoes.push(echo),
                Delivery::End => break,
            }
        }
        link.close()?;
        server
            .join()
            .map_err(|_| Error::Internal("the demo's server thread panicked".into()))??;
        Ok(echoes)
    });
    let echoes = server?;
    for (direction, event) in trace.try_iter() {
        let side = match direction {
            Direction::ClientToServer => "client",
            Direction::ServerToClient => "server",
        };
        match event {
            Trace::Wrote { frame, fault, retransmission } => {
                let again = if retransmission { " (again)" } else { "" };
                n.detail(&format!("{side} wrote{again} {}", short_frame(&frame)))?;
                match fault {
                    Fault::None => {}
                    Fault::Dropped => {
                        n.eavesdropper("DROPPED on the way: the peer never sees it")?
                    }
                    Fault::Corrupted { byte, bit } => n.eavesdropper(&format!(
                        "DAMAGED on the way: bit {bit} of byte {byte} flipped"
                    ))?,
                }
            }
            Trace::Damaged { reason } => {
                n.detail(&format!("{side} got a damaged frame ({reason}): it asks again with NK"))?
            }
            Trace::Delivered { bytes } => {
                n.detail(&format!("{side} delivered a whole message of {bytes} bytes"))?
            }
        }
    }
    let intact = echoes.len() == 3 && echoes[0].len() == DEMO_LARGE_MESSAGE_BYTES;
    n.say(&format!(
        "All {} echoes came back intact and in order: {intact}. The CRC caught every \
         damaged frame and the sender resent it (on NK, or when its retransmission \
         timer expired for a dropped frame).",
        echoes.len()
    ))?;
    Ok(())
}
