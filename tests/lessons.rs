//! Bytes in the lessons cannot drift from the code.
//!
//! A lesson or a diagram marks each block of packets or output it shows
//! from the teaching mode between two lines,
//!
//! ```text
//! <!-- generated: NAME -->
//! <!-- end generated -->
//! ```
//!
//! and `rfmp::teach::transcript::lesson_block(NAME)` makes what goes between them.
//! These tests regenerate every marked block and fail, showing the lines
//! that differ, when the committed text is out of date. Run them with
//! `RFMP_BLESS=1` to rewrite the files instead, then review `git diff`.
//!
//! Output of the demo, whose keys and nonces are random, cannot be
//! regenerated; the lines a lesson quotes from it are marked
//! `<!-- quoted: demo none -->` (or `demo aes`) ... `<!-- end quoted -->`,
//! and a test checks that a real run of the demo prints them.

use rfmp::link::Faults;
use rfmp::teach::demo::{DEMO_FAULTS, DemoCipher};

use rfmp::teach::transcript::{LESSON_BLOCKS, lesson_block};
use std::collections::BTreeSet;
use std::fs;

/// The line that opens a generated block, before its name.
const START: &str = "<!-- generated: ";
/// The line that closes a generated block.
const END: &str = "<!-- end generated -->";
/// The line that opens a block quoted from the demo, before its source.
const QUOTE_START: &str = "<!-- quoted: ";
/// The line that closes a quoted block.
const QUOTE_END: &str = "<!-- end quoted -->";

/// One marked block in a file: its name, the indentation of its markers,
/// and the lines (0-based) of its two markers.
struct Marked {
    name: String,
    indent: String,
    start: usize,
    end: usize,
}

/// The generated blocks of a Markdown text.
fn marked_blocks(file: &str, text: &str) -> Vec<Marked> {
    blocks_between(file, text, START, END)
}

/// The blocks of a Markdown text between a `start` marker (followed by a
/// name and ` -->`) and an `end` marker. Markers inside a fenced code
/// block are text, not markers (a lesson may show one as an example);
/// between two markers anything goes, fences included.
fn blocks_between(file: &str, text: &str, start: &str, end: &str) -> Vec<Marked> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut in_fence = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start();
        if line.starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && line.starts_with(start) {
            let name = line[start.len()..]
                .strip_suffix(" -->")
                .unwrap_or_else(|| panic!("{file}:{}: a marker ends with ` -->`", i + 1))
                .to_string();
            let indent = lines[i][..lines[i].len() - line.len()].to_string();
            let end = (i + 1..lines.len())
                .find(|&j| lines[j].trim() == end)
                .unwrap_or_else(|| panic!("{file}:{}: `{name}` has no `{end}`", i + 1));
            blocks.push(Marked { name, indent, start: i, end });
            i = end;
        }
        i += 1;
    }
    blocks
}

