//! The server's side of the command phase: a directory the client may use,
//! and built-in commands that work on it. Never a shell.
//!
//! # What the original did, and why rfmp does not
//! The seed's original server passed the text of `(CM,prompt,<cmd>)` to a
//! shell. Anyone who could connect could run any program as the server's
//! user: `(CM,prompt,del *)`, or worse. Its `openRead`/`openWrite` took the
//! file name as given, so `../../etc/passwd` read outside its folder.
//!
//! rfmp's [`Workspace`] is one directory (by default [`DEFAULT_DIR`],
//! `./rfmp-files`). Every request works inside it:
//! - file names are plain names only: no `/`, `\`, `..`, NUL, absolute
//!   paths or leading dots (a name is accepted only when
//!   [`safe_file_name`] leaves it unchanged), and
//!   symbolic links are never followed;
//! - `cd` moves only between directories inside it;
//! - a file is at most [`Workspace::max_file_bytes`] long, both ways;
//! - a write is atomic: the contents go to a temporary file, which is
//!   flushed to disk (`fsync`) and then renamed over the target, so a
//!   reader never sees half a file, even if the server dies mid-write;
//! - the commands are a fixed list implemented in Rust ([`COMMANDS`]);
//!   anything else is refused with an error naming the list.
//!
//! The original printed a command's output on the server's terminal only.
//! rfmp returns it to the client that asks with `promptOutput` (see
//! [`crate::seed`]).

use crate::error::{Error, Result};
use crate::files::{Existing, Readers, safe_file_name, write_atomically};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The workspace directory used when none is given, relative to the
/// server's working directory.
pub const DEFAULT_DIR: &str = "rfmp-files";

/// The largest file (and command output) the seed profile carries, in
/// bytes.
///
/// It follows from the packet cap of [`crate::handshake::framing`] (4096
/// bytes): 2000 bytes of Caesar text can become 4000 bytes of UTF-8 (each
/// shifted code of 128 or more takes two), and 2000 bytes sealed with AES
/// become 2712 characters of base64; either fits in one packet with room
/// for `(DP,` and `)`.
pub const MAX_CONTENT_BYTES: usize = 2000;

/// The built-in commands, as a `prompt` command's first word.
pub const COMMANDS: &[&str] =
    &["echo", "whoami", "hostname", "dir", "ls", "cd", "mkdir", "rmdir", "del", "ren"];

/// Where a session is inside the workspace: the names of the directories
/// from the workspace's top down (empty at the top).
///
/// Each session has its own; `cd` changes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cwd {
    parts: Vec<String>,
}

impl Cwd {
    /// The place as the client sees it: `/` at the top, `/notes/old` below.
    pub fn display(&self) -> String {
        format!("/{}", self.parts.join("/"))
    }
}

/// One directory that seed-profile clients may read, write and change.
///
/// Shared by every session of a server (it holds no per-session state;
/// each session keeps its own [`Cwd`]).
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    max_file_bytes: usize,
    user_name: String,
    host_name: String,
}

impl Workspace {
    /// Use the directory `root`, creating it (and its parents) if needed.
    ///
    /// `whoami` answers with the server's user (the `USER` or `USERNAME`
    /// environment variable), `hostname` with the machine's name; both
    /// can be changed with [`Workspace::with_names`].
    ///
    /// # Errors
    /// [`Error::Storage`] when the directory cannot be created or is not a
    /// directory.
    pub fn open(root: impl AsRef<Path>) -> Result<Workspace> {
        let root = root.as_ref();
        fs::create_dir_all(root).map_err(|e| storage("create the workspace", root, e))?;
        let root = root.canonicalize().map_err(|e| storage("find the workspace", root, e))?;
        Ok(Workspace {
            root,
            max_file_bytes: MAX_CONTENT_BYTES,
            user_name: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            host_name: machine_name(),
        })
    }

    /// The same workspace with a lower cap on file size, in bytes (a cap
    /// above [`MAX_CONTENT_BYTES`] is lowered to it: no packet could carry
    /// more).
    pub fn with_max_file_bytes(mut self, max: usize) -> Workspace {
        self.max_file_bytes = max.min(MAX_CONTENT_BYTES);
        self
    }

    /// The same workspace answering `whoami` with `user` and `hostname`
    /// with `host`.
    pub fn with_names(mut self, user: &str, host: &str) -> Workspace {
        self.user_name = user.to_string();
        self.host_name = host.to_string();
        self
    }

    /// The workspace directory (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The cap on a file's size, in bytes.
    pub fn max_file_bytes(&self) -> usize {
        self.max_file_bytes
    }

    /// The directory `cwd` stands for.
    fn dir(&self, cwd: &Cwd) -> PathBuf {
        cwd.parts.iter().fold(self.root.clone(), |p, name| p.join(name))
    }

