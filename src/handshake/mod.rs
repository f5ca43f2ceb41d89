//! The handshake: steps 1 to 15, the part of RFMP that the seed's flow
//! write-up numbers (`lessons/00-flow.md`).
//!
//! Read it as the flow: [`client::handshake`] and [`server::handshake`] run
//! the two halves in order, each step a short function of its own; the step
//! modules hold what the steps build and check, under the names the
//! write-up gives them:
//!
//! - [`packets`]: build every handshake packet (steps 1, 6, 10, 14) and parse one.
//! - [`checks`]: decide what a received packet means (steps 4, 8, 15).
//! - [`helpers`]: keys to and from PEM text, base64, randomness (step 9).
//! - [`decryption`]: the server recovers the session secret (step 13).
//! - [`framing`]: cut whole packets out of the TCP byte stream.
//! - [`session`]: the session ciphers none, Caesar and AES-128-EAX that
//!   the handshake sets up.
//! - [`trust`]: whether to believe the key of step 9.a: the server's key
//!   kept across restarts, and the client's known-servers file (trust on
//!   first use, as OpenSSH).
//! - [`observe`]: how the two flows report each step as it happens, and
//!   [`observe::STEPS`], the table of every step.
//!
//! This folder uses only [`crate::error`] and the crates for RSA, AES,
//! base64 and randomness: nothing of the link, the chat or the teaching
//! tools. Everything after the handshake builds on it.

pub mod checks;
pub mod client;
pub mod decryption;
pub mod framing;
pub mod helpers;
pub mod observe;
pub mod packets;
pub mod server;
pub mod session;
pub mod trust;
