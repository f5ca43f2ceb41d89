//! Teaching tests for files sent to people: offered to a room or to one
//! user, fetched piece by piece with their SHA-256 checked, never
//! overwriting a file, refused over the budgets, gone once expired. Real
//! servers on loopback, real clients, real files.

mod common;

use chrono::{Duration as Days, SubsecRound, Utc};
use common::*;
use rfmp::Error;
use rfmp::chat::client::{Client, Security};
use rfmp::chat::messages::Envelope;
use rfmp::chat::transfer::shelf::{ShareWith, SharedFile, Shelf, ShelfLimits, fetch_file};
use rfmp::chat::transfer::{CHUNK_BYTES, FileInfo};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// An unsecured client logged in as `username` (files need no key).
fn user(addr: SocketAddr, username: &str) -> Client {
    let client = Client::connect(addr, Security::Unsecured).expect("handshake");
    client.login(username, TEST_PASSWORD).expect("login");
    client
}

/// No event but notices is waiting for `client`.
fn nothing_but_notices(client: &Client) {
    while let Some(event) = client.receive(Some(Duration::ZERO)).expect("works") {
        assert_eq!(event.action, "notice", "{event:?}");
    }
}

/// A file of `size` bytes that are not all alike, in `dir`.
fn file_of(dir: &Path, name: &str, size: usize) -> std::path::PathBuf {
    let path = dir.join(name);
    let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn to_room(room: &str) -> ShareWith {
    ShareWith { room: Some(room.into()), user: None }
}

fn to_user(user: &str) -> ShareWith {
    ShareWith { room: None, user: Some(user.into()) }
}

/// alice offers a file of three pieces to `study`: bob (in it) is told,
/// with the same id, size and SHA-256 alice's `file-saved` gave; carol
/// (not in it) is not, and cannot fetch it. bob fetches it twice: the same
/// bytes, and the second copy does not overwrite the first.
#[test]
fn a_file_offered_to_a_room_reaches_its_members_only() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = user(addr, "alice");
    let bob = user(addr, "bob");
    let carol = user(addr, "carol");
    alice.command("create study").unwrap();
    bob.command("join study").unwrap();
    let local = tempfile::tempdir().unwrap();
    let size = 2 * CHUNK_BYTES + 1000;
    let path = file_of(local.path(), "notes.txt", size);

    let shared =
        alice.share_file(&path, &to_room("study"), u64::MAX, &mut |_| {}).expect("offered");
    assert_eq!(shared.size, size as u64);
    assert_eq!((shared.from.as_str(), shared.room.as_deref()), ("alice", Some("study")));
    let offered: SharedFile = serde_json::from_value(next_of(&bob, "file-offered").data).unwrap();
    assert_eq!(offered, shared, "bob is told what alice was told");

    let downloads = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let first =
        fetch_file(&bob, &shared.id, downloads.path(), &mut |done, total| seen.push((done, total)))
            .expect("bob fetches it");
    assert_eq!(first.name, "notes.txt");
    assert_eq!(first.sha256, shared.sha256);
    assert_eq!(seen.len(), 3, "one progress call per piece: {seen:?}");
    assert_eq!(seen.last(), Some(&(size as u64, size as u64)));
    let original = std::fs::read(&path).unwrap();
    assert_eq!(std::fs::read(downloads.path().join("notes.txt")).unwrap(), original);
    let second = fetch_file(&bob, &shared.id, downloads.path(), &mut |_, _| {}).unwrap();
    assert_eq!(second.name, "notes (1).txt", "never overwritten");
    assert_eq!(std::fs::read(downloads.path().join("notes.txt")).unwrap(), original);

    nothing_but_notices(&carol);
    let Err(Error::Peer { code, .. }) =
        fetch_file(&carol, &shared.id, downloads.path(), &mut |_, _| {})
    else {
        panic!("carol is not among the recipients");
    };
    assert_eq!(code, "404");
    let Err(Error::Peer { code, .. }) =
        carol.share_file(&path, &to_room("study"), u64::MAX, &mut |_| {})
    else {
        panic!("carol is not in study");
    };
    assert_eq!(code, "403");
    let left: BTreeSet<String> = std::fs::read_dir(downloads.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        left,
        BTreeSet::from(["notes.txt".to_string(), "notes (1).txt".to_string()]),
        "no partial file left behind"
    );
}

