//! The packets of the seed profile's command phase: parsing what arrives,
//! building what goes out, byte for byte as the seed's original.
//!
//! # The wire form
//! The same syntax as every RFMP packet ([`crate::handshake::packets`]):
//! UTF-8 text, `(`, fields joined by `,`, `)`, cut out of the byte stream by
//! [`crate::handshake::framing::Connection`] at the first `)`.
//!
//! | packet | sent by | meaning |
//! |--------|---------|---------|
//! | `(CM,prompt,<cmd>)` | client | run a built-in command, e.g. `(CM,prompt,mkdir notes)` |
//! | `(CM,promptOutput,<cmd>)` | client | rfmp's addition: the same, and send the output back |
//! | `(CM,openRead,<file>)` | client | send me this file's contents |
//! | `(CM,openWrite,<file>)` | client | the next packet holds this file's new contents |
//! | `(DP,<payload>)` | client | the contents for the `openWrite` just before |
//! | `(End)` | client | the session is over |
//! | `(<payload>)` | server | the contents of a file (or command output): no type field |
//! | `(SC)` | server | the request succeeded |
//! | `(EE)` | server | a `prompt` command failed (the seed's bare form) |
//! | `(EE,<code>,<description>)` | server | any other request failed, e.g. `(EE,404,File not found)` |
//!
//! Only payloads are encrypted ([`crate::seed::content`]); CM, SC, EE and
//! End are plain text even in a secured session, as in the original. An
//! eavesdropper therefore sees every command and every file name.
//!
//! # Commas in a command
//! The original took the command as "field 2 of a split on `,`", so
//! `(CM,prompt,echo a,b)` ran `echo a`: everything after the second comma
//! was silently lost. rfmp joins fields 2 onwards back together with `,`,
//! so the command is all the text after `CM,prompt,` (here `echo a,b`).
//! The same rule gives a `DP` or content payload all its commas back: an
//! unencrypted or Caesar payload is ordinary text and may contain them.
//!
//! # What no field can hold
//! There is no escaping, so no command, file name or payload can contain
//! `(` or `)`: the first `)` ends the packet. The builders here refuse such
//! text with a clear error instead of sending a packet the peer would cut
//! in two. AES payloads are base64 and never contain either.
//!
//! The content reply `(<payload>)` has no type field, so the client tells
//! it from the replies by its text: rfmp never sends content that reads
//! exactly `SC` or whose first field is `EE` (the builder refuses both).
//! Empty content cannot be sent as `()` either, which has no fields and
//! which no RFMP reader accepts: for an empty file, or a command with no
//! output, the server sends `(SC)` alone, and the client reads that as
//! "no content".

use crate::error::{Error, Result};
use crate::handshake::framing::Packet;
use crate::handshake::packets::packet_formatter;

/// The command field for a prompt command, as the original spelled it.
pub const PROMPT: &str = "prompt";
/// rfmp's prompt command that also returns the output (see
/// [`crate::seed`] for why it is a separate name).
pub const PROMPT_OUTPUT: &str = "promptOutput";
/// The command field for reading a file.
pub const OPEN_READ: &str = "openRead";
/// The command field for writing a file.
pub const OPEN_WRITE: &str = "openWrite";

/// A request from a seed-profile client, as the server parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `(CM,prompt,<cmd>)`: run `cmd`; reply `(SC)` or a bare `(EE)`.
    Prompt(String),
    /// `(CM,promptOutput,<cmd>)`: run `cmd`; reply `(<output>)(SC)` or
    /// `(EE,<code>,<description>)`.
    PromptOutput(String),
    /// `(CM,openRead,<file>)`: reply `(<payload>)(SC)` in one write.
    OpenRead(String),
    /// `(CM,openWrite,<file>)`: the contents follow in a `DP` packet.
    OpenWrite(String),
    /// `(DP,<payload>)`: the contents for the preceding `openWrite`.
    Data(String),
    /// `(End)`: the client is done; the server closes.
    End,
}

