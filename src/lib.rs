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
//! the Caesar cipher ([`session`]), a server key nobody vouches for
//! ([`helpers`]), and acknowledgement frames without a tag ([`frames`]).
//! Do not protect real secrets with it.
//!
//! ## The flow
//! The steps are numbered exactly as in the flow write-up the project
//! started from (`lessons/00-flow.md`); steps 14-17 are rfmp's additions.
//! Every function that implements a step says so in its documentation.
//!
//! | step | side | what happens | function | module |
//! |------|------|--------------|----------|--------|
//! | 1.a  | client | choose 0 (unencrypted) or 1 (encrypted) | [`packets::encryption_type`] | packets |
//! | 1.b  | client | build the start packet `(SS,RFMP,v1.0,1)` | [`packets::start_packet`] | packets |
//! | 1.c  | client | add the parentheses and commas | [`packets::packet_formatter`] | packets |
//! | 2.a  | client | send the SS packet | [`client::send_start_packet`] | client |
//! | 3.a  | server | receive and decode the first packet | [`server::chatting`], [`server::receive_start_packet`] | server |
//! | 4.a  | server | does SS end in 0 or 1? | [`checks::is_secure`] | checks |
//! | 5.a  | server | if secure, answer with the key | [`server::answer_start_packet`] | server |
//! | 6.a  | server | build `(CC)` or `(CC,<public key>)` | [`packets::cc_packet`] | packets |
//! | 7.a  | server | send `(CC,<public key>)` | [`server::sending_secure_connection_packet`] | server |
//! | 7.b  | server | send `(CC)` | [`server::na_secure_packet`] | server |
//! | 8.a  | client | receive CC; one field: 8.a.i unencrypted, two: 8.a.ii encrypted | [`checks::check_cc_packet`], [`client::receive_cc_packet`] | checks, client |
//! | 9.a  | client | convert the key from text to a key | [`helpers::rsa_public_key_converter`] | helpers |
//! | 9.b  | client | pass it to `algo_and_encrypted_session` | [`client::build_ec_packet`] | client |
//! | 10.a.i | client | choose aes or caesar | [`packets::encryption_choice`] | packets |
//! | 10.a.ii | client | make and encrypt the session secret | [`packets::algo_and_encrypted_session`] | packets |
//! | 10.a.ii.1.a / 2.a | client | generate the AES key / the shift | [`packets::generate_session_key`], [`packets::generate_shift`] | packets |
//! | 10.a.ii.1.b / 2.b | client | encrypt it with RSA-OAEP | [`packets::encrypt_session_secret`] | packets |
//! | 10.a.ii.1.c / 2.c | client | convert it to text (base64) | [`packets::algo_and_encrypted_session`] | packets |
//! | 10.a.iii | client | build `(EC,<algo>,<secret>,<client key>)` | [`packets::ec_packet`] | packets |
//! | 11.a | client | send the EC packet | [`client::send_ec_packet`] | client |
//! | 12.a | server | wait for the EC packet | [`server::receive_ec_packet`] | server |
//! | 13.a | server | split it (13.a.i), decrypt the secret (13.a.ii) | [`decryption::decrypt_ec_packet`] | decryption |
//! | 14.a | server | confirm with `(SC,<sealed confirmation>)` | [`packets::sc_packet`], [`server::send_confirmation`] | packets, server |
//! | 15.a | client | check the confirmation | [`checks::is_confirmed`], [`client::receive_confirmation`] | checks, client |
//! | 16.a | sender | cut a message into fragments | [`reliable::fragment`] | reliable |
//! | 16.b | sender | seal a fragment into `(DP,<seq>,<index>,<count>,<payload>,<crc>)` | [`frames::dp_packet`] | frames |
//! | 16.c | sender | the CRC-32 field | [`frames::crc32_field`] | frames |
//! | 16.d | sender | keep the frame until acknowledged | [`reliable::SendWindow::sent`] | reliable |
//! | 16.e | receiver | check the CRC, parse; NK a damaged frame | [`frames::decode_frame`], [`frames::nk_packet`] | frames |
//! | 16.f | receiver | open the payload with its associated data | [`decryption::open_dp_packet`] | decryption |
//! | 16.g | receiver | in order, exactly once; `(AK,<next>)` | [`reliable::ReceiveWindow::accept`], [`frames::ak_packet`] | reliable, frames |
//! | 16.h | receiver | reassemble, with limits | [`reliable::Reassembly`] | reliable |
//! | 16.i | sender | resend on NK, duplicate AKs, timeout | [`reliable::SendWindow::on_ack`], [`reliable::SendWindow::on_tick`] | reliable |
//! | 17.a | either | send `(End,<seq>,<payload>,<crc>)` | [`frames::end_packet`] | frames |
//! | 17.b | either | close: End both ways | [`link::Link::close`] | link |
//!
//! ## The modules
//! - [`packets`]: build every handshake packet (steps 1, 6, 10, 14) and parse one.
//! - [`framing`]: cut whole packets out of the TCP byte stream.
//! - [`frames`]: the frames after the handshake: DP, AK, NK, End (steps 16, 17).
//! - [`reliable`]: fragments, sequence numbers, windows, retransmission (step 16).
//! - [`link`]: a reliable message link with reader and writer threads (16, 17).
//! - [`messages`]: the JSON envelope around every application message.
//! - [`chat`]: the chat's actions and their data, names, commands.
//! - [`accounts`]: usernames and Argon2id password hashes, saved atomically.
//! - [`hub`]: the server's chat state: logins, tokens, rooms, fan-out.
//! - [`direct`]: end-to-end direct messages to a user's public key.
//! - [`transfer`]: sending and receiving files.
//! - [`transcript`]: one session byte by byte, in an insecure teaching mode.
//! - [`checks`]: decide what a received packet means (steps 4, 8, 15).
//! - [`helpers`]: keys to and from PEM text, base64, randomness (step 9).
//! - [`decryption`]: the server recovers the session secret (step 13) and
//!   opens frames (16.f).
//! - [`session`]: the session ciphers none, Caesar and AES-128-EAX.
//! - [`client`]: the client's side of the handshake (steps 2, 8, 11, 15),
//!   and [`client::Client`], the chat client for programs.
//! - [`server`]: the thread-per-client server (steps 3, 5, 7, 12, 14) and its
//!   answers to messages.
//! - [`demo`]: the narrated step-by-step demo (`rfmp demo`).
//! - [`error`]: one error type, with a code for `EE` packets.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounts;
pub mod chat;
pub mod checks;
pub mod client;
pub mod decryption;
pub mod demo;
pub mod direct;
pub mod error;
pub mod frames;
pub mod framing;
pub mod helpers;
pub mod hub;
pub mod link;
pub mod messages;
pub mod packets;
pub mod reliable;
pub mod server;
pub mod session;
pub mod transcript;
pub mod transfer;

pub use error::{Error, Result};

/// The lessons, compiled as doctests (only under `cargo test`): every Rust
/// snippet in `lessons/` is compiled and run, so a lesson's code cannot
/// drift away from the crate's.
#[cfg(doctest)]
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
