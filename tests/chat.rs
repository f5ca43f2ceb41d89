//! Teaching tests for the chat over real sockets: logins and tokens, rooms
//! and who may speak in them, commands, end-to-end direct messages, the
//! accounts file, and the library API.

mod common;

use common::*;
use rfmp::chat::accounts::{Accounts, LoginOutcome};
use rfmp::chat::actions::{DirectIn, KeyInfo, RoomMessage, Welcome};
use rfmp::chat::client::{Client, Security};
use rfmp::chat::messages::{Envelope, encode};
use rfmp::chat::server::{Server, ServerConfig};
use rfmp::handshake::keys::{ServerKey, private_key_from_pem};
use rfmp::handshake::session::Algorithm;
use rfmp::link::{Link, LinkConfig};
use rfmp::{Error, Result};
use rsa::PrivateKey;
use std::net::SocketAddr;
use std::time::Duration;

/// The second TEST-ONLY client key (bob's, when alice has the first).
fn second_client_key() -> PrivateKey {
    private_key_from_pem(include_str!("keys/TEST-ONLY-second-client-key.pem")).expect("parses")
}

/// A secured AES client logged in as `username` with `key`.
fn client_with(addr: SocketAddr, username: &str, key: PrivateKey) -> Client {
    let client =
        Client::connect(addr, Security::Secured { algorithm: Algorithm::Aes, private_key: key })
            .expect("handshake");
    let welcome = client.login(username, TEST_PASSWORD).expect("login");
    assert_eq!(welcome.username, username);
    client
}

/// A logged-in client with the first TEST-ONLY client key.
fn alice_like(addr: SocketAddr, username: &str) -> Client {
    client_with(addr, username, test_client_key())
}

/// The next `count` room messages as `(room, from, text)`.
fn room_messages(client: &Client, count: usize) -> Vec<(String, String, String)> {
    (0..count)
        .map(|_| {
            let m = next_of(client, "message");
            let field = |k: &str| m.data[k].as_str().expect("a string").to_string();
            // The time it was sent is there, and it is now (give or take).
            let sent: chrono::DateTime<chrono::Utc> =
                serde_json::from_value(m.data["sent"].clone()).expect("an RFC 3339 time");
            let age = chrono::Utc::now() - sent;
            assert!(age.num_seconds().abs() < 60, "sent {sent}");
            (field("room"), field("from"), field("text"))
        })
        .collect()
}

/// A message `say` returned, as `(room, from, text)`.
fn spoke(message: RoomMessage) -> (String, String, String) {
    (message.room, message.from, message.text)
}

/// `(room, from, text)`, for comparisons.
fn said(room: &str, from: &str, text: &str) -> (String, String, String) {
    (room.into(), from.into(), text.into())
}

/// The error code of a failed request.
fn code_of(result: Result<Envelope>) -> String {
    match result {
        Err(Error::Peer { code, .. }) => code,
        other => panic!("expected an error answer, got {other:?}"),
    }
}

/// Three clients in two rooms: each sees exactly its rooms' messages, in
/// order, with sender and time; nobody can post to a room they have not
/// joined.
#[test]
fn three_clients_in_two_rooms_each_see_exactly_their_rooms_messages() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = alice_like(addr, "alice");
    let bob = alice_like(addr, "bob");
    let carol = alice_like(addr, "carol");
    // carol makes #rust and leaves the lobby; bob joins #rust (and stays
    // in the lobby too); alice stays in the lobby only.
    let joined = carol.command("create rust").unwrap();
    assert_eq!(joined.action, "joined");
    assert_eq!(joined.data["users"], serde_json::json!(["carol"]));
    let left = carol.command("leave lobby").unwrap();
    assert_eq!(left.data, serde_json::json!({"room":"lobby","current":"rust"}));
    let joined = bob.command("join rust").unwrap();
    assert_eq!(joined.data["users"], serde_json::json!(["bob", "carol"]));

    // `say` waits for the room's message to come back to the sender.
    assert_eq!(
        spoke(alice.say(None, "hello lobby").unwrap()),
        said("lobby", "alice", "hello lobby")
    );
    assert_eq!(spoke(carol.say(None, "hello rust").unwrap()), said("rust", "carol", "hello rust"));
    assert_eq!(
        spoke(bob.say(Some("lobby"), "bob in the lobby").unwrap()),
        said("lobby", "bob", "bob in the lobby")
    );
    // bob's current room is rust, the room he joined last.
    assert_eq!(spoke(bob.say(None, "bob in rust").unwrap()), said("rust", "bob", "bob in rust"));
    // bob, in both rooms, heard the others in both, in the order said.
    assert_eq!(
        room_messages(&bob, 2),
        [said("lobby", "alice", "hello lobby"), said("rust", "carol", "hello rust"),]
    );
    alice.say(None, "alice again").unwrap();
    // alice, in the lobby only, heard bob's lobby message and not his rust one.
    assert_eq!(room_messages(&alice, 1), [said("lobby", "bob", "bob in the lobby")]);
    assert_eq!(room_messages(&bob, 1), [said("lobby", "alice", "alice again")]);
    // carol, in #rust only, heard none of the lobby.
    assert_eq!(room_messages(&carol, 1), [said("rust", "bob", "bob in rust")]);

    // alice is not in #rust: the server refuses, and nobody hears it.
    let Err(Error::Peer { code, .. }) = alice.say(Some("rust"), "let me in") else {
        panic!("a message to a room alice is not in must be refused");
    };
    assert_eq!(code, "403");
    carol.say(None, "still just us").unwrap();
    assert_eq!(room_messages(&bob, 1), [said("rust", "carol", "still just us")]);
    // Nothing more is waiting for alice or carol: the refused message
    // reached nobody.
    for client in [&alice, &carol] {
        assert_eq!(client.receive(Some(Duration::from_millis(200))).unwrap(), None);
    }
    for client in [alice, bob, carol] {
        client.close().unwrap();
    }
}

