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
            items
                .iter()
                .map(|item| format!("`{item}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let chapter = step.chapter();
        out.push_str(&format!(
            "| {} | {} | [{}]({chapter}) | {} | {} | {} |\n",
            step.id,
            step.side.as_str(),
            &chapter[..2],
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
            step.title.replace('|', "\\|"),
            functions.join(", "),
            modules.join(", ")
        ));
    }
    out
}
