//! The chat, for the chat lesson.

use super::{CHAT_DIRECT_STREAM, teaching_server_key, teaching_stream, wrapped};
use crate::chat::messages::{Envelope, encode};
use crate::error::{Error, Result};
use crate::handshake::keys::{ServerKey, private_key_from_pem};
use crate::handshake::session::Algorithm;
use std::fmt::Write as _;
use std::time::Duration;

/// The TEST-ONLY client private key (alice's in the chat lesson).
const CLIENT_KEY_PEM: &str = include_str!("../../../tests/keys/TEST-ONLY-client-key.pem");
/// The second TEST-ONLY client private key (bob's in the chat lesson).
const SECOND_CLIENT_KEY_PEM: &str =
    include_str!("../../../tests/keys/TEST-ONLY-second-client-key.pem");

/// The text of the direct message in the chat lesson.
pub const CHAT_DIRECT_TEXT: &str = "My exam seat is 42B, keep it to yourself.";

/// An envelope as JSON, with the parts that change from run to run
/// replaced by a description: times (`<time>`), the token (`<token>`),
/// and the base64 of a direct message (`<N base64 characters>`); a public
/// key's PEM is shortened to its length (its fingerprint is shown).
fn masked(bytes: &[u8]) -> Result<String> {
    fn mask(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    match (key.as_str(), &*value) {
                        ("time" | "sent", _) => *value = "<time>".into(),
                        ("token", _) => *value = "<token>".into(),
                        ("key" | "sealed", serde_json::Value::String(text)) => {
                            *value = format!("<{} base64 characters>", text.len()).into()
                        }
                        ("public_key", serde_json::Value::String(text)) => {
                            *value = format!("<PEM, {} characters>", text.len()).into()
                        }
                        _ => mask(value),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(mask),
            _ => {}
        }
    }
    let (envelope, _) = crate::chat::messages::decode(bytes)?;
    let mut value = serde_json::to_value(&envelope)
        .map_err(|e| Error::Internal(format!("an envelope that does not serialise: {e}")))?;
    mask(&mut value);
    Ok(value.to_string())
}