/// `/send @bob`: only bob is told and may fetch it; a user who is not
/// connected cannot be sent one; an empty file arrives too.
#[test]
fn a_file_offered_to_one_user_reaches_only_that_user() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = user(addr, "alice");
    let bob = user(addr, "bob");
    let carol = user(addr, "carol");
    let local = tempfile::tempdir().unwrap();
    let path = file_of(local.path(), "empty.bin", 0);
    let shared = alice.share_file(&path, &to_user("bob"), u64::MAX, &mut |_| {}).expect("offered");
    assert_eq!(shared.to.as_deref(), Some("bob"));
    let offered: SharedFile = serde_json::from_value(next_of(&bob, "file-offered").data).unwrap();
    assert_eq!(offered.id, shared.id);
    nothing_but_notices(&carol);
    let downloads = tempfile::tempdir().unwrap();
    let Err(Error::Peer { code, .. }) =
        fetch_file(&carol, &shared.id, downloads.path(), &mut |_, _| {})
    else {
        panic!("the file is bob's alone");
    };
    assert_eq!(code, "404");
    let got: FileInfo = fetch_file(&bob, &shared.id, downloads.path(), &mut |_, _| {}).unwrap();
    assert_eq!((got.name.as_str(), got.size), ("empty.bin", 0));

    let Err(Error::Peer { code, .. }) =
        alice.share_file(&path, &to_user("dave"), u64::MAX, &mut |_| {})
    else {
        panic!("dave is not connected");
    };
    assert_eq!(code, "404");
}

/// One piece of a file (64 KiB): the least a file counts against the budgets.
const CHUNK: u64 = rfmp::chat::transfer::CHUNK_BYTES as u64;

/// Files on offer count against their sender's budget and the server's:
/// over either, the next file is refused from its `file-start` (413 or
/// 503) and nothing of it is stored.
#[test]
fn files_on_offer_count_against_a_budget_per_user_and_in_all() {
    let (addr, data) = start_chat_server(|config| {
        config.shelf_limits =
            ShelfLimits { per_user: 3 * CHUNK, total: 7 * CHUNK / 2, ..ShelfLimits::default() };
    });
    let alice = user(addr, "alice");
    let bob = user(addr, "bob");
    let local = tempfile::tempdir().unwrap();
    let small = file_of(local.path(), "small.bin", 2 * CHUNK as usize);
    alice
        .share_file(&small, &to_user("bob"), u64::MAX, &mut |_| {})
        .expect("2 of alice's 3 pieces");
    let Err(Error::Peer { code, description }) =
        alice.share_file(&small, &to_user("bob"), u64::MAX, &mut |_| {})
    else {
        panic!("4 pieces would pass alice's budget");
    };
    assert_eq!(code, "413");
    assert!(description.contains(&format!("budget of {} bytes", 3 * CHUNK)), "{description}");
    // bob's 2 pieces fit his own budget, not the server's: 4 in all.
    let Err(Error::Peer { code, description }) =
        bob.share_file(&small, &to_user("alice"), u64::MAX, &mut |_| {})
    else {
        panic!("4 pieces in all would pass the server's budget");
    };
    assert_eq!(code, "503");
    assert!(
        description.contains(&format!("server's budget of {} bytes", 7 * CHUNK / 2)),
        "{description}"
    );
    let received: Vec<_> = std::fs::read_dir(data.path().join("received"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(received.len(), 1, "only the accepted file: {received:?}");
}

/// The shelf forgets a file when it expires and deletes it from the disk;
/// until then its readers (sender and recipients) may read it, nobody
/// else. (The shelf is told the time, so no test waits a day.)
#[test]
fn a_shelved_file_expires_and_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), "notes.txt", 10);
    let shelf = Shelf::new(
        dir.path(),
        ShelfLimits { expiry: Duration::from_secs(3600), ..ShelfLimits::default() },
    );
    let saved = FileInfo { name: "notes.txt".into(), size: 10, sha256: "0".repeat(64) };
    let start = Utc::now();
    let shared =
        shelf.put(&saved, "alice", &to_user("bob"), BTreeSet::from(["bob".into()]), start).unwrap();
    assert_eq!(shared.expires, (start + Days::hours(1)).trunc_subsecs(0));
    // A 10-byte file counts as one whole piece (64 KiB) against the
    // budgets, so that tiny files cannot fill the shelf for free.
    assert_eq!(shelf.used("alice"), (CHUNK, CHUNK));
    let part = shelf.part(&shared.id, "bob", 0, start + Days::minutes(59)).unwrap();
    assert_eq!((part.size, part.offset), (10, 0));
    shelf.part(&shared.id, "alice", 0, start).expect("the sender may too");
    assert!(shelf.part(&shared.id, "carol", 0, start).is_err());
    assert!(path.exists());
    let later = start + Days::hours(1);
    let Err(Error::NotFound(_)) = shelf.part(&shared.id, "bob", 0, later) else {
        panic!("expired");
    };
    assert!(!path.exists(), "deleted from the disk");
    assert_eq!(shelf.used("alice"), (0, 0), "no longer counted");
}

