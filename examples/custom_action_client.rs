//! A client that logs in and calls the custom action `shout` of
//! `custom_action_server`.
//!
//! Run the server, then this client, in two terminals:
//!
//! ```sh
//! cargo run --example custom_action_server
//! cargo run --example custom_action_client
//! ```
//!
//! It connects to 127.0.0.1:25565 with an AES session, logs in as `alice`
//! (the first run creates the account; the password comes from
//! RFMP_PASSWORD, or is a fixed example one), says hello in the lobby, and
//! prints the server's answer to `shout`.

use rfmp::chat::client::{Client, Security};
use rfmp::chat::server::DEFAULT_ADDR;
use rfmp::handshake::helpers::os_rng;
use rfmp::handshake::keys::generate_key;
use rfmp::handshake::session::Algorithm;

fn main() -> rfmp::Result<()> {
    let password = std::env::var("RFMP_PASSWORD").unwrap_or_else(|_| "an example password".into());
    let client = Client::connect(
        DEFAULT_ADDR,
        Security::Secured { algorithm: Algorithm::Aes, private_key: generate_key(&mut os_rng())? },
    )?;
    if let Some(fingerprint) = client.server_fingerprint() {
        println!("server key fingerprint {fingerprint}");
    }
    let welcome = client.login("alice", &password)?;
    println!("logged in as {} in #{}", welcome.username, welcome.room);

    let said = client.say(None, "hello, lobby")?;
    println!("#{} {}: {}", said.room, said.from, said.text);

    let answer = client.request("shout", "hello from the library".into())?;
    println!("{}: {}", answer.action, answer.data);

    client.command("qqq")?;
    client.close()
}
