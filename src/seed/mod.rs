//! The `seed` profile: the command phase of the seed's original Python
//! client and server, spoken by rfmp so that either side can talk to it.
//!
//! The original completes the same handshake as rfmp (steps 1-13: SS, CC,
//! EC, byte for byte) and then, instead of rfmp's step-14 confirmation and
//! frames, speaks course command packets: `(CM,prompt,<cmd>)`,
//! `(CM,openRead,<file>)`, `(CM,openWrite,<file>)` with `(DP,<payload>)`,
//! replies `(SC)`, `(EE)`, `(EE,<code>,<description>)`, and `(End)`. This
//! module is everything after the handshake, as a library with no I/O of
//! its own beyond its one directory:
//!
//! - [`packets`]: parsing and building those packets, exactly the seed's
//!   bytes;
//! - [`content`]: how file contents are sealed (none, the seed's
//!   per-character Caesar, AES-128-EAX as base64 of nonce ‖ tag ‖
//!   ciphertext);
//! - [`workspace`]: the server's directory and its built-in commands:
//!   never a shell;
//! - [`session`]: a sans-IO state machine for each side, with the blocking
//!   [`session::serve`] loop and client helpers over a
//!   [`Connection`](crate::handshake::framing::Connection).
//!
//! # How command output reaches a client
//! The original ran `(CM,prompt,<cmd>)` in a shell, printed the output on
//! the *server's* terminal and sent the client only `(SC)` (or a bare
//! `(EE)`). Its client expects exactly that, so rfmp answers
//! `(CM,prompt,...)` in the same bytes and keeps the output on the server
//! (in its debug log). A client that wants the output asks with rfmp's
//! `(CM,promptOutput,<cmd>)` instead, and gets it as the original's
//! `openRead` reply has it: `(<sealed output>)(SC)` in one write, or
//! `(EE,<code>,<description>)` with the reason. The original client never
//! sends `promptOutput`, so it never sees a reply it cannot parse; a
//! client that names what it wants needs no guessing about who is on the
//! other end.
//!
//! # Errors: what the original client can rely on
//! - A failed `prompt` command: a bare `(EE)`, as the original (its client
//!   matched the packet, and a description would add nothing it reads).
//!   `promptOutput` gets the description.
//! - `openRead` of a missing file: exactly `(EE,404,File not found)`.
//! - Any other refusal: `(EE,<code>,<description>)` with rfmp's codes
//!   ([`crate::Error::code`]): `403` for a name outside the workspace,
//!   `413` for a file over the size cap, `422` for a payload whose AES tag
//!   fails, `400` for a malformed packet or an unknown command. The
//!   original answered a failed write with `404` and a reason; a client
//!   that prints the reason, as the original did, works the same.
//!
//! # The handshake before it
//! The seed profile's handshake is rfmp's, without step 14's `(SC,...)`
//! after EC or after `(CC)`: [`crate::handshake::Profile::Seed`] with
//! [`crate::handshake::server::handshake_with`] and
//! [`crate::handshake::client::handshake_with`]. The server
//! (`rfmp server --profile seed`, [`crate::chat::server::ServerConfig::profile`])
//! then hands the connection to [`session::serve`]; the client
//! (`rfmp client --profile seed`) to the helpers of [`session`].
//!
//! This folder uses [`crate::handshake`] (the connection and the session
//! cipher) and the crate's file helpers (safe names, atomic writes); the
//! chat's server starts it, but nothing here uses the chat
//! (`tests/layout.rs` checks it).

pub mod content;
pub mod packets;
pub mod session;
pub mod workspace;
