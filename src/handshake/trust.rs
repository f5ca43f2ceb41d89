//! Trusting the server's key (step 9.a): remember it, as OpenSSH does.
//!
//! Nothing in the CC packet proves that the key in it is the server's: a
//! man in the middle can send its own key, read the session secret, and
//! run a second handshake with the real server (`lessons/05-ciphers.md`).
//! TLS answers this with certificates signed by an authority; SSH with
//! *trust on first use* (TOFU): the client remembers each server's key the
//! first time and refuses loudly if it ever changes. rfmp does what SSH
//! does:
//!
//! - The server keeps one key across restarts, in its data directory
//!   ([`load_or_create_server_key`]), readable by its owner only, and prints
//!   the key's fingerprint when it starts.
//! - The client keeps a *known-servers* file ([`KnownServers`]): one line per
//!   server, `host:port` and the SHA-256 fingerprint of its key's SPKI
//!   ([`crate::handshake::helpers::fingerprint`]). On first contact it
//!   remembers the key and says so; on a later contact with another key it
//!   refuses before it sends the EC packet, naming both fingerprints and
//!   the line to remove if the change is expected.
//! - A user who got the fingerprint some other way (the server's operator
//!   read it out) can pin it from the start: [`check_pin`].
//!
//! What TOFU does not protect: the very first connection. A man in the
//! middle there is remembered as the server. That is why the first use is
//! announced, with the fingerprint, for the user to compare.
//!
//! # The known-servers file
//! UTF-8 text, one entry per line, `#` starts a comment line:
//!
//! ```text
//! # rfmp known servers: host:port SHA-256 fingerprint of the server's key
//! 127.0.0.1:25565 SHA256:kP3MUTo0cd2U+4jNaiQx0m3ZS8x8b7JXbf7Nx8hTQdI
//! ```

use crate::error::{Error, Result};
use crate::handshake::helpers::{generate_key, os_rng, private_key_from_pem, private_key_to_pem};
use rsa::PrivateKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name of the server's key file in its data directory.
pub const SERVER_KEY_FILE: &str = "server-key.pem";

/// The largest known-servers file read, in bytes (about 10,000 entries):
/// a larger one is refused rather than read into memory.
pub const MAX_KNOWN_SERVERS_BYTES: u64 = 1024 * 1024;

/// What the known-servers file says about a server's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No entry for this server yet: trust on first use (and remember it).
    FirstUse,
    /// The remembered key: all is well.
    Known,
    /// Another key than the remembered one: refuse, unless the user says
    /// the change was expected.
    Changed {
        /// The fingerprint remembered for this server.
        remembered: String,
        /// The line of the file that holds it (from 1), to remove if the
        /// change is expected.
        line: usize,
    },
}

/// A client's known-servers file: `host:port` and the fingerprint of the
/// server key first seen there.
#[derive(Debug, Clone)]
pub struct KnownServers {
    path: PathBuf,
    /// (line number from 1, server, fingerprint), in file order.
    entries: Vec<(usize, String, String)>,
}

impl KnownServers {
    /// Read the file at `path`; a missing file is an empty list.
    ///
    /// # Errors
    /// [`Error::Storage`] naming the path when the file cannot be read, is
    /// larger than [`MAX_KNOWN_SERVERS_BYTES`], is not UTF-8, or has a line
    /// that is not `host:port SHA256:<base64>`.
    pub fn open(path: impl Into<PathBuf>) -> Result<KnownServers> {
        let path = path.into();
        let text = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(storage("read", &path, e)),
            Ok(meta) if meta.len() > MAX_KNOWN_SERVERS_BYTES => {
                return Err(Error::Storage(format!(
                    "{} is {} bytes, more than the {MAX_KNOWN_SERVERS_BYTES} a known-servers \
                     file may have",
                    path.display(),
                    meta.len()
                )));
            }
            Ok(_) => std::fs::read_to_string(&path).map_err(|e| storage("read", &path, e))?,
        };
        let mut entries = Vec::new();
        for (at, line) in text.lines().enumerate() {
            let line_number = at + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parsed = line
                .split_once(' ')
                .filter(|(server, fp)| is_server(server) && is_fingerprint(fp.trim()));
            let Some((server, fp)) = parsed else {
                return Err(Error::Storage(format!(
                    "{} line {line_number}: expected `host:port SHA256:<base64>`, found {line:?}",
                    path.display()
                )));
            };
            entries.push((line_number, server.to_string(), fp.trim().to_string()));
        }
        Ok(KnownServers { path, entries })
    }

    /// The file this list lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The fingerprint remembered for `server` (`host:port`), if any.
    pub fn remembered(&self, server: &str) -> Option<&str> {
        self.entry(server).map(|(_, _, fp)| fp.as_str())
    }

    /// Compare the key `server` presented (its fingerprint) with the one
    /// remembered for it.
    pub fn check(&self, server: &str, presented: &str) -> Verdict {
        match self.entry(server) {
            None => Verdict::FirstUse,
            Some((_, _, fp)) if fp == presented => Verdict::Known,
            Some((line, _, fp)) => Verdict::Changed {
                remembered: fp.clone(),
                line: *line,
            },
        }
    }

    /// Remember `fingerprint` for `server`, appending a line to the file
    /// (created, readable by its owner only, with a comment line that says
    /// what it is). The whole file is written to a temporary file and
    /// renamed over the old one, so a crash never leaves half a file.
    ///
    /// # Errors
    /// [`Error::Storage`] for a server that is not `host:port` or a
    /// fingerprint that is not `SHA256:<base64>`, and naming the path when
    /// the file cannot be written.
    pub fn remember(&mut self, server: &str, fingerprint: &str) -> Result<()> {
        if !is_server(server) || !is_fingerprint(fingerprint) {
            return Err(Error::Storage(format!(
                "cannot remember {server:?} {fingerprint:?}: expected host:port and \
                 SHA256:<base64>"
            )));
        }
        let old = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                "# rfmp known servers: host:port SHA-256 fingerprint of the server's key\n".into()
            }
            Err(e) => return Err(storage("read", &self.path, e)),
        };
        let mut text = old;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("{server} {fingerprint}\n"));
        write_private_file(&self.path, text.as_bytes(), true)?;
        let line = text.lines().count();
        self.entries
            .push((line, server.to_string(), fingerprint.to_string()));
        Ok(())
    }

    fn entry(&self, server: &str) -> Option<&(usize, String, String)> {
        self.entries.iter().find(|(_, s, _)| s == server)
    }
}

