//! The demo's chat section: the real server, two real clients, a room and
//! an end-to-end direct message.

use crate::chat::client::{Client, Security};
use crate::error::{Error, Result};
use crate::handshake::keys::ServerKey;
use crate::handshake::session::Algorithm;
use crate::link::frames::Direction;
use crate::link::{LinkConfig, Trace};
use crate::teach::narrate::Narrator;
use crate::teach::tapped::TappedServer;
use rsa::PrivateKey;
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver};

/// The texts of the chat section.
pub const DEMO_ROOM_TEXT: &str = "Shall we start on the lesson?";
/// The direct message of the chat section (the server must never see it).
pub const DEMO_DIRECT_TEXT: &str = "My exam seat is 42B, keep it to yourself.";

/// A chat client of the demo: the real [`Client`], plus what its link wrote.
struct DemoUser {
    name: &'static str,
    client: Client,
    wrote: Receiver<(Direction, Trace)>,
}

impl DemoUser {
    /// Connect with AES, over the real link, tracing the frames it writes.
    fn connect(name: &'static str, addr: SocketAddr, key: &PrivateKey) -> Result<DemoUser> {
        let (trace, wrote) = mpsc::channel();
        let config = LinkConfig { trace: Some(trace), ..LinkConfig::default() };
        let security = Security::Secured { algorithm: Algorithm::Aes, private_key: key.clone() };
        Ok(DemoUser { name, client: Client::connect_with(addr, security, config)?, wrote })
    }

    /// Show the data frames this user's link wrote since the last call.
    fn show_frames(&self, n: &mut Narrator) -> Result<()> {
        for (_, event) in self.wrote.try_iter() {
            if let Trace::Wrote { frame, .. } = event
                && frame.starts_with("(DP")
            {
                n.detail(&format!("{} wrote {}", self.name, short_frame(&frame)))?;
            }
        }
        Ok(())
    }
}

/// The chat section: the real server, two real clients, a room, and an
/// end-to-end direct message, with the frames, the JSON envelopes the
/// server read (its tap, [`crate::chat::server::ServerConfig::tap`]) and both
/// key fingerprints.
pub(super) fn run_chat(
    n: &mut Narrator,
    server_key: &ServerKey,
    alice_key: &PrivateKey,
    bob_key: &PrivateKey,
) -> Result<()> {
    n.banner("The chat: logins, a room, and an end-to-end message")?;
    n.say(
        "Now the real server (src/handshake/server.rs, src/chat/hub.rs) and two real clients \
         (rfmp::chat::client::Client) over AES sessions. Under each action: the frame \
         the client wrote (sealed: the eavesdropper sees only this), and the JSON \
         envelope the server read after opening it.",
    )?;
    let server = TappedServer::start(ServerKey::new(server_key.private_key().clone())?, "demo")?;
    let (addr, server_read) = (server.addr, &server.read);
    // The demo's accounts are thrown away when `server` is dropped.
    chat_script(n, addr, alice_key, bob_key, server_read)
}

/// What the server read since the last call, one envelope a line.
fn show_server_read(n: &mut Narrator, server_read: &Receiver<Vec<u8>>) -> Result<()> {
    for message in server_read.try_iter() {
        n.wire("the server read (JSON envelope):", &message)?;
    }
    Ok(())
}

