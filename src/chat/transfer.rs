//! Sending a file: a large message, cut into chunks, checked end to end.
//!
//! A file travels as one `file-start` message (name, size), then
//! `file-chunk` messages of at most [`CHUNK_BYTES`] raw bytes each, then one
//! `file-end` message with the SHA-256 of all the bytes (see
//! [`crate::chat::messages`]). The sender computes the hash while it sends, so it
//! reads the file once and the first byte leaves at once; like HTTP's
//! trailers, the check comes after the data it checks. Each chunk is one link message, which the link cuts
//! into about 94 frames of 700 bytes (with AES) and the receiver
//! reassembles; the receiver writes chunks to disk as they come, so memory
//! stays at one chunk however large the file is.
//!
//! Three checks protect the receiver:
//! - **Size**: a file larger than the receiver's cap is refused from its
//!   `file-start`, before any byte is stored, and bytes beyond the announced
//!   size are an error.
//! - **Integrity**: the SHA-256 of all bytes received must equal the one in
//!   `file-end`. The frames are already checked (CRC, and AES-EAX tags), so
//!   this catches bugs above the link: a lost, repeated or reordered chunk.
//! - **Names**: the sender's file name is only a suggestion.
//!   [`safe_file_name`] keeps its last component and plain characters, so
//!   `../../etc/passwd` becomes `passwd` inside the receive directory, and an
//!   existing file is never overwritten: the new one gets ` (1)`, ` (2)`...
//!   The file appears under its final name only when complete and checked.
//!
//! # Files to people
//! A `file-start` that names a `room` or a `user` sends the file to people
//! rather than to the server alone: [`shelf`] keeps it for them to fetch.

use crate::chat::messages::{Envelope, encode};
use crate::error::{Error, Result};
use crate::files::safe_file_name;
use crate::link::Link;
use rand::RngExt;
use rsa::sha2::{Digest, Sha256};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub mod shelf;

use shelf::ShareWith;

/// The most file bytes in one `file-chunk` message: 64 KiB.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The default cap on a file's size: 64 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// What `file-start` announces: `{"name":"notes.txt","size":1036}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOffer {
    /// The file name the sender suggests.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// What `file-end` carries: `{"sha256":"<64 hex digits>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEnd {
    /// SHA-256 of all the file's bytes, 64 lower-case hex digits.
    pub sha256: String,
}

/// What `file-saved` confirms, and what [`send_file`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// The file name (as suggested by the sender, or as saved).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, 64 lower-case hex digits.
    pub sha256: String,
}

