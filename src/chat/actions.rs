//! The chat's messages: every action, the shape of its data, and the rules
//! for names. Both sides use these types: the server ([`crate::chat::hub`]) and
//! the client ([`crate::chat::client::Client`]).
//!
//! Everything here travels inside the JSON [`crate::chat::messages::Envelope`]
//! (action, data, time, token), inside the sealed frames of step 16. The
//! two seeds that describe the chat meet here: seed 001's `message` and
//! `command` types (`/qqq` is `{"action":"command","data":"qqq"}`) and seed
//! 002's `login` handshake that returns a token and its `Core` actions.
//!
//! # A session of the chat, on the wire
//! ```text
//! client -> server  {"action":"login","data":{"password":"correct horse","username":"alice"},"time":"..."}
//! server -> client  {"action":"welcome","data":{"created":true,"room":"lobby","token":"9f2c...","username":"alice"},"time":"..."}
//! client -> server  {"action":"command","data":"join rust","time":"...","token":"9f2c..."}
//! server -> client  {"action":"joined","data":{"room":"rust","users":["alice"]},"time":"..."}
//! client -> server  {"action":"message","data":{"room":"rust","text":"hi"},"time":"...","token":"9f2c..."}
//! server -> each member of rust, alice too:
//!                   {"action":"message","data":{"from":"alice","room":"rust","sent":"...","text":"hi"},"time":"..."}
//! ```
//!
//! The order of the keys inside an object means nothing (rfmp happens to
//! write `data`'s keys in alphabetical order); a reader must look them up
//! by name.
//!
//! # Client to server
//! | action | data | answer |
//! |--------|------|--------|
//! | `login` | [`Login`] `{"username","password","create"}` (`create` optional: may a new name make an account) | `welcome` [`Welcome`], or `error` (404: no such account and `"create":false`) |
//! | `message` | [`Say`] `{"room","text"}` (room: the current one when omitted), or just the text | the room's `message` [`RoomMessage`], to every member |
//! | `command` | a command line without its `/`: `create NAME`, `join NAME`, `leave [NAME]`, `rooms`, `who [NAME]`, `qqq`, `quit` ([`Command`]) | `joined`, `left`, `rooms`, `who`, `bye` |
//! | `CoreClients` | none | `clients`: a list of [`ClientInfo`] |
//! | `CoreKey` | `{"username"}` | `key` [`KeyInfo`]: that user's RSA public key and fingerprint |
//! | `direct` | [`DirectOut`] `{"to","key","sealed"}` | `direct-sent` `{"to"}`; the recipient gets `direct` [`DirectIn`] |
//! | `file-start`, `file-chunk`, `file-end` | see [`crate::chat::transfer`]; `file-start` may name a `room` or a `user` ([`crate::chat::transfer::shelf::ShareWith`]): a file for people | `file-saved` (for people: a [`crate::chat::transfer::shelf::SharedFile`], with its `id`), or `error` |
//! | `file-get` | [`crate::chat::transfer::shelf::FileGet`] `{"id","offset"}` | `file-part` [`crate::chat::transfer::shelf::FilePart`]: at most 64 KiB from `offset`, base64 |
//! | any other name | registered with [`crate::chat::server::Server::handle`] | the handler's answer, under the same action |
//!
//! Before `login` the server answers only `login`, and echoes a `message`
//! whose data is a plain string (a check that the handshake and the frames
//! work, which a learner's own client can use before it speaks the chat).
//! After `login` every envelope must carry the token from `welcome`; one
//! with a missing or different token is refused with `error` 401.
//!
//! Files for people, on the wire (the file's bytes go as in
//! [`crate::chat::transfer`]; `bob` is in `study`):
//! ```text
//! alice -> server  {"action":"file-start","data":{"name":"notes.txt","room":"study","size":6},"time":"...","token":"..."}
//! server -> alice  {"action":"file-saved","data":{"expires":"2026-12-03T10:15:00Z","from":"alice","id":"5f0c2a9e","name":"notes.txt","room":"study","sha256":"...","size":6},"time":"..."}
//! server -> bob    {"action":"file-offered","data":{"expires":"2026-12-03T10:15:00Z","from":"alice","id":"5f0c2a9e","name":"notes.txt","room":"study","sha256":"...","size":6},"time":"..."}
//! bob -> server    {"action":"file-get","data":{"id":"5f0c2a9e","offset":0},"time":"...","token":"..."}
//! server -> bob    {"action":"file-part","data":{"bytes":"aGVsbG8K","id":"5f0c2a9e","name":"notes.txt","offset":0,"sha256":"...","size":6},"time":"..."}
//! ```
//!
//! # Server to client, unasked
//! | action | data | when |
//! |--------|------|------|
//! | `message` | [`RoomMessage`] `{"room","from","text","sent"}` | someone (you too) spoke in a room you are in |
//! | `notice` | [`Notice`] `{"room","text"}` | someone joined or left a room you are in; the server is shutting down (`"text":"server shutting down"`, then End) |
//! | `file-offered` | [`crate::chat::transfer::shelf::SharedFile`] `{"id","name","size","sha256","from","room" or "to","expires"}` | someone sent a file to a room you are in, or to you; fetch it with `file-get` |
//! | `direct` | [`DirectIn`] | someone sent you an end-to-end encrypted message |
//! | `error` | `{"code","message"}` | a request failed; `code` is HTTP's number, as in `EE` packets |

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The room every user is in after logging in.
pub const LOBBY: &str = "lobby";