/// The server's shelf is saved in `shelf.json` beside the accounts: a
/// restarted server still offers a file until it expires, and drops from
/// its index the files that expired meanwhile (deleting them) or whose
/// file is gone. A second file of the same name, saved as `new (1).txt`,
/// is offered after the restart too.
#[test]
fn the_shelf_survives_a_restart_until_its_files_expire() {
    let receive = tempfile::tempdir().unwrap();
    let index = receive.path().join("data").join("shelf.json");
    let start = Utc::now();
    let limits = ShelfLimits { expiry: Duration::from_secs(3600), ..ShelfLimits::default() };
    let shelf = Shelf::open(receive.path(), &index, limits, start).unwrap();
    assert!(!index.exists(), "an unused shelf writes nothing");
    let put = |name: &str, at| {
        file_of(receive.path(), name, 10);
        let saved = FileInfo { name: name.into(), size: 10, sha256: "0".repeat(64) };
        shelf.put(&saved, "alice", &to_user("bob"), BTreeSet::from(["bob".into()]), at).unwrap()
    };
    let old = put("old.txt", start - Days::minutes(30));
    let new = put("new.txt", start);
    let copy = put("new (1).txt", start);
    let gone = put("gone.txt", start);
    std::fs::remove_file(receive.path().join("gone.txt")).unwrap();
    drop(shelf);

    let restarted = Shelf::open(receive.path(), &index, limits, start + Days::minutes(45)).unwrap();
    let later = start + Days::minutes(45);
    restarted.part(&new.id, "bob", 0, later).expect("still offered");
    restarted.part(&copy.id, "bob", 0, later).expect("a numbered copy is still offered");
    assert!(restarted.part(&old.id, "bob", 0, later).is_err(), "expired");
    assert!(restarted.part(&gone.id, "bob", 0, later).is_err(), "its file is gone");
    assert!(!receive.path().join("old.txt").exists(), "the expired file is deleted");
    let saved = std::fs::read_to_string(&index).unwrap();
    assert!(saved.contains(&new.id) && !saved.contains(&old.id) && !saved.contains(&gone.id));
}

