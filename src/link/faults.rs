//! Faults and traces: the link's teaching hooks.
//!
//! [`Faults`] damages and drops frames on purpose as they are written, so
//! the demo (`rfmp demo`), the command line (`--corrupt-rate`,
//! `--drop-rate`, `--fault-seed`) and the tests can watch steps 16.e-16.i
//! recover them. [`Trace`] reports what the link did, for the demo's lossy
//! section and for tests. Both are off by default and cost nothing then.

use rand::RngExt;

/// Deliberate damage to frames as they are written, for teaching and tests.
///
/// Applied to DP, AK, NK and End frames (never to the handshake). Each
/// transmission of a frame is first dropped with probability `drop_rate`,
/// otherwise damaged (one bit flipped in one byte) with probability
/// `corrupt_rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Probability (0 to 1) that a frame is damaged.
    pub corrupt_rate: f64,
    /// Probability (0 to 1) that a frame is never written.
    pub drop_rate: f64,
    /// The seed that makes the damage repeatable.
    pub seed: u64,
}

impl Faults {
    /// No faults: every frame is written as built.
    pub const NONE: Faults = Faults { corrupt_rate: 0.0, drop_rate: 0.0, seed: 0 };

    /// Does this inject anything?
    pub fn is_active(&self) -> bool {
        self.corrupt_rate > 0.0 || self.drop_rate > 0.0
    }

    /// Decide the fate of one transmission, drawing from `rng`.
    pub(super) fn decide(&self, frame_len: usize, rng: &mut impl RngExt) -> Fault {
        if rng.random_bool(self.drop_rate.clamp(0.0, 1.0)) {
            Fault::Dropped
        } else if rng.random_bool(self.corrupt_rate.clamp(0.0, 1.0)) {
            Fault::Corrupted {
                byte: rng.random_range(0..frame_len.max(1)),
                bit: rng.random_range(0..8),
            }
        } else {
            Fault::None
        }
    }
}

/// Mix numbers into one seed (SplitMix64's finaliser after each), so
/// nearby inputs (seed 1 and seed 2, frame 7 and frame 8) give unrelated
/// faults.
pub(super) fn mix(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9e37_79b9_7f4a_7c15, |state, &part| {
        let mut z = (state ^ part).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

/// What the fault injector did to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Written as built.
    None,
    /// Not written at all.
    Dropped,
    /// Written with bit `bit` (0 = least significant) of byte `byte`
    /// (from 0, the `(`) flipped.
    Corrupted {
        /// Which byte.
        byte: usize,
        /// Which bit of it.
        bit: u8,
    },
}

/// Something a link did, reported to [`super::LinkConfig::trace`] for the demo and
/// for tests that watch the mechanisms at work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trace {
    /// The writer wrote a frame (its text as built) and what the fault
    /// injector did to it.
    Wrote {
        /// The frame as built, before any fault.
        frame: String,
        /// What happened to it on the way out.
        fault: Fault,
        /// Whether it is a retransmission of an earlier frame.
        retransmission: bool,
    },
    /// The reader received something damaged and will ask for the frame
    /// again.
    Damaged {
        /// Why it was judged damaged.
        reason: String,
    },
    /// The reader delivered a whole message of this many bytes.
    Delivered {
        /// Size of the message, in bytes.
        bytes: usize,
    },
}