/// The size and SHA-256 (hex) of the file at `path`, read in chunks.
///
/// # Errors
/// [`Error::File`] naming `path` when the file cannot be opened or read.
pub fn sha256_file(path: &Path) -> Result<(u64, String)> {
    let mut file = File::open(path).map_err(Error::file("open", path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; CHUNK_BYTES];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(Error::file("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Queue the file at `path` on `link`: `file-start`, its chunks, and
/// `file-end` with the SHA-256, computed on the way. Each envelope carries
/// `token`, the session token from login (the server accepts files only
/// from a logged-in user; [`crate::chat::client::Client::send_file`] fills it in).
///
/// `progress` is called with the number of bytes queued so far after each
/// chunk (the link's queue is bounded, so queued is at most a few MiB ahead
/// of sent). The answer (`file-saved` or `error`) arrives later as a message.
///
/// # Errors
/// - [`Error::MessageTooLarge`] when the file is larger than `max_bytes`.
/// - [`Error::File`] naming `path` when the file cannot be opened or read,
///   or gets shorter while it is sent.
/// - The link's errors.
pub fn send_file(
    link: &Link,
    token: Option<&str>,
    path: &Path,
    max_bytes: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<FileInfo> {
    send_file_to(link, token, path, &ShareWith::default(), max_bytes, progress)
}

/// [`send_file`], for the people in `to` (a room's members, or one user):
/// its fields go in `file-start` beside the name and size,
/// `{"name":"notes.txt","room":"study","size":1036}`. The server keeps the
/// file on its shelf ([`Shelf`](shelf::Shelf)) and tells them (`file-offered`).
///
/// # Errors
/// As [`send_file`].
pub fn send_file_to(
    link: &Link,
    token: Option<&str>,
    path: &Path,
    to: &ShareWith,
    max_bytes: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<FileInfo> {
    let mut file = File::open(path).map_err(Error::file("open", path))?;
    let size = file.metadata().map_err(Error::file("read the size of", path))?.len();
    if size > max_bytes {
        return Err(Error::MessageTooLarge(format!(
            "{} is {size} bytes; files are limited to {max_bytes} bytes",
            path.display()
        )));
    }
    let name =
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
    let offer = FileOffer { name: name.clone(), size };
    let mut data = serde_json::to_value(&offer).unwrap_or_default();
    if let (Some(fields), Ok(serde_json::Value::Object(to))) =
        (data.as_object_mut(), serde_json::to_value(to))
    {
        fields.extend(to);
    }
    let start = Envelope::new("file-start", data).with_token(token);
    link.send(encode(&start, b""))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; CHUNK_BYTES];
    let mut sent = 0u64;
    while sent < size {
        let want = CHUNK_BYTES.min((size - sent) as usize);
        file.read_exact(&mut buffer[..want]).map_err(|e| {
            let e = match e.kind() {
                std::io::ErrorKind::UnexpectedEof => std::io::Error::new(
                    e.kind(),
                    format!("it got shorter than {size} bytes while it was sent"),
                ),
                _ => e,
            };
            Error::file("read", path)(e)
        })?;
        hasher.update(&buffer[..want]);
        let chunk = Envelope::new("file-chunk", serde_json::Value::Null).with_token(token);
        link.send(encode(&chunk, &buffer[..want]))?;
        sent += want as u64;
        progress(sent);
    }
    let sha256 = hex::encode(hasher.finalize());
    let end = FileEnd { sha256: sha256.clone() };
    let end =
        Envelope::new("file-end", serde_json::to_value(&end).unwrap_or_default()).with_token(token);
    link.send(encode(&end, b""))?;
    Ok(FileInfo { name, size, sha256 })
}

/// The receiving side of file transfers on one connection: one file at a
/// time, written to a temporary file and moved to its final name when
/// complete and checked.
#[derive(Debug)]
pub struct FileReceiver {
    dir: PathBuf,
    max_bytes: u64,
    current: Option<Receiving>,
}

#[derive(Debug)]
enum Receiving {
    /// Storing a file.
    File { offer: FileOffer, received: u64, hasher: Sha256, temp_path: PathBuf, temp: File },
    /// Refused or failed (the error was already reported): swallow its
    /// chunks until its `file-end`.
    Refused,
}

impl FileReceiver {
    /// Receive files into `dir` (created when the first file arrives), each
    /// at most `max_bytes`.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> FileReceiver {
        FileReceiver { dir: dir.into(), max_bytes, current: None }
    }

    /// A `file-start` arrived: check it and open a temporary file.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] over the cap; [`Error::Protocol`] for a
    /// transfer already in progress; [`Error::File`] naming the directory
    /// or the temporary file when it cannot be created. After an error the
    /// transfer's chunks are swallowed until its `file-end`, which gets no
    /// second answer.
    pub fn start(&mut self, offer: FileOffer) -> Result<()> {
        if self.current.is_some() {
            self.fail();
            return Err(Error::Protocol(
                "a file-start arrived before the previous file-end".into(),
            ));
        }
        if offer.size > self.max_bytes {
            self.current = Some(Receiving::Refused);
            return Err(Error::MessageTooLarge(format!(
                "{} is {} bytes; this server accepts files up to {} bytes",
                offer.name, offer.size, self.max_bytes
            )));
        }
        let opened = std::fs::create_dir_all(&self.dir)
            .map_err(Error::file("create the directory", &self.dir))
            .and_then(|()| {
                let temp_path = self.dir.join(format!(
                    ".{}.part-{:016x}",
                    safe_file_name(&offer.name),
                    rand::rng().random::<u64>()
                ));
                let temp = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&temp_path)
                    .map_err(Error::file("create", &temp_path))?;
                Ok((temp_path, temp))
            });
        match opened {
            Ok((temp_path, temp)) => {
                self.current = Some(Receiving::File {
                    offer,
                    received: 0,
                    hasher: Sha256::new(),
                    temp_path,
                    temp,
                });
                Ok(())
            }
            Err(error) => {
                self.current = Some(Receiving::Refused);
                Err(error)
            }
        }
    }

    /// A `file-chunk` arrived with `bytes`: write them and hash them.
    ///
    /// # Errors
    /// [`Error::Protocol`] for a chunk with no file started, or more bytes
    /// than announced; [`Error::File`] naming the temporary file when
    /// writing fails. The partial file is deleted, and the rest of the
    /// transfer swallowed.
    pub fn chunk(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(Receiving::File { offer, received, hasher, temp, temp_path }) = &mut self.current
        else {
            return match self.current {
                Some(Receiving::Refused) => Ok(()),
                _ => {
                    Err(Error::Protocol("a file-chunk arrived with no file-start before it".into()))
                }
            };
        };
        if *received + bytes.len() as u64 > offer.size {
            let error = Error::Protocol(format!(
                "more bytes than the {} announced for {}",
                offer.size, offer.name
            ));
            self.fail();
            return Err(error);
        }
        if let Err(e) = temp.write_all(bytes) {
            let error = Error::file("write", temp_path)(e);
            self.fail();
            return Err(error);
        }
        hasher.update(bytes);
        *received += bytes.len() as u64;
        Ok(())
    }

    /// The `file-end` arrived: check the size and the SHA-256, and move the
    /// file into place under a safe name that does not exist yet. Returns
    /// `None` for a transfer that had already failed (its error was
    /// reported then).
    ///
    /// # Errors
    /// [`Error::Protocol`] with no file started, or fewer bytes than
    /// announced; [`Error::NotConfirmed`] when the SHA-256 does not match;
    /// [`Error::File`] naming the file that cannot be synced, created or
    /// moved. The partial file is deleted in every case.
    pub fn end(&mut self, end: FileEnd) -> Result<Option<FileInfo>> {
        let (offer, received, hasher, temp_path, temp) = match self.current.take() {
            Some(Receiving::File { offer, received, hasher, temp_path, temp }) => {
                (offer, received, hasher, temp_path, temp)
            }
            Some(Receiving::Refused) => return Ok(None),
            None => {
                return Err(Error::Protocol(
                    "a file-end arrived with no file-start before it".into(),
                ));
            }
        };
        let result = (|| {
            if received != offer.size {
                return Err(Error::Protocol(format!(
                    "{}: {received} bytes arrived, {} were announced",
                    offer.name, offer.size
                )));
            }
            temp.sync_all().map_err(Error::file("write", &temp_path))?;
            drop(temp);
            let actual = hex::encode(hasher.finalize());
            if !actual.eq_ignore_ascii_case(&end.sha256) {
                return Err(Error::NotConfirmed(format!(
                    "{}: SHA-256 of the bytes received is {actual}, the sender's is {}",
                    offer.name, end.sha256
                )));
            }
            let name = place(&self.dir, &safe_file_name(&offer.name), &temp_path)?;
            Ok(Some(FileInfo { name, size: offer.size, sha256: actual }))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp_path);
        }
        result
    }

    /// Refuse the transfer that is starting (its `file-start` could not be
    /// read): its chunks and its `file-end` are swallowed, so the sender
    /// gets one `error` for the whole file, not one per chunk.
    pub fn refuse(&mut self) {
        self.fail();
    }

    /// Give up the file in progress: delete what was written, and swallow
    /// the rest of its transfer.
    fn fail(&mut self) {
        self.abort();
        self.current = Some(Receiving::Refused);
    }

    /// Give up the file in progress, deleting what was written.
    pub fn abort(&mut self) {
        if let Some(Receiving::File { temp_path, .. }) = self.current.take() {
            let _ = std::fs::remove_file(temp_path);
        }
    }
}

impl Drop for FileReceiver {
    /// A connection that ends mid-file leaves no partial file behind.
    fn drop(&mut self) {
        self.abort();
    }
}

/// Move `temp` to `dir/name`, or `dir/name (1)`, `(2)`... whichever does not
/// exist yet; returns the name used. The name is claimed with `create_new`
/// (which fails if the file exists, atomically) before the rename, so an
/// existing file is never replaced.
fn place(dir: &Path, name: &str, temp: &Path) -> Result<String> {
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    };
    for n in 0..1000 {
        let candidate = if n == 0 { name.to_string() } else { format!("{stem} ({n}){extension}") };
        let path = dir.join(&candidate);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => {
                std::fs::rename(temp, &path).map_err(Error::file("move the file to", &path))?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::file("create", &path)(e)),
        }
    }
    Err(Error::file("create", &dir.join(name))(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{name} and 999 numbered copies already exist"),
    )))
}
