//! Accounts: usernames and passwords, stored as salted Argon2id hashes.
//!
//! Seed 001 asks for "authentication using passwords and tokens"; seed 002's
//! handshake packet carries "optionally username and password" but its
//! server never checked them. rfmp checks them:
//!
//! - The **first** `login` with a new username creates the account with
//!   that password; every later login must give the same password.
//! - The server never stores a password, only its hash from
//!   [Argon2id](https://www.rfc-editor.org/rfc/rfc9106) (the winner of the
//!   Password Hashing Competition) with a random 16-byte salt, in the PHC
//!   string form `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`. A stolen
//!   accounts file does not give the passwords away: each guess costs an
//!   attacker a full Argon2 computation (19 MiB of memory, two passes),
//!   and the salt stops one guess from testing every account at once.
//! - The accounts live in one JSON file, `<data dir>/accounts.json`,
//!   readable by the server's own user only (mode 0600 on Unix):
//!
//! ```text
//! {"version":1,"accounts":{"alice":{"hash":"$argon2id$v=19$m=19456,t=2,p=1$...","created":"2026-12-02T10:15:00.123Z"}}}
//! ```
//!
//! # Never half-written
//! A crash (or `kill -9`) in the middle of writing a file can leave it
//! half-written. So [`Accounts`] never writes `accounts.json` in place: it
//! writes the whole new file to a temporary `.accounts.json.<random>.tmp`,
//! flushes it to the disk (`fsync`), then *renames* it over the old one
//! (`src/files.rs`). A rename within one
//! directory is atomic on POSIX file systems: anyone who opens
//! `accounts.json` sees the old file or the new one, never a mixture. An
//! account is saved before the user is told it exists, so an
//! acknowledged account is never lost.
//!
//! # Bounded cost
//! Hashing is deliberately slow and uses 19 MiB, so every hash and check
//! runs in a [`HashingPool`] of [`HASHING_AT_ONCE`] work areas by default
//! (`ServerConfig::hashing_slots`): at most that many run at once, and the
//! memory they use is allocated once and reused, whatever the number of
//! clients logging in; the others wait their turn.
//!
//! # Names differ by more than case
//! A username is stored as typed (`Alice`), and matched by its lower-case
//! form ([`normalise`]): a login as `alice` or `ALICE` is a login to
//! `Alice`, so nobody can create a look-alike of someone else's name. An
//! accounts file written before this rule may hold names that differ only
//! by case (`Bob` and `bob`): it still loads, a warning is logged, and each
//! of those accounts keeps working under its exact spelling; another
//! spelling reaches the first of them in sorted order.
//!
//! The hub limits guesses per connection, per address and per account, and
//! new accounts per address, before any hash runs ([`crate::chat::hub`]).
//! The accounts' mutex is held while a new account is
//! written and flushed to the disk, so that files are written in order:
//! milliseconds for a small file, more as it grows (see [`MAX_ACCOUNTS`]).

use crate::chat::hashing::HashingPool;
use crate::error::{Error, Result};
use crate::files::{Existing, Readers, write_atomically};
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// The accounts file's name inside the data directory.
pub const ACCOUNTS_FILE: &str = "accounts.json";

/// Shortest password accepted, in bytes (NIST SP 800-63B asks for 8).
pub const MIN_PASSWORD_BYTES: usize = 8;

/// Longest password accepted, in bytes (a cap, so nobody makes the server
/// hash a megabyte).
pub const MAX_PASSWORD_BYTES: usize = 256;

/// How many Argon2 hashes may run at the same time by default (each takes
/// 19 MiB): the slots of the accounts' [`HashingPool`].
pub const HASHING_AT_ONCE: usize = 2;

/// Most accounts the server keeps. Each is about 150 bytes of the file,
/// and the whole file is rewritten for each new account, so the cap also
/// bounds that cost: at most 1.5 MB per write. A server for more users
/// keeps them in a database, which writes only what changed.
pub const MAX_ACCOUNTS: usize = 10_000;

/// What a successful [`Accounts::login`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The username was new: the account was created (and saved).
    Created,
    /// The account existed and the password matched.
    Existing,
}

/// One stored account.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Account {
    /// The PHC string of the password's Argon2id hash (salt included).
    hash: String,
    /// When the account was created, RFC 3339 UTC.
    created: String,
}