/// The room commands answer as documented, and mistakes get clear errors.
#[test]
fn room_commands_create_join_leave_rooms_and_who() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = alice_like(addr, "alice");
    assert_eq!(code_of(alice.command("join nowhere")), "404");
    alice.command("create books").unwrap();
    assert_eq!(code_of(alice.command("create books")), "409");
    assert_eq!(code_of(alice.command("create")), "400");
    assert_eq!(code_of(alice.command("join ../etc")), "400");
    let who = alice.command("who").unwrap();
    assert_eq!((who.action.as_str(), &who.data["room"]), ("who", &"books".into()));
    let rooms = alice.command("rooms").unwrap();
    assert_eq!(
        rooms.data,
        serde_json::json!([{"room":"books","users":1},{"room":"lobby","users":1}])
    );
    let left = alice.command("leave").unwrap();
    assert_eq!(left.data, serde_json::json!({"room":"books","current":"lobby"}));
    // An empty room other than the lobby is gone.
    let rooms = alice.command("rooms").unwrap();
    assert_eq!(rooms.data, serde_json::json!([{"room":"lobby","users":1}]));
    // An unknown command lists the ones the server knows.
    let Err(Error::Peer { code, description }) = alice.command("dance") else {
        panic!("an unknown command must be refused");
    };
    assert_eq!(code, "400");
    assert!(description.contains("/join NAME"), "{description}");
    alice.close().unwrap();
}

/// A token that is missing, made up, or from an earlier login is refused;
/// nothing but login (and the plain-text echo) works before logging in.
#[test]
fn forged_missing_and_stale_tokens_are_refused() {
    let (addr, _data) = start_chat_server(|_| {});
    let link = open_link(addr, &secured(Algorithm::Aes));
    // Before login: the link check echoes plain text; the chat refuses.
    say(&link, "ping");
    expect_echo(&link, "ping");
    send(&link, Envelope::new("command", "rooms".into()));
    assert_eq!(error_code(&link), 401);

    let stale = login(&link, "alice");
    send(&link, Envelope::new("command", "qqq".into()).with_token(Some(&stale)));
    assert_eq!(next_envelope(&link).0.action, "bye");
    // After bye the server closes the session: its End follows (step 17).
    assert_eq!(
        link.receive_timeout(Some(Duration::from_secs(10))).unwrap(),
        Some(rfmp::link::reliable::Delivery::End)
    );
    link.close().unwrap();

    let link = open_link(addr, &secured(Algorithm::Aes));
    let token = login(&link, "alice");
    assert_ne!(token, stale);
    assert_eq!(token.len(), 32, "128 bits as hex");
    for wrong in [Some(stale.as_str()), Some("00000000000000000000000000000000"), None] {
        send(&link, Envelope::new("command", "rooms".into()).with_token(wrong));
        assert_eq!(error_code(&link), 401, "token {wrong:?}");
    }
    // The right token still works: a refusal never ends the session.
    send(&link, Envelope::new("command", "rooms".into()).with_token(Some(&token)));
    assert_eq!(next_envelope(&link).0.action, "rooms");
    link.close().unwrap();
}

/// Queue one envelope on a raw link.
fn send(link: &Link, envelope: Envelope) {
    link.send(encode(&envelope, b"")).expect("queued");
}

/// The next envelope must be an `error`; its code.
fn error_code(link: &Link) -> u16 {
    let (envelope, _) = next_envelope(link);
    envelope.error_parts().expect("an error answer").0
}

/// `/qqq` ends only that client's chat; the others carry on, and the name
/// is free again.
#[test]
fn qqq_disconnects_only_that_client() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = alice_like(addr, "alice");
    let bob = alice_like(addr, "bob");
    let bye = bob.command("qqq").unwrap();
    assert_eq!(bye.action, "bye");
    bob.close().unwrap();
    let notice = alice.receive(Some(Duration::from_secs(10))).unwrap().unwrap();
    assert_eq!(notice.action, "notice");
    // Joined first, then left.
    assert_eq!(notice.data["text"], "bob joined");
    let notice = next_of(&alice, "notice");
    assert_eq!(notice.data["text"], "bob left");
    assert_eq!(spoke(alice.say(None, "anyone?").unwrap()), said("lobby", "alice", "anyone?"));
    let clients = alice.request("CoreClients", serde_json::Value::Null).unwrap();
    let names: Vec<&str> =
        clients.data.as_array().unwrap().iter().map(|c| c["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice"]);
    // bob may come back.
    let bob = alice_like(addr, "bob");
    bob.close().unwrap();
    alice.close().unwrap();
}

