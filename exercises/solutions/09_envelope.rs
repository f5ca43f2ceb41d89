//! # Exercise 9, solved: the envelope of the link check, and `/msg` (after step 17)
//!
//! The reference solution of `exercises/src/09_envelope.rs`.
//! rfmp's encoder is serde_json (`chat::messages::Envelope` in
//! `src/chat/messages.rs`), and its `/msg` parser is in `src/bin/rfmp/commands.rs`.

/// `text` as a JSON string, with its quotes: `"a \"b\""` for `a "b"`.
pub fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The link check's envelope: `action` `message`, `data` the text, and the
/// time stamp `time` (already RFC 3339), in that order, no spaces.
pub fn link_check(text: &str, time: &str) -> String {
    format!(
        "{{\"action\":\"message\",\"data\":{},\"time\":{}}}",
        json_string(text),
        json_string(time)
    )
}

/// `/msg USER TEXT` split into `(USER, TEXT)`, the text without the spaces
/// around it; `None` for another command, a bad user name, or no text.
pub fn msg_command(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("/msg ")?.trim_start();
    let (user, text) = rest.split_once(' ')?;
    let text = text.trim();
    let valid = (1..=32).contains(&user.len())
        && user.starts_with(|c: char| c.is_ascii_alphabetic())
        && user.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    (valid && !text.is_empty()).then_some((user, text))
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
