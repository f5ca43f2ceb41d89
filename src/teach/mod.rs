//! The teaching tools: the narrated demo, the byte-by-byte transcript, and a
//! server whose reads can be watched. Built only with the `teach` feature
//! (on by default, and needed by the `rfmp` program): a program that uses
//! rfmp as a library can leave it out, and with it the TEST-ONLY keys that
//! the transcript compiles in.
//!
//! - [`attack`]: `rfmp attack mitm|replay|downgrade|guess`: each attack
//!   run for real against the real server and client, where it succeeds
//!   and what stops it.
//! - [`demo`]: `rfmp demo`, a real client and server with an eavesdropper
//!   between them, narrated step by step.
//! - [`transcript`]: one session in an insecure, deterministic teaching mode,
//!   every field labelled; it generates the lessons' checked blocks.
//! - [`tapped`]: a server that shows what it reads, for the demo and the
//!   chat lesson.
//! - [`trace`]: a live trace of a real peer's handshake, step by step, in
//!   the demo's words (for `rfmp server --trace`, `rfmp client --trace`).
//! - [`vectors`]: the language-neutral test vectors of `vectors/*.json`.
//! - [`pcap`]: a vector session as a packet capture with its key log, for
//!   Wireshark and `contrib/wireshark/rfmp.lua`.
//! - [`steps`]: the step tables of `src/lib.rs` and `lessons/00-flow.md`,
//!   made from [`crate::handshake::observe::STEPS`].
//!
//! This folder uses everything below it and nothing uses it.

pub mod attack;
pub mod demo;
mod narrate;
pub mod pcap;
pub mod steps;
pub mod tapped;
pub mod trace;
pub mod transcript;
pub mod vectors;