/// The text with every marked block filled from the code, indented as its
/// markers are.
fn regenerate(file: &str, text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut next = 0;
    for block in marked_blocks(file, text) {
        out.extend(lines[next..=block.start].iter().map(|l| l.to_string()));
        let generated = lesson_block(&block.name)
            .unwrap_or_else(|e| panic!("{file}: block `{}`: {e}", block.name));
        for line in generated.lines() {
            out.push(if line.is_empty() {
                String::new()
            } else {
                format!("{}{line}", block.indent)
            });
        }
        next = block.end;
    }
    out.extend(lines[next..].iter().map(|l| l.to_string()));
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// The lesson and diagram files, in order.
fn teaching_files() -> Vec<String> {
    let mut files: Vec<String> = ["lessons", "diagrams"]
        .iter()
        .flat_map(|dir| fs::read_dir(dir).expect("directory"))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .map(|path| path.display().to_string())
        .collect();
    files.sort();
    files
}

/// Where two texts differ: the lines between their common beginning and
/// their common end, as `-committed` and `+generated` lines.
fn difference(committed: &str, generated: &str) -> String {
    let old: Vec<&str> = committed.lines().collect();
    let new: Vec<&str> = generated.lines().collect();
    let same_start = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let same_end = old[same_start..]
        .iter()
        .rev()
        .zip(new[same_start..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = format!("at line {}:\n", same_start + 1);
    for line in &old[same_start..old.len() - same_end] {
        out += &format!("-{line}\n");
    }
    for line in &new[same_start..new.len() - same_end] {
        out += &format!("+{line}\n");
    }
    out
}

/// Every marked block in the lessons and diagrams is exactly what the code
/// makes in the teaching mode (with `RFMP_BLESS=1`, rewrite them instead).
#[test]
fn generated_blocks_match_the_code() {
    let bless = std::env::var_os("RFMP_BLESS").is_some();
    let mut stale = Vec::new();
    for file in teaching_files() {
        let committed = fs::read_to_string(&file).expect("readable");
        let generated = regenerate(&file, &committed);
        if generated != committed {
            if bless {
                fs::write(&file, &generated).expect("writable");
            } else {
                stale.push(format!("{file}\n{}", difference(&committed, &generated)));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated blocks are out of date; rewrite them with\n  \
         RFMP_BLESS=1 cargo test --test lessons\nand review the diff.\n\n{}",
        stale.join("\n")
    );
}

/// The step table in `src/lib.rs`'s docs is the one
/// `rfmp::teach::steps::rustdoc_table` makes from `STEPS`, like the one of
/// `lessons/00-flow.md` (block `flow-steps`), so the two cannot disagree
/// (with `RFMP_BLESS=1`, rewrite it instead).
#[test]
fn lib_step_table_is_made_from_steps() {
    let file = "src/lib.rs";
    let committed = fs::read_to_string(file).expect("src/lib.rs");
    let (start, end) = ("//! <!-- generated: rustdoc-steps -->\n", "//! <!-- end generated -->");
    let from = committed.find(start).expect("the table's opening marker") + start.len();
    let to = from + committed[from..].find(end).expect("the table's closing marker");
    let generated = rfmp::teach::steps::rustdoc_table();
    if committed[from..to] == generated {
        return;
    }
    if std::env::var_os("RFMP_BLESS").is_some() {
        let blessed = format!("{}{generated}{}", &committed[..from], &committed[to..]);
        fs::write(file, blessed).expect("writable");
    } else {
        panic!(
            "the step table of src/lib.rs is out of date; rewrite it with\n  \
             RFMP_BLESS=1 cargo test --test lessons\n\n{}",
            difference(&committed[from..to], &generated)
        );
    }
}

/// Every block name the files use is one the code knows, and every name
/// the code knows is used: neither side has anything the other lacks.
#[test]
fn every_block_name_is_known_and_used() {
    let mut used = BTreeSet::new();
    for file in teaching_files() {
        let text = fs::read_to_string(&file).expect("readable");
        for block in marked_blocks(&file, &text) {
            assert!(
                LESSON_BLOCKS.contains(&block.name.as_str()),
                "{file}: unknown block `{}`; known: {LESSON_BLOCKS:?}",
                block.name
            );
            used.insert(block.name);
        }
    }
    let unused: Vec<_> = LESSON_BLOCKS.iter().filter(|name| !used.contains(**name)).collect();
    assert!(unused.is_empty(), "blocks no file shows: {unused:?}");
    assert!(lesson_block("no-such-block").is_err());
}

/// The teaching mode gives the same bytes every time, even for the
/// diagrams, which come from real handshakes over TCP.
#[test]
fn lesson_blocks_are_deterministic() {
    for name in ["ec-aes", "sc", "handshake-caesar"] {
        assert_eq!(lesson_block(name).unwrap(), lesson_block(name).unwrap(), "{name}");
    }
}

/// The diagrams show what the real handshake sends: the sizes of the
/// lessons' tables, and a Caesar shift recovered from the known text.
#[test]
fn handshake_diagrams_show_the_real_packets() {
    use rfmp::handshake::session::Algorithm;
    use rfmp::teach::transcript::handshake_diagram;
    let none = handshake_diagram(None).unwrap();
    assert!(none.contains("S->>C: 7.b (CC), 4 B"), "{none}");
    assert!(none.contains("S->>C: 14.a (SC), 4 B"), "{none}");
    let caesar = handshake_diagram(Some(Algorithm::Caesar)).unwrap();
    assert!(caesar.contains("C->>S: 11.a (EC,caesar,<base64 344>,<PEM 450 B>), 807 B"), "{caesar}");
    assert!(caesar.contains("S->>C: 14.a (SC,<nonce 44>,<base64 20>), 70 B"), "{caesar}");
    let aes = handshake_diagram(Some(Algorithm::Aes)).unwrap();
    assert!(aes.contains("C->>S: 11.a (EC,aes,<base64 344>,<PEM 450 B>), 804 B"), "{aes}");
    assert!(aes.contains("S->>C: 14.a (SC,<nonce 44>,<base64 64>), 114 B"), "{aes}");
    assert!(
        aes.contains("14.a.ii session key = HKDF-SHA256(nonce, secret)"),
        "the derivation: {aes}"
    );
    assert!(aes.contains("61 B"), "the sealed End frame: {aes}");
    // The traced EC packet is the one the lessons show (same seed, same keys).
    let ec = lesson_block("ec-aes").unwrap();
    assert!(ec.starts_with("```text\n804 bytes, aes;"), "{ec}");
}

/// Every lesson with a Rust snippet is included in `src/lib.rs` as a
/// doctest, so that `cargo test` runs its snippets.
#[test]
fn every_lesson_with_rust_runs_as_a_doctest() {
    let lib = fs::read_to_string("src/lib.rs").expect("src/lib.rs");
    for file in teaching_files() {
        let text = fs::read_to_string(&file).expect("readable");
        if text.contains("```rust") {
            let include = format!("include_str!(\"../{file}\")");
            assert!(lib.contains(&include), "src/lib.rs lacks {include}");
        }
    }
}

/// What the demo prints for one cipher, without colour, with the faults
/// its quoted command uses: `demo none` is `rfmp demo --cipher none`,
/// `demo aes` is `rfmp demo --cipher aes --corrupt-rate 0 --drop-rate 0`.
fn demo_output(source: &str) -> String {
    let (cipher, faults) = match source {
        "demo none" => (DemoCipher::None, DEMO_FAULTS),
        "demo aes" => {
            (DemoCipher::Aes, Faults { corrupt_rate: 0.0, drop_rate: 0.0, ..DEMO_FAULTS })
        }
        other => panic!("no demo run is called `{other}`"),
    };
    let mut out = anstream::StripStream::new(Vec::new());
    rfmp::teach::demo::run(&[cipher], faults, false, &mut out).expect("the demo runs");
    String::from_utf8(out.into_inner()).expect("UTF-8")
}

/// Every block a lesson quotes from the demo is printed, line for line, by
/// a real run of the demo: quoted output cannot drift either.
#[test]
fn quoted_demo_output_is_what_the_demo_prints() {
    let mut quotes = Vec::new();
    for file in teaching_files() {
        let text = fs::read_to_string(&file).expect("readable");
        let lines: Vec<&str> = text.lines().collect();
        for block in blocks_between(&file, &text, QUOTE_START, QUOTE_END) {
            let quoted: Vec<&str> = lines[block.start + 1..block.end]
                .iter()
                .filter(|l| !l.trim_start().starts_with("```"))
                .map(|l| l.trim_end())
                .collect();
            quotes.push((file.clone(), block.name, quoted.join("\n")));
        }
    }
    assert!(quotes.len() >= 5, "expected the frames chapter's quotes");
    let sources: BTreeSet<String> = quotes.iter().map(|(_, s, _)| s.clone()).collect();
    for source in sources {
        let output = demo_output(&source);
        let printed: Vec<&str> = output.lines().map(str::trim_end).collect();
        let printed = printed.join("\n");
        for (file, _, quoted) in quotes.iter().filter(|(_, s, _)| *s == source) {
            assert!(
                printed.contains(quoted.as_str()),
                "{file}: the `{source}` run does not print\n{quoted}\n\nit printed:\n{printed}"
            );
        }
    }
}

/// The `log::` calls of the server's code, as `(LEVEL, format string)`:
/// every `log::info!("...")` (and warn, error, debug) in `src/chat/server.rs`
/// `src/chat/hub.rs` and `src/chat/hub/conversation.rs`.
fn server_log_calls() -> BTreeSet<(String, String)> {
    let mut calls = BTreeSet::new();
    for file in ["src/chat/server.rs", "src/chat/hub.rs", "src/chat/hub/conversation.rs"] {
        let source = fs::read_to_string(file).expect(file);
        for (level, _) in source.match_indices("log::") {
            let rest = &source[level + "log::".len()..];
            let Some((name, after)) = rest.split_once("!(") else {
                continue;
            };
            if !["error", "warn", "info", "debug", "trace"].contains(&name) {
                continue;
            }
            let text = after
                .trim_start()
                .strip_prefix('"')
                .and_then(|s| s.split_once('"'))
                .map(|(text, _)| text.to_string())
                .unwrap_or_else(|| panic!("{file}: a log::{name}! call without a literal"));
            calls.insert((name.to_uppercase(), text));
        }
    }
    calls
}

/// The table of the server's log lines in `lessons/07c-link.md` lists
/// exactly the `log::` calls of `src/chat/server.rs`, `src/chat/hub.rs` and `src/chat/hub/conversation.rs`,
/// each with its level: a new or changed log line fails until the lesson
/// says what it means.
#[test]
fn server_log_lines_table_is_the_code_s() {
    let lesson = fs::read_to_string("lessons/07c-link.md").expect("the link chapter");
    let table = lesson
        .split_once("<!-- log lines: the test reads the rows of this table -->")
        .expect("the log lines table's marker")
        .1;
    let mut listed = BTreeSet::new();
    for row in table.lines().skip(3).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").collect();
        assert_eq!(cells.len(), 3, "a row of event, level, text: {row}");
        let text = cells[2].trim().trim_matches('`').to_string();
        listed.insert((cells[1].trim().to_string(), text));
    }
    let code = server_log_calls();
    assert!(code.len() >= 10, "the server's log calls: {code:?}");
    let missing: Vec<_> = code.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&code).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "lessons/07c-link.md's log table differs from the code:\n  \
         logged but not in the table: {missing:?}\n  in the table but never logged: {extra:?}"
    );
}

/// The password rule the lessons teach where login is taught is the one
/// `chat::accounts` enforces.
#[test]
fn password_rule_in_the_lessons_is_the_code_s() {
    use rfmp::chat::accounts::{MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES};
    let rule = format!("a password of {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes");
    for file in ["lessons/09-chat.md", "lessons/13-your-own-peer.md"] {
        let text = fs::read_to_string(file).expect(file).replace('\n', " ");
        let text = text.replace("**", "");
        assert!(text.contains(&rule), "{file} does not say `{rule}`");
    }
}

/// The envelope errors the lessons quote (raw text as the link check, a
/// missing or short `time`) are the words the server's decoder answers
/// with.
#[test]
fn envelope_errors_in_the_lessons_are_the_code_s() {
    use rfmp::chat::messages::decode;
    let error = |bytes: &[u8]| match decode(bytes) {
        Ok(_) => panic!("{} decoded", String::from_utf8_lossy(bytes)),
        Err(e) => e.to_string(),
    };
    let raw = error(b"Hello, server!");
    let no_time = error(br#"{"action":"message","data":"hi"}"#);
    let short_time = error(br#"{"action":"message","data":"hi","time":"2026"}"#);
    for (what, message, quoted) in [
        ("raw text", &raw, "not a JSON envelope"),
        ("no time", &no_time, "not a JSON envelope"),
        ("no time", &no_time, "missing field `time`"),
        ("a short time", &short_time, "premature end of input"),
    ] {
        assert!(message.contains(quoted), "{what}: `{message}` lacks `{quoted}`");
        for file in ["lessons/07c-link.md", "lessons/13-your-own-peer.md"] {
            let text = fs::read_to_string(file).expect(file).replace('\n', " ");
            assert!(text.contains(quoted), "{file} does not quote `{quoted}`");
        }
    }
}

/// Each chapter can be read in one sitting: none grows past 600 lines
/// (the frames chapter was once 1,149 and was split into 07, 07b and 07c).
/// A chapter that needs more is split the same way.
#[test]
fn every_chapter_can_be_read_in_one_sitting() {
    const MOST_LINES: usize = 600;
    for entry in std::fs::read_dir("lessons").expect("the lessons folder") {
        let path = entry.expect("a lessons entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            let lines = std::fs::read_to_string(&path).expect("a lesson").lines().count();
            assert!(
                lines <= MOST_LINES,
                "{} has {lines} lines, more than {MOST_LINES}: split it",
                path.display()
            );
        }
    }
}
