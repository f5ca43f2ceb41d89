//! The step tables, made from [`STEPS`]: the one in `src/lib.rs`'s docs
//! and the one in `lessons/00-flow.md` ("Stage → chapter → function →
//! test"). `tests/lessons.rs` regenerates both and fails if the committed
//! text differs (`RFMP_BLESS=1` rewrites them), so the two tables, the
//! demo's titles and the functions the handshake reports cannot disagree.

use crate::handshake::observe::{STEPS, Step, source_file};

/// The files of a step's functions, each once, in order.
fn files(step: &Step) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for function in step.functions {
        let file = source_file(function);
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files
}

/// The table of `lessons/00-flow.md`: id, side, chapter, functions, files,
/// tests; one row per step.
///
/// ```
/// let table = rfmp::teach::steps::flow_table();
/// assert!(table.contains("| 2.a | client | [01](01-start.md) | `handshake::client::send_start_packet` |"));
/// ```
pub fn flow_table() -> String {
    let mut out = String::from(
        "| id | side | chapter | function | file | tests |\n|----|------|---------|----------|------|-------|\n",
    );
    for step in STEPS {
        let quote = |items: Vec<String>| {
            items.iter().map(|item| format!("`{item}`")).collect::<Vec<_>>().join(", ")
        };
        let chapter = step.chapter();
        out.push_str(&format!(
            "| {} | {} | [{}]({chapter}) | {} | {} | {} |\n",
            step.id,
            step.side.as_str(),
            chapter.split('-').next().unwrap_or(chapter),
            quote(step.functions.iter().map(|f| f.to_string()).collect()),
            quote(files(step)),
            step.tests
        ));
    }
    out
}

/// The table of `src/lib.rs`'s docs, as the lines of a `//!` comment:
/// step, side, what happens, functions (linked), modules.
pub fn rustdoc_table() -> String {
    let mut out = String::from(
        "//! | step | side | what happens | function | module |\n//! |------|------|--------------|----------|--------|\n",
    );
    for step in STEPS {
        let functions: Vec<String> = step.functions.iter().map(|f| format!("[`{f}`]")).collect();
        let modules: Vec<String> = files(step)
            .iter()
            .map(|file| {
                let name = file.trim_end_matches(".rs").trim_end_matches("/mod");
                name.rsplit('/').next().unwrap_or(name).to_string()
            })
            .collect();
        out.push_str(&format!(
            "//! | {} | {} | {} | {} | {} |\n",
            step.id,
            step.side.as_str(),
            code_spans(step.title),
            functions.join(", "),
            modules.join(", ")
        ));
    }
    out
}

/// A title with each packet in it, `(...)` holding a `<placeholder>`, as
/// code: `send (CC,<server public key>)` becomes
/// ``send `(CC,<server public key>)` `` (rustdoc would read `<server` as
/// an HTML tag).
fn code_spans(title: &str) -> String {
    let mut out = String::new();
    let mut rest = title;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|at| open + at) else {
            break;
        };
        let packet = &rest[open..=close];
        out.push_str(&rest[..open]);
        if packet.contains('<') {
            out.push_str(&format!("`{packet}`"));
        } else {
            out.push_str(packet);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}
