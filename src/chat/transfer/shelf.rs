//! Files to people: the shelf where a shared file waits to be fetched.
//!
//! A `file-start` that names a `room` or a `user` ([`ShareWith`]) sends the
//! file to people: the server keeps it on its [`Shelf`] for a while
//! ([`ShelfLimits`]: 24 hours, 256 MiB per sender, 1 GiB in all), tells
//! the recipients (`file-offered`, a [`SharedFile`]), and each fetches it
//! with [`fetch_file`]: `file-get` requests ([`FileGet`]), each answered by
//! one `file-part` ([`FilePart`]) of at most [`CHUNK_BYTES`], the same
//! checks as [`super`]'s upload (size, SHA-256, a safe name, never
//! overwriting) on the fetcher's side. The shelf's index is saved in
//! [`SHELF_FILE`] beside the accounts, so a restarted server still offers
//! its files until they expire. `lessons/09b-people.md` follows one through.
//!
//! Why one long file: the shelf's budgets, expiry and saved index are one
//! piece of state under one lock, and the fetcher's side ([`fetch_file`])
//! is the mirror of its answers.

use super::{CHUNK_BYTES, FileInfo, place};
use crate::error::{Error, Result};
use crate::files::safe_file_name;
use chrono::{DateTime, Utc};
use rand::RngExt;
use rsa::sha2::{Digest, Sha256};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The default time a shared file stays on the shelf: 24 hours
/// (`rfmp server --file-expiry`, in seconds).
pub const DEFAULT_FILE_EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);

/// The default budget of one user's shared files on the shelf, all
/// together: 256 MiB (`rfmp server --file-budget-per-user`).
pub const DEFAULT_BUDGET_PER_USER: u64 = 256 * 1024 * 1024;

/// The default budget of all shared files on the shelf: 1 GiB
/// (`rfmp server --file-budget-total`).
pub const DEFAULT_BUDGET_TOTAL: u64 = 1024 * 1024 * 1024;

/// Who a file is for, sent in `file-start` beside [`FileOffer`](super::FileOffer)'s fields:
/// `{"name":"notes.txt","size":1036,"room":"study"}` offers it to the
/// members of `study`, `{"name":"notes.txt","size":1036,"user":"bob"}` to
/// bob alone. With neither (`send-file`), the file is for the server only,
/// as before files could go to people. Both at once are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareWith {
    /// A room the sender is in: its members (at the moment the file is
    /// complete) may fetch it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// A connected user: only they may fetch it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl ShareWith {
    /// True when the file goes to the server only.
    pub fn is_server_only(&self) -> bool {
        self.room.is_none() && self.user.is_none()
    }
}

/// A file on the shelf, as its recipients are told of it in the
/// `file-offered` event, and as its sender learns its id in `file-saved`:
///
/// ```text
/// {"action":"file-offered","data":{"expires":"2026-12-03T10:15:00Z","from":"alice",
///   "id":"5f0c2a9e","name":"notes.txt","room":"study","sha256":"<64 hex digits>","size":1036},"time":"..."}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedFile {
    /// What to ask for it with: `file-get` `{"id"}` (`/get ID`), 8 hex
    /// digits.
    pub id: String,
    /// Its name, as saved on the server ([`safe_file_name`]).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, 64 lower-case hex digits: the fetcher checks
    /// what it got against it.
    pub sha256: String,
    /// Who sent it (the server fills it in from the login).
    pub from: String,
    /// The room it was offered to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// The user it was offered to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// When the server deletes it (RFC 3339, UTC).
    pub expires: DateTime<Utc>,
}

/// `file-get` data: `{"id":"5f0c2a9e","offset":65536}`, a request for the
/// piece of a shared file that starts at `offset` (0 when omitted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileGet {
    /// The id from `file-offered`.
    pub id: String,
    /// The first byte wanted.
    #[serde(default)]
    pub offset: u64,
}