/// A username is checked, and logged in only once at a time.
#[test]
fn usernames_are_validated_and_unique_among_connected_clients() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = alice_like(addr, "alice");
    let second = Client::connect(addr, Security::Unsecured).unwrap();
    let refused = |name: &str, password: &str| match second.login(name, password) {
        Err(Error::Peer { code, .. }) => code,
        other => panic!("{name:?} must be refused, got {other:?}"),
    };
    assert_eq!(refused("alice", TEST_PASSWORD), "409");
    assert_eq!(refused("al ice", TEST_PASSWORD), "400");
    assert_eq!(refused("", TEST_PASSWORD), "400");
    assert_eq!(refused(&"a".repeat(33), TEST_PASSWORD), "400");
    assert_eq!(refused("dave", "short"), "400");
    second.close().unwrap();
    alice.close().unwrap();
}

/// Accounts survive a restart (a second server on the same data directory),
/// a wrong password is refused, and the file holds hashes, not passwords,
/// readable by the server's own user only.
#[test]
fn accounts_survive_a_restart_and_a_wrong_password_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let config = || ServerConfig { data_dir: data.path().to_path_buf(), ..ServerConfig::default() };
    let first = start_server(config());
    let alice = Client::connect(first, Security::Unsecured).unwrap();
    assert!(alice.login("alice", TEST_PASSWORD).unwrap().created);
    alice.close().unwrap();

    let file = std::fs::read_to_string(data.path().join("accounts.json")).unwrap();
    assert!(file.contains("$argon2id$"), "{file}");
    assert!(!file.contains(TEST_PASSWORD), "a password is never stored");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            std::fs::metadata(data.path().join("accounts.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by the server's user only");
    }

    let restarted = start_server(config());
    let alice = Client::connect(restarted, Security::Unsecured).unwrap();
    let Err(Error::Peer { code, .. }) = alice.login("alice", "not the password") else {
        panic!("a wrong password must be refused");
    };
    assert_eq!(code, "401");
    alice.close().unwrap();
    // A fresh connection (no failures on it yet) with the right password.
    let alice = Client::connect(restarted, Security::Unsecured).unwrap();
    let welcome: Welcome = alice.login("alice", TEST_PASSWORD).unwrap();
    assert!(!welcome.created, "the account was read back from the file");
    alice.close().unwrap();
}

/// A login with `"create": false` reaches only an existing account: a new
/// name is refused with 404 and nothing is stored; the same login with
/// `"create": true` makes the account, and `false` then logs in to it.
#[test]
fn a_login_that_asks_not_to_create_never_makes_an_account() {
    let (addr, data) = start_chat_server(|_| {});
    let accounts = data.path().join("data").join("accounts.json");
    let typo = Client::connect(addr, Security::Unsecured).unwrap();
    let Err(Error::Peer { code, description }) = typo.login_with("alcie", TEST_PASSWORD, false)
    else {
        panic!("a new name without create must be refused");
    };
    assert_eq!(code, "404");
    assert!(description.contains("no account \"alcie\""), "{description}");
    assert!(!accounts.exists(), "nothing was stored");
    // The refusal costs no failed login: the same connection may go on.
    assert!(typo.login_with("alice", TEST_PASSWORD, true).unwrap().created);
    typo.close().unwrap();
    let again = Client::connect(addr, Security::Unsecured).unwrap();
    let welcome = again.login_with("ALICE", TEST_PASSWORD, false).unwrap();
    assert_eq!(welcome.username, "alice");
    assert!(!welcome.created);
    again.close().unwrap();
}

