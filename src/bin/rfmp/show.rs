//! How the interactive client prints what the server sends: one line each,
//! starting with the local time, e.g. `[10:15:00] #rust alice: hi`. Names
//! are coloured; anstream drops the colours when the output is not a
//! terminal.

use anstyle::{AnsiColor, Style};
use rfmp::chat::actions::{DirectIn, KeyInfo, RoomMessage};
use rfmp::chat::messages::Envelope;
use rfmp::chat::transfer::FileInfo;
use rfmp::chat::transfer::shelf::SharedFile;
use serde_json::Value;

/// A user's name in a colour of its own (the same colour every time), so a
/// conversation is easy to follow.
pub fn coloured(name: &str) -> String {
    const COLOURS: [AnsiColor; 6] = [
        AnsiColor::Cyan,
        AnsiColor::Green,
        AnsiColor::Magenta,
        AnsiColor::Yellow,
        AnsiColor::Blue,
        AnsiColor::Red,
    ];
    let index = name.bytes().map(usize::from).sum::<usize>() % COLOURS.len();
    let style = Style::new().fg_color(Some(COLOURS[index].into())).bold();
    format!("{style}{name}{style:#}")
}

/// The local time now, `HH:MM:SS`, for lines about answers that carry no
/// time of their own.
pub fn now() -> String {
    chrono::Local::now().format("%H:%M:%S").to_string()
}

/// A room message: `[10:15:00] #rust alice: hi`, at the time it was sent.
pub fn room_message(m: &RoomMessage) -> String {
    let sent = m.sent.with_timezone(&chrono::Local).format("%H:%M:%S");
    format!("[{sent}] #{} {}: {}", m.room, coloured(&m.from), m.text)
}

/// A direct message sent to us, opened: the sender and their key's
/// fingerprint.
pub fn direct_message(direct: &DirectIn, text: &str) -> String {
    let sent = direct.sent.with_timezone(&chrono::Local).format("%H:%M:%S");
    format!(
        "[{sent}] (direct, end-to-end) {}: {text}   [their key {}]",
        coloured(&direct.from),
        direct.fingerprint.as_deref().unwrap_or("unknown")
    )
}

/// The server's refusal of a request: `[10:15:00] error 404: ...`.
pub fn refusal(time: &str, code: &str, message: &str) -> String {
    format!("[{time}] error {code}: {message}")
}

/// A user's key, to compare over another channel.
pub fn key(time: &str, key: &KeyInfo) -> String {
    format!(
        "[{time}] {}'s key fingerprint {} (compare it with {0} over another channel)",
        coloured(&key.username),
        key.fingerprint
    )
}

/// Our direct message was relayed.
pub fn direct_sent(time: &str, to: &str) -> String {
    format!("[{time}] direct message to {} relayed, sealed end to end", coloured(to))
}

/// The server saved our file.
pub fn file_saved(time: &str, info: &FileInfo) -> String {
    format!("[{time}] file saved as {:?}: {} bytes, SHA-256 {}", info.name, info.size, info.sha256)
}

/// Who a shared file went to: `#study` or `@bob`.
fn shared_with(file: &SharedFile) -> String {
    match (&file.room, &file.to) {
        (Some(room), _) => format!("#{room}"),
        (None, Some(user)) => format!("@{}", coloured(user)),
        (None, None) => "nobody".into(),
    }
}

/// The hash's first 16 hex digits (enough to compare by eye; the client
/// checks all 64 when it fetches).
fn short_hash(sha256: &str) -> &str {
    // `get`, not slicing: the text comes from the server, and a slice that
    // cut a multi-byte character would panic.
    sha256.get(..16).unwrap_or(sha256)
}

/// When a file on offer expires, in local time: `03 Dec 10:15`.
fn until(file: &SharedFile) -> impl std::fmt::Display {
    file.expires.with_timezone(&chrono::Local).format("%d %b %H:%M")
}

/// Someone offered us a file: `[10:15:00] #study alice offers notes.txt
/// (1036 bytes, SHA-256 9f2c...) until 03 Dec 10:15: /get 5f0c2a9e`.
pub fn file_offered(time: &str, file: &SharedFile) -> String {
    let until = until(file);
    format!(
        "[{time}] {} {} offers {} ({} bytes, SHA-256 {}...) until {until}: /get {}",
        shared_with(file),
        coloured(&file.from),
        file.name,
        file.size,
        short_hash(&file.sha256),
        file.id
    )
}

