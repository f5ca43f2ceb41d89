//! # Exercise 9: the envelope of the link check, and `/msg` (after step 17)
//!
//! **What you will learn:** what the chat puts inside the frames. Every
//! message is a JSON *envelope* with an `action`, its `data`, and a `time`
//! that is **required** (RFC 3339, UTC, milliseconds). Before login, rfmp's
//! server echoes a `message` whose `data` is a plain string: the *link
//! check*, which tests steps 1 to 17 without the chat. Raw text is not an
//! envelope and gets `error` 400 `not a JSON envelope`:
//!
//! ```text
//! Hello, server!                                                       -> error 400
//! {"action":"message","data":"Hello, server!","time":"2026-01-01T00:00:00.000Z"}  -> echoed
//! ```
//!
//! A string inside JSON escapes `"` as `\"`, `\` as `\\`, a newline as
//! `\n`, a carriage return as `\r`, a tab as `\t`, and every other byte
//! below 0x20 as `\u00XX` (4 lower-case hex digits), exactly as rfmp's
//! encoder (serde_json) writes it; everything else, UTF-8 included, stays
//! as it is.
//!
//! The interactive client's `/msg USER TEXT` sends a direct message: the
//! user name is 1 to 32 ASCII letters, digits, `_` or `-`, starting with a
//! letter; the text is whatever follows the first run of spaces, and must
//! not be empty.
//!
//! **Read first:** `lessons/07c-link.md`, "Application messages and files",
//! and `lessons/09b-people.md`, "End-to-end direct messages".
//!
//! **Your task:** three `// TODO` places.
//! 1. [`json_string`]: a text as a JSON string, quotes included.
//! 2. [`link_check`]: the exact envelope of the link check.
//! 3. [`msg_command`]: split `/msg USER TEXT` into the user and the text,
//!    or `None` when the line is not a well-formed `/msg`.
//!
//! **Check your answer:** `cargo test -p rfmp-exercises envelope`
//!
//! **Stuck?** `exercises/hints/09_envelope.md`. The reference solution is
//! `exercises/solutions/09_envelope.rs`; rfmp's own code is
//! `chat::messages::Envelope` in `src/chat/messages.rs` and the command
//! parser of `src/bin/rfmp/commands.rs`.

/// `text` as a JSON string, with its quotes: `"a \"b\""` for `a "b"`.
// The parameter stays unused until you write the body.
#[allow(unused_variables)]
pub fn json_string(text: &str) -> String {
    // TODO: a quote, then each character escaped as the header says, then
    // a quote.
    todo!("exercise 9: write json_string (hint: exercises/hints/09_envelope.md)")
}

/// The link check's envelope: `action` `message`, `data` the text, and the
/// time stamp `time` (already RFC 3339), in that order, no spaces.
// The parameters stay unused until you write the body.
#[allow(unused_variables)]
pub fn link_check(text: &str, time: &str) -> String {
    // TODO: {"action":"message","data":<text>,"time":<time>}, with
    // json_string for both strings.
    todo!("exercise 9: write link_check (hint: exercises/hints/09_envelope.md)")
}

/// `/msg USER TEXT` split into `(USER, TEXT)`, the text without the spaces
/// around it; `None` for another command, a bad user name, or no text.
// The parameter stays unused until you write the body.
#[allow(unused_variables)]
pub fn msg_command(line: &str) -> Option<(&str, &str)> {
    // TODO: strip "/msg ", split at the first space after the name, check
    // the name and that the text is not empty.
    todo!("exercise 9: write msg_command (hint: exercises/hints/09_envelope.md)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The teaching mode's fixed time, as in `lessons/08-transcript.md`.
    const TIME: &str = "2026-01-01T00:00:00.000Z";

    /// The link check of the demo's first message is exactly the envelope
    /// the transcript seals into frame 0 (78 bytes).
    #[test]
    fn the_link_check_envelope_is_exact() {
        let envelope = link_check("Hello, server!", TIME);
        assert_eq!(
            envelope,
            r#"{"action":"message","data":"Hello, server!","time":"2026-01-01T00:00:00.000Z"}"#
        );
        assert_eq!(envelope.len(), 78);
    }

    /// Quotes, backslashes and control characters are escaped as serde_json
    /// escapes them; other characters, UTF-8 included, stay.
    #[test]
    fn json_strings_are_escaped_as_rfmp_escapes_them() {
        assert_eq!(json_string("hi"), r#""hi""#);
        assert_eq!(json_string(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(json_string(r"C:\tmp"), r#""C:\\tmp""#);
        assert_eq!(json_string("a\nb\tc\rd"), r#""a\nb\tc\rd""#);
        assert_eq!(json_string("\u{1}\u{1f}"), r#""\u0001\u001f""#);
        assert_eq!(json_string("grüße ✓"), "\"grüße ✓\"");
    }

    /// An envelope never holds a raw newline, so the first newline byte
    /// can end it (a file's bytes follow it).
    #[test]
    fn an_envelope_holds_no_raw_newline() {
        assert!(!link_check("line one\nline two", TIME).contains('\n'));
    }

    /// `/msg` splits into the user and the text; inner spaces stay.
    #[test]
    fn msg_splits_user_and_text() {
        assert_eq!(msg_command("/msg bob hello"), Some(("bob", "hello")));
        assert_eq!(msg_command("/msg bob see you at  noon "), Some(("bob", "see you at  noon")));
        assert_eq!(msg_command("/msg a-b_1 x"), Some(("a-b_1", "x")));
    }

    /// A `/msg` without a text, with a bad name, or another command is not
    /// one.
    #[test]
    fn a_malformed_msg_is_refused() {
        assert_eq!(msg_command("/msg bob"), None);
        assert_eq!(msg_command("/msg bob    "), None);
        assert_eq!(msg_command("/msg 1bob hi"), None);
        assert_eq!(msg_command("/msg ../etc hi"), None);
        assert_eq!(msg_command(&format!("/msg {} hi", "a".repeat(33))), None);
        assert_eq!(msg_command("/join rust"), None);
        assert_eq!(msg_command("hello"), None);
    }
}