/// The text between a packet's parentheses: all its fields with their commas.
fn inner(packet: &Packet) -> &str {
    &packet.text[1..packet.text.len() - 1]
}

/// Everything after the first `skip` fields, commas included (see the
/// module docs: the original kept only one field and lost the rest).
fn rest(packet: &Packet, skip: usize) -> Option<String> {
    (packet.fields.len() > skip).then(|| packet.fields[skip..].join(","))
}

impl Request {
    /// Parse a packet the client sent.
    ///
    /// ```
    /// use rfmp::handshake::framing::Packet;
    /// use rfmp::seed::packets::Request;
    /// let p = Packet::parse(b"(CM,prompt,echo a,b)").unwrap();
    /// assert_eq!(Request::parse(&p).unwrap(), Request::Prompt("echo a,b".into()));
    /// let p = Packet::parse(b"(End)").unwrap();
    /// assert_eq!(Request::parse(&p).unwrap(), Request::End);
    /// ```
    ///
    /// # Errors
    /// - [`Error::Malformed`] for a `CM` without a command and argument, an
    ///   `End` with fields, or a `DP` without a payload field.
    /// - [`Error::InvalidChoice`] for a `CM` verb other than `prompt`,
    ///   `promptOutput`, `openRead`, `openWrite`.
    /// - [`Error::UnexpectedPacket`] for any other packet type.
    pub fn parse(packet: &Packet) -> Result<Request> {
        match packet.kind() {
            "CM" => {
                let (Some(verb), Some(argument)) = (packet.fields.get(1), rest(packet, 2)) else {
                    return Err(Error::Malformed(
                        "a CM packet is (CM,<command>,<argument>), e.g. (CM,prompt,whoami)".into(),
                    ));
                };
                match verb.as_str() {
                    PROMPT => Ok(Request::Prompt(argument)),
                    PROMPT_OUTPUT => Ok(Request::PromptOutput(argument)),
                    OPEN_READ => Ok(Request::OpenRead(argument)),
                    OPEN_WRITE => Ok(Request::OpenWrite(argument)),
                    other => Err(Error::InvalidChoice {
                        given: other.to_string(),
                        expected: "a CM command prompt, promptOutput, openRead or openWrite",
                    }),
                }
            }
            "DP" => rest(packet, 1)
                .map(Request::Data)
                .ok_or_else(|| Error::Malformed("a DP packet is (DP,<payload>)".into())),
            "End" if packet.fields.len() == 1 => Ok(Request::End),
            "End" => {
                Err(Error::Malformed("the seed profile's End packet has no fields: (End)".into()))
            }
            _ => Err(Error::UnexpectedPacket {
                expected: "a CM, DP or End packet",
                got: crate::handshake::framing::preview(&packet.text),
            }),
        }
    }

    /// Build this request's packet text.
    ///
    /// ```
    /// use rfmp::seed::packets::Request;
    /// assert_eq!(Request::OpenRead("notes.txt".into()).to_packet().unwrap(), "(CM,openRead,notes.txt)");
    /// assert_eq!(Request::End.to_packet().unwrap(), "(End)");
    /// ```
    ///
    /// # Errors
    /// [`Error::Malformed`] when the command, file name or payload contains
    /// `(` or `)` (see the module docs).
    pub fn to_packet(&self) -> Result<String> {
        let (fields, text): (&[&str], &str) = match self {
            Request::Prompt(cmd) => (&["CM", PROMPT], cmd),
            Request::PromptOutput(cmd) => (&["CM", PROMPT_OUTPUT], cmd),
            Request::OpenRead(name) => (&["CM", OPEN_READ], name),
            Request::OpenWrite(name) => (&["CM", OPEN_WRITE], name),
            Request::Data(payload) => (&["DP"], payload),
            Request::End => return Ok(packet_formatter(&["End"])),
        };
        check_field_text(text)?;
        let mut all = fields.to_vec();
        all.push(text);
        Ok(packet_formatter(&all))
    }
}

