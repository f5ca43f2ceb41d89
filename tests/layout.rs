//! The source's layers, as `src/lib.rs` ("The layout") states them: each
//! folder uses only the folders below it, so there is no import cycle and a
//! reader can learn the handshake without the link, and the link without
//! the chat.

use std::collections::BTreeSet;
use std::path::Path;

/// The folders (and top-level modules) each folder may use, besides itself.
const ALLOWED: &[(&str, &[&str])] = &[
    ("handshake", &["error", "files", "sync"]),
    ("link", &["handshake", "error", "files", "sync"]),
    ("seed", &["handshake", "link", "error", "files", "sync"]),
    ("chat", &["handshake", "link", "seed", "error", "files", "sync"]),
];

/// Every `crate::NAME` that code (not comments) in `dir` names.
fn used_by(dir: &Path) -> BTreeSet<(String, String)> {
    let mut used = BTreeSet::new();
    for entry in walk(dir) {
        let text = std::fs::read_to_string(&entry).expect("a source file");
        for line in text.lines() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let mut search = code;
            while let Some(at) = search.find("crate::") {
                let after = &search[at + "crate::".len()..];
                let name: String =
                    after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                // `crate::Error` and `crate::Result` are the error module's,
                // re-exported at the top.
                let module = match name.as_str() {
                    "Error" | "Result" => "error".to_string(),
                    _ => name,
                };
                used.insert((module, entry.display().to_string()));
                search = after;
            }
        }
    }
    used
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn each_folder_uses_only_the_folders_below_it() {
    for (folder, allowed) in ALLOWED {
        let dir = Path::new("src").join(folder);
        assert!(dir.is_dir(), "src/{folder} exists");
        for (name, file) in used_by(&dir) {
            assert!(
                name == *folder || allowed.contains(&name.as_str()),
                "{file} uses crate::{name}, but src/{folder} may use only {allowed:?}"
            );
        }
    }
}