/// The accounts file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
struct AccountsFile {
    version: u32,
    accounts: BTreeMap<String, Account>,
}

/// The server's accounts, shared by every client thread.
#[derive(Debug)]
pub struct Accounts {
    dir: PathBuf,
    accounts: Mutex<Table>,
    hashing: HashingPool,
}

impl Accounts {
    /// Read the accounts in `dir` (`dir/accounts.json`). A missing file is
    /// no accounts yet; the directory is created on the first save, so a
    /// server nobody logs in to writes nothing.
    ///
    /// A `.accounts.json.<random>.tmp` left by a crash is ignored (it is the write
    /// that never finished; the file it was to replace is intact).
    ///
    /// # Errors
    /// [`Error::File`] when the file exists but cannot be read, and
    /// [`Error::Storage`] when it is not an accounts file: either way the
    /// server refuses to start rather than lose the accounts by
    /// overwriting them.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Accounts> {
        Accounts::open_with(dir, HashingPool::new(HASHING_AT_ONCE))
    }

    /// As [`Accounts::open`], hashing and checking passwords in `hashing`
    /// (the server passes a pool of `ServerConfig::hashing_slots`).
    ///
    /// # Errors
    /// As [`Accounts::open`].
    pub fn open_with(dir: impl Into<PathBuf>, hashing: HashingPool) -> Result<Accounts> {
        let dir = dir.into();
        let path = dir.join(ACCOUNTS_FILE);
        let accounts = match std::fs::read(&path) {
            Ok(bytes) => {
                let file: AccountsFile = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::Storage(format!("{} is not an accounts file: {e}", path.display()))
                })?;
                file.accounts
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(Error::file("read", &path)(e)),
        };
        let mut by_normal = BTreeMap::new();
        for name in accounts.keys() {
            // In sorted order, so the first spelling of a clash wins.
            if let Some(first) = by_normal.get(&normalise(name)) {
                log::warn!(
                    "{}: accounts {first:?} and {name:?} differ only by case; each logs in \
                     under its exact spelling, any other spelling reaches {first:?}",
                    path.display()
                );
            } else {
                by_normal.insert(normalise(name), name.clone());
            }
        }
        Ok(Accounts { dir, accounts: Mutex::new(Table { accounts, by_normal }), hashing })
    }

    /// The accounts file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(ACCOUNTS_FILE)
    }

    /// How many accounts exist.
    pub fn len(&self) -> usize {
        self.lock().accounts.len()
    }

    /// True when no account exists yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `username` has an account, in any spelling
    /// ([`Accounts::find`]).
    pub fn contains(&self, username: &str) -> bool {
        self.find(username).is_some()
    }

    /// The stored name of the account `username` logs in to: the exact
    /// spelling if it exists, else the one with the same [`normalise`]d
    /// form (`ALICE` finds `alice`); `None` for a new name.
    pub fn find(&self, username: &str) -> Option<String> {
        self.lock().find(username)
    }

    /// The pool every hash and check runs in.
    pub fn hashing(&self) -> &HashingPool {
        &self.hashing
    }

    /// Log `username` in with `password`: create the account if the name
    /// is new (saving it before returning), or check the password against
    /// the stored hash. As [`Accounts::login_as`], without the stored name.
    ///
    /// # Errors
    /// As [`Accounts::login_as`].
    pub fn login(&self, username: &str, password: &str) -> Result<LoginOutcome> {
        self.login_as(username, password).map(|(_, outcome)| outcome)
    }

    /// Log `username` in with `password`, and return the account's stored
    /// name ([`Accounts::find`]: `ALICE` logs in as `alice`) with what was
    /// done: the account is created if no spelling of the name exists
    /// (saved before returning), else the password is checked against the
    /// stored hash. Hashing waits for a free slot of the [`HashingPool`].
    ///
    /// The username must already be valid ([`crate::chat::actions::validate_name`]);
    /// whether a new name may be created (reserved names, rate limits) is
    /// the caller's decision, taken before ([`crate::chat::hub`]).
    ///
    /// # Errors
    /// - [`Error::Usage`] for a password shorter than
    ///   [`MIN_PASSWORD_BYTES`] or longer than [`MAX_PASSWORD_BYTES`].
    /// - [`Error::Unauthorized`] for a wrong password.
    /// - [`Error::File`] when the new account cannot be saved (it is
    ///   then not created).
    /// - [`Error::Storage`] if password hashing fails or a stored hash
    ///   does not parse.
    /// - [`Error::ServerFull`] for a new name when there are
    ///   [`MAX_ACCOUNTS`] already.
    pub fn login_as(&self, username: &str, password: &str) -> Result<(String, LoginOutcome)> {
        if password.len() < MIN_PASSWORD_BYTES || password.len() > MAX_PASSWORD_BYTES {
            return Err(Error::Usage(format!(
                "a password is {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes long"
            )));
        }
        let stored = self.lock().lookup(username);
        if let Some((name, hash)) = stored {
            return self.verify(password, &hash).map(|()| (name, LoginOutcome::Existing));
        }
        if self.len() >= MAX_ACCOUNTS {
            return Err(Error::ServerFull(format!(
                "the server keeps at most {MAX_ACCOUNTS} accounts"
            )));
        }
        // A new name: hash without holding the lock (hashing is slow)...
        let hash = self.hashing.hash(password)?;
        // ...then insert, unless another thread created the same name in
        // the meantime: then this is a login to that account.
        let mut table = self.lock();
        if let Some((name, hash)) = table.lookup(username) {
            drop(table);
            return self.verify(password, &hash).map(|()| (name, LoginOutcome::Existing));
        }
        if table.accounts.len() >= MAX_ACCOUNTS {
            return Err(Error::ServerFull(format!(
                "the server keeps at most {MAX_ACCOUNTS} accounts"
            )));
        }
        let account =
            Account { hash, created: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true) };
        table.accounts.insert(username.to_string(), account);
        // Saved while the lock is held, so files are written in the order
        // the accounts were created, and each one holds all earlier ones.
        if let Err(error) = self.save(&table.accounts) {
            table.accounts.remove(username);
            return Err(error);
        }
        table.by_normal.insert(normalise(username), username.to_string());
        Ok((username.to_string(), LoginOutcome::Created))
    }

    /// Check `password` against a stored PHC hash string, in the pool.
    fn verify(&self, password: &str, hash: &str) -> Result<()> {
        if self.hashing.verify(password, hash)? {
            Ok(())
        } else {
            Err(Error::Unauthorized("wrong username or password".into()))
        }
    }

    /// Write all accounts atomically (`src/files.rs`: a temporary file,
    /// `fsync`, rename).
    fn save(&self, accounts: &BTreeMap<String, Account>) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(Error::file("create the directory", &self.dir))?;
        let file = AccountsFile { version: 1, accounts: accounts.clone() };
        let bytes = serde_json::to_vec(&file)
            .map_err(|e| Error::Internal(format!("cannot encode the accounts: {e}")))?;
        // Readable by the server's own user only: the hashes are slow to
        // attack, but there is no reason to hand them to anyone.
        let path = self.path();
        write_atomically(&path, &bytes, Readers::Owner, Existing::Replace)
            .map_err(Error::file("write", &path))
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        crate::sync::lock(&self.accounts)
    }
}

/// The accounts by stored name, and the stored name of each lower-case
/// form (the first in sorted order, when an old file has a clash).
#[derive(Debug)]
struct Table {
    accounts: BTreeMap<String, Account>,
    by_normal: BTreeMap<String, String>,
}

impl Table {
    fn find(&self, username: &str) -> Option<String> {
        if self.accounts.contains_key(username) {
            return Some(username.to_string());
        }
        self.by_normal.get(&normalise(username)).cloned()
    }

    /// The stored name and hash of the account `username` logs in to.
    fn lookup(&self, username: &str) -> Option<(String, String)> {
        let name = self.find(username)?;
        let hash = self.accounts.get(&name)?.hash.clone();
        Some((name, hash))
    }
}

/// The form two usernames are compared in: ASCII lower case (names are
/// ASCII, [`crate::chat::actions::validate_name`]), so `Alice`, `ALICE` and
/// `alice` are one name.
///
/// ```
/// assert_eq!(rfmp::chat::accounts::normalise("Alice"), "alice");
/// ```
pub fn normalise(username: &str) -> String {
    username.to_ascii_lowercase()
}