/// `file-part` data, the answer to `file-get`: the file's description and
/// at most [`CHUNK_BYTES`] of its bytes from `offset`, in base64:
///
/// ```text
/// {"action":"file-part","data":{"bytes":"aGVsbG8K","id":"5f0c2a9e","name":"notes.txt",
///   "offset":0,"sha256":"<64 hex digits>","size":6},"time":"..."}
/// ```
///
/// Why base64 here, when `file-chunk` carries raw bytes in an attachment:
/// each piece is the answer to one request, and the chat's answers are
/// envelopes, routed by [`crate::chat::client::Client`] as JSON alone. The
/// cost is a third more bytes on the way down; in exchange a fetch is a
/// plain series of requests, each with its answer, and the fetcher's
/// memory holds one piece at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePart {
    /// The file's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its whole size in bytes.
    pub size: u64,
    /// SHA-256 of all its bytes.
    pub sha256: String,
    /// Where these bytes start.
    pub offset: u64,
    /// The bytes, base64 (standard alphabet, padded); empty at the end.
    pub bytes: String,
}

/// How long shared files stay, and how many bytes of them the shelf holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShelfLimits {
    /// How long a file stays after it is complete ([`DEFAULT_FILE_EXPIRY`]).
    pub expiry: Duration,
    /// Most bytes of one sender's files at once ([`DEFAULT_BUDGET_PER_USER`]).
    pub per_user: u64,
    /// Most bytes of all files at once ([`DEFAULT_BUDGET_TOTAL`]).
    pub total: u64,
}

impl Default for ShelfLimits {
    /// 24 hours, 256 MiB per user, 1 GiB in all.
    fn default() -> ShelfLimits {
        ShelfLimits {
            expiry: DEFAULT_FILE_EXPIRY,
            per_user: DEFAULT_BUDGET_PER_USER,
            total: DEFAULT_BUDGET_TOTAL,
        }
    }
}

/// The shelf's index file's name inside the server's data directory.
pub const SHELF_FILE: &str = "shelf.json";

/// One file on the shelf.
#[derive(Debug)]
struct Shelved {
    file: SharedFile,
    /// Where it is on the server's disk.
    path: PathBuf,
    /// Who may fetch it: its sender, and its recipients.
    readers: BTreeSet<String>,
}

/// One file in the shelf's index file.
#[derive(Debug, Serialize, Deserialize)]
struct IndexEntry {
    file: SharedFile,
    readers: BTreeSet<String>,
}

/// The shelf's index file's contents:
/// `{"version":1,"files":[{"file":{"id":"5f0c2a9e",...},"readers":["alice","bob"]}]}`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct IndexFile {
    version: u32,
    files: Vec<IndexEntry>,
}

/// The server's shelf of files sent to people: each file stays until it
/// expires, and counts against its sender's budget and the total one
/// ([`ShelfLimits`]). Shared by every client thread (inside the
/// [`crate::chat::hub::Hub`]); its lock is held for lookups, opening a
/// file, and saving the index (a small file, written and synced at each
/// change), never while a file's bytes are read.
///
/// A file on the shelf is a file the [`FileReceiver`](super::FileReceiver) saved in the receive
/// directory; the shelf records who may fetch it and deletes it when it
/// expires. Expired files are removed by [`Shelf::sweep`], which every
/// budget check, new file and fetch runs first, and the server's sweeper
/// thread once a minute.
///
/// The server's shelf ([`Shelf::open`]) is saved in an index file,
/// `<data dir>/shelf.json` ([`SHELF_FILE`]), replaced atomically at every
/// change as the accounts file is ([`crate::chat::accounts`]), so a server
/// that restarts still offers its files until they expire.
#[derive(Debug)]
pub struct Shelf {
    dir: PathBuf,
    limits: ShelfLimits,
    files: Mutex<BTreeMap<String, Shelved>>,
    /// Where the index is saved; `None`: in memory only.
    index: Option<PathBuf>,
}