/// Check a pinned fingerprint (`--server-fingerprint SHA256:...`) against
/// the key the server presented in its CC packet (step 9.a).
///
/// # Errors
/// [`Error::KeyMismatch`] naming both fingerprints when they differ.
pub fn check_pin(pinned: &str, presented: &str) -> Result<()> {
    if pinned == presented {
        Ok(())
    } else {
        Err(Error::KeyMismatch(format!(
            "the server presented the key {presented}, but {pinned} was pinned: a man in the \
             middle, or the wrong server"
        )))
    }
}

/// The refusal for [`Verdict::Changed`], as OpenSSH words it: both
/// fingerprints, and the line to remove if the change is expected.
pub fn changed_key_error(
    server: &str,
    presented: &str,
    remembered: &str,
    file: &Path,
    line: usize,
) -> Error {
    Error::KeyMismatch(format!(
        "the key of {server} has CHANGED: it presented {presented}, but {remembered} is \
         remembered ({}:{line}). Someone may be in the middle, reading everything. If the \
         server's key really changed, remove line {line} of {} and connect again.",
        file.display(),
        file.display()
    ))
}

/// The server's long-lived key: read from `data_dir/server-key.pem`, or
/// created there (RSA-2048, PKCS#8 PEM, readable by its owner only) when
/// there is none. Returns the key and whether it was created now.
///
/// # Errors
/// [`Error::Storage`] naming the path when the directory or file cannot
/// be read or written, or when the file can be read by others than its
/// owner (as OpenSSH refuses an unprotected private key: `chmod 600` it);
/// [`Error::BadPrivateKey`] when it is not a PKCS#8 PEM RSA key.
pub fn load_or_create_server_key(data_dir: &Path) -> Result<(PrivateKey, bool)> {
    let path = data_dir.join(SERVER_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(pem) => {
            refuse_if_readable_by_others(&path)?;
            Ok((private_key_from_pem(&pem)?, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| storage("create the directory", data_dir, e))?;
            let key = generate_key(&mut os_rng())?;
            write_private_file(&path, private_key_to_pem(&key)?.as_bytes(), false)?;
            Ok((key, true))
        }
        Err(e) => Err(storage("read", &path, e)),
    }
}

/// Read a private key file (`--key`), refusing one that others can read.
///
/// # Errors
/// As [`load_or_create_server_key`], for an existing file.
pub fn load_private_key(path: &Path) -> Result<PrivateKey> {
    let pem = std::fs::read_to_string(path).map_err(|e| storage("read", path, e))?;
    refuse_if_readable_by_others(path)?;
    private_key_from_pem(&pem)
}

/// Write a private key file (`rfmp keygen`): PKCS#8 PEM, readable by its
/// owner only, never over an existing file.
///
/// # Errors
/// [`Error::Storage`] naming the path when it exists or cannot be written.
pub fn save_private_key(path: &Path, key: &PrivateKey) -> Result<()> {
    write_private_file(path, private_key_to_pem(key)?.as_bytes(), false)
}

/// On Unix, refuse a file whose mode lets its group or others read it.
fn refuse_if_readable_by_others(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| storage("read", path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::Storage(format!(
                "{} holds a private key but others can read it (mode {:o}): run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Write `bytes` to `path`, readable by its owner only (mode 0600 on
/// Unix): to a temporary file beside it, flushed to disk, then renamed
/// over `path` when `replace`, or linked as `path` only if there is none.
fn write_private_file(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let suffix: u64 = rand::RngExt::random(&mut os_rng());
    let temporary = dir.join(format!(".{name}.{suffix:016x}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let placed = written.and_then(|()| {
        if replace {
            std::fs::rename(&temporary, path)
        } else {
            // A hard link fails if `path` exists: nothing is overwritten.
            std::fs::hard_link(&temporary, path)
        }
    });
    let _ = std::fs::remove_file(&temporary);
    placed.map_err(|e| storage("write", path, e))
}

fn storage(operation: &str, path: &Path, error: std::io::Error) -> Error {
    Error::Storage(format!("could not {operation} {}: {error}", path.display()))
}

/// `host:port` with a numeric port and no spaces.
fn is_server(text: &str) -> bool {
    text.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && !host.contains(char::is_whitespace) && port.parse::<u16>().is_ok()
    })
}

/// `SHA256:` and 43 characters of unpadded base64 (32 bytes).
fn is_fingerprint(text: &str) -> bool {
    text.strip_prefix("SHA256:").is_some_and(|b64| {
        b64.len() == 43
            && b64
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
    })
}
