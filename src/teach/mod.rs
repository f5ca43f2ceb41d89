//! The teaching tools: the narrated demo, the byte-by-byte transcript, and a
//! server whose reads can be watched. Built only with the `teach` feature
//! (on by default, and needed by the `rfmp` program): a program that uses
//! rfmp as a library can leave it out, and with it the TEST-ONLY keys that
//! the transcript compiles in.
//!
//! - [`demo`]: `rfmp demo`, a real client and server with an eavesdropper
//!   between them, narrated step by step.
//! - [`transcript`]: one session in an insecure, deterministic teaching mode,
//!   every field labelled; it generates the lessons' checked blocks.
//! - [`tapped`]: a server that shows what it reads, for the demo and the
//!   chat lesson.
//!
//! This folder uses everything below it and nothing uses it.

pub mod demo;
pub mod pcap;
pub mod tapped;
pub mod transcript;
pub mod vectors;
