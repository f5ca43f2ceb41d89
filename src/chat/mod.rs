//! The chat: what travels inside the link's messages once the handshake
//! (steps 1-15) and the link (steps 16-17) are up. Seeds 001 and 002 describe
//! it; rfmp's flow has no step numbers here.
//!
//! - [`messages`]: the JSON envelope (action, data, time, token) around
//!   every message.
//! - [`actions`]: every action, the shape of its data, names, commands.
//! - [`accounts`]: usernames and Argon2id password hashes, saved atomically.
//! - [`hashing`]: Argon2id in a fixed pool of work areas, so password
//!   hashing has a memory bound whatever the number of threads.
//! - [`hub`]: the server's shared chat state: logins, tokens, rooms, fan-out.
//! - [`direct`]: end-to-end direct messages sealed to a user's public key.
//! - [`transfer`]: sending and receiving files.
//! - [`client`]: [`Client`], the chat client for programs.
//! - [`server`]: [`Server`], the thread-per-client server, and
//!   [`server::chatting`], one client's thread from handshake to End.
//!
//! This folder uses [`crate::handshake`] and [`crate::link`], never the
//! teaching tools.

pub mod accounts;
pub mod actions;
pub mod client;
pub mod direct;
pub mod hashing;
pub mod hub;
pub mod messages;
pub mod server;
pub mod transfer;

pub use client::{Client, Security};
pub use server::{Server, ServerConfig};
