//! A chat server with one custom action, `shout`, built on the library API.
//!
//! Run it, then the client, in two terminals:
//!
//! ```sh
//! cargo run --example custom_action_server
//! cargo run --example custom_action_client
//! ```
//!
//! The server listens on 127.0.0.1:25565 (seed 002's default) and keeps its
//! accounts in `./rfmp-data`. Besides the built-in chat (login, rooms,
//! direct messages, files), a logged-in client may send
//! `{"action":"shout","data":"hello"}` and gets back
//! `{"action":"shout","data":"alice shouts HELLO"}`.

use rfmp::chat::server::Server;
use rfmp::handshake::keys::ServerKey;

fn main() -> rfmp::Result<()> {
    // One RSA-2048 key for the server's life (generating one takes a moment;
    // `rfmp keygen FILE` makes one to keep across restarts).
    let server = Server::new(ServerKey::generate()?)?;
    server.handle("shout", |request| {
        let text = request.data.as_str().unwrap_or_default();
        Ok(format!("{} shouts {}", request.username, text.to_uppercase()).into())
    })?;
    println!(
        "listening on {}, key fingerprint {}",
        server.local_addr()?,
        server.key().fingerprint()
    );
    server.run()
}
