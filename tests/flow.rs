//! The flow write-up and the code cannot drift apart.
//!
//! The lessons (`lessons/*.md`, one chapter per group of steps) mark every
//! step where they define it as `**Step <id>**`; the code names the step it
//! implements in a function's doc comment as `Step <id>`. These tests read
//! both and check that they agree in both directions, that each step is
//! defined once and in the chapter of its group, that the lessons name
//! only functions and tests that really exist, and that each source file
//! claims (in its opening line and the README) only the steps it holds.

mod common;

use common::{secured, test_server_key};
use rfmp::handshake::Profile;
use rfmp::handshake::client::{Mode, handshake_with as client_handshake};
use rfmp::handshake::framing::Connection;
use rfmp::handshake::helpers::os_rng;
use rfmp::handshake::keys::ServerKey;
use rfmp::handshake::observe::{Event, Observer, STEPS, step};
use rfmp::handshake::server::handshake_with as server_handshake;
use rfmp::handshake::session::Algorithm;
use std::collections::BTreeSet;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

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
    write_up_steps_by_file().into_iter().map(|(_, id)| id).collect()
}

/// Every `.rs` file under `src/`, folders included, with its name.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in fs::read_dir(dir).expect("a readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(std::path::Path::new("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| (p.display().to_string(), fs::read_to_string(&p).expect("readable")))
        .collect()
}

/// The file that holds `path`'s last item: `handshake::client::handshake`
/// is in `src/handshake/client.rs`, `link::Link::close` in
/// `src/link/mod.rs`, `error::Error` in `src/error.rs`.
fn source_of(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    let modules = match parts.iter().position(|p| p.starts_with(char::is_uppercase)) {
        Some(type_at) => &parts[..type_at],
        None => &parts[..parts.len().saturating_sub(1)],
    };
    if modules.is_empty() {
        return None;
    }
    let joined = modules.join("/");
    let file = [format!("src/{joined}.rs"), format!("src/{joined}/mod.rs")]
        .into_iter()
        .find(|file| fs::metadata(file).is_ok())?;
    Some(reexported_from(&file, &joined, parts[modules.len()]).unwrap_or(file))
}

/// Where a module re-exports `item` from one of its own submodules
/// (`pub use chat::{chat_diagram, ...};` in `src/teach/transcript.rs`),
/// the submodule's file (`src/teach/transcript/chat.rs`); `None` when the
/// item is not re-exported.
fn reexported_from(file: &str, module: &str, item: &str) -> Option<String> {
    let text = fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("pub use ")?;
        let submodule = rest.split("::").next()?;
        let names =
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|word| word == item);
        let path = format!("src/{module}/{submodule}.rs");
        (names && fs::metadata(&path).is_ok()).then_some(path)
    })
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
    assert_eq!(steps.len(), unique.len(), "a step is defined twice: {steps:?}");
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
        // 16 and 17 are defined in the frames chapter; the reliability
        // and link chapters (07b, 07c) explain them further, without
        // **Step** markers of their own.
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
    let missing: Vec<_> =
        write_up_steps().into_iter().filter(|s| !on_functions.contains(s)).collect();
    assert!(missing.is_empty(), "steps with no function naming them: {missing:?}");
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
    texts.push(("README.md".into(), fs::read_to_string("README.md").expect("README.md")));
    texts
}