/// A chat between alice and bob on the real server, with two real
/// [`crate::chat::client::Client`]s over AES sessions, every envelope the server
/// read (its [`crate::chat::server::ServerConfig::tap`]) and every envelope each
/// client received, in order, one a line, with the parts that change from
/// run to run (times, tokens, ciphertexts) replaced by a description.
///
/// Each step waits for the envelopes it causes, so the order is the same on
/// every run. The server is a [`crate::teach::tapped::TappedServer`]: its accounts
/// live in a temporary directory, removed at the end.
///
/// # Errors
/// Any error of the server or the clients; [`Error::TimedOut`] if an
/// expected envelope does not come within 10 s.
pub fn chat_session() -> Result<String> {
    use crate::chat::client::{Client, Security};
    use crate::teach::tapped::TappedServer;

    let server = TappedServer::start(ServerKey::new(teaching_server_key()?)?, "chat-lesson")?;
    let (addr, server_read) = (server.addr, &server.read);
    let connect = |pem: &str| -> Result<Client> {
        Client::connect(
            addr,
            Security::Secured {
                algorithm: Algorithm::Aes,
                private_key: private_key_from_pem(pem)?,
            },
        )
    };
    let alice = connect(CLIENT_KEY_PEM)?;
    let bob = connect(SECOND_CLIENT_KEY_PEM)?;
    let mut out = String::new();
    // What the server read in this step: `count` envelopes from `who`.
    let read = |out: &mut String, who: &str, count: usize| -> Result<()> {
        for _ in 0..count {
            let bytes = server_read
                .recv_timeout(Duration::from_secs(10))
                .map_err(|_| Error::TimedOut { waiting_for: "the server to read an envelope" })?;
            let _ = writeln!(out, "{who:>5} -> server  {}", masked(&bytes)?);
        }
        Ok(())
    };
    // What `who` received in this step: `count` envelopes.
    let got = |out: &mut String, who: &str, client: &Client, count: usize| -> Result<()> {
        for _ in 0..count {
            let envelope = client
                .receive(Some(Duration::from_secs(10)))?
                .ok_or(Error::TimedOut { waiting_for: "an envelope for the chat lesson" })?;
            let _ = writeln!(out, "server -> {who:<5}  {}", masked(&encode(&envelope, b""))?);
        }
        Ok(())
    };
    let password = "TEST-ONLY password";
    let result = (|| -> Result<()> {
        // The answers to requests are kept by `request`; print them the
        // same way as the events `receive` returns.
        let answer = |out: &mut String, who: &str, envelope: Envelope| -> Result<()> {
            let _ = writeln!(out, "server -> {who:<5}  {}", masked(&encode(&envelope, b""))?);
            Ok(())
        };
        let welcome = |w: crate::chat::actions::Welcome| {
            Envelope::new("welcome", serde_json::to_value(&w).unwrap_or_default())
        };
        let welcomed = alice.login("alice", password)?;
        read(&mut out, "alice", 1)?;
        answer(&mut out, "alice", welcome(welcomed))?;
        let welcomed = bob.login("bob", password)?;
        read(&mut out, "bob", 1)?;
        answer(&mut out, "bob", welcome(welcomed))?;
        got(&mut out, "alice", &alice, 1)?;
        let joined = alice.command("create study")?;
        read(&mut out, "alice", 1)?;
        answer(&mut out, "alice", joined)?;
        let joined = bob.command("join study")?;
        read(&mut out, "bob", 1)?;
        answer(&mut out, "bob", joined)?;
        got(&mut out, "alice", &alice, 1)?;
        // `send`, not `say` (which would wait for, and keep, the answer):
        // here every envelope received is shown.
        alice.send("message", serde_json::json!({"text": "shall we start?"}))?;
        read(&mut out, "alice", 1)?;
        got(&mut out, "alice", &alice, 1)?;
        got(&mut out, "bob", &bob, 1)?;
        bob.send("message", serde_json::json!({"room": "rust", "text": "is anyone in rust?"}))?;
        read(&mut out, "bob", 1)?;
        got(&mut out, "bob", &bob, 1)?;
        let key = alice.key_of("bob")?;
        read(&mut out, "alice", 1)?;
        answer(
            &mut out,
            "alice",
            Envelope::new("key", serde_json::to_value(&key).unwrap_or_default()),
        )?;
        alice.send_direct(&key, CHAT_DIRECT_TEXT)?;
        read(&mut out, "alice", 1)?;
        got(&mut out, "alice", &alice, 1)?;
        let direct = bob
            .receive(Some(Duration::from_secs(10)))?
            .ok_or(Error::TimedOut { waiting_for: "the direct message" })?;
        let _ = writeln!(out, "server -> bob    {}", masked(&encode(&direct, b""))?);
        let (_, text) = bob.open_direct(&direct)?;
        let _ = writeln!(out, "  bob opens it with his private key: {text:?}");
        let bye = bob.command("qqq")?;
        read(&mut out, "bob", 1)?;
        answer(&mut out, "bob", bye)?;
        got(&mut out, "alice", &alice, 2)?;
        bob.close()?;
        alice.close()
    })();
    drop(server); // its accounts directory with it
    result.map(|()| out)
}

