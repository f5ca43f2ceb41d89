//! Local files: safe names for files a peer names, and atomic writes.
//!
//! Three parts of rfmp keep files that must never be left half-written:
//! the accounts file (`chat::accounts`), the key files and the
//! known-servers file (`handshake::trust`, `handshake::keys`), and the
//! seed profile's workspace (`seed::workspace`). They all write the same
//! way, with [`write_atomically`]:
//!
//! 1. write the whole contents to a new temporary file beside the target
//!    (a name starting with `.`, which no peer-chosen name may have);
//! 2. flush it to the disk (`fsync`), so the bytes are there before any name
//!    points at them;
//! 3. rename it over the target (or, when nothing may be replaced, link it
//!    as the target, which fails if the target exists);
//! 4. flush the directory, so the rename itself survives a crash.
//!
//! A crash at any point leaves either the old file or the new one, never a
//! mix: a rename within one directory is atomic on POSIX systems. At worst
//! a temporary file is left behind, which every reader ignores (its name
//! starts with a dot). The same recipe is how SQLite's and Git's lock
//! files, and most editors' "safe write", work.
//!
//! This module uses nothing else of rfmp, so every part may use it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// The longest file name [`safe_file_name`] keeps, in bytes.
pub const MAX_NAME_BYTES: usize = 100;

/// Make a file name that a peer suggests safe to create in a directory.
///
/// Keeps the last path component (after `/` or `\`), replaces every
/// character but ASCII letters, digits, `.`, `-`, `_` and space with `_`,
/// drops leading dots and spaces (no hidden files, no `..`), and cuts it to
/// [`MAX_NAME_BYTES`]. An empty result becomes `file`.
///
/// ```
/// use rfmp::files::safe_file_name;
/// assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
/// assert_eq!(safe_file_name("C:\\Users\\me\\notes.txt"), "notes.txt");
/// assert_eq!(safe_file_name("..."), "file");
/// assert_eq!(safe_file_name("résumé;rm -rf.pdf"), "r_sum__rm -rf.pdf");
/// ```
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        last.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
    let trimmed = cleaned.trim_start_matches(['.', ' ']).trim_end();
    // Only ASCII is left, so cutting at a byte count is cutting at a char.
    let short = &trimmed[..trimmed.len().min(MAX_NAME_BYTES)];
    if short.is_empty() { "file".to_string() } else { short.to_string() }
}

/// Who may read a file that [`write_atomically`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// The owner only (mode 0600 on Unix): private keys, password hashes.
    Owner,
    /// Whoever the process's umask allows (usually everyone may read).
    Default,
}

/// Whether [`write_atomically`] may replace a file that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (rename over it).
    Replace,
    /// Keep it and fail with [`std::io::ErrorKind::AlreadyExists`].
    Keep,
}

/// Write `bytes` to `path` so that a crash leaves the old file or the new
/// one, never a mix (the recipe is in this module's documentation).
///
/// # Errors
/// The I/O error of the step that failed (creating, writing or syncing the
/// temporary file, renaming or linking it); the caller names `path` in its
/// own error. `AlreadyExists` when `existing` is [`Existing::Keep`] and
/// `path` exists. The temporary file is removed on every error.
pub fn write_atomically(
    path: &Path,
    bytes: &[u8],
    readers: Readers,
    existing: Existing,
) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temporary = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if readers == Readers::Owner {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = readers;
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all() // the bytes are on disk before a name points at them
    });
    let placed = written.and_then(|()| match existing {
        Existing::Replace => std::fs::rename(&temporary, path),
        // A hard link fails if `path` exists: nothing is overwritten.
        Existing::Keep => std::fs::hard_link(&temporary, path),
    });
    // After a rename this finds nothing; after a link it drops the second
    // name; after an error it cleans up.
    let _ = std::fs::remove_file(&temporary);
    placed?;
    // The rename itself is on disk once the directory is synced. (Opening
    // a directory to sync it works on Unix; elsewhere the rename is still
    // atomic, only its durability is not forced.)
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_or_keeps_as_asked_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("notes.txt");
        write_atomically(&path, b"one", Readers::Default, Existing::Keep).expect("first write");
        let kept = write_atomically(&path, b"two", Readers::Default, Existing::Keep);
        assert_eq!(kept.expect_err("the file exists").kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).expect("read"), b"one");
        write_atomically(&path, b"three", Readers::Owner, Existing::Replace).expect("replace");
        assert_eq!(std::fs::read(&path).expect("read"), b"three");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["notes.txt"], "no temporary file is left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "written for its owner only");
        }
    }
}
