//! One way to take a lock, for every mutex in the crate.
//!
//! `Mutex::lock` fails only when another thread panicked while holding the
//! lock ("poisoning"). rfmp's locks guard plain data (a queue, a table of
//! rooms, counters) that a panic cannot leave half-changed in a way that
//! matters more than stopping the server would, so every lock takes the
//! data anyway instead of spreading the panic to every client's thread.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Lock `mutex`, taking the data even if a thread panicked while holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
