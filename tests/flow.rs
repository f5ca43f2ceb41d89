//! The flow write-up and the code cannot drift apart.
//!
//! The lessons (`lessons/*.md`, one chapter per group of steps) mark every
//! step where they define it as `**Step <id>**`; the code names the step it
//! implements in a function's doc comment as `Step <id>`. These tests read
//! both and check that they agree in both directions, that each step is
//! defined once and in the chapter of its group, and that the lessons name
//! only functions and tests that really exist.

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

/// The lesson files, in reading order (their names start with their number).
fn lesson_files() -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir("lessons")
        .expect("lessons/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

/// The step ids each lesson defines, from its `**Step <id>**` markers,
/// with the file that defines them.
fn write_up_steps_by_file() -> Vec<(String, String)> {
    let mut steps = Vec::new();
    for file in lesson_files() {
        let text = fs::read_to_string(&file).expect("readable");
        for id in step_ids_after(&text, "**Step ") {
            steps.push((file.clone(), id));
        }
    }
    steps
}

/// The step ids the lessons define, in reading order.
fn write_up_steps() -> Vec<String> {
    write_up_steps_by_file()
        .into_iter()
        .map(|(_, id)| id)
        .collect()
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

/// Every step of the write-up is defined once, across all the chapters.
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

/// Each group of steps is defined in its own chapter, and the chapters
/// come in flow order: the steps, read chapter by chapter, never go back.
#[test]
fn flow_steps_are_in_their_chapters_in_flow_order() {
    let chapter_of = |step: u32| match step {
        1..=4 => "lessons/01-start.md",
        5..=9 => "lessons/02-server-key.md",
        10..=11 => "lessons/03-encryption.md",
        12..=15 => "lessons/04-confirmation.md",
        _ => "lessons/07-frames.md",
    };
    let mut previous = 0;
    for (file, id) in write_up_steps_by_file() {
        let step: u32 = id
            .split('.')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a step id starts with its number");
        assert_eq!(file, chapter_of(step), "step {id} is defined in {file}");
        assert!(step >= previous, "step {id} comes after step {previous}");
        previous = step;
    }
    assert_eq!(previous, 17, "the last step is 17");
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
        "steps named in code but in no lesson's **Step** markers: {unknown:?}"
    );
}

/// The text of the lessons, the diagrams and the README: what a reader reads.
fn teaching_texts() -> Vec<(String, String)> {
    let mut texts = Vec::new();
    for dir in ["lessons", "diagrams"] {
        for entry in fs::read_dir(dir).expect("directory") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "md") {
                texts.push((
                    path.display().to_string(),
                    fs::read_to_string(&path).expect("readable"),
                ));
            }
        }
    }
    texts.push((
        "README.md".into(),
        fs::read_to_string("README.md").expect("README.md"),
    ));
    texts
}

/// Every `` `module::item` `` a lesson names is an item of `src/module.rs`
/// (a function, type, constant or field), and every test it names exists.
#[test]
fn lessons_name_only_functions_and_tests_that_exist() {
    let tests: String = fs::read_dir("tests")
        .expect("tests/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| fs::read_to_string(p).expect("readable"))
        .collect();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (file, text) in teaching_texts() {
        for quoted in text.split('`').skip(1).step_by(2) {
            let is_path = quoted.contains("::")
                && quoted
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
            if is_path {
                let module = quoted.split("::").next().unwrap_or_default();
                let item = quoted.rsplit("::").next().unwrap_or_default();
                let Ok(source) = fs::read_to_string(format!("src/{module}.rs")) else {
                    continue; // not one of our modules (e.g. std::net)
                };
                let defined = ["fn ", "struct ", "enum ", "const ", "type ", "mod "]
                    .iter()
                    .any(|kind| {
                        source.contains(&format!("{kind}{item}("))
                            || source.contains(&format!("{kind}{item}<"))
                            || source.contains(&format!("{kind}{item} "))
                            || source.contains(&format!("{kind}{item}:"))
                            || source.contains(&format!("{kind}{item};"))
                    })
                    || source.contains(&format!("pub {item}:"));
                checked += 1;
                if !defined {
                    wrong.push(format!("{file}: {quoted}"));
                }
            } else if quoted.starts_with("step_") || quoted.starts_with("prop_") {
                checked += 1;
                if !tests.contains(&format!("fn {quoted}(")) {
                    wrong.push(format!("{file}: test {quoted}"));
                }
            }
        }
    }
    assert!(checked > 50, "expected many names, checked {checked}");
    assert!(wrong.is_empty(), "named but not found: {wrong:#?}");
}