/// Every `` `module::item` `` a lesson names is an item of its module's file
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
                && quoted.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
            if is_path {
                let item = quoted.rsplit("::").next().unwrap_or_default();
                let top = quoted.split("::").next().unwrap_or_default();
                let ours = ["handshake", "link", "chat", "teach", "error"].contains(&top);
                let Some(source_file) = source_of(quoted) else {
                    if ours {
                        wrong.push(format!("{file}: {quoted} (no such module)"));
                    }
                    continue; // not one of our modules (e.g. std::net)
                };
                let source = fs::read_to_string(&source_file).expect("readable");
                let defined =
                    ["fn ", "struct ", "enum ", "const ", "type ", "mod "].iter().any(|kind| {
                        source.contains(&format!("{kind}{item}("))
                            || source.contains(&format!("{kind}{item}<"))
                            || source.contains(&format!("{kind}{item} "))
                            || source.contains(&format!("{kind}{item}:"))
                            || source.contains(&format!("{kind}{item};"))
                    }) || source.contains(&format!("pub {item}:"));
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

/// Where a lesson says where an item lives, it says so rightly: in
/// `` `handshake::client::handshake` in `src/handshake/client.rs` ``, and in
/// a table row that lists both items and files, every item's file is among
/// the row's files.
#[test]
fn lessons_put_each_item_in_its_real_file() {
    let is_path = |quoted: &str| {
        quoted.contains("::")
            && quoted.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (file, text) in teaching_texts() {
        // Lines are joined so that "`x` in\n`src/y.rs`" reads as one phrase.
        let joined = text.replace('\n', " ");
        let quoted: Vec<&str> = joined.split('`').collect();
        for at in (1..quoted.len().saturating_sub(2)).step_by(2) {
            let (item, between, place) = (quoted[at], quoted[at + 1], quoted[at + 2]);
            let Some(real) = source_of(item) else {
                continue;
            };
            // "`x` in `src/y.rs`" and "`x` (`src/y.rs`)" both say where x is.
            let says_where = between == " in " || between == " (";
            if is_path(item) && says_where && place.starts_with("src/") {
                checked += 1;
                if real != place {
                    wrong.push(format!("{file}: {item} is in {real}, not {place}"));
                }
            }
        }
        // A row whose first cell is empty continues the row above it.
        let mut rows: Vec<String> = Vec::new();
        for line in text.lines().filter(|l| l.starts_with('|')) {
            match rows.last_mut() {
                Some(row) if line.starts_with("| |") => row.push_str(line),
                _ => rows.push(line.to_string()),
            }
        }
        for row in &rows {
            let cells: Vec<&str> = row.split('`').skip(1).step_by(2).collect();
            let files: Vec<&str> = cells
                .iter()
                .copied()
                .filter(|c| c.starts_with("src/") && c.ends_with(".rs"))
                .collect();
            if files.is_empty() {
                continue;
            }
            for item in cells.iter().copied().filter(|c| is_path(c)) {
                if let Some(real) = source_of(item) {
                    checked += 1;
                    if !files.contains(&real.as_str()) {
                        wrong.push(format!("{file}: {item} is in {real}, the row says {files:?}"));
                    }
                }
            }
        }
    }
    assert!(checked > 50, "expected many places, checked {checked}");
    assert!(wrong.is_empty(), "items put in the wrong file: {wrong:#?}");
}

/// A test's observer: every step reported, by either side, as
/// `(id, side, function)`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(String, String, String)>>>);

impl Observer for Recorder {
    fn observe(&mut self, event: Event<'_>) {
        assert!(!event.is_deviation(), "step {} failed: {:?}", event.id, event.data);
        self.0.lock().expect("not poisoned").push((
            event.id.to_string(),
            event.side.as_str().to_string(),
            event.function.to_string(),
        ));
    }
}

/// Run a real client and server handshake over TCP on 127.0.0.1 in
/// `mode`, and return every step both reported.
fn observed_steps(mode: &Mode) -> Vec<(String, String, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let recorder = Recorder::default();
    let mut server_recorder = recorder.clone();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let key = ServerKey::new(test_server_key()).expect("key");
        server_handshake(
            Connection::new(stream),
            &key,
            Profile::Rfmp,
            &mut os_rng(),
            &mut server_recorder,
        )
        .expect("the server's handshake");
    });
    let stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    client_handshake(
        Connection::new(stream),
        mode,
        Profile::Rfmp,
        &mut os_rng(),
        &mut recorder.clone(),
    )
    .expect("the client's handshake");
    server.join().expect("the server thread");
    let steps = recorder.0.lock().expect("not poisoned");
    steps.clone()
}

/// Does step `id` (of 1-15) run in this mode? Unsecured sessions skip 9-13
/// and the nonce and key of 14.a.i-ii and 15.a.i, and take the (CC)
/// branches; each algorithm takes its own 10.a.ii branch.
fn applies(id: &str, algorithm: Option<Algorithm>) -> bool {
    let number: u32 = id.split('.').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    match algorithm {
        None => {
            !(9..=13).contains(&number)
                && !["7.a", "8.a.ii", "14.a.i", "14.a.ii", "15.a.i"].contains(&id)
        }
        Some(algorithm) => {
            let other = match algorithm {
                Algorithm::Aes => "10.a.ii.2.",
                Algorithm::Caesar => "10.a.ii.1.",
            };
            id != "7.b" && id != "8.a.i" && !id.starts_with(other)
        }
    }
}