impl Shelf {
    /// A shelf for files saved in `dir` (the receive directory), in memory
    /// only.
    pub fn new(dir: impl Into<PathBuf>, limits: ShelfLimits) -> Shelf {
        Shelf { dir: dir.into(), limits, files: Mutex::new(BTreeMap::new()), index: None }
    }

    /// The server's shelf: for files saved in `dir`, with its index in
    /// `index` (read now if it exists, and saved at every change). Files
    /// of the index that expired by `now`, or whose file is gone, are
    /// dropped (and the expired ones deleted).
    ///
    /// # Errors
    /// [`Error::File`] when the index exists but cannot be read or
    /// rewritten; [`Error::Storage`] when it is not a shelf index (the
    /// server refuses to start rather than lose track of the files).
    pub fn open(
        dir: impl Into<PathBuf>,
        index: impl Into<PathBuf>,
        limits: ShelfLimits,
        now: DateTime<Utc>,
    ) -> Result<Shelf> {
        let mut shelf = Shelf::new(dir, limits);
        let index = index.into();
        let stored: IndexFile = match std::fs::read(&index) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Storage(format!("{} is not a shelf index: {e}", index.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => IndexFile::default(),
            Err(e) => return Err(Error::file("read", &index)(e)),
        };
        let listed = stored.files.len();
        let mut files = BTreeMap::new();
        for IndexEntry { file, readers } in stored.files {
            // A name that is not one plain file name is not ours: never
            // follow it out of the receive directory. (Not `safe_file_name`:
            // the names saved here may carry a ` (1)` that it would change.)
            if !is_plain_name(&file.name) {
                log::warn!(
                    "{}: skipped the entry {:?}, not a plain file name",
                    index.display(),
                    file.name
                );
                continue;
            }
            let path = shelf.dir.join(&file.name);
            if file.expires <= now {
                let _ = std::fs::remove_file(&path);
            } else if path.is_file() {
                let id = file.id.clone();
                files.insert(id, Shelved { file, path, readers });
            }
        }
        let changed = files.len() != listed;
        shelf.files = Mutex::new(files);
        shelf.index = Some(index);
        if changed {
            shelf.save(&shelf.lock())?;
        }
        Ok(shelf)
    }

    /// Write the index atomically (a temporary file, `fsync`, rename), if
    /// this shelf has one.
    fn save(&self, files: &BTreeMap<String, Shelved>) -> Result<()> {
        let Some(index) = &self.index else {
            return Ok(());
        };
        let contents = IndexFile {
            version: 1,
            files: files
                .values()
                .map(|s| IndexEntry { file: s.file.clone(), readers: s.readers.clone() })
                .collect(),
        };
        let bytes = serde_json::to_vec(&contents)
            .map_err(|e| Error::Internal(format!("cannot encode the shelf's index: {e}")))?;
        if let Some(dir) = index.parent() {
            std::fs::create_dir_all(dir).map_err(Error::file("create the directory", dir))?;
        }
        let temporary = index.with_extension("json.tmp");
        let _ = std::fs::remove_file(&temporary);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(&temporary).map_err(Error::file("create", &temporary))?;
        out.write_all(&bytes)
            .and_then(|()| out.sync_all())
            .map_err(Error::file("write", &temporary))?;
        drop(out);
        std::fs::rename(&temporary, index).map_err(Error::file("replace", index))?;
        Ok(())
    }

    /// The shelf's limits.
    pub fn limits(&self) -> ShelfLimits {
        self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Shelved>> {
        crate::sync::lock(&self.files)
    }

    /// Bytes counted against the budgets, `(sent by from, all together)`:
    /// each file's size, but at least 64 KiB ([`CHUNK_BYTES`]).
    pub fn used(&self, from: &str) -> (u64, u64) {
        let files = self.lock();
        let mine =
            files.values().filter(|s| s.file.from == from).map(|s| charge(s.file.size)).sum();
        (mine, files.values().map(|s| charge(s.file.size)).sum())
    }

    /// Check that a file of `size` bytes from `from` (counted as at least
    /// 64 KiB, one piece of [`CHUNK_BYTES`]) fits both budgets (after
    /// removing the files expired at `now`): at `file-start`, before any
    /// byte is stored, and again when the file is complete.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] (413) over the sender's budget,
    /// [`Error::ServerFull`] (503) over the total one; each says how much
    /// is used and when the next file expires.
    pub fn check_budget(&self, from: &str, size: u64, now: DateTime<Utc>) -> Result<()> {
        self.sweep(now);
        let size = charge(size);
        let files = self.lock();
        let mine: u64 =
            files.values().filter(|s| s.file.from == from).map(|s| charge(s.file.size)).sum();
        let all: u64 = files.values().map(|s| charge(s.file.size)).sum();
        let next_expiry = |only: Option<&str>| {
            files
                .values()
                .filter(|s| only.is_none_or(|who| s.file.from == who))
                .map(|s| s.file.expires)
                .min()
                .map(|at| format!("; the next expires at {}", at.format("%H:%M UTC")))
                .unwrap_or_default()
        };
        if mine.saturating_add(size) > self.limits.per_user {
            return Err(Error::MessageTooLarge(format!(
                "your files on offer take {mine} bytes, and {size} more would pass your \
                 budget of {} bytes{}",
                self.limits.per_user,
                next_expiry(Some(from))
            )));
        }
        if all.saturating_add(size) > self.limits.total {
            return Err(Error::ServerFull(format!(
                "the files on offer take {all} bytes, and {size} more would pass the \
                 server's budget of {} bytes{}",
                self.limits.total,
                next_expiry(None)
            )));
        }
        Ok(())
    }

    /// Put a file that the [`FileReceiver`](super::FileReceiver) saved as `saved` (in the
    /// receive directory) on the shelf: from `from`, for `readers` (its
    /// recipients; the sender is added), offered to `to`, expiring
    /// [`ShelfLimits::expiry`] after `now`. Returns what recipients are
    /// told. On an error the saved file is deleted.
    ///
    /// # Errors
    /// As [`Shelf::check_budget`] (another file may have taken the room
    /// while this one arrived).
    pub fn put(
        &self,
        saved: &FileInfo,
        from: &str,
        to: &ShareWith,
        readers: BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> Result<SharedFile> {
        let path = self.dir.join(&saved.name);
        if let Err(error) = self.check_budget(from, saved.size, now) {
            let _ = std::fs::remove_file(&path);
            return Err(error);
        }
        // In whole seconds: `"expires":"2026-12-03T10:15:00Z"`.
        // An expiry too far to count (thousands of years) is never.
        let expires = chrono::Duration::from_std(self.limits.expiry)
            .ok()
            .and_then(|expiry| now.checked_add_signed(expiry))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let expires = chrono::SubsecRound::trunc_subsecs(expires, 0);
        let mut files = self.lock();
        let id = loop {
            let id = hex::encode(rand::rng().random::<[u8; 4]>());
            if !files.contains_key(&id) {
                break id;
            }
        };
        let file = SharedFile {
            id: id.clone(),
            name: saved.name.clone(),
            size: saved.size,
            sha256: saved.sha256.clone(),
            from: from.to_string(),
            room: to.room.clone(),
            to: to.user.clone(),
            expires,
        };
        let mut readers = readers;
        readers.insert(from.to_string());
        files.insert(id.clone(), Shelved { file: file.clone(), path: path.clone(), readers });
        if let Err(error) = self.save(&files) {
            // Not recorded, so not offered: nothing is left behind.
            files.remove(&id);
            let _ = std::fs::remove_file(&path);
            return Err(error);
        }
        Ok(file)
    }

    /// The piece of file `id` from `offset` (at most [`CHUNK_BYTES`]), for
    /// `reader`, at `now`.
    ///
    /// # Errors
    /// [`Error::NotFound`] (404) for an id that does not exist, has
    /// expired, or is not for `reader` (the same answer, so nobody learns
    /// which ids exist); [`Error::Usage`] for an offset past the end;
    /// [`Error::File`] when the file cannot be read (it is then taken off
    /// the shelf and deleted); a file gone from the disk is answered as
    /// expired, with [`Error::NotFound`].
    pub fn part(
        &self,
        id: &str,
        reader: &str,
        offset: u64,
        now: DateTime<Utc>,
    ) -> Result<FilePart> {
        self.sweep(now);
        let not_for_you = || {
            Error::NotFound(format!(
                "no file {:?} for you: it never existed, has expired, or was offered to others",
                id.chars().take(16).collect::<String>()
            ))
        };
        // The file is opened under the lock, so the sweeper cannot delete
        // it (nor a new upload take its name) between the lookup and the
        // open; the reading happens after, on the open file.
        let (file, path, opened) = {
            let files = self.lock();
            let Some(shelved) = files.get(id).filter(|s| s.readers.contains(reader)) else {
                return Err(not_for_you());
            };
            let opened = File::open(&shelved.path);
            (shelved.file.clone(), shelved.path.clone(), opened)
        };
        if offset > file.size {
            return Err(Error::Usage(format!(
                "offset {offset} is past the end of {} ({} bytes)",
                file.name, file.size
            )));
        }
        let want = (file.size - offset).min(CHUNK_BYTES as u64) as usize;
        let mut bytes = vec![0u8; want];
        let read = opened.and_then(|mut f| {
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(offset))?;
            f.read_exact(&mut bytes)
        });
        if let Err(error) = read {
            // The file cannot be served: take it off the shelf, and off the
            // disk, so that it is never left outside every budget. If the
            // index cannot be saved now, the next change saves it.
            let mut files = self.lock();
            files.remove(id);
            let _ = std::fs::remove_file(&path);
            let _ = self.save(&files);
            if error.kind() == std::io::ErrorKind::NotFound {
                return Err(not_for_you());
            }
            return Err(Error::file("read", &path)(error));
        }
        use base64::Engine;
        Ok(FilePart {
            id: file.id,
            name: file.name,
            size: file.size,
            sha256: file.sha256,
            offset,
            bytes: base64::engine::general_purpose::STANDARD.encode(&bytes),
        })
    }

    /// Remove the files expired at `now` from the shelf and from the disk;
    /// returns them. (If the index cannot be saved now, the next change
    /// saves it; a restart drops expired entries anyway.)
    pub fn sweep(&self, now: DateTime<Utc>) -> Vec<SharedFile> {
        let expired: Vec<Shelved> = {
            let mut files = self.lock();
            let ids: Vec<String> = files
                .iter()
                .filter(|(_, s)| s.file.expires <= now)
                .map(|(id, _)| id.clone())
                .collect();
            let expired: Vec<Shelved> = ids.iter().filter_map(|id| files.remove(id)).collect();
            if !expired.is_empty() {
                let _ = self.save(&files);
            }
            expired
        };
        expired
            .into_iter()
            .map(|shelved| {
                let _ = std::fs::remove_file(&shelved.path);
                shelved.file
            })
            .collect()
    }
}

/// Fetch the shared file `id` through `client` (`file-get` requests, one
/// piece at a time), into `dir`, under its [`safe_file_name`], never
/// overwriting a file (` (1)`, ` (2)`...); check its size and SHA-256.
/// `progress` is called with the bytes received so far and the size.
/// Returns the file as saved (its name in `dir`).
///
/// The bytes go to a hidden temporary file in `dir`, which takes the
/// file's name only once complete and checked, and is deleted on any
/// error.
///
/// # Errors
/// [`Error::Peer`] with the server's refusal (404: no such file for you,
/// or expired); [`Error::Protocol`] for a piece that does not fit (wrong
/// id, offset or size, bad base64, too long); [`Error::NotConfirmed`]
/// when the SHA-256 of the bytes differs from the one announced;
/// [`Error::File`] naming the file that cannot be written; the client's
/// errors.
pub fn fetch_file(
    client: &crate::chat::client::Client,
    id: &str,
    dir: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<FileInfo> {
    use base64::Engine;
    let ask = |offset: u64| -> Result<FilePart> {
        let get = FileGet { id: id.to_string(), offset };
        let answer = client.request("file-get", serde_json::to_value(&get).unwrap_or_default())?;
        if let Some((code, message)) = answer.error_parts() {
            return Err(Error::Peer { code: code.to_string(), description: message.to_string() });
        }
        if answer.action != "file-part" {
            return Err(Error::BadMessage(format!(
                "expected file-part in answer, got {}",
                answer.action
            )));
        }
        serde_json::from_value(answer.data)
            .map_err(|e| Error::BadMessage(format!("unexpected file-part answer: {e}")))
    };
    let first = ask(0)?;
    let (name, size, sha256) = (first.name.clone(), first.size, first.sha256.clone());
    std::fs::create_dir_all(dir).map_err(Error::file("create the directory", dir))?;
    let temp_path =
        dir.join(format!(".{}.part-{:016x}", safe_file_name(&name), rand::rng().random::<u64>()));
    let mut temp = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp_path)
        .map_err(Error::file("create", &temp_path))?;
    let result = (|| {
        let mut hasher = Sha256::new();
        let mut received = 0u64;
        let mut part = first;
        loop {
            if part.id != id
                || part.size != size
                || part.sha256 != sha256
                || part.offset != received
            {
                return Err(Error::Protocol(format!(
                    "asked for {id} from byte {received}, got a piece of {} from byte {}",
                    part.id, part.offset
                )));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&part.bytes)
                .map_err(|e| Error::Protocol(format!("a file-part that is not base64: {e}")))?;
            let expected = (size - received).min(CHUNK_BYTES as u64) as usize;
            if bytes.len() != expected {
                return Err(Error::Protocol(format!(
                    "a piece of {} bytes from byte {received}; {expected} were due",
                    bytes.len()
                )));
            }
            temp.write_all(&bytes).map_err(Error::file("write", &temp_path))?;
            hasher.update(&bytes);
            received += bytes.len() as u64;
            progress(received, size);
            if received == size {
                break;
            }
            part = ask(received)?;
        }
        temp.sync_all().map_err(Error::file("write", &temp_path))?;
        let actual = hex::encode(hasher.finalize());
        if !actual.eq_ignore_ascii_case(&sha256) {
            return Err(Error::NotConfirmed(format!(
                "{name}: SHA-256 of the bytes received is {actual}, the server's is {sha256}"
            )));
        }
        let saved = place(dir, &safe_file_name(&name), &temp_path)?;
        Ok(FileInfo { name: saved, size, sha256: actual })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp_path);
    }
    result
}

/// Is `name` one plain file name in a folder: a single normal path
/// component, with no separator, not hidden and not `..`? The shelf's index
/// names its files this way; anything else would lead out of the receive
/// directory, or to a temporary file.
fn is_plain_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    let one_normal =
        matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(_)), None));
    one_normal && !name.contains(['/', '\\']) && !name.starts_with('.')
}

/// What a file of `size` bytes counts against the budgets: its size, but
/// at least one piece ([`CHUNK_BYTES`], 64 KiB). Without a floor, empty
/// or one-byte files would cost nothing, and one user could fill the
/// shelf's index (and the disk's inodes) with as many as they liked; with
/// it, the default budgets hold at most 4,096 files per user and 16,384 in
/// all.
fn charge(size: u64) -> u64 {
    size.max(CHUNK_BYTES as u64)
}