/// `rfmp client` from a script and `rfmp send-file` never create an
/// account by accident: a new name is refused with the way to create it,
/// and the accounts file is not written; `--create-account` creates it.
#[test]
fn scripted_logins_and_send_file_create_no_account_unless_asked() {
    use std::process::{Command, Stdio};
    let (addr, data) = start_chat_server(|_| {});
    let accounts = data.path().join("data").join("accounts.json");
    let known = tempfile::tempdir().unwrap();
    let port = addr.port().to_string();
    let rfmp = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rfmp"))
            .args(args)
            .args(["--port", &port, "--secure", "0", "--user", "mallory"])
            .env("RFMP_KNOWN_SERVERS", known.path().join("known-servers"))
            .env("RFMP_PASSWORD", TEST_PASSWORD)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    for args in [&["client"][..], &["send-file", "Cargo.toml"][..]] {
        let output = rfmp(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains("has no account mallory") && stderr.contains("--create-account"),
            "{args:?}: {stderr}"
        );
        assert!(!accounts.exists(), "{args:?} created an account");
    }
    let output = rfmp(&["client", "--create-account"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("logged in as mallory (a new account)"), "{stderr}");
    assert!(std::fs::read_to_string(&accounts).unwrap().contains("mallory"));
}

/// Failed logins are slowed down (the next one must wait), and the fifth
/// failure on one connection disconnects it with EE 429.
#[test]
fn failed_logins_are_slowed_down_then_disconnected() {
    // A long wait, so that the second try surely comes within it.
    let (addr, _data) = start_chat_server(|c| c.login_backoff = Duration::from_secs(60));
    let owner = Client::connect(addr, Security::Unsecured).unwrap();
    owner.login("alice", TEST_PASSWORD).unwrap();
    owner.close().unwrap();

    let guesser = Client::connect(addr, Security::Unsecured).unwrap();
    let code = |result: Result<Welcome>| match result {
        Err(Error::Peer { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(code(guesser.login("alice", "guess number 1")), "401");
    // Even the right password must wait its turn now.
    assert_eq!(code(guesser.login("alice", TEST_PASSWORD)), "429");
    guesser.close().unwrap();

    // With no wait between tries, the fifth failure ends the connection
    // with EE 429 at once.
    let (addr, _data) = start_chat_server(|c| c.login_backoff = Duration::ZERO);
    let owner = Client::connect(addr, Security::Unsecured).unwrap();
    owner.login("alice", TEST_PASSWORD).unwrap();
    owner.close().unwrap();
    let guesser = Client::connect(addr, Security::Unsecured).unwrap();
    for attempt in 1..=4 {
        assert_eq!(code(guesser.login("alice", "a wrong guess")), "401", "{attempt}");
    }
    assert_eq!(code(guesser.login("alice", "a wrong guess")), "429");
    assert!(guesser.send("command", "rooms".into()).is_err(), "the session is over");
}

/// Failed logins are counted across connections: five wrong guesses at
/// alice from five connections make the next login from that address
/// wait, even with the right password, on a sixth connection, and for any
/// name. (An address with no failures is let through to alice:
/// `parallel_guessers_get_five_guesses_and_the_owner_still_logs_in` in
/// tests/abuse.rs.)
#[test]
fn failed_logins_for_one_name_are_slowed_down_across_connections() {
    let (addr, _data) = start_chat_server(|c| c.login_backoff = Duration::from_secs(60));
    let owner = Client::connect(addr, Security::Unsecured).unwrap();
    owner.login("alice", TEST_PASSWORD).unwrap();
    owner.close().unwrap();
    for guess in 1..=5 {
        let guesser = Client::connect(addr, Security::Unsecured).unwrap();
        let Err(Error::Peer { code, .. }) = guesser.login("alice", "a wrong guess") else {
            panic!("guess {guess} must be refused");
        };
        assert_eq!(code, "401", "guess {guess}");
        guesser.close().unwrap();
    }
    let sixth = Client::connect(addr, Security::Unsecured).unwrap();
    for name in ["alice", "bob"] {
        let Err(Error::Peer { code, description }) = sixth.login(name, TEST_PASSWORD) else {
            panic!("the guessing address must be made to wait");
        };
        assert_eq!(code, "429");
        assert!(description.contains("from your address"), "{description}");
        assert!(description.contains("retry in 60 s"), "{description}");
    }
    sixth.close().unwrap();
}

/// One user may be in at most 32 rooms at once (the lobby counts).
#[test]
fn a_user_is_in_at_most_32_rooms() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = alice_like(addr, "alice");
    for n in 1..32 {
        alice.command(&format!("create room{n}")).unwrap();
    }
    assert_eq!(code_of(alice.command("create room32")), "403");
    alice.command("leave room1").unwrap();
    alice.command("create room32").unwrap();
    alice.close().unwrap();
}

/// A direct message is end-to-end: the server relays it but never sees
/// its text (checked on every message the server received), both sides see
/// each other's key fingerprint, and an altered one does not open.
#[test]
fn a_direct_message_is_relayed_without_its_plaintext() {
    let (tap, seen) = std::sync::mpsc::channel();
    let (addr, _data) = start_chat_server(|c| c.tap = Some(tap));
    let alice = client_with(addr, "alice", test_client_key());
    let bob = client_with(addr, "bob", second_client_key());
    let secret = "meet me by the old oak at noon";

    let bob_key: KeyInfo = alice.direct("bob", secret).unwrap();
    // alice was shown bob's real fingerprint (what bob's client shows bob).
    assert_eq!(Some(bob_key.fingerprint.clone()), bob.fingerprint());
    assert_ne!(alice.fingerprint(), bob.fingerprint());

    let envelope = next_of(&bob, "direct");
    let (direct, text): (DirectIn, String) = bob.open_direct(&envelope).unwrap();
    assert_eq!(text, secret);
    assert_eq!(direct.from, "alice");
    assert_eq!(direct.fingerprint, alice.fingerprint());

    // Everything the server read, after opening the session cipher.
    let seen: Vec<Vec<u8>> = seen.try_iter().collect();
    let relayed: Vec<&Vec<u8>> =
        seen.iter().filter(|m| m.starts_with(br#"{"action":"direct""#)).collect();
    assert_eq!(relayed.len(), 1, "the server saw the direct envelope");
    for message in &seen {
        assert!(
            !message.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the server saw the text: {}",
            String::from_utf8_lossy(message)
        );
    }

    // Claiming another sender breaks the tag (the associated data).
    let mut forged = envelope.clone();
    forged.data["from"] = "mallory".into();
    assert!(matches!(bob.open_direct(&forged), Err(Error::AuthenticationFailed)));
    // Only bob's key opens it: alice's own client cannot read it back.
    assert!(alice.open_direct(&envelope).is_err());
    alice.close().unwrap();
    bob.close().unwrap();
}

/// Nobody can send a direct message to a user without a key (unsecured)
/// or who is not connected.
#[test]
fn direct_messages_need_a_connected_user_with_a_key() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = alice_like(addr, "alice");
    let plain = Client::connect(addr, Security::Unsecured).unwrap();
    plain.login("eve", TEST_PASSWORD).unwrap();
    assert!(matches!(alice.direct("eve", "hi"), Err(Error::Peer { code, .. }) if code == "404"));
    assert!(matches!(alice.direct("nobody", "hi"), Err(Error::Peer { code, .. }) if code == "404"));
    // The relay itself refuses a recipient who is not connected, and a
    // ciphertext larger than any chat message.
    let to =
        |to: &str, sealed: String| serde_json::json!({"to": to, "key": "AAAA", "sealed": sealed});
    assert_eq!(code_of(alice.request("direct", to("nobody", "AAAA".into()))), "404");
    assert_eq!(code_of(alice.request("direct", to("eve", "A".repeat(40_000)))), "413");
    plain.close().unwrap();
    alice.close().unwrap();
}

/// A custom action registered through the library API is reachable from a
/// `Client`; built-in names cannot be taken; unknown actions are refused.
#[test]
fn a_custom_action_registered_through_the_library_is_reachable() {
    let data = tempfile::tempdir().unwrap();
    let config = ServerConfig { data_dir: data.path().to_path_buf(), ..ServerConfig::default() };
    let key = ServerKey::new(test_server_key()).unwrap();
    let server = Server::bind("127.0.0.1:0", key, config).unwrap();
    server
        .handle("shout", |request| {
            let text = request.data.as_str().unwrap_or_default();
            Ok(format!("{} says {}", request.username, text.to_uppercase()).into())
        })
        .unwrap();
    assert!(matches!(
        server.handle("CoreSecrets", |_| Ok(serde_json::Value::Null)),
        Err(Error::Conflict(_))
    ));
    // Nor may a handler take a name the server answers with.
    for taken in ["message", "welcome", "error", "notice"] {
        assert!(matches!(
            server.handle(taken, |_| Ok(serde_json::Value::Null)),
            Err(Error::Conflict(_))
        ));
    }
    // An answer too large for one message becomes an error 413.
    server.handle("flood", |_| Ok("x".repeat(2 * 1024 * 1024).into())).unwrap();
    let addr = server.local_addr().unwrap();
    std::thread::spawn(move || server.run());

    let alice = alice_like(addr, "alice");
    let answer = alice.request("shout", "hello".into()).unwrap();
    assert_eq!(answer.action, "shout");
    assert_eq!(answer.data, "alice says HELLO");
    let Err(Error::Peer { code, description }) = alice.request("whisper", "hi".into()) else {
        panic!("an unknown action must be refused");
    };
    assert_eq!(code, "400");
    assert!(description.contains("shout"), "{description}");
    assert_eq!(code_of(alice.request("flood", serde_json::Value::Null)), "413");
    // The session goes on.
    assert_eq!(alice.request("shout", "still".into()).unwrap().data, "alice says STILL");
    alice.close().unwrap();
}

/// Malformed JSON and unknown actions get an error answer; the session and
/// the other clients carry on.
#[test]
fn malformed_messages_get_an_error_and_nobody_is_disconnected() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = alice_like(addr, "alice");
    let link = open_link_with(addr, &secured(Algorithm::Aes), LinkConfig::default());
    let token = login(&link, "bob");
    link.send(b"{not json".to_vec()).unwrap();
    assert_eq!(error_code(&link), 400);
    send(
        &link,
        Envelope::new("message", serde_json::json!({"txt": "typo"})).with_token(Some(&token)),
    );
    assert_eq!(error_code(&link), 400);
    say_with(&link, &token, "still here");
    expect_room_message(&link, "bob", "still here");
    assert_eq!(room_messages(&alice, 1), [said("lobby", "bob", "still here")]);
    link.close().unwrap();
    alice.close().unwrap();
}

/// The accounts file is written atomically: kill the server (SIGKILL) while
/// clients are creating accounts, and the file is intact and holds every
/// account that was acknowledged with `welcome`.
#[test]
fn accounts_file_is_never_half_written_when_the_server_is_killed() {
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let (_keys, server_key) = private_key_file("TEST-ONLY-server-key.pem");
    let data = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_rfmp"))
        .args(["server", "--port", "0", "--key"])
        .arg(&server_key)
        .arg("--data-dir")
        .arg(data.path())
        .arg("--receive-dir")
        .arg(data.path().join("received"))
        // Every account here comes from 127.0.0.1, quickly.
        .args(["--new-accounts-per-minute", "1000"])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = listening_address(&mut server);

    // Each worker reports every account the server acknowledged.
    let (acknowledge, acknowledged) = std::sync::mpsc::channel::<String>();
    let killed = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|worker| {
            let (acknowledge, killed) = (acknowledge.clone(), Arc::clone(&killed));
            std::thread::spawn(move || {
                for n in 0.. {
                    if killed.load(Ordering::SeqCst) {
                        return;
                    }
                    let name = format!("user{worker}x{n}");
                    let Ok(client) = Client::connect(addr, Security::Unsecured) else {
                        return;
                    };
                    match client.login(&name, TEST_PASSWORD) {
                        Ok(_) => {
                            let _ = acknowledge.send(name);
                        }
                        Err(_) => return, // the server was killed mid-login
                    }
                }
            })
        })
        .collect();
    drop(acknowledge);
    // Kill it while logins (and so writes) are under way: after the 12th
    // acknowledged account, with the other workers in the middle of theirs.
    let mut names = Vec::new();
    while names.len() < 12 {
        let name =
            acknowledged.recv_timeout(Duration::from_secs(60)).expect("accounts are being created");
        names.push(name);
    }
    server.kill().unwrap();
    killed.store(true, Ordering::SeqCst);
    server.wait().unwrap();
    for worker in workers {
        worker.join().unwrap();
    }
    names.extend(acknowledged.try_iter());

    // The file parses, and every acknowledged account is in it, with the
    // password it was made with.
    let accounts = Accounts::open(data.path()).expect("the accounts file is intact");
    for name in &names {
        assert!(accounts.contains(name), "{name} was acknowledged but is not in the file");
    }
    assert_eq!(accounts.login(&names[0], TEST_PASSWORD).unwrap(), LoginOutcome::Existing);
}

/// Run `rfmp client` as `user` (AES, the first TEST-ONLY client key, the
/// password in RFMP_PASSWORD) with `input` piped in; its output.
fn run_client_command(addr: SocketAddr, user: &str, input: &[u8]) -> std::process::Output {
    let known = tempfile::tempdir().unwrap();
    run_client_trusting(addr, user, input, &known.path().join("known-servers"), &[])
}

/// [`run_client_command`] with this known-servers file and extra flags.
fn run_client_trusting(
    addr: SocketAddr,
    user: &str,
    input: &[u8],
    known_servers: &std::path::Path,
    flags: &[&str],
) -> std::process::Output {
    let (_keys, client_key) = private_key_file("TEST-ONLY-client-key.pem");
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut client = Command::new(env!("CARGO_BIN_EXE_rfmp"))
        .args(["client", "--host", "127.0.0.1", "--secure", "1", "--cipher", "aes"])
        .args(["--port", &addr.port().to_string(), "--user", user])
        .arg("--create-account")
        .arg("--key")
        .arg(&client_key)
        .args(flags)
        .env("RFMP_KNOWN_SERVERS", known_servers)
        .env("RFMP_PASSWORD", TEST_PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    client.stdin.take().unwrap().write_all(input).unwrap();
    client.wait_with_output().unwrap()
}

/// The client command works from a script: piped input, the password from
/// RFMP_PASSWORD, each line shown with time, room and user, `/qqq` leaves.
#[test]
fn the_client_command_chats_from_piped_input() {
    let (addr, _data) = start_chat_server(|_| {});
    let output =
        run_client_command(addr, "dave", b"hello from a script\n/create scripts\n/who\n/qqq\n");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    // [HH:MM:SS] #room user: text, no colour codes when not a terminal.
    let (time, rest) = lines[0].split_once(' ').unwrap();
    assert_eq!(time.len(), "[10:15:00]".len(), "{time}");
    assert_eq!(rest, "#lobby dave: hello from a script");
    assert!(lines[1].ends_with("you are in #scripts with dave"), "{}", lines[1]);
    assert!(lines[2].ends_with("in #scripts: dave"), "{}", lines[2]);
    assert!(lines[3].ends_with("bye"), "{}", lines[3]);
    assert!(stderr.contains("logged in as dave (a new account)"), "{stderr}");
}

/// `/msg` in the client command seals to the user asked for, even when the
/// answer to an earlier `/key` for someone else is still on its way; the
/// recipient reads it, and nobody else gets a copy.
#[test]
fn the_client_command_sends_a_direct_message_only_to_its_recipient() {
    let (addr, _data) = start_chat_server(|_| {});
    let bob = client_with(addr, "bob", second_client_key());
    // carol's key is the TEST-ONLY server key: any key of her own will do.
    let carol = client_with(addr, "carol", test_server_key());
    let output =
        run_client_command(addr, "dave", b"/key carol\n/msg bob this is for bob only\n/qqq\n");
    assert!(output.status.success(), "{output:?}");
    let envelope = next_of(&bob, "direct");
    let (direct, text) = bob.open_direct(&envelope).unwrap();
    assert_eq!((direct.from.as_str(), text.as_str()), ("dave", "this is for bob only"));
    // carol hears dave join and leave, and nothing in between.
    loop {
        let envelope =
            carol.receive(Some(Duration::from_secs(10))).unwrap().expect("dave's notices");
        assert_eq!(envelope.action, "notice", "{envelope:?}");
        if envelope.data["text"] == "dave left" {
            break;
        }
    }
    bob.close().unwrap();
    carol.close().unwrap();
}

/// One `Client` shared by two threads: a reader takes the events (bob's
/// room messages, in the order he said them, none lost) while the other
/// thread makes requests and speaks, and each request gets its own answer.
#[test]
fn a_shared_client_hears_the_room_while_another_thread_makes_requests() {
    const SAID: usize = 20;
    let (addr, _data) = start_chat_server(|_| {});
    let alice = alice_like(addr, "alice");
    let bob = client_with(addr, "bob", second_client_key());
    std::thread::scope(|threads| {
        // alice's reader: every event until it has heard all of bob's lines.
        let reader = threads.spawn(|| {
            let mut heard = Vec::new();
            while heard.len() < SAID {
                let event = alice
                    .receive(Some(Duration::from_secs(10)))
                    .expect("the session works")
                    .expect("bob's messages within 10 s");
                match event.action.as_str() {
                    "message" => heard.push(spoke(serde_json::from_value(event.data).unwrap())),
                    "notice" => {}
                    _ => panic!("an answer reached the reader: {event:?}"),
                }
            }
            heard
        });
        // bob talks in the lobby meanwhile.
        let talker = threads.spawn(|| {
            for n in 0..SAID {
                bob.say(None, &format!("bob {n}")).unwrap();
            }
        });
        // alice's main thread: requests, each with the answer it asked for.
        for n in 0..SAID {
            assert_eq!(alice.command("rooms").unwrap().action, "rooms");
            let text = format!("alice {n}");
            assert_eq!(spoke(alice.say(None, &text).unwrap()), said("lobby", "alice", &text));
            assert_eq!(alice.key_of("bob").unwrap().username, "bob");
        }
        talker.join().unwrap();
        let expected: Vec<_> =
            (0..SAID).map(|n| said("lobby", "bob", &format!("bob {n}"))).collect();
        assert_eq!(reader.join().unwrap(), expected);
    });
    // alice's own messages came back as answers, not as events.
    assert_eq!(alice.receive(Some(Duration::from_millis(200))).unwrap(), None);
    alice.close().unwrap();
    bob.close().unwrap();
}

/// Three threads make requests on one `Client` at once: each gets the
/// answer, or the `error`, of its own request.
#[test]
fn each_answer_and_each_error_goes_to_the_request_that_caused_it() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = alice_like(addr, "alice");
    std::thread::scope(|threads| {
        for worker in 0..3 {
            let alice = &alice;
            threads.spawn(move || {
                for n in 0..20 {
                    match (worker + n) % 4 {
                        0 => assert_eq!(code_of(alice.command("join nowhere")), "404"),
                        1 => assert_eq!(code_of(alice.command("create")), "400"),
                        2 => {
                            let who = alice.command("who lobby").unwrap();
                            assert_eq!(
                                (who.action.as_str(), &who.data["room"]),
                                ("who", &"lobby".into())
                            );
                        }
                        _ => assert_eq!(alice.command("rooms").unwrap().action, "rooms"),
                    }
                }
            });
        }
    });
    alice.close().unwrap();
}

/// After `/qqq` the server answers `bye` and ends the session: the reader
/// thread learns it from `receive`, and later requests fail at once.
#[test]
fn after_qqq_every_thread_of_a_shared_client_learns_the_session_ended() {
    let (addr, _data) = start_chat_server(|_| {});
    let alice = alice_like(addr, "alice");
    std::thread::scope(|threads| {
        let reader = threads.spawn(|| {
            loop {
                match alice.receive(Some(Duration::from_secs(10))) {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("the session did not end within 10 s"),
                    Err(error) => return error,
                }
            }
        });
        assert_eq!(alice.command("qqq").unwrap().action, "bye");
        let ended = reader.join().unwrap();
        assert!(matches!(ended, Error::SessionEnded(_)), "{ended:?}");
    });
    assert!(matches!(alice.command("rooms"), Err(Error::SessionEnded(_))));
    alice.close().unwrap();
}

/// `--cipher` and `--secure` take only the values the protocol knows: the
/// parser refuses others, listing the right ones, before connecting.
#[test]
fn the_client_command_refuses_an_unknown_cipher_or_secure_value_before_connecting() {
    use std::process::{Command, Stdio};
    // A listener nobody should reach: the program must stop first.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    for (flag, value) in [("--cipher", "des"), ("--secure", "2")] {
        let output = Command::new(env!("CARGO_BIN_EXE_rfmp"))
            .args(["client", "--port", &port, "--user", "dave", flag, value])
            .env("RFMP_KNOWN_SERVERS", "/nonexistent/known-servers")
            .env("RFMP_PASSWORD", TEST_PASSWORD)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "a usage error: {stderr}");
        assert!(stderr.contains(&format!("invalid value '{value}' for '{flag}")), "{stderr}");
        assert!(stderr.contains("possible values"), "{stderr}");
    }
    assert_eq!(
        listener.accept().map(|_| ()).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "the client connected"
    );
}