/// Bad file requests get an `error` naming what was expected, and the
/// session goes on: a `file-start` for a room and a user at once, for a
/// room the sender is not in; a `file-get` without an id, for an unknown
/// id, or past the end of a file.
#[test]
fn bad_file_requests_are_refused_with_what_was_expected() {
    use rfmp::chat::messages::encode;
    use rfmp::handshake::client::Mode;
    let (addr, _data) = start_chat_server(|_| {});
    let link = open_link(addr, &Mode::Unsecured);
    let token = login(&link, "alice");
    let answer = |action: &str, data: serde_json::Value| {
        let envelope = Envelope::new(action, data).with_token(Some(&token));
        link.send(encode(&envelope, b"")).expect("queued");
        loop {
            let (answer, _) = next_envelope(&link);
            if answer.action != "notice" && answer.action != "file-offered" {
                return answer;
            }
        }
    };
    let refused = |answer: Envelope, code: u16, words: &str| {
        let (got, message) =
            answer.error_parts().unwrap_or_else(|| panic!("an error answer: {answer:?}"));
        assert_eq!(got, code, "{message}");
        assert!(message.contains(words), "{words:?} in {message:?}");
    };
    let both = serde_json::json!({"name": "a.txt", "size": 1, "room": "lobby", "user": "bob"});
    refused(answer("file-start", both), 400, "a room or to a user, not both");
    // Its file-end is swallowed: the one error above was the answer.
    let elsewhere = serde_json::json!({"name": "a.txt", "size": 1, "room": "rust"});
    refused(answer("file-start", elsewhere), 403, "not in room \"rust\"");
    refused(answer("file-get", serde_json::json!({})), 400, "file-get data is {\"id\",\"offset\"}");
    refused(
        answer("file-get", serde_json::json!({"id": "00000000"})),
        404,
        "no file \"00000000\" for you",
    );

    // A real file, then a piece past its end.
    let local = tempfile::tempdir().unwrap();
    let path = file_of(local.path(), "a.txt", 5);
    let client = user(addr, "bob");
    let shared = client.share_file(&path, &to_user("alice"), u64::MAX, &mut |_| {}).unwrap();
    let past = serde_json::json!({"id": shared.id, "offset": 6});
    refused(answer("file-get", past), 400, "past the end of a.txt");
    let last = serde_json::json!({"id": shared.id, "offset": 0});
    let part = answer("file-get", last);
    assert_eq!(part.action, "file-part", "{part:?}");
    assert_eq!(part.data["size"], 5);
}

/// A server stopped while a file was arriving (`rfmp server` on Ctrl-C
/// ends with `process::exit`, which drops nothing) leaves that file's
/// hidden part file, `.NAME.part-` and 16 hex digits, in the receive
/// directory. The next server deletes it when it binds, and keeps every
/// other file: the files received, a hidden file that is no part file, a
/// file whose name only looks like one, and a directory.
#[test]
fn part_files_left_by_a_stopped_server_are_deleted_at_the_next_start() {
    let data = tempfile::tempdir().unwrap();
    let received = data.path().join("received");
    std::fs::create_dir_all(received.join(".old.part-0000000000000001")).unwrap();
    let leftovers = [".notes.txt.part-0123456789abcdef", ".photo.png.part-fedcba9876543210"];
    let kept = ["notes.txt", ".hidden", "report.part-2.txt"];
    for name in leftovers.iter().chain(&kept) {
        std::fs::write(received.join(name), b"some bytes").unwrap();
    }
    let config = rfmp::chat::server::ServerConfig {
        data_dir: data.path().join("data"),
        receive_dir: received.clone(),
        ..rfmp::chat::server::ServerConfig::default()
    };
    let key = rfmp::handshake::keys::ServerKey::new(test_server_key()).unwrap();
    let _server = rfmp::chat::server::Server::bind("127.0.0.1:0", key, config).expect("bind");

    for name in leftovers {
        assert!(!received.join(name).exists(), "{name} is still there");
    }
    for name in kept {
        assert_eq!(std::fs::read(received.join(name)).unwrap(), b"some bytes");
    }
    assert!(received.join(".old.part-0000000000000001").is_dir());
}
