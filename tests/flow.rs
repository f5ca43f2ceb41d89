//! The flow write-up and the code cannot drift apart.
//!
//! `lessons/00-flow.md` marks every step as `**Step <id>**`; the code names
//! the step it implements in a function's doc comment as `Step <id>`. These
//! tests read both and check that they agree in both directions, and that
//! the demo's narration points at functions that really exist.

use std::collections::BTreeSet;
use std::fs;

/// A step id after the word "Step ": `4.a`, `10.a.ii.1.c`, ...
fn step_ids_after(text: &str, marker: &str) -> Vec<String> {
    text.match_indices(marker)
        .map(|(at, _)| {
            text[at + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect::<String>()
                .trim_end_matches('.')
                .to_string()
        })
        .filter(|id| id.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

/// The step ids the write-up defines, from its `**Step <id>**` markers.
fn write_up_steps() -> Vec<String> {
    let text = fs::read_to_string("lessons/00-flow.md").expect("lessons/00-flow.md exists");
    step_ids_after(&text, "**Step ")
}

/// Every `src/*.rs` file's text, with its name.
fn sources() -> Vec<(String, String)> {
    let mut files: Vec<_> = fs::read_dir("src")
        .expect("src/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                fs::read_to_string(&p).expect("readable"),
            )
        })
        .collect()
}

/// Step ids named in `///` doc blocks, and the subset whose block documents a `fn`.
fn code_steps() -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut named, mut on_functions) = (BTreeSet::new(), BTreeSet::new());
    for (_, text) in sources() {
        let mut block = String::new();
        for line in text.lines().map(str::trim_start) {
            if let Some(doc) = line.strip_prefix("///") {
                block.push_str(doc);
                block.push('\n');
            } else if line.starts_with("#[") {
                continue; // attributes sit between a doc block and its item
            } else {
                let ids = step_ids_after(&block, "Step ");
                if line.contains("fn ") {
                    on_functions.extend(ids.iter().cloned());
                }
                named.extend(ids);
                block.clear();
            }
        }
    }
    (named, on_functions)
}

/// Every step of the write-up is defined once, in order of first appearance.
#[test]
fn flow_write_up_defines_each_step_once() {
    let steps = write_up_steps();
    let unique: BTreeSet<_> = steps.iter().collect();
    assert_eq!(
        steps.len(),
        unique.len(),
        "a step is defined twice: {steps:?}"
    );
    for seed_step in ["1.a", "4.a", "8.a.ii", "10.a.ii.1.a", "13.a.ii", "14.a"] {
        assert!(steps.iter().any(|s| s == seed_step), "missing {seed_step}");
    }
}

/// Every step in the write-up is implemented by a function whose doc names it.
#[test]
fn flow_every_written_step_has_a_function() {
    let (_, on_functions) = code_steps();
    let missing: Vec<_> = write_up_steps()
        .into_iter()
        .filter(|s| !on_functions.contains(s))
        .collect();
    assert!(
        missing.is_empty(),
        "steps with no function naming them: {missing:?}"
    );
}

/// Every step the code names exists in the write-up.
#[test]
fn flow_every_step_in_the_code_is_written_up() {
    let written: BTreeSet<String> = write_up_steps().into_iter().collect();
    let (named, _) = code_steps();
    let unknown: Vec<_> = named.difference(&written).collect();
    assert!(
        unknown.is_empty(),
        "steps named in code but not in lessons/00-flow.md: {unknown:?}"
    );
}