/// A usage mistake in a chat command is explained by the client, and
/// never sent: the server reads only the commands that were right.
#[test]
fn the_client_command_explains_a_usage_mistake_without_sending_it() {
    let (tap, seen) = std::sync::mpsc::channel();
    let (addr, _data) = start_chat_server(|c| c.tap = Some(tap));
    let output = run_client_command(addr, "dave", b"/join\n/who\n/qqq\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}");
    assert!(stderr.contains("/join needs a room name; usage: /join NAME"), "{stderr}");
    let commands: Vec<String> = seen
        .try_iter()
        .filter_map(|message| {
            let (envelope, _) = rfmp::chat::messages::decode(&message).ok()?;
            (envelope.action == "command").then(|| envelope.data.as_str().map(str::to_string))?
        })
        .collect();
    assert_eq!(commands, ["who", "qqq"]);
}

/// A local file the program cannot use is named, with what was being done
/// to it, before any connection: a missing file to send, a missing
/// `--key`, and a key file that `keygen` would overwrite.
#[test]
fn local_file_errors_name_the_path_and_the_operation_before_connecting() {
    use std::process::{Command, Stdio};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let missing = missing.to_str().unwrap();
    let existing = dir.path().join("key.pem");
    std::fs::write(&existing, "not a key").unwrap();
    let existing = existing.to_str().unwrap();
    let runs: [(&[&str], String); 3] = [
        (
            &["send-file", missing, "--user", "dave", "--port", &port],
            format!("error: cannot send the file {missing}: "),
        ),
        (
            &["client", "--key", missing, "--user", "dave", "--port", &port],
            format!("error: could not read {missing}: "),
        ),
        (&["keygen", existing], format!("error: could not create {existing}: it exists already")),
    ];
    for (args, expected) in runs {
        let output = Command::new(env!("CARGO_BIN_EXE_rfmp"))
            .args(args)
            .env("RFMP_PASSWORD", TEST_PASSWORD)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(existing).unwrap(), "not a key", "keygen overwrote a file");
    assert_eq!(
        listener.accept().map(|_| ()).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "a client connected"
    );
}

