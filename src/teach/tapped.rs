//! A server whose reads can be watched: the demo's chat and the chat lesson
//! show with it what the server reads after opening each frame.

use crate::chat::server::{Server, ServerConfig};
use crate::error::Result;
use crate::handshake::helpers::os_rng;
use crate::handshake::keys::ServerKey;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A server for showing what a server reads: on a free port of 127.0.0.1,
/// running on a thread of its own, with its accounts in a fresh temporary
/// directory (removed when this is dropped) and its
/// [`ServerConfig::tap`] on. The demo's chat and the chat lesson use it.
#[derive(Debug)]
pub struct TappedServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every message the server read, after opening the session cipher.
    pub read: std::sync::mpsc::Receiver<Vec<u8>>,
    data_dir: PathBuf,
}

impl TappedServer {
    /// Start one with `key`; `name` goes into its directory's name.
    ///
    /// # Errors
    /// As [`Server::bind`].
    pub fn start(key: ServerKey, name: &str) -> Result<TappedServer> {
        // Several may run at once (the tests run demos in parallel), so the
        // directory's name is random.
        let run_id: u64 = rand::RngExt::random(&mut os_rng());
        let data_dir = std::env::temp_dir().join(format!("rfmp-{name}-{run_id:016x}"));
        let (tap, read) = std::sync::mpsc::channel();
        let config = ServerConfig {
            data_dir: data_dir.clone(),
            receive_dir: data_dir.join("received"),
            tap: Some(tap),
            ..ServerConfig::default()
        };
        let server = Server::bind("127.0.0.1:0", key, config)?;
        let addr = server.local_addr()?;
        std::thread::spawn(move || server.run());
        Ok(TappedServer { addr, read, data_dir })
    }
}

impl Drop for TappedServer {
    /// Throw the accounts away (the server thread itself runs on until the
    /// process ends, like any server started with [`Server::run`]).
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