/// The real handshake reports every step of 1 to 15 that the lessons
/// define and that applies to the mode (unsecured, caesar, aes), each by
/// the side and with one of the functions the step table gives for it
/// (`STEPS`, from which the tables of `src/lib.rs` and
/// `lessons/00-flow.md` are made), and each function it names exists in
/// its file: the demo's and the trace's labels name code that runs.
#[test]
fn real_handshake_reports_every_step_with_its_function() {
    let written: Vec<String> = write_up_steps()
        .into_iter()
        .filter(|id| id.split('.').next().and_then(|n| n.parse::<u32>().ok()) <= Some(15))
        .collect();
    for algorithm in [None, Some(Algorithm::Caesar), Some(Algorithm::Aes)] {
        let mode = algorithm.map_or(Mode::Unsecured, secured);
        let reported = observed_steps(&mode);
        let ids: BTreeSet<&str> = reported.iter().map(|(id, _, _)| id.as_str()).collect();
        for id in written.iter().filter(|id| applies(id, algorithm)) {
            assert!(ids.contains(id.as_str()), "{algorithm:?}: step {id} was not reported");
        }
        for (id, side, function) in &reported {
            assert!(written.contains(id), "{algorithm:?}: {id} is no step of the lessons");
            assert!(applies(id, algorithm), "{algorithm:?}: {id} does not belong to this mode");
            let row = step(id).expect("a row of STEPS");
            assert_eq!(row.side.as_str(), side, "the side of step {id}");
            assert!(
                row.functions.contains(&function.as_str()),
                "step {id} names {function}, the table gives {:?}",
                row.functions
            );
            let file = source_of(function).unwrap_or_else(|| panic!("no file for {function}"));
            let name = function.rsplit("::").next().unwrap_or_default();
            let source = fs::read_to_string(&file).expect("readable");
            assert!(
                source.contains(&format!("fn {name}(")) || source.contains(&format!("fn {name}<")),
                "step {id} names {function}, which is not a function of {file}"
            );
        }
    }
}

/// The step table has one row per step the lessons define, in their
/// order, and every function it names is an item of its file.
#[test]
fn step_table_has_every_written_step_in_order() {
    let table: Vec<&str> = STEPS.iter().map(|step| step.id).collect();
    assert_eq!(table, write_up_steps(), "STEPS and the lessons' **Step** markers");
    for step in STEPS {
        for function in step.functions {
            let file = source_of(function).unwrap_or_else(|| panic!("no file for {function}"));
            let name = function.rsplit("::").next().unwrap_or_default();
            let source = fs::read_to_string(&file).expect("readable");
            let defined =
                ["fn ", "struct "].iter().any(|kind| source.contains(&format!("{kind}{name}")));
            assert!(defined, "step {} names {function}, not in {file}", step.id);
        }
    }
}

/// Every chapter in `lessons/` is listed in the book's `SUMMARY.md`, in
/// `lessons/README.md` and in the README's lessons table, and every
/// chapter those lists link to exists: the three tables of contents keep
/// in step with the files.
#[test]
fn every_chapter_is_in_every_table_of_contents() {
    let chapters: Vec<String> = lesson_files()
        .iter()
        .map(|path| path.trim_start_matches("lessons/").to_string())
        // spec.md is not a chapter: it shows SPEC.md inside the book.
        .filter(|name| !["README.md", "SUMMARY.md", "spec.md"].contains(&name.as_str()))
        .collect();
    assert!(chapters.len() >= 15, "chapters: {chapters:?}");
    let lists =
        [("lessons/SUMMARY.md", "]("), ("lessons/README.md", "]("), ("README.md", "](lessons/")];
    for (list, link) in lists {
        let text = fs::read_to_string(list).expect(list);
        for chapter in &chapters {
            assert!(text.contains(&format!("{link}{chapter})")), "{list} does not list {chapter}");
        }
        for linked in text.split(link).skip(1) {
            let target = linked.split([')', '#']).next().unwrap_or_default();
            if target.ends_with(".md") && !target.contains('/') {
                assert!(
                    fs::metadata(format!("lessons/{target}")).is_ok(),
                    "{list} links to lessons/{target}, which does not exist"
                );
            }
        }
    }
}

/// The anchors a Markdown file offers, as code-hosting sites make them:
/// each heading outside code fences, lower-cased, with spaces turned into
/// `-` and every other character but letters, digits, `-` and `_`
/// dropped; plus every explicit `<a id="...">`.
fn anchors_of(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && line.starts_with('#') {
            let heading = line.trim_start_matches('#');
            if !heading.starts_with(' ') {
                continue;
            }
            let slug: String = heading
                .trim()
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect();
            anchors.insert(slug);
        }
    }
    for piece in text.split("<a id=\"").skip(1) {
        if let Some((id, _)) = piece.split_once('"') {
            anchors.insert(id.to_string());
        }
    }
    anchors
}

/// Every link between the lessons, the diagrams and the README reaches a
/// file that exists and, when it names one, a heading of that file: a
/// chapter split or a renamed heading cannot leave a reader at a dead end.
#[test]
fn links_between_chapters_reach_their_headings() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for (file, text) in teaching_texts() {
        let dir = std::path::Path::new(&file).parent().map(|p| p.to_path_buf()).unwrap_or_default();
        for piece in text.split("](").skip(1) {
            let Some((target, _)) = piece.split_once(')') else {
                continue;
            };
            if target.contains("://") || target.contains(' ') {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            if !path.is_empty() && !path.ends_with(".md") {
                continue;
            }
            let linked =
                if path.is_empty() { file.clone() } else { dir.join(path).display().to_string() };
            checked += 1;
            let Ok(linked_text) = fs::read_to_string(&linked) else {
                broken.push(format!("{file}: {target} (no such file)"));
                continue;
            };
            if !anchor.is_empty() && !anchors_of(&linked_text).contains(anchor) {
                broken.push(format!("{file}: {target} (no such heading)"));
            }
        }
    }
    assert!(checked > 50, "expected many links, checked {checked}");
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}

