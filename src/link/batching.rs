//! Batched writes: a thread seals frames at once and writes them when it is
//! next about to wait ([`batch_writes_on_this_thread`]), so that a member of
//! a room gets one `send` per burst of messages instead of one per message.
//!
//! Each thread keeps its own list of the links it deferred frames on; the
//! link's `deferred_by` says which thread put it on a list last, so a link
//! is put on a thread's list once per batch.

use super::{Shared, State};
use std::cell::RefCell;
use std::sync::Arc;

/// Whether this thread batches, and the links it sealed frames for without
/// writing them yet.
struct Batching {
    on: bool,
    links: Vec<Arc<Shared>>,
}

impl Drop for Batching {
    /// A thread that ends writes what it deferred.
    fn drop(&mut self) {
        for shared in self.links.drain(..) {
            write_now(&shared);
        }
    }
}

thread_local! {
    static BATCHING: RefCell<Batching> = const {
        RefCell::new(Batching {
            on: false,
            links: Vec::new(),
        })
    };
}

/// From now on, the frames of messages this thread sends
/// ([`super::Link::send`], [`super::Link::try_send`], on any link) are
/// sealed at once but written when this thread is next about to wait:
/// before it reads a socket that has no whole frame buffered, before it
/// sleeps on a link, before an Argon2 hash ([`write_batched`]), and when it
/// ends; and at once when a link has a whole batch (64 KiB) waiting. The
/// server's client threads do this: a thread that reads 30 messages for a
/// room of 50 in one `read` then writes each member one `send` of 30
/// frames, not 30 sends of one frame (each `send` on loopback costs the
/// kernel a segment and a wake-up of the reader on the other end). It is
/// what an event loop does when it writes everything queued once per turn
/// of the loop.
///
/// Only for a thread that waits on a link again soon, as a server's
/// client thread always does; nothing is delayed past that wait.
pub fn batch_writes_on_this_thread() {
    BATCHING.with_borrow_mut(|batching| batching.on = true);
}

/// Write now every frame this thread sealed and deferred: before it waits
/// on a link, and for a thread about to block on something else (an Argon2
/// hash, say), so that nobody waits for it. Does nothing on a thread that
/// does not batch.
pub fn write_batched() {
    let links = BATCHING.with_borrow_mut(|batching| std::mem::take(&mut batching.links));
    for shared in &links {
        write_now(shared);
    }
}

/// Does this thread batch its writes?
pub(super) fn is_on() -> bool {
    BATCHING.with_borrow(|batching| batching.on)
}

/// Has this thread sealed frames it has not written yet?
pub(super) fn has_deferred() -> bool {
    BATCHING.with_borrow(|batching| !batching.links.is_empty())
}

/// Put the link of `shared` (whose lock is held: `state`) on this thread's
/// list, unless this thread put it there already.
pub(super) fn remember(shared: &Arc<Shared>, state: &mut State) {
    let me = std::thread::current().id();
    if state.deferred_by != Some(me) {
        state.deferred_by = Some(me);
        BATCHING.with_borrow_mut(|batching| batching.links.push(Arc::clone(shared)));
    }
}

/// Write a link's deferred frames (and whatever else can go now).
fn write_now(shared: &Shared) {
    let mut state = shared.lock();
    state.deferred_by = None;
    state.pump_or_fail(false);
    shared.wake(state);
}
