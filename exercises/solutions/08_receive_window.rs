//! # Exercise 8, solved: a receive window, in order and exactly once (Step 16.g)
//!
//! The reference solution of `exercises/src/08_receive_window.rs`.
//! rfmp's `link::reliable::ReceiveWindow` in `src/link/reliable.rs` does the same,
//! and also paces its NKs and acknowledges duplicates again.

use std::collections::BTreeMap;

/// How many sequence numbers, from the next expected one, a receiver
/// holds: 256, as rfmp's `ReliableConfig::window`.
pub const WINDOW: u32 = 256;

/// The receiving side of step 16.g: which frame comes next, and the frames
/// that arrived ahead of it.
#[derive(Debug)]
pub struct ReceiveWindow {
    /// The sequence number delivery waits for: every frame before it has
    /// been delivered. An AK names this number.
    expected: u32,
    /// Frames that arrived ahead of `expected`, by sequence number.
    held: BTreeMap<u32, Vec<u8>>,
}

impl ReceiveWindow {
    /// A window whose first expected frame is `first` (0 in a real session).
    pub fn new(first: u32) -> ReceiveWindow {
        ReceiveWindow { expected: first, held: BTreeMap::new() }
    }

    /// The sequence number this receiver expects next: the `next` of the
    /// AK it sends, `(AK,<next>,<crc>)`.
    pub fn next_expected(&self) -> u32 {
        self.expected
    }

    /// Step 16.g: one frame arrives with sequence number `seq`. Returns the
    /// payloads that can now be delivered, in sequence order: none for a
    /// duplicate, a held frame or a frame beyond the window; the frame and
    /// every held frame right after it when `seq` is the expected one.
    pub fn accept(&mut self, seq: u32, payload: Vec<u8>) -> Vec<Vec<u8>> {
        let distance = seq.wrapping_sub(self.expected);
        if distance >= 1 << 31 {
            // Behind: already delivered. Dropped (rfmp acknowledges it again).
            return Vec::new();
        }
        if distance >= WINDOW {
            // Beyond the window: a sender that keeps to it never sends this.
            return Vec::new();
        }
        // Ahead (or the expected one): keep it, once.
        self.held.entry(seq).or_insert(payload);
        let mut delivered = Vec::new();
        while let Some(next) = self.held.remove(&self.expected) {
            delivered.push(next);
            self.expected = self.expected.wrapping_add(1);
        }
        delivered
    }

    /// The frame to ask for with `(NK,<seq>,<crc>)`: the expected one, when
    /// later frames are held behind the gap it leaves; `None` when nothing
    /// is missing.
    pub fn nak(&self) -> Option<u32> {
        if self.held.is_empty() { None } else { Some(self.expected) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each payload as the text it carries, to compare with `vec!["a", ...]`.
    fn texts(delivered: Vec<Vec<u8>>) -> Vec<String> {
        delivered.into_iter().map(|p| String::from_utf8(p).expect("UTF-8")).collect()
    }

    /// Frames that arrive in order are delivered at once, one each.
    #[test]
    fn in_order_frames_are_delivered_at_once() {
        let mut window = ReceiveWindow::new(0);
        assert_eq!(texts(window.accept(0, b"a".to_vec())), ["a"]);
        assert_eq!(texts(window.accept(1, b"b".to_vec())), ["b"]);
        assert_eq!(window.next_expected(), 2);
        assert_eq!(window.nak(), None);
    }

    /// A duplicate (its AK was lost, so the sender sent it again) is never
    /// delivered a second time, and the AK stays where it was.
    #[test]
    fn a_duplicate_is_not_delivered_twice() {
        let mut window = ReceiveWindow::new(0);
        assert_eq!(texts(window.accept(0, b"a".to_vec())), ["a"]);
        assert!(window.accept(0, b"a".to_vec()).is_empty());
        assert_eq!(window.next_expected(), 1);
    }

    /// A frame after a gap is kept, not delivered; the receiver asks for
    /// the missing one; when it comes, both are delivered, in order.
    #[test]
    fn a_gap_is_held_then_filled_in_order() {
        let mut window = ReceiveWindow::new(0);
        assert!(window.accept(1, b"b".to_vec()).is_empty());
        assert!(window.accept(2, b"c".to_vec()).is_empty());
        assert_eq!(window.nak(), Some(0));
        assert_eq!(window.next_expected(), 0);
        assert_eq!(texts(window.accept(0, b"a".to_vec())), ["a", "b", "c"]);
        assert_eq!(window.next_expected(), 3);
        assert_eq!(window.nak(), None);
    }

    /// A frame held once and sent again before the gap is filled is still
    /// delivered once.
    #[test]
    fn a_held_frame_sent_again_is_delivered_once() {
        let mut window = ReceiveWindow::new(0);
        assert!(window.accept(1, b"b".to_vec()).is_empty());
        assert!(window.accept(1, b"b".to_vec()).is_empty());
        assert_eq!(texts(window.accept(0, b"a".to_vec())), ["a", "b"]);
        assert!(window.accept(1, b"b".to_vec()).is_empty());
    }

    /// A frame 256 or more ahead of the next expected one is outside the
    /// window: dropped, not held.
    #[test]
    fn a_frame_beyond_the_window_is_dropped() {
        let mut window = ReceiveWindow::new(0);
        assert!(window.accept(WINDOW, b"far".to_vec()).is_empty());
        assert_eq!(window.nak(), None, "nothing is held");
        assert!(window.accept(WINDOW - 1, b"near".to_vec()).is_empty());
        assert_eq!(window.nak(), Some(0), "the last frame of the window is held");
    }

    /// Sequence numbers wrap from 4294967295 to 0; order holds across it.
    #[test]
    fn order_holds_across_the_wrap() {
        let mut window = ReceiveWindow::new(u32::MAX - 1);
        assert!(window.accept(0, b"c".to_vec()).is_empty());
        assert!(window.accept(u32::MAX, b"b".to_vec()).is_empty());
        assert_eq!(texts(window.accept(u32::MAX - 1, b"a".to_vec())), ["a", "b", "c"]);
        assert_eq!(window.next_expected(), 1);
        assert!(window.accept(u32::MAX, b"b".to_vec()).is_empty(), "a duplicate");
    }

    /// Whatever order 40 frames arrive in, with every frame sent twice,
    /// each is delivered exactly once and in order.
    #[test]
    fn any_order_with_duplicates_delivers_exactly_once_in_order() {
        for step in [1u32, 3, 7, 11, 13, 17, 19, 39] {
            let mut window = ReceiveWindow::new(10);
            let mut delivered = Vec::new();
            for round in 0..2 {
                for i in 0..40u32 {
                    // i * step mod 40 visits every number once (step and 40
                    // share no factor); the second round goes backwards.
                    let k = (i * step) % 40;
                    let k = if round == 0 { k } else { 39 - k };
                    delivered.extend(texts(window.accept(10 + k, k.to_string().into_bytes())));
                }
            }
            let expected: Vec<String> = (0..40).map(|k: u32| k.to_string()).collect();
            assert_eq!(delivered, expected, "step {step}");
            assert_eq!(window.next_expected(), 50);
        }
    }
}