/// Refuse text that would break the packet syntax: a `(` or `)`.
fn check_field_text(text: &str) -> Result<()> {
    if text.contains(['(', ')']) {
        return Err(Error::Malformed(format!(
            "the seed's packets cannot carry a parenthesis (there is no escaping), \
             and this text has one: {}",
            crate::handshake::framing::preview(text)
        )));
    }
    Ok(())
}

/// The success reply: `(SC)`.
pub fn sc_packet() -> String {
    packet_formatter(&["SC"])
}

/// The seed's bare error reply to a failed `prompt` command: `(EE)`.
pub fn bare_ee_packet() -> String {
    packet_formatter(&["EE"])
}

/// The seed's reply to `openRead` for a file that is not there, exactly:
/// `(EE,404,File not found)`.
pub fn file_not_found_packet() -> String {
    packet_formatter(&["EE", "404", "File not found"])
}

/// The reply carrying a file's contents (or command output): `(<payload>)`,
/// with no type field, as the original sent it. The server writes it and
/// `(SC)` together, in one write.
///
/// ```
/// use rfmp::seed::packets::content_packet;
/// assert_eq!(content_packet("hello, world").unwrap(), "(hello, world)");
/// assert!(content_packet("EE,404,File not found").is_err());
/// ```
///
/// # Errors
/// [`Error::Malformed`] when the payload is empty, contains `(` or `)`, is
/// exactly `SC`, or its first field is `EE` (a client would take it for a
/// reply).
pub fn content_packet(payload: &str) -> Result<String> {
    check_field_text(payload)?;
    if payload.is_empty() {
        return Err(Error::Malformed(
            "the seed's content reply cannot carry empty text: () has no fields".into(),
        ));
    }
    if payload == "SC" || payload.split(',').next() == Some("EE") {
        return Err(Error::Malformed(
            "content reading SC, or whose first field is EE, would read as a reply".into(),
        ));
    }
    Ok(format!("({payload})"))
}

/// A reply the client receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `(SC)`.
    Success,
    /// `(EE)` (code and description empty) or `(EE,<code>,<description>)`.
    Failure {
        /// The code, e.g. `404`; empty for the bare `(EE)`.
        code: String,
        /// The description, commas included; empty for the bare `(EE)`.
        description: String,
    },
    /// `(<payload>)`: the contents for an `openRead` or `promptOutput`.
    Content(String),
}

impl Reply {
    /// Parse a packet from the server.
    ///
    /// The content reply `(<payload>)` has no type of its own, so only the
    /// client knows, from what it asked, whether content may come next:
    /// with `content_expected`, every packet but `(SC)` and `EE` is
    /// content (`(SC)` then means "no content"); without it, only `(SC)`
    /// and `EE` are replies.
    ///
    /// ```
    /// use rfmp::handshake::framing::Packet;
    /// use rfmp::seed::packets::Reply;
    /// let p = Packet::parse(b"(EE,404,File not found)").unwrap();
    /// assert_eq!(
    ///     Reply::parse(&p, true).unwrap(),
    ///     Reply::Failure { code: "404".into(), description: "File not found".into() }
    /// );
    /// let p = Packet::parse(b"(a,b)").unwrap();
    /// assert_eq!(Reply::parse(&p, true).unwrap(), Reply::Content("a,b".into()));
    /// assert!(Reply::parse(&p, false).is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::UnexpectedPacket`] when content was not expected and the
    /// packet is neither `(SC)` nor `EE`.
    pub fn parse(packet: &Packet, content_expected: bool) -> Result<Reply> {
        match packet.kind() {
            "EE" => Ok(Reply::Failure {
                code: packet.fields.get(1).cloned().unwrap_or_default(),
                description: rest(packet, 2).unwrap_or_default(),
            }),
            "SC" if packet.fields.len() == 1 => Ok(Reply::Success),
            _ if content_expected => Ok(Reply::Content(inner(packet).to_string())),
            _ => Err(Error::UnexpectedPacket {
                expected: "(SC) or an EE packet",
                got: crate::handshake::framing::preview(&packet.text),
            }),
        }
    }
}
