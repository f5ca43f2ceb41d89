//! Password hashing in bounded memory: a fixed pool of Argon2 work areas.
//!
//! Argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1) needs a
//! 19 MiB work area for every hash. Letting each hash allocate its own
//! (what `Argon2::hash_password` does) is correct but costly on a
//! thread-per-client server: every client thread that ever hashed leaves
//! its 19 MiB with the allocator, which keeps it in that thread's arena, so
//! a flood of logins from many connections grows the server by hundreds of
//! MiB even though only a couple of hashes ever run at once.
//!
//! So the server owns a [`HashingPool`]: at most `slots` work areas, made
//! when first needed and then reused for ever. A hash borrows one (waiting
//! while all are busy) and gives it back. The pool is also the limit on how
//! many hashes run at once, so a guesser cannot make the server spend more
//! than `slots` cores on Argon2. Peak memory for hashing is `slots` × 19 MiB,
//! whatever the number of threads.
//!
//! The hashes are ordinary PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so any Argon2
//! library can check them; see RFC 9106 for Argon2 itself.

use crate::error::{Error, Result};
use crate::handshake::helpers::os_rng;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Bytes of random salt in each new hash (RFC 9106 recommends 16).
pub const SALT_BYTES: usize = 16;

/// A fixed number of Argon2 work areas, shared by every client thread.
#[derive(Debug)]
pub struct HashingPool {
    params: Params,
    slots: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

#[derive(Debug, Default)]
struct PoolState {
    /// Work areas not in use now.
    free: Vec<Vec<Block>>,
    /// Work areas made so far (in use or free); never more than `slots`.
    made: usize,
}

impl HashingPool {
    /// A pool of `slots` work areas (at least 1) for Argon2id with OWASP's
    /// parameters (`Params::DEFAULT`: 19 MiB, 2 passes, 1 lane).
    pub fn new(slots: usize) -> HashingPool {
        HashingPool::with_params(slots, Params::DEFAULT)
    }

    /// A pool for other Argon2id parameters (tests use small ones).
    pub fn with_params(slots: usize, params: Params) -> HashingPool {
        HashingPool {
            params,
            slots: slots.max(1),
            state: Mutex::new(PoolState::default()),
            returned: Condvar::new(),
        }
    }

    /// The most memory the pool will ever hold, in bytes.
    pub fn max_bytes(&self) -> usize {
        self.slots * self.params.block_count() * Block::SIZE
    }

    /// How many work areas exist now (in use or free): never more than the
    /// `slots` the pool was made with.
    pub fn areas_made(&self) -> usize {
        self.lock().made
    }

    /// Hash `password` with a fresh random salt; returns the PHC string.
    ///
    /// # Errors
    /// [`Error::Storage`] if Argon2 refuses the input (a password longer
    /// than 2^32 - 1 bytes: callers cap passwords far below that).
    pub fn hash(&self, password: &str) -> Result<String> {
        let mut salt = [0u8; SALT_BYTES];
        rand::Rng::fill_bytes(&mut os_rng(), &mut salt);
        let salt = Salt::new(&salt).map_err(|e| internal("the salt", e))?;
        let mut out = vec![0u8; Params::DEFAULT_OUTPUT_LEN];
        self.run(&self.params, password, &salt, &mut out)?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| internal("params", e))?,
            salt: Some(salt),
            hash: Some(Output::new(&out).map_err(|e| internal("the output", e))?),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` matches the PHC string `stored`. The comparison
    /// takes the same time wherever the first difference is (the `phc`
    /// crate's `Output` compares in constant time).
    ///
    /// # Errors
    /// [`Error::Storage`] when `stored` is not an Argon2id PHC string, or
    /// asks for more memory than this pool's work areas hold.
    pub fn verify(&self, password: &str, stored: &str) -> Result<bool> {
        let parsed = PasswordHash::new(stored)
            .map_err(|e| Error::Storage(format!("a stored hash does not parse: {e}")))?;
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return Err(Error::Storage(format!(
                "a stored hash uses {}, expected argon2id",
                parsed.algorithm
            )));
        }
        let params = Params::try_from(&parsed)
            .map_err(|e| Error::Storage(format!("a stored hash has bad parameters: {e}")))?;
        if params.block_count() > self.params.block_count() {
            return Err(Error::Storage(format!(
                "a stored hash needs {} KiB of memory, more than the {} KiB this server hashes with",
                params.block_count(),
                self.params.block_count()
            )));
        }
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(Error::Storage("a stored hash has no salt or no hash".into()));
        };
        let mut out = vec![0u8; expected.len()];
        self.run(&params, password, &salt, &mut out)?;
        Ok(Output::new(&out).is_ok_and(|computed| computed == expected))
    }

    /// Run Argon2id with `params` in a borrowed work area.
    fn run(&self, params: &Params, password: &str, salt: &[u8], out: &mut [u8]) -> Result<()> {
        // A hash takes milliseconds, and the wait for a work area may take
        // longer: frames this thread sealed for others go out first.
        crate::link::write_batched();
        let mut area = self.take();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let result = argon2.hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            out,
            &mut area[..params.block_count()],
        );
        self.give_back(area);
        result.map_err(|e| internal("Argon2", e))
    }

    /// Borrow a work area: a free one, a new one while fewer than `slots`
    /// exist, or else wait until one is given back.
    fn take(&self) -> Vec<Block> {
        let mut state = self.lock();
        loop {
            if let Some(area) = state.free.pop() {
                return area;
            }
            if state.made < self.slots {
                state.made += 1;
                drop(state);
                return vec![Block::default(); self.params.block_count()];
            }
            state = self.returned.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn give_back(&self, area: Vec<Block>) {
        self.lock().free.push(area);
        self.returned.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        crate::sync::lock(&self.state)
    }
}

fn internal(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Storage(format!("password hashing failed ({what}): {error}"))
}
