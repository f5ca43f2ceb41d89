//! The receiver's window and reassembly (steps 16.g and 16.h) driven by an
//! arbitrary sequence of frames: any order, duplicates, impossible counts
//! and indexes, End anywhere. Every input must end in messages or an
//! error, within the memory limits of `ReliableConfig`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfmp::link::reliable::{ReceiveWindow, ReliableConfig, Sequenced};
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let config = ReliableConfig::default();
    let mut window = ReceiveWindow::new(u32::MAX - 4, 700, &config);
    let start = Instant::now();
    // Each 8-byte record: seq offset, index, count, payload length, kind.
    for (at, record) in data.chunks_exact(8).enumerate() {
        let seq = (u32::MAX - 4).wrapping_add(u32::from(record[0] % 64));
        let index = u32::from(record[1] % 8);
        let count = u32::from(record[2]) * u32::from(record[3] % 4 + 1);
        let len = usize::from(record[4]) * 3;
        let frame = if record[5] % 16 == 0 {
            Sequenced::End
        } else {
            Sequenced::Fragment { index, count, bytes: vec![record[6]; len] }
        };
        let now = start + Duration::from_millis(u64::from(record[7]) * at as u64);
        if window.accept(seq, frame, now).is_err() {
            break;
        }
        let _ = window.nak_for_damage(now);
    }
});