/// Our file was put on the server's shelf for people.
pub fn file_shared(time: &str, file: &SharedFile) -> String {
    let until = until(file);
    format!(
        "[{time}] {} ({} bytes, SHA-256 {}...) offered to {} as file {} until {until}",
        file.name,
        file.size,
        short_hash(&file.sha256),
        shared_with(file),
        file.id
    )
}

/// A fetched file, checked and saved.
pub fn file_fetched(time: &str, info: &FileInfo, dir: &std::path::Path) -> String {
    format!(
        "[{time}] saved {} ({} bytes, SHA-256 checked)",
        dir.join(&info.name).display(),
        info.size
    )
}

/// One line for an envelope from the server (times in local `HH:MM:SS`).
pub fn show(envelope: &Envelope) -> String {
    let time = envelope.local_time();
    let data = &envelope.data;
    let text = |key: &str| data.get(key).and_then(Value::as_str).unwrap_or_default();
    let list = |value: &Value| -> String {
        value
            .as_array()
            .map(|items| {
                items.iter().filter_map(Value::as_str).map(coloured).collect::<Vec<_>>().join(", ")
            })
            .unwrap_or_default()
    };
    match envelope.action.as_str() {
        "message" => match serde_json::from_value::<RoomMessage>(data.clone()) {
            Ok(m) => room_message(&m),
            // Before login the server echoes a plain-text message.
            Err(_) => format!("[{time}] echo: {}", data.as_str().unwrap_or_default()),
        },
        "notice" => format!("[{time}] #{} -- {}", text("room"), text("text")),
        "joined" => format!("[{time}] you are in #{} with {}", text("room"), list(&data["users"])),
        "left" => match data.get("current").and_then(Value::as_str) {
            Some(current) => format!("[{time}] you left #{}; now in #{current}", text("room")),
            None => format!("[{time}] you left #{}; you are in no room (/join one)", text("room")),
        },
        "who" => format!("[{time}] in #{}: {}", text("room"), list(&data["users"])),
        "rooms" => {
            let rooms: Vec<String> = data
                .as_array()
                .map(|rooms| {
                    rooms
                        .iter()
                        .map(|r| format!("#{} ({})", r["room"].as_str().unwrap_or("?"), r["users"]))
                        .collect()
                })
                .unwrap_or_default();
            format!("[{time}] rooms: {}", rooms.join(", "))
        }
        "clients" => {
            let clients: Vec<String> = data
                .as_array()
                .map(|clients| {
                    clients
                        .iter()
                        .map(|c| {
                            format!(
                                "{} (key {})",
                                coloured(c["username"].as_str().unwrap_or("?")),
                                c["fingerprint"].as_str().unwrap_or("none: unsecured")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("[{time}] connected: {}", clients.join(", "))
        }
        "key" => match serde_json::from_value::<KeyInfo>(data.clone()) {
            Ok(info) => key(&time, &info),
            Err(_) => format!("[{time}] key: {data}"),
        },
        "direct-sent" => direct_sent(&time, text("to")),
        "file-offered" => match serde_json::from_value::<SharedFile>(data.clone()) {
            Ok(file) => file_offered(&time, &file),
            Err(_) => format!("[{time}] file offered: {data}"),
        },
        "file-saved" if data.get("id").is_some() => {
            match serde_json::from_value::<SharedFile>(data.clone()) {
                Ok(file) => file_shared(&time, &file),
                Err(_) => format!("[{time}] file offered: {data}"),
            }
        }
        "file-saved" => match serde_json::from_value::<FileInfo>(data.clone()) {
            Ok(info) => file_saved(&time, &info),
            Err(_) => format!("[{time}] file saved"),
        },
        "error" => match envelope.error_parts() {
            Some((code, message)) => refusal(&time, &code.to_string(), message),
            None => format!("[{time}] error: {data}"),
        },
        "bye" => format!("[{time}] bye"),
        other => format!("[{time}] {other}: {data}"),
    }
}