    /// `openRead`: the contents of the file `name` in `cwd`.
    ///
    /// # Errors
    /// - [`Error::Forbidden`] for a name that is not a plain file name.
    /// - [`Error::NotFound`] when there is no regular file of that name
    ///   (a directory or a symbolic link counts as none).
    /// - [`Error::MessageTooLarge`] when it is larger than the cap.
    /// - [`Error::Storage`] when it cannot be read.
    pub fn read_file(&self, cwd: &Cwd, name: &str) -> Result<Vec<u8>> {
        let path = self.dir(cwd).join(check_name(name)?);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => {}
            _ => return Err(Error::NotFound(format!("no file {name:?} here"))),
        }
        let file = fs::File::open(&path).map_err(|e| storage("open", &path, e))?;
        // Read at most one byte past the cap: enough to know it is too big,
        // however large the file has grown since we looked.
        let mut bytes = Vec::new();
        file.take(self.max_file_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| storage("read", &path, e))?;
        if bytes.len() > self.max_file_bytes {
            return Err(too_large(name, self.max_file_bytes));
        }
        Ok(bytes)
    }

    /// `openWrite`: replace (or create) the file `name` in `cwd` with
    /// `contents`, atomically.
    ///
    /// # Errors
    /// - [`Error::Forbidden`] for a name that is not a plain file name, or
    ///   one that names a directory or a symbolic link.
    /// - [`Error::MessageTooLarge`] when `contents` is larger than the cap.
    /// - [`Error::Storage`] when the file cannot be written.
    pub fn write_file(&self, cwd: &Cwd, name: &str, contents: &[u8]) -> Result<()> {
        let dir = self.dir(cwd);
        let path = dir.join(check_name(name)?);
        if contents.len() > self.max_file_bytes {
            return Err(too_large(name, self.max_file_bytes));
        }
        if let Ok(meta) = fs::symlink_metadata(&path)
            && !meta.is_file()
        {
            return Err(Error::Forbidden(format!("{name:?} is a directory or a link, not a file")));
        }
        // The temporary name starts with a dot, which no client name may
        // (check_name), so a client can never open or clobber it.
        write_atomically(&path, contents, Readers::Default, Existing::Replace)
            .map_err(|e| storage("write", &path, e))
    }

    /// Run one built-in command line in `cwd` and return its output (empty
    /// for commands that print nothing on success).
    ///
    /// | command | does |
    /// |---------|------|
    /// | `echo TEXT` | returns `TEXT` |
    /// | `whoami`, `hostname` | the server's user and machine name |
    /// | `dir`, `ls` | the names in `cwd`, sorted, directories ending in `/` |
    /// | `cd` | returns where the session is, e.g. `/notes` |
    /// | `cd NAME`, `cd ..` | moves down into `NAME`, or up (never above the top) |
    /// | `mkdir NAME`, `rmdir NAME` | makes a directory, removes an empty one |
    /// | `del NAME` | removes a file |
    /// | `ren OLD NEW` | renames a file or directory; `NEW` must not exist |
    ///
    /// Arguments are separated by whitespace, so names with spaces cannot
    /// be given to commands (`openRead` and `openWrite` accept them).
    ///
    /// # Errors
    /// - [`Error::InvalidChoice`] for a command not in [`COMMANDS`], or an
    ///   empty command line.
    /// - [`Error::Malformed`] for the wrong number of arguments.
    /// - [`Error::Forbidden`] for names that are not plain names, or `cd ..`
    ///   at the top.
    /// - [`Error::NotFound`], [`Error::Conflict`] for missing or existing
    ///   targets, [`Error::Storage`] when the file system refuses.
    pub fn run(&self, cwd: &mut Cwd, line: &str) -> Result<String> {
        let line = line.trim();
        let (command, argument) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let argument = argument.trim();
        let args: Vec<&str> = argument.split_whitespace().collect();
        let dir = self.dir(cwd);
        match command.to_ascii_lowercase().as_str() {
            "echo" => Ok(argument.to_string()),
            "whoami" => no_arguments(command, &args).map(|()| self.user_name.clone()),
            "hostname" => no_arguments(command, &args).map(|()| self.host_name.clone()),
            "dir" | "ls" => {
                no_arguments(command, &args)?;
                list(&dir)
            }
            "cd" => match args.as_slice() {
                [] => Ok(cwd.display()),
                [".."] => {
                    if cwd.parts.pop().is_none() {
                        return Err(Error::Forbidden(
                            "cd ..: already at the top of the workspace".into(),
                        ));
                    }
                    Ok(cwd.display())
                }
                [name] => {
                    let name = check_name(name)?;
                    if !is_dir(&dir.join(name)) {
                        return Err(Error::NotFound(format!("no directory {name:?} here")));
                    }
                    cwd.parts.push(name.to_string());
                    Ok(cwd.display())
                }
                _ => Err(arguments(command, "one directory name, or ..")),
            },
            "mkdir" => {
                let path = dir.join(one_name(command, &args)?);
                if fs::symlink_metadata(&path).is_ok() {
                    return Err(Error::Conflict(format!("{:?} already exists", args[0])));
                }
                fs::create_dir(&path).map_err(|e| storage("make", &path, e))?;
                Ok(String::new())
            }
            "rmdir" => {
                let path = dir.join(one_name(command, &args)?);
                if !is_dir(&path) {
                    return Err(Error::NotFound(format!("no directory {:?} here", args[0])));
                }
                fs::remove_dir(&path)
                    .map_err(|e| storage("remove (it must be empty)", &path, e))?;
                Ok(String::new())
            }
            "del" => {
                let path = dir.join(one_name(command, &args)?);
                match fs::symlink_metadata(&path) {
                    Ok(meta) if meta.is_file() => {}
                    _ => return Err(Error::NotFound(format!("no file {:?} here", args[0]))),
                }
                fs::remove_file(&path).map_err(|e| storage("delete", &path, e))?;
                Ok(String::new())
            }
            "ren" => {
                let [old, new] = args.as_slice() else {
                    return Err(arguments(command, "two names: ren OLD NEW"));
                };
                let (old_path, new_path) = (dir.join(check_name(old)?), dir.join(check_name(new)?));
                match fs::symlink_metadata(&old_path) {
                    Ok(meta) if meta.is_file() || meta.is_dir() => {}
                    _ => return Err(Error::NotFound(format!("nothing called {old:?} here"))),
                }
                if fs::symlink_metadata(&new_path).is_ok() {
                    return Err(Error::Conflict(format!("{new:?} already exists")));
                }
                fs::rename(&old_path, &new_path).map_err(|e| storage("rename", &old_path, e))?;
                Ok(String::new())
            }
            "" => Err(Error::InvalidChoice {
                given: String::new(),
                expected: "a command: echo, whoami, hostname, dir, ls, cd, mkdir, rmdir, del, ren",
            }),
            _ => Err(Error::InvalidChoice {
                given: command.to_string(),
                expected: "a built-in command: echo, whoami, hostname, dir, ls, cd, mkdir, \
                           rmdir, del, ren (rfmp runs no shell)",
            }),
        }
    }
}

