//! Trusting the server's key, the one step 9.a reads: remember it, as OpenSSH does.
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
use crate::files::{Existing, Readers, write_atomically};
use crate::handshake::helpers::os_rng;
use crate::handshake::keys::{generate_key, read_private_key, write_key_pair};
use rsa::PrivateKey;
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
    /// [`Error::File`] naming the path when the file cannot be read (or is
    /// not UTF-8); [`Error::Storage`] naming the path when it is larger than
    /// [`MAX_KNOWN_SERVERS_BYTES`] or has a line that is not
    /// `host:port SHA256:<base64>`.
    pub fn open(path: impl Into<PathBuf>) -> Result<KnownServers> {
        let path = path.into();
        let text = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::file("read", &path)(e)),
            Ok(meta) if meta.len() > MAX_KNOWN_SERVERS_BYTES => {
                return Err(Error::Storage(format!(
                    "{} is {} bytes, more than the {MAX_KNOWN_SERVERS_BYTES} a known-servers \
                     file may have",
                    path.display(),
                    meta.len()
                )));
            }
            Ok(_) => std::fs::read_to_string(&path).map_err(Error::file("read", &path))?,
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
            Some((line, _, fp)) => Verdict::Changed { remembered: fp.clone(), line: *line },
        }
    }

    /// Remember `fingerprint` for `server`: a new line at the end of the
    /// file, or, when `server` is there already, its line replaced (the
    /// user accepted a changed key). The file is created readable by its
    /// owner only, with a comment line that says what it is, and written to
    /// a temporary file renamed over the old one, so a crash never leaves
    /// half a file.
    ///
    /// # Errors
    /// [`Error::Usage`] for a server that is not `host:port` or a
    /// fingerprint that is not `SHA256:<base64>`; [`Error::File`] naming the
    /// path when the file cannot be written.
    pub fn remember(&mut self, server: &str, fingerprint: &str) -> Result<()> {
        if !is_server(server) || !is_fingerprint(fingerprint) {
            return Err(Error::Usage(format!(
                "cannot remember {server:?} {fingerprint:?}: expected host:port and \
                 SHA256:<base64>"
            )));
        }
        let old = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                "# rfmp known servers: host:port SHA-256 fingerprint of the server's key\n".into()
            }
            Err(e) => return Err(Error::file("read", &self.path)(e)),
        };
        let entry = format!("{server} {fingerprint}");
        let replaced_line = self.entry(server).map(|(line, _, _)| *line);
        let mut lines: Vec<String> = old.lines().map(str::to_string).collect();
        match replaced_line {
            Some(line) if line <= lines.len() => lines[line - 1] = entry,
            _ => lines.push(entry),
        }
        let text = lines.join("\n") + "\n";
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(Error::file("create", dir))?;
        }
        write_private_file(&self.path, text.as_bytes(), true)?;
        // Read it back, so the line numbers are the file's own.
        *self = KnownServers::open(self.path.clone())?;
        Ok(())
    }

    fn entry(&self, server: &str) -> Option<&(usize, String, String)> {
        self.entries.iter().find(|(_, s, _)| s == server)
    }
}

/// What [`trust_server_key`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trusted {
    /// The key matches the fingerprint the user pinned.
    Pinned,
    /// The key is the one remembered for this server.
    Known,
    /// No key was remembered for this server: this one is now (trust on
    /// first use). Tell the user, with the fingerprint.
    FirstUse,
    /// The key changed and the user said to accept it: the new key
    /// replaced the remembered one, shown here.
    Replaced {
        /// The fingerprint remembered before.
        old: String,
    },
}

/// Decide whether to trust the key `server` presented (its fingerprint),
/// before anything secret is sent (the password comes after this): the
/// client's half of trust on first use, as OpenSSH checks `known_hosts`.
///
/// - With `pinned`, only that fingerprint is accepted ([`check_pin`]).
/// - Otherwise the known-servers file decides: a first use is remembered,
///   the remembered key passes, and a changed key is refused with both
///   fingerprints and the line to remove ([`changed_key_error`]), unless
///   `accept_changed` (the user says the server's key really changed): then
///   the new key replaces the old one.
///
/// # Errors
/// [`Error::KeyMismatch`] for a key that is not the pinned or remembered
/// one; the errors of [`KnownServers::remember`].
pub fn trust_server_key(
    known: &mut KnownServers,
    server: &str,
    presented: &str,
    pinned: Option<&str>,
    accept_changed: bool,
) -> Result<Trusted> {
    if let Some(pinned) = pinned {
        check_pin(pinned, presented)?;
        return Ok(Trusted::Pinned);
    }
    match known.check(server, presented) {
        Verdict::Known => Ok(Trusted::Known),
        Verdict::FirstUse => {
            known.remember(server, presented)?;
            Ok(Trusted::FirstUse)
        }
        Verdict::Changed { remembered, .. } if accept_changed => {
            known.remember(server, presented)?;
            Ok(Trusted::Replaced { old: remembered })
        }
        Verdict::Changed { remembered, line } => {
            Err(changed_key_error(server, presented, &remembered, known.path(), line))
        }
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
         server's key really changed, remove line {line} of {} (or pass \
         --accept-changed-server-key) and connect again.",
        file.display(),
        file.display()
    ))
}

/// The server's long-lived key: read from `data_dir/server-key.pem`, or
/// created there (RSA-2048, PKCS#8 PEM, readable by its owner only) when
/// there is none, with its public half beside it (`server-key.pem.pub`).
/// Returns the key and whether it was created now.
///
/// # Errors
/// Those of [`read_private_key`] (a file others can read is refused, as
/// OpenSSH refuses one) and [`write_key_pair`]; [`Error::File`] naming the
/// directory when it cannot be created.
pub fn load_or_create_server_key(data_dir: &Path) -> Result<(PrivateKey, bool)> {
    let path = data_dir.join(SERVER_KEY_FILE);
    if path.exists() {
        return Ok((read_private_key(&path)?, false));
    }
    std::fs::create_dir_all(data_dir).map_err(Error::file("create", data_dir))?;
    let key = generate_key(&mut os_rng())?;
    write_key_pair(&key, &path)?;
    Ok((key, true))
}

/// Write `bytes` to `path`, readable by its owner only (mode 0600 on
/// Unix), atomically (`src/files.rs`): replacing the old file when
/// `replace`, or only if there is none.
fn write_private_file(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    let existing = if replace { Existing::Replace } else { Existing::Keep };
    write_atomically(path, bytes, Readers::Owner, existing).map_err(Error::file("write", path))
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
        b64.len() == 43 && b64.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
    })
}