/// The events a `Client` keeps for `receive` are bounded (here by a small
/// `queue_bytes`): when the queue is full its reader waits instead of
/// dropping any, so a slow reader still gets every message, in order.
#[test]
fn a_full_event_queue_makes_the_reader_wait_and_loses_nothing() {
    const SAID: usize = 50;
    let (addr, _data) = start_chat_server(|_| {});
    let config = LinkConfig { queue_bytes: 1024, ..LinkConfig::default() };
    let alice = Client::connect_with(addr, Security::Unsecured, config).unwrap();
    alice.login("alice", TEST_PASSWORD).unwrap();
    let bob = client_with(addr, "bob", second_client_key());
    // About 250 bytes each: the queue holds four or five of them.
    for n in 0..SAID {
        bob.say(None, &format!("{n:03} {}", "x".repeat(150))).unwrap();
    }
    let heard: Vec<String> =
        room_messages(&alice, SAID).into_iter().map(|(_, _, text)| text[..3].to_string()).collect();
    let expected: Vec<String> = (0..SAID).map(|n| format!("{n:03}")).collect();
    assert_eq!(heard, expected);
    alice.close().unwrap();
    bob.close().unwrap();
}

/// Trust on first use, as OpenSSH's known_hosts: the first connection
/// remembers the server's key and says so; a server that presents another
/// key later is refused before the password is sent, naming both
/// fingerprints and the line to remove; `--accept-changed-server-key`
/// accepts it, and `--server-fingerprint` pins a key from the start.
#[test]
fn the_client_command_remembers_the_server_key_and_refuses_a_changed_one() {
    let (addr, _data) = start_chat_server(|_| {});
    let known = tempfile::tempdir().unwrap();
    let file = known.path().join("nested").join("known-servers");
    let presented =
        rfmp::handshake::helpers::fingerprint(&test_server_key().to_public_key()).unwrap();

    let first = run_client_trusting(addr, "erin", b"/qqq\n", &file, &[]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(stderr.contains("first connection to 127.0.0.1:"), "{stderr}");
    let server = format!("127.0.0.1:{}", addr.port());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("{server} {presented}\n")), "{text}");

    // The same key again: no word about it.
    let again = run_client_trusting(addr, "erin", b"/qqq\n", &file, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(!stderr.contains("first connection"), "{stderr}");

    // Another key remembered for this server (as after a man in the middle
    // swapped it, or the server's key changed): refused before login.
    let other = "SHA256:0pA6zIYXt0hpldqQxD0DZhJ0Qw0TOJp9Lt1pYDFf1qA";
    std::fs::write(&file, format!("# known\n{server} {other}\n")).unwrap();
    let refused = run_client_trusting(addr, "erin", b"hello\n/qqq\n", &file, &[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    for part in [presented.as_str(), other, "CHANGED", "remove line 2"] {
        assert!(stderr.contains(part), "{part} missing: {stderr}");
    }
    assert!(!stderr.contains("logged in"), "no login after a changed key: {stderr}");

    // Accepted when the user says the key really changed.
    let accepted =
        run_client_trusting(addr, "erin", b"/qqq\n", &file, &["--accept-changed-server-key"]);
    let stderr = String::from_utf8_lossy(&accepted.stderr);
    assert!(accepted.status.success(), "{stderr}");
    assert!(stderr.contains("changed from"), "{stderr}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text, format!("# known\n{server} {presented}\n"));

    // A pinned fingerprint that is not the server's: refused at once.
    let fresh = known.path().join("fresh");
    let pinned =
        run_client_trusting(addr, "erin", b"/qqq\n", &fresh, &["--server-fingerprint", other]);
    let stderr = String::from_utf8_lossy(&pinned.stderr);
    assert_eq!(pinned.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(other) && stderr.contains(&presented), "{stderr}");
}
