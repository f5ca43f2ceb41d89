//! The interactive client's commands, in one table: `/help` is printed
//! from it, and every typed line is checked against it before anything is
//! sent, so a usage mistake (`/join` with no name) is explained at once
//! and costs no round trip.

use rfmp::Error;
use rfmp::chat::actions::validate_name;

/// What a typed line asks for, once checked.
#[derive(Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// Plain text: say it in the current room.
    Say(&'a str),
    /// A room command for the server (`create rust`, `who`...), sent as
    /// the `command` action without its `/`.
    Room(&'a str),
    /// `/clients`: the `CoreClients` action.
    Clients,
    /// `/key USER`: the `CoreKey` action.
    Key(&'a str),
    /// `/msg USER TEXT`: an end-to-end direct message.
    Msg {
        /// The recipient.
        to: &'a str,
        /// The text.
        text: &'a str,
    },
    /// `/send [@USER] PATH`: offer a file to the current room, or to one
    /// user.
    Send {
        /// The user, without its `@`; `None`: the current room.
        to: Option<&'a str>,
        /// The file.
        path: &'a str,
    },
    /// `/get ID`: fetch a file offered to us.
    Get(&'a str),
    /// `/help`: print the table.
    Help,
    /// `/qqq` or `/quit`: leave.
    Quit,
}

/// What a command takes after its name.
#[derive(Clone, Copy)]
enum Takes {
    Nothing,
    Room,
    MaybeRoom,
    User,
    UserAndText,
    Path,
    Id,
}

/// One row of the table.
struct Spec {
    /// Its names, without the `/`.
    names: &'static [&'static str],
    /// What follows the name.
    takes: Takes,
    /// How it is written, for `/help` and usage messages.
    usage: &'static str,
    /// What it does.
    help: &'static str,
}

/// Every command, in the order `/help` lists them.
const COMMANDS: &[Spec] = &[
    Spec {
        names: &["create"],
        takes: Takes::Room,
        usage: "/create NAME",
        help: "make a room and go into it",
    },
    Spec {
        names: &["join"],
        takes: Takes::Room,
        usage: "/join NAME",
        help: "go into a room (it becomes the current room)",
    },
    Spec {
        names: &["leave"],
        takes: Takes::MaybeRoom,
        usage: "/leave [NAME]",
        help: "leave a room (the current one by default)",
    },
    Spec { names: &["rooms"], takes: Takes::Nothing, usage: "/rooms", help: "list the rooms" },
    Spec {
        names: &["who"],
        takes: Takes::MaybeRoom,
        usage: "/who [NAME]",
        help: "who is in a room",
    },
    Spec {
        names: &["clients"],
        takes: Takes::Nothing,
        usage: "/clients",
        help: "everyone connected, with their key fingerprints",
    },
    Spec {
        names: &["key"],
        takes: Takes::User,
        usage: "/key USER",
        help: "USER's key fingerprint, to compare with USER",
    },
    Spec {
        names: &["msg"],
        takes: Takes::UserAndText,
        usage: "/msg USER TEXT",
        help: "send TEXT to USER only, end-to-end encrypted",
    },
    Spec {
        names: &["send"],
        takes: Takes::Path,
        usage: "/send [@USER] PATH",
        help: "offer a file to the current room, or to USER only",
    },
    Spec {
        names: &["get"],
        takes: Takes::Id,
        usage: "/get ID",
        help: "fetch a file offered to you (ID from its line)",
    },
    Spec { names: &["help"], takes: Takes::Nothing, usage: "/help", help: "this list" },
    Spec {
        names: &["qqq", "quit"],
        takes: Takes::Nothing,
        usage: "/qqq, /quit",
        help: "leave (so do Ctrl-D and Ctrl-C)",
    },
];

/// What `/help` prints: plain text, then every command of the table.
pub fn help() -> String {
    let mut lines = vec![format!("  {:<17} say TEXT in the current room", "TEXT")];
    for spec in COMMANDS {
        lines.push(format!("  {:<17} {}", spec.usage, spec.help));
    }
    lines.join("\n")
}

/// What the first word after a command's name is, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argument {
    /// A room's name (`/join`, `/leave`, `/who`).
    Room,
    /// A user's name (`/key`, `/msg`).
    User,
    /// A file's id (`/get`).
    File,
    /// Something else, or nothing.
    Other,
}

/// Every command name with its `/`, in the table's order (`/create`,
/// `/join`, ... `/qqq`, `/quit`): what the line editor completes a `/`
/// to.
pub fn command_names() -> impl Iterator<Item = String> {
    COMMANDS.iter().flat_map(|spec| spec.names.iter().map(|name| format!("/{name}")))
}

/// What follows the command `name` (without its `/`); `None` for a name
/// that is not in the table.
pub fn argument_of(name: &str) -> Option<Argument> {
    let spec = COMMANDS.iter().find(|spec| spec.names.contains(&name))?;
    Some(match spec.takes {
        Takes::Room | Takes::MaybeRoom => Argument::Room,
        Takes::User | Takes::UserAndText => Argument::User,
        Takes::Id => Argument::File,
        Takes::Nothing | Takes::Path => Argument::Other,
    })
}

/// Check a typed line (trimmed, not empty) against the table.
///
/// ```text
/// hello            -> Say("hello")
/// /join rust       -> Room("join rust")
/// /msg bob hi      -> Msg { to: "bob", text: "hi" }
/// /join            -> Err("/join needs a room name; usage: /join NAME")
/// ```
///
/// # Errors
/// What is wrong, with the command's usage: an unknown command, a missing
/// or extra argument, or a room or user name that no server accepts.
pub fn parse(line: &str) -> Result<Input<'_>, String> {
    let Some(command) = line.strip_prefix('/') else {
        return Ok(Input::Say(line));
    };
    let (name, rest) = match command.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim()),
        None => (command, ""),
    };
    let Some(spec) = COMMANDS.iter().find(|spec| spec.names.contains(&name)) else {
        return Err(format!("unknown command /{name}; /help lists the commands"));
    };
    let wrong = |problem: &str| format!("/{name} {problem}; usage: {}", spec.usage);
    let mut words = rest.split_whitespace();
    let (first, second) = (words.next(), words.next());
    match spec.takes {
        Takes::Nothing if first.is_some() => return Err(wrong("takes nothing after it")),
        Takes::Room | Takes::MaybeRoom if second.is_some() => {
            return Err(wrong("takes one room name"));
        }
        Takes::Room if first.is_none() => return Err(wrong("needs a room name")),
        Takes::User if first.is_none() || second.is_some() => {
            return Err(wrong("needs one user name"));
        }
        Takes::UserAndText if second.is_none() => {
            return Err(wrong("needs a user name and a text"));
        }
        Takes::Path if rest.is_empty() || (rest.starts_with('@') && second.is_none()) => {
            return Err(wrong("needs the path of a file"));
        }
        Takes::Id if first.is_none() || second.is_some() => {
            return Err(wrong("needs one file id"));
        }
        _ => {}
    }
    let checked = |what: &str, name: &str| match validate_name(what, name) {
        Ok(()) => Ok(()),
        Err(Error::Usage(why)) => Err(why),
        Err(other) => Err(other.to_string()),
    };
    match spec.takes {
        Takes::Room | Takes::MaybeRoom => {
            if let Some(room) = first {
                checked("room", room)?;
            }
        }
        Takes::User | Takes::UserAndText => checked("username", first.unwrap_or_default())?,
        Takes::Path => {
            if let Some(user) = first.and_then(|word| word.strip_prefix('@')) {
                checked("username", user)?;
            }
        }
        Takes::Id => {
            let id = first.unwrap_or_default();
            if id.is_empty() || id.len() > 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(wrong("needs the file's id: hex digits, as in its line"));
            }
        }
        Takes::Nothing => {}
    }
    Ok(match name {
        "clients" => Input::Clients,
        "key" => Input::Key(rest),
        "msg" => {
            let (to, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            Input::Msg { to, text: text.trim() }
        }
        "send" => match rest.strip_prefix('@') {
            Some(addressed) => {
                let (user, path) =
                    addressed.split_once(char::is_whitespace).unwrap_or((addressed, ""));
                Input::Send { to: Some(user), path: path.trim() }
            }
            None => Input::Send { to: None, path: rest },
        },
        "get" => Input::Get(rest),
        "help" => Input::Help,
        "qqq" | "quit" => Input::Quit,
        _ => Input::Room(command),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_inputs() {
        assert_eq!(parse("hello there"), Ok(Input::Say("hello there")));
        assert_eq!(parse("/join rust"), Ok(Input::Room("join rust")));
        assert_eq!(parse("/leave"), Ok(Input::Room("leave")));
        assert_eq!(parse("/key bob"), Ok(Input::Key("bob")));
        assert_eq!(
            parse("/msg bob see you at  noon"),
            Ok(Input::Msg { to: "bob", text: "see you at  noon" })
        );
        assert_eq!(parse("/send my notes.txt"), Ok(Input::Send { to: None, path: "my notes.txt" }));
        assert_eq!(
            parse("/send @bob my notes.txt"),
            Ok(Input::Send { to: Some("bob"), path: "my notes.txt" })
        );
        assert_eq!(parse("/get 5f0c2a9e"), Ok(Input::Get("5f0c2a9e")));
        assert_eq!(parse("/quit"), Ok(Input::Quit));
    }

    #[test]
    fn usage_mistakes_are_explained_before_sending() {
        let refused = |line: &str| parse(line).expect_err(line);
        assert_eq!(refused("/join"), "/join needs a room name; usage: /join NAME");
        assert!(refused("/create a b").contains("takes one room name"));
        assert!(refused("/rooms all").contains("takes nothing"));
        assert!(refused("/msg bob").contains("needs a user name and a text"));
        assert!(refused("/join ../etc").contains("starting with a letter"));
        assert!(refused("/send").contains("needs the path"));
        assert!(refused("/send @bob").contains("needs the path"));
        assert!(refused("/send @b.b notes.txt").contains("starting with a letter"));
        assert!(refused("/get").contains("needs one file id"));
        assert!(refused("/get ../x").contains("hex digits"));
        assert!(refused("/dance").starts_with("unknown command /dance"));
    }

    #[test]
    fn completion_knows_the_table() {
        let names: Vec<String> = command_names().collect();
        assert!(names.contains(&"/join".to_string()));
        assert!(names.contains(&"/quit".to_string()));
        assert_eq!(argument_of("join"), Some(Argument::Room));
        assert_eq!(argument_of("msg"), Some(Argument::User));
        assert_eq!(argument_of("rooms"), Some(Argument::Other));
        assert_eq!(argument_of("get"), Some(Argument::File));
        assert_eq!(argument_of("dance"), None);
    }

    #[test]
    fn help_lists_every_command_of_the_table() {
        let help = help();
        for spec in COMMANDS {
            assert!(help.contains(spec.usage), "{}", spec.usage);
        }
    }
}