/// Accept `name` only if it is a plain file name: exactly what
/// [`safe_file_name`] would make of it (so no `/`, `\`, `..`, NUL,
/// leading dot, or characters outside letters, digits, `.`, `-`, `_` and
/// space).
///
/// ```
/// use rfmp::seed::workspace::check_name;
/// assert!(check_name("notes.txt").is_ok());
/// assert!(check_name("../secret").is_err());
/// assert!(check_name("/etc/passwd").is_err());
/// ```
///
/// # Errors
/// [`Error::Forbidden`] for any other name.
pub fn check_name(name: &str) -> Result<&str> {
    if name.is_empty() || safe_file_name(name) != name {
        return Err(Error::Forbidden(format!(
            "{:?} is not a plain name inside the workspace \
             (letters, digits, '.', '-', '_', space; no path, no leading dot)",
            name.chars().take(60).collect::<String>()
        )));
    }
    Ok(name)
}

/// The names in `dir`, sorted, one per line, directories ending in `/`;
/// cut at [`MAX_CONTENT_BYTES`] with a note if longer.
fn list(dir: &Path) -> Result<String> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| storage("list", dir, e))? {
        let entry = entry.map_err(|e| storage("list", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue; // temporary files of writes in progress
        }
        let kind = entry.file_type().map_err(|e| storage("list", dir, e))?;
        names.push(if kind.is_dir() { format!("{name}/") } else { name });
    }
    names.sort();
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        let note = format!("... and {} more", names.len() - i);
        if out.len() + name.len() + 1 + note.len() > MAX_CONTENT_BYTES {
            out.push_str(&note);
            return Ok(out);
        }
        out.push_str(name);
        out.push('\n');
    }
    Ok(out.trim_end().to_string())
}

fn is_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

fn no_arguments(command: &str, args: &[&str]) -> Result<()> {
    if args.is_empty() { Ok(()) } else { Err(arguments(command, "no arguments")) }
}

fn one_name<'a>(command: &str, args: &[&'a str]) -> Result<&'a str> {
    match args {
        [name] => check_name(name),
        _ => Err(arguments(command, "one name")),
    }
}

fn arguments(command: &str, expected: &str) -> Error {
    Error::Malformed(format!("{command} takes {expected}"))
}

fn too_large(name: &str, max: usize) -> Error {
    Error::MessageTooLarge(format!("{name:?}: a file in the seed profile is at most {max} bytes"))
}

fn storage(action: &str, path: &Path, e: std::io::Error) -> Error {
    let shown = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Error::Storage(format!("could not {action} {:?}: {e}", shown.unwrap_or_default()))
}

/// The machine's name, from the kernel on Linux or the environment, else
/// `localhost`.
fn machine_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
