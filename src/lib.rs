//! # rfmp: the reference implementation of RFMP v1.0, taught step by step
//!
//! RFMP is a small secure chat protocol: a client asks for a session, the
//! server answers with its RSA public key, the client sends a session secret
//! encrypted to that key, and from then on both sides seal their messages
//! with the secret. This crate implements it so that a reader can follow
//! every step, with the lessons in `lessons/` open beside the code.
//!
//! **This is teaching code.** It does the cryptography properly (RSA-OAEP
//! with SHA-256, AES-128-EAX, keys from the OS random source), but the
//! protocol itself has weaknesses on purpose, each named where it lives:
//! the Caesar cipher ([`handshake::session`]), a server key nobody vouches for
//! ([`handshake::helpers`]), and acknowledgement frames without a tag ([`link::frames`]).
//! Do not protect real secrets with it.
//!
//! ## The flow
//! The steps are numbered exactly as in the flow write-up the project
//! started from (`lessons/00-flow.md`); steps 14-17 are rfmp's additions.
//! Every function that implements a step says so in its documentation.
//! The table is made from [`handshake::observe::STEPS`], as is the one in
//! `lessons/00-flow.md`; `tests/lessons.rs` checks that both are up to date.
//!
//! <!-- generated: rustdoc-steps -->
//! | step | side | what happens | function | module |
//! |------|------|--------------|----------|--------|
//! | 1.a | client | choose encrypted (1) or not (0) | [`handshake::packets::encryption_type`] | packets |
//! | 1.b | client | build the start packet | [`handshake::packets::start_packet`] | packets |
//! | 1.c | client | add parentheses and commas | [`handshake::packets::packet_formatter`] | packets |
//! | 2.a | client | send the SS packet | [`handshake::client::send_start_packet`] | client |
//! | 3.a | server | receive and decode the first packet | [`handshake::server::receive_start_packet`], [`chat::server::chatting`], [`handshake::framing::Connection::read_packet`] | server, server, framing |
//! | 4.a | server | is it secure? (does SS end in 1?) | [`handshake::checks::is_secure`] | checks |
//! | 5.a | server | answer: with the key if secure | [`handshake::server::answer_start_packet`] | server |
//! | 6.a | server | build the CC packet | [`handshake::packets::cc_packet`] | packets |
//! | 7.a | server | send `(CC,<server public key>)` | [`handshake::server::sending_secure_connection_packet`] | server |
//! | 7.b | server | send (CC) | [`handshake::server::na_secure_packet`] | server |
//! | 8.a | client | receive CC; count its fields | [`handshake::client::receive_cc_packet`], [`handshake::checks::check_cc_packet`] | client, checks |
//! | 8.a.i | client | one field: unencrypted | [`handshake::checks::check_cc_packet`] | checks |
//! | 8.a.ii | client | two fields: encrypted | [`handshake::checks::check_cc_packet`] | checks |
//! | 9.a | client | convert the key from text to a key | [`handshake::helpers::rsa_public_key_converter`] | helpers |
//! | 9.b | client | pass it to algo_and_encrypted_session | [`handshake::client::build_ec_packet`] | client |
//! | 10.a.i | client | choose aes or caesar | [`handshake::packets::encryption_choice`] | packets |
//! | 10.a.ii | client | make and encrypt the session secret | [`handshake::packets::algo_and_encrypted_session`] | packets |
//! | 10.a.ii.1.a | client | generate the secret | [`handshake::packets::generate_session_key`] | packets |
//! | 10.a.ii.1.b | client | encrypt it with RSA-OAEP-SHA256 | [`handshake::packets::encrypt_session_secret`] | packets |
//! | 10.a.ii.1.c | client | convert it to text: base64 | [`handshake::packets::algo_and_encrypted_session`] | packets |
//! | 10.a.ii.2.a | client | generate the secret | [`handshake::packets::generate_shift`] | packets |
//! | 10.a.ii.2.b | client | encrypt it with RSA-OAEP-SHA256 | [`handshake::packets::encrypt_session_secret`] | packets |
//! | 10.a.ii.2.c | client | convert it to text: base64 | [`handshake::packets::algo_and_encrypted_session`] | packets |
//! | 10.a.iii | client | build the EC packet | [`handshake::packets::ec_packet`] | packets |
//! | 11.a | client | send the EC packet | [`handshake::client::send_ec_packet`] | client |
//! | 12.a | server | wait for the EC packet | [`handshake::server::receive_ec_packet`] | server |
//! | 13.a | server | split the packet, decrypt the secret | [`handshake::decryption::decrypt_ec_packet`] | decryption |
//! | 13.a.i | server | split the packet and check its fields | [`handshake::decryption::decrypt_ec_packet`] | decryption |
//! | 13.a.ii | server | decrypt the secret (RSA-OAEP) | [`handshake::decryption::decrypt_ec_packet`], [`handshake::session::SessionSecret::from_bytes`] | decryption, session |
//! | 14.a | server | confirm: send the nonce, seal a known text | [`handshake::server::send_confirmation`], [`handshake::packets::sc_packet`], [`handshake::server::handshake_with`] | server, packets |
//! | 14.a.i | server | draw a fresh server nonce | [`handshake::packets::generate_server_nonce`] | packets |
//! | 14.a.ii | server | derive the session key (HKDF-SHA256) | [`handshake::session::derive_session_key`] | session |
//! | 15.a | client | check the confirmation | [`handshake::client::receive_confirmation`], [`handshake::checks::is_confirmed`], [`handshake::client::handshake_with`] | client, checks |
//! | 15.a.i | client | derive the same session key | [`handshake::session::derive_session_key`] | session |
//! | 16.a | sender | cut the message into fragments | [`link::reliable::fragment`], [`link::reliable::fragment_at`] | reliable |
//! | 16.b | sender | seal the fragment into a DP frame | [`link::frames::dp_packet`], [`link::frames::write_dp_packet`], [`link::frames::associated_data`] | frames |
//! | 16.c | sender | end the frame with its CRC-32 | [`link::frames::crc32_field`] | frames |
//! | 16.d | sender | keep the frame until acknowledged | [`link::reliable::SendWindow::sent`] | reliable |
//! | 16.e | receiver | check the CRC, then parse the frame | [`link::frames::decode_frame`], [`link::frames::FrameReader`], [`link::frames::nk_packet`], [`link::reliable::ReceiveWindow::nak_for_damage`] | frames, reliable |
//! | 16.f | receiver | open the payload | [`link::frames::open_dp_packet`] | frames |
//! | 16.g | receiver | deliver in order, acknowledge | [`link::frames::ak_packet`], [`link::reliable::ReceiveWindow::accept`] | frames, reliable |
//! | 16.h | receiver | put the fragments back together, with limits | [`link::reliable::Reassembly`] | reliable |
//! | 16.i | sender | resend on NK, duplicate AKs, timeout | [`link::reliable::SendWindow::on_ack`], [`link::reliable::SendWindow::on_nak`], [`link::reliable::SendWindow::on_tick`] | reliable |
//! | 17.a | either | close with an End frame | [`link::frames::end_packet`] | frames |
//! | 17.b | either | acknowledge End and close too | [`link::Link::close`], [`link::frames::ak_packet`], [`link::frames::end_packet`] | link, frames |
//! <!-- end generated -->
//!
//! ## The layout
//! The source is in folders, one for each part of the protocol and two for
//! the teaching tools; each folder's opening comment says what it holds and
//! what it may use. The handshake uses nothing above it, the link only the
//! handshake, the seed profile only the handshake and the link, and the chat
//! all three (its server starts the seed profile's command phase): no folder
//! imports one that imports it.
//!
//! - [`handshake`] (steps 1-15): the two halves of the flow,
//!   [`handshake::client`] and [`handshake::server`], and the step modules
//!   named as in the write-up: [`handshake::packets`], [`handshake::checks`],
//!   [`handshake::helpers`], [`handshake::decryption`], with
//!   [`handshake::framing`] (packets out of the byte stream),
//!   [`handshake::session`] (the session ciphers) and [`handshake::keys`]
//!   (the key pairs: made, stored, loaded).
//! - [`link`] (steps 16-17): [`link::frames`], [`link::reliable`] (the
//!   sans-IO windows) and [`link::Link`], the threads that run them.
//! - [`chat`]: the envelope, actions, accounts, the hub, direct messages,
//!   files, and the chat [`chat::Client`] and [`chat::Server`].
//! - [`seed`]: the seed profile's command phase (`--profile seed`): what
//!   the seed's original speaks after step 13, on a confined workspace.
//! - `check` (feature `teach`): `rfmp check`, the conformance suite for
//!   anyone's RFMP server or client, with named diagnoses.
//! - `teach` (feature `teach`): the demo, the transcript, the test vectors,
//!   a packet capture, a live trace, a man in the middle, a tapped server.
//! - [`error`]: one error type, with a code for `EE` packets.
//! - [`files`]: safe file names and the one atomic write
//!   (temporary file, `fsync`, rename) behind every file rfmp keeps.
//!
//! `SPEC.md` states the protocol in RFC 2119 words, `vectors/` holds its
//! test vectors, and `fuzz/` fuzzes every parser.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chat;
#[cfg(feature = "teach")]
pub mod check;
pub mod error;
pub mod files;
pub mod handshake;
pub mod link;
pub mod seed;
mod sync;
#[cfg(feature = "teach")]
pub mod teach;

pub use error::{Error, Result};

/// The lessons, compiled as doctests (only under `cargo test`, with the
/// default features: some snippets use the teaching tools): every Rust
/// snippet in `lessons/` is compiled and run, so a lesson's code cannot
/// drift away from the crate's.
#[cfg(all(doctest, feature = "teach"))]
pub mod lessons {
    #[doc = include_str!("../lessons/00-flow.md")]
    pub struct Flow;
    #[doc = include_str!("../lessons/01-start.md")]
    pub struct Start;
    #[doc = include_str!("../lessons/02-server-key.md")]
    pub struct ServerKey;
    #[doc = include_str!("../lessons/03-encryption.md")]
    pub struct Encryption;
    #[doc = include_str!("../lessons/04-confirmation.md")]
    pub struct Confirmation;
    #[doc = include_str!("../lessons/05-ciphers.md")]
    pub struct Ciphers;
    #[doc = include_str!("../lessons/06-errors.md")]
    pub struct Errors;
    #[doc = include_str!("../lessons/07-frames.md")]
    pub struct Frames;
    #[doc = include_str!("../lessons/09-chat.md")]
    pub struct Chat;
    #[doc = include_str!("../lessons/10-limits.md")]
    pub struct Limits;
}