/// Longest username or room name, in bytes.
pub const MAX_NAME_BYTES: usize = 32;

/// Longest text of one chat message, in bytes (a message is split into
/// frames of at most 1025 bytes by step 16.a, so this is not a frame limit;
/// it keeps one user from filling everyone's screen and queue).
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Check a username or a room name: 1 to [`MAX_NAME_BYTES`] bytes of ASCII
/// letters, digits, `_` and `-`, starting with a letter. (So a name never
/// needs escaping on a terminal, in a log, or in a command line.)
///
/// ```
/// use rfmp::chat::actions::validate_name;
/// assert!(validate_name("username", "alice").is_ok());
/// assert!(validate_name("room", "rust-101").is_ok());
/// assert!(validate_name("username", "al ice").is_err());
/// assert!(validate_name("room", "").is_err());
/// ```
///
/// # Errors
/// [`Error::Usage`] naming `what` and the rule broken.
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    let starts_with_letter = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let allowed = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if name.is_empty() || name.len() > MAX_NAME_BYTES || !starts_with_letter || !allowed {
        let shown: String = name.chars().take(MAX_NAME_BYTES + 1).collect();
        return Err(Error::Usage(format!(
            "{what} {shown:?}: a name is 1 to {MAX_NAME_BYTES} ASCII letters, digits, '_' or '-', starting with a letter"
        )));
    }
    Ok(())
}

/// Names nobody may create an account under, compared in lower case: they
/// could pass for the server, its administrator or the lobby. Names
/// starting with `core` (any case) are refused too, like seed 002's `Core`
/// actions.
pub const RESERVED_USERNAMES: &[&str] = &["admin", "root", "server", "lobby"];

/// Check a username for a new account: a valid name ([`validate_name`])
/// that is not reserved ([`RESERVED_USERNAMES`], or starting with `Core`,
/// in any case).
///
/// ```
/// use rfmp::chat::actions::validate_new_username;
/// assert!(validate_new_username("alice").is_ok());
/// assert!(validate_new_username("Admin").is_err());
/// assert!(validate_new_username("coreKey").is_err());
/// ```
///
/// # Errors
/// [`Error::Usage`] for an invalid name, [`Error::Forbidden`] for a
/// reserved one.
pub fn validate_new_username(name: &str) -> Result<()> {
    validate_name("username", name)?;
    let lower = name.to_ascii_lowercase();
    if RESERVED_USERNAMES.contains(&lower.as_str()) || lower.starts_with("core") {
        return Err(Error::Forbidden(format!(
            "the username {name:?} is reserved (admin, root, server, lobby and names \
             starting with Core, in any case); choose another"
        )));
    }
    Ok(())
}

/// `login` data (seed 002's `handShake` with its username and password).
///
/// Its `{:?}` never shows the password, and the password is overwritten
/// with zeros when the value is dropped (the `zeroize` crate).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// The name to log in as (see [`validate_name`]).
    pub username: String,
    /// The password; the login that creates the account sets it.
    pub password: String,
    /// May this login create the account when the name is new?
    ///
    /// - `true`: yes; the password given becomes the account's.
    /// - `false`: no; a name without an account is refused with `error`
    ///   404 (`no account ...`), and nothing is stored. rfmp's client sends
    ///   this unless asked to create (`rfmp client --create-account`, or
    ///   the user's "y" to its question), so that a mistyped name in a
    ///   script or in `send-file` never creates an account.
    /// - absent (`None`): as `true`, the rule before this field existed
    ///   (the first login of a new name creates it), so a client written
    ///   without it still works.
    ///
    /// On the wire: `{"create":false,"password":"...","username":"alice"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("create", &self.create)
            .finish()
    }
}

impl Drop for Login {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

/// `welcome` data: the answer to a successful `login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The name now logged in.
    pub username: String,
    /// 128 random bits as 32 hex digits: send it in every later envelope.
    pub token: String,
    /// The room the user is now in ([`LOBBY`]).
    pub room: String,
    /// True when this login created the account.
    pub created: bool,
}

/// `message` data from a client: what to say, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Say {
    /// The room to speak in; the current room when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// The text, at most [`MAX_TEXT_BYTES`].
    pub text: String,
}

/// `message` data from the server: one line of a room's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMessage {
    /// The room it was said in.
    pub room: String,
    /// Who said it (the server fills this in from the login: nobody can
    /// speak as someone else).
    pub from: String,
    /// What was said.
    pub text: String,
    /// When the sender sent it (the sender's envelope time).
    pub sent: DateTime<Utc>,
}

