//! Application messages: what the link's messages contain.
//!
//! The link ([`crate::link`]) carries messages of bytes. The application
//! gives those bytes a shape, joining the two chat seeds' fields (seed 001:
//! type, content, time sent; seed 002: action, data, packet-created, token):
//! a JSON *envelope* with an `action`, its `data`, the `time` it was sent
//! and, once logged in, the session `token`, optionally followed by a
//! newline and raw bytes (an *attachment*, used for pieces of a file, so a
//! file is not blown up by base64 inside JSON):
//!
//! ```text
//! {"action":"message","data":{"room":"lobby","text":"hello"},"time":"2026-11-23T10:15:00.123Z","token":"9f2c61d0a4b35e7c8d1f0a2b3c4d5e6f"}
//! {"action":"file-chunk","time":"2026-11-23T10:15:01.000Z","token":"9f2c..."}\n<up to 64 KiB of raw file bytes>
//! {"action":"error","data":{"code":403,"message":"forbidden: you are not in room \"rust\"; /join it first"},"time":"2026-11-23T10:15:02.000Z"}
//! ```
//!
//! | field | type | meaning |
//! |-------|------|---------|
//! | `action` | string | what the message is for; [`crate::chat::actions`] lists them all |
//! | `data` | any JSON, omitted when null | the action's data |
//! | `time` | RFC 3339, UTC, milliseconds | when the sender made the message |
//! | `token` | 32 hex digits, omitted before login | the session token from `welcome` |
//!
//! JSON never contains a raw newline (the encoder escapes newlines inside
//! strings as `\n`), so the first newline byte always ends the envelope.
//! The time is RFC 3339 in UTC on the wire, and shown as local `HH:MM:SS`
//! to people, as in the chat write-up. Field order in the JSON does not
//! matter to a reader; rfmp writes them in the order above.
//!
//! # The file actions
//! | action | from | data | attachment | answer |
//! |--------|------|------|------------|--------|
//! | `file-start` | client | `{"name","size"}` | none | none yet (`error` at once if refused) |
//! | `file-chunk` | client | none | the next bytes of the file | none (`error` if it fails) |
//! | `file-end` | client | `{"sha256"}` of all the bytes | none | `file-saved`, or `error` |
//! | `file-saved` | server | `{"name","size","sha256"}` as saved (a file for people: also `id`, `from`, `room` or `to`, `expires`) | none | — |
//! | `file-get` | client | `{"id","offset"}`: a piece of a file offered to this user | none | `file-part` `{"id","name","size","sha256","offset","bytes"}` (base64), or `error` |
//! | `error` | server | `{"code","message"}`: what went wrong | none | — |
//!
//! A file gets exactly one answer: `file-saved` after its `file-end`, or
//! one `error` as soon as something goes wrong (its later chunks are then
//! swallowed without an answer), so a client knows when everything it sent
//! has been dealt with. The chat's requests are answered one for one, in
//! order ([`crate::chat::actions`]).

use crate::error::{Error, Result};
use chrono::{DateTime, Local, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The envelope around every application message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// What the message is for, e.g. `message` or `file-start`.
    pub action: String,
    /// The action's data; omitted from the JSON when null.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    /// When the sender made the message: RFC 3339 in UTC, milliseconds.
    #[serde(with = "rfc3339_millis")]
    pub time: DateTime<Utc>,
    /// The session token from the `welcome` answer to `login` (32 hex
    /// digits, 128 random bits); omitted before login. Seed 002: "the
    /// server sends back packet with identification token that should be
    /// sent along with every packet".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Write the time as `2026-11-23T10:15:00.123Z`, read any RFC 3339 time.
mod rfc3339_millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

impl Envelope {
    /// An envelope for `action` with `data`, stamped with the current time.
    pub fn new(action: &str, data: Value) -> Envelope {
        Envelope {
            action: action.to_string(),
            data,
            // Milliseconds, as on the wire, so an envelope survives a
            // round trip unchanged.
            time: Utc::now().trunc_subsecs(3),
            token: None,
        }
    }

    /// The same envelope carrying `token` (what a logged-in client sends).
    pub fn with_token(mut self, token: Option<&str>) -> Envelope {
        self.token = token.map(str::to_string);
        self
    }

    /// An `error` answer: `{"action":"error","data":{"code":401,
    /// "message":"not authorized: log in first"},"time":...}`, the code
    /// being [`Error::code`] (HTTP's numbers, as in `EE` packets) and the
    /// message [`Error::description`].
    pub fn error(error: &Error) -> Envelope {
        Envelope::new(
            "error",
            serde_json::json!({"code": error.code(), "message": error.description()}),
        )
    }

    /// For an `error` envelope: its code and message.
    pub fn error_parts(&self) -> Option<(u16, &str)> {
        if self.action != "error" {
            return None;
        }
        let code = self.data.get("code")?.as_u64()?;
        let message = self.data.get("message")?.as_str()?;
        Some((u16::try_from(code).ok()?, message))
    }

    /// The time as people see it: local `HH:MM:SS`.
    pub fn local_time(&self) -> String {
        self.time.with_timezone(&Local).format("%H:%M:%S").to_string()
    }

    /// The data as text, when it is a JSON string.
    pub fn text(&self) -> Option<&str> {
        self.data.as_str()
    }

    /// The wire time, for logs: `2026-11-23T10:15:00.123Z`.
    pub fn wire_time(&self) -> String {
        self.time.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// Encode an envelope and its attachment into one message's bytes:
/// the JSON, then (only if `attachment` is not empty) `\n` and the bytes.
///
/// ```
/// use rfmp::chat::messages::{encode, decode, Envelope};
/// let hello = Envelope::new("message", "hi".into());
/// let bytes = encode(&hello, b"");
/// assert!(bytes.starts_with(br#"{"action":"message","data":"hi","time":""#));
/// assert_eq!(decode(&bytes).unwrap(), (hello, &b""[..]));
/// ```
pub fn encode(envelope: &Envelope, attachment: &[u8]) -> Vec<u8> {
    // Serialising a struct of strings and JSON values cannot fail.
    let mut bytes = serde_json::to_vec(envelope).unwrap_or_default();
    if !attachment.is_empty() {
        bytes.push(b'\n');
        bytes.extend_from_slice(attachment);
    }
    bytes
}

/// Split a message into its envelope and attachment.
///
/// # Errors
/// [`Error::BadMessage`] when the part before the first newline is not a
/// JSON envelope with an `action` string and an RFC 3339 `time`.
pub fn decode(message: &[u8]) -> Result<(Envelope, &[u8])> {
    let (json, attachment) = match message.iter().position(|&b| b == b'\n') {
        Some(newline) => (&message[..newline], &message[newline + 1..]),
        None => (message, &message[message.len()..]),
    };
    let envelope = serde_json::from_slice(json).map_err(|e| {
        Error::BadMessage(format!(
            "not a JSON envelope (an object with an action string and an RFC 3339 time): {e}"
        ))
    })?;
    Ok((envelope, attachment))
}