/// The steps a file of `src/handshake/` or `src/link/` claims: in its
/// opening line, `(steps 2, 8, 9.b, 11 and rfmp's 15)`, and in the README's
/// table of modules, `` | `src/handshake/client.rs` | 2, 8, 9.b, 11, 15 | ``.
/// Each is a step id or the start of some (`8` stands for `8.a`,
/// `8.a.i`...); a range of letters, `16.d-g` or `16.d-16.g`, is spelt out.
fn claimed_steps(file: &str) -> Vec<(&'static str, Vec<String>)> {
    let split = |list: &str| -> Vec<String> {
        list.split([',', ' '])
            .map(|token| token.trim().trim_start_matches("rfmp's"))
            .filter(|token| token.starts_with(|c: char| c.is_ascii_digit()))
            .flat_map(spelt_out)
            .collect()
    };
    let mut claims = Vec::new();
    let source = fs::read_to_string(file).expect("readable");
    let opening: String = source.lines().take(2).collect::<Vec<_>>().join(" ");
    if let Some(list) = opening.split_once("(step").map(|(_, rest)| rest) {
        let list = list.split_once(')').map_or(list, |(list, _)| list);
        claims.push(("its opening line", split(list.trim_start_matches('s'))));
    }
    let readme = fs::read_to_string("README.md").expect("README.md");
    let row = format!("| `{file}` |");
    if let Some(line) = readme.lines().find(|line| line.starts_with(&row)) {
        let column = line[row.len()..].split('|').next().unwrap_or_default();
        claims.push(("the README's table of modules", split(column)));
    }
    claims
}

/// `16.d-g` and `16.d-16.g` as `16.d`, `16.e`, `16.f`, `16.g`; any other
/// claim as it is.
fn spelt_out(claim: &str) -> Vec<String> {
    let Some((first, last)) = claim.split_once('-') else {
        return vec![claim.to_string()];
    };
    let (Some((stem, from)), Some(to)) = (first.rsplit_once('.'), last.rsplit('.').next()) else {
        return vec![claim.to_string()];
    };
    let (Some(from), Some(to)) = (from.chars().next(), to.chars().next()) else {
        return vec![claim.to_string()];
    };
    (from..=to).map(|letter| format!("{stem}.{letter}")).collect()
}

/// Every step a handshake or link file says it holds is one whose
/// function `STEPS` puts in that file, and every step `STEPS` puts there
/// is said: the opening lines and the README's table of modules are
/// checked against the one step table, as the lessons' table is.
#[test]
fn files_claim_exactly_the_steps_whose_functions_they_hold() {
    assert_eq!(spelt_out("16.d-16.f"), ["16.d", "16.e", "16.f"]);
    assert_eq!(spelt_out("17.a-b"), ["17.a", "17.b"]);
    let mut wrong = Vec::new();
    let mut checked = 0;
    let files = ["src/handshake", "src/link"]
        .into_iter()
        .flat_map(|dir| fs::read_dir(dir).expect("a source folder"))
        .map(|entry| entry.expect("entry").path().display().to_string());
    for file in files {
        // observe.rs holds STEPS itself; a mod.rs speaks for its folder.
        if file.ends_with("observe.rs") || file.ends_with("mod.rs") {
            continue;
        }
        let held: Vec<&str> = STEPS
            .iter()
            .filter(|step| step.functions.iter().any(|f| source_of(f).as_deref() == Some(&file)))
            .map(|step| step.id)
            .collect();
        let covers = |claim: &str, id: &str| id == claim || id.starts_with(&format!("{claim}."));
        let claims = claimed_steps(&file);
        for (place, claimed) in &claims {
            checked += 1;
            for claim in claimed {
                if !held.iter().any(|id| covers(claim, id)) {
                    wrong.push(format!("{file}: {place} claims step {claim}, run elsewhere"));
                }
            }
            for id in &held {
                if !claimed.iter().any(|claim| covers(claim, id)) {
                    wrong.push(format!("{file}: {place} does not list step {id}"));
                }
            }
        }
        if claims.len() < 2 && !held.is_empty() {
            wrong.push(format!("{file} holds steps {held:?} but does not say so in both places"));
        }
    }
    assert!(checked >= 16, "only {checked} claims found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