fn chat_script(
    n: &mut Narrator,
    addr: SocketAddr,
    alice_key: &PrivateKey,
    bob_key: &PrivateKey,
    server_read: &Receiver<Vec<u8>>,
) -> Result<()> {
    let password = "demo password, do not reuse";
    let alice = DemoUser::connect("alice", addr, alice_key)?;
    let bob = DemoUser::connect("bob", addr, bob_key)?;

    n.wait()?;
    n.say("\nalice logs in (the first login of a name creates the account):")?;
    let welcome = alice.client.login(alice.name, password)?;
    alice.show_frames(n)?;
    show_server_read(n, server_read)?;
    n.detail(&format!(
        "the server reads the password (it must, to check it), but only the \
         sealed frame crossed the network; it stores only an Argon2id hash, \
         and answered welcome with the token {} (128 random bits), which \
         every later envelope of alice's carries",
        welcome.token
    ))?;
    bob.client.login(bob.name, password)?;
    let _ = server_read.try_iter().count();
    let _ = bob.wrote.try_iter().count();
    n.say("bob logs in the same way; both are now in #lobby.")?;

    n.wait()?;
    n.say("\nalice makes a room, and bob joins it:")?;
    alice.client.command("create study")?;
    bob.client.command("join study")?;
    alice.show_frames(n)?;
    bob.show_frames(n)?;
    show_server_read(n, server_read)?;

    n.wait()?;
    n.say("\nalice speaks in #study; the server fans it out to every member:")?;
    alice.client.say(None, DEMO_ROOM_TEXT)?;
    let heard = wait_for_action(&bob.client, "message")?;
    alice.show_frames(n)?;
    show_server_read(n, server_read)?;
    n.wire(
        "bob got (JSON envelope, from the server):",
        &crate::chat::messages::encode(&heard, b""),
    )?;

    n.wait()?;
    n.say(&format!(
        "\nalice sends bob a direct message, end to end: she asks the server for \
         bob's public key (the one bob sent in step 10), seals \"{DEMO_DIRECT_TEXT}\" \
         with a fresh AES key encrypted to it (RSA-OAEP), and the server relays \
         what it cannot read:"
    ))?;
    let bob_as_alice_sees_it = alice.client.direct(bob.name, DEMO_DIRECT_TEXT)?;
    alice.show_frames(n)?;
    let read: Vec<Vec<u8>> = server_read.try_iter().collect();
    for message in &read {
        n.wire("the server read (JSON envelope):", message)?;
    }
    let leaked = read
        .iter()
        .any(|m| m.windows(DEMO_DIRECT_TEXT.len()).any(|w| w == DEMO_DIRECT_TEXT.as_bytes()));
    n.detail(&format!("the text is in what the server read: {leaked}"))?;
    let envelope = wait_for_action(&bob.client, "direct")?;
    let (direct, text) = bob.client.open_direct(&envelope)?;
    n.detail(&format!("bob opened it with his private key: {text:?}"))?;
    n.say("Both sides can compare key fingerprints, over another channel:")?;
    n.detail("bob's key, as the server gave it to alice, and as bob has it:")?;
    n.detail(&format!("  {}", bob_as_alice_sees_it.fingerprint))?;
    n.detail(&format!("  {}", bob.client.fingerprint().unwrap_or_default()))?;
    n.detail("alice's key, as the server told bob, and as alice has it:")?;
    n.detail(&format!("  {}", direct.fingerprint.unwrap_or_default()))?;
    n.detail(&format!("  {}", alice.client.fingerprint().unwrap_or_default()))?;
    n.detail(
        "equal pairs mean the server did not swap the keys (a man in the middle); \
         without that check, a lying server could read the direct message.",
    )?;

    for user in [&alice, &bob] {
        user.client.command("qqq")?;
        user.client.close()?;
    }
    Ok(())
}

/// The next envelope of `action` for `client` (10 s at most), skipping
/// notices and other room traffic.
fn wait_for_action(client: &Client, action: &str) -> Result<crate::chat::messages::Envelope> {
    loop {
        match client.receive(Some(std::time::Duration::from_secs(10)))? {
            Some(envelope) if envelope.action == action => return Ok(envelope),
            Some(_) => continue,
            None => {
                return Err(Error::TimedOut { waiting_for: "the demo's chat message" });
            }
        }
    }
}

/// A frame shortened for the 80-column narration: long payloads elided.
pub(super) fn short_frame(frame: &str) -> String {
    if frame.len() <= 60 {
        return frame.to_string();
    }
    let crc_at = frame.rfind(',').unwrap_or(frame.len());
    let head: String = frame.chars().take(36).collect();
    format!("{head}...{}", &frame[crc_at..])
}