/// The `chat-direct` block: alice's direct message to bob, sealed with the
/// teaching generator, and a Python command (pycryptodome) that opens it
/// with bob's TEST-ONLY private key.
pub(super) fn chat_direct() -> Result<String> {
    let bob = private_key_from_pem(SECOND_CLIENT_KEY_PEM)?;
    let mut rng = teaching_stream(CHAT_DIRECT_STREAM);
    let sealed = crate::chat::direct::seal_direct(
        &bob.to_public_key(),
        "alice",
        "bob",
        CHAT_DIRECT_TEXT,
        &mut rng,
    )?;
    let opened = crate::chat::direct::open_direct(&bob, "alice", "bob", &sealed)?;
    if opened != CHAT_DIRECT_TEXT {
        return Err(Error::AuthenticationFailed);
    }
    let aad = crate::chat::direct::direct_associated_data("alice", "bob");
    let mut block = String::from("```text\n");
    let _ = writeln!(block, "associated data: {}", String::from_utf8_lossy(&aad));
    block.push_str("key (RSA-OAEP, SHA-256, to bob's key), base64:\n");
    block.push_str(&wrapped(&sealed.key));
    block.push_str("sealed (nonce 16 | tag 16 | ciphertext), base64:\n");
    block.push_str(&wrapped(&sealed.sealed));
    block.push_str("```\n\n");
    let _ = write!(
        block,
        "```console\n$ python3 - <<'EOF'\n\
         import base64\n\
         from Crypto.Cipher import AES, PKCS1_OAEP\n\
         from Crypto.Hash import SHA256\n\
         from Crypto.PublicKey import RSA\n\
         bob = RSA.import_key(open('tests/keys/TEST-ONLY-second-client-key.pem').read())\n\
         key = PKCS1_OAEP.new(bob, hashAlgo=SHA256).decrypt(base64.b64decode('{}'))\n\
         box = base64.b64decode('{}')\n\
         aes = AES.new(key, AES.MODE_EAX, nonce=box[:16])\n\
         aes.update(b'RFMP/1.0 direct alice bob')\n\
         print(aes.decrypt_and_verify(box[32:], box[16:32]).decode())\n\
         EOF\n{opened}\n```\n",
        sealed.key, sealed.sealed
    );
    Ok(block)
}

/// The chat of [`chat_session`] as a Mermaid sequence diagram: one arrow
/// per envelope, labelled with its action and the gist of its data.
///
/// # Errors
/// Those of [`chat_session`].
pub fn chat_diagram() -> Result<String> {
    let session = chat_session()?;
    let mut out = String::from(
        "```mermaid\nsequenceDiagram\n    participant alice\n    participant server\n    participant bob\n",
    );
    for line in session.lines() {
        if !line.contains(" -> ") {
            let note = line.trim().replace('"', "'");
            let _ = writeln!(out, "    Note over bob: {note}");
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(from), Some(_), Some(to)) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        let json = line.find('{').map(|at| &line[at..]).unwrap_or("{}");
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::Internal(format!("a chat lesson line is not JSON: {e}")))?;
        let _ = writeln!(out, "    {from}->>{to}: {}", gist(&value));
    }
    out.push_str("```\n");
    Ok(out)
}

/// An envelope's action and the part of its data a reader needs, short
/// enough for a diagram's arrow.
fn gist(envelope: &serde_json::Value) -> String {
    let action = envelope["action"].as_str().unwrap_or("?");
    let data = &envelope["data"];
    let field = |key: &str| data[key].as_str().unwrap_or_default().to_string();
    let detail = match action {
        "login" | "welcome" | "bye" => field("username"),
        "command" => data.as_str().unwrap_or_default().to_string(),
        "joined" => format!(
            "#{} {}",
            field("room"),
            data["users"]
                .as_array()
                .map(|u| u.iter().filter_map(|n| n.as_str()).collect::<Vec<_>>().join(","))
                .unwrap_or_default()
        ),
        "notice" => format!("#{} {}", field("room"), field("text")),
        "message" if data.get("from").is_some() => {
            format!("#{} {}: {}", field("room"), field("from"), field("text"))
        }
        "message" => {
            format!("{} (room: {})", field("text"), data["room"].as_str().unwrap_or("current"))
        }
        "error" => format!("{}", data["code"]),
        "CoreKey" => field("username"),
        "key" => format!("{} {}", field("username"), field("fingerprint")),
        "direct" => format!("to {}, sealed end to end", field("to")),
        "direct-sent" => field("to"),
        _ => String::new(),
    };
    // Mermaid ends a message at ';' and reads '#...;' as a character
    // code: write '#' as its code, #35;.
    format!("{action} {detail}").trim().replace(';', ",").replace('#', "#35;")
}