/// `notice` data: something happened in a room (a user joined or left).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The room.
    pub room: String,
    /// What happened, e.g. `bob joined`.
    pub text: String,
}

/// `joined` and `who` data: a room and who is in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomUsers {
    /// The room.
    pub room: String,
    /// Its members, in name order.
    pub users: Vec<String>,
}

/// `left` data: the room left, and the room now current (if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Left {
    /// The room that was left.
    pub room: String,
    /// The room messages now go to by default, if the user is in any.
    pub current: Option<String>,
}

/// One entry of the `rooms` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// The room's name.
    pub room: String,
    /// How many users are in it.
    pub users: usize,
}

/// One entry of the `clients` answer (`CoreClients`, seed 002's example of
/// a Core action: "returning list of all connected clients").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// The user's name.
    pub username: String,
    /// The rooms the user is in.
    pub rooms: Vec<String>,
    /// The fingerprint of the public key the user sent in step 10 (none
    /// for an unsecured session).
    pub fingerprint: Option<String>,
}

/// `key` data: a user's RSA public key, as the server received it in the
/// user's EC packet (step 10.a.iii), for end-to-end messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Whose key.
    pub username: String,
    /// The key in PEM (SPKI) text.
    pub public_key: String,
    /// Its SHA-256 fingerprint ([`crate::handshake::helpers::fingerprint`]).
    pub fingerprint: String,
}

/// `direct` data from the sender: an end-to-end encrypted message
/// ([`crate::chat::direct`]) for `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectOut {
    /// The recipient.
    pub to: String,
    /// A fresh AES-128 key, RSA-OAEP encrypted to the recipient's key, base64.
    pub key: String,
    /// The text, AES-128-EAX sealed under that key: base64 of nonce ‖ tag ‖
    /// ciphertext.
    pub sealed: String,
}

/// `direct` data as the recipient gets it: the sender's ciphertext, which
/// the server relays without being able to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectIn {
    /// The sender (filled in by the server from the login).
    pub from: String,
    /// The recipient (you).
    pub to: String,
    /// As in [`DirectOut::key`].
    pub key: String,
    /// As in [`DirectOut::sealed`].
    pub sealed: String,
    /// The fingerprint of the sender's public key, as the server knows it.
    pub fingerprint: Option<String>,
    /// When the sender sent it.
    pub sent: DateTime<Utc>,
}

/// A command, parsed from the data of a `command` envelope (seed 001: the
/// user types `/qqq`, the client sends type `command`, content `qqq`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `create NAME`: make a room and join it.
    Create(String),
    /// `join NAME`: join an existing room; it becomes the current room.
    Join(String),
    /// `leave [NAME]`: leave a room (the current one when no name).
    Leave(Option<String>),
    /// `rooms`: list every room and how many are in it.
    Rooms,
    /// `who [NAME]`: who is in a room (the current one when no name).
    Who(Option<String>),
    /// `qqq` (seed 001) or `quit`: leave the chat; the server answers
    /// `bye`, leaves every room, and closes the session (step 17: End
    /// both ways; the client sends its End too).
    Quit,
}

impl Command {
    /// Parse a command line without its `/`, e.g. `join rust`.
    ///
    /// ```
    /// use rfmp::chat::actions::Command;
    /// assert_eq!(Command::parse("join rust").unwrap(), Command::Join("rust".into()));
    /// assert_eq!(Command::parse("qqq").unwrap(), Command::Quit);
    /// assert!(Command::parse("dance").is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::Usage`] for an unknown command, a missing or extra
    /// argument, or an invalid room name; the message lists the commands.
    pub fn parse(line: &str) -> Result<Command> {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let argument = words.next().map(str::to_string);
        if words.next().is_some() {
            return Err(Error::Usage(format!("/{name} takes at most one argument")));
        }
        if let Some(room) = &argument {
            validate_name("room", room)?;
        }
        let needs_room = |argument: Option<String>| {
            argument.ok_or_else(|| Error::Usage(format!("/{name} needs a room name")))
        };
        let no_argument = |command: Command| match &argument {
            Some(_) => Err(Error::Usage(format!("/{name} takes no argument"))),
            None => Ok(command),
        };
        match name {
            "create" => needs_room(argument.clone()).map(Command::Create),
            "join" => needs_room(argument.clone()).map(Command::Join),
            "leave" => Ok(Command::Leave(argument.clone())),
            "rooms" => no_argument(Command::Rooms),
            "who" => Ok(Command::Who(argument.clone())),
            "qqq" | "quit" => no_argument(Command::Quit),
            other => {
                let shown: String = other.chars().take(MAX_NAME_BYTES).collect();
                Err(Error::Usage(format!(
                    "unknown command /{shown}; the server knows /create NAME, /join NAME, /leave [NAME], /rooms, /who [NAME], /qqq and /quit"
                )))
            }
        }
    }
}
