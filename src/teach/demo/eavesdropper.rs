//! The eavesdropper: a TCP relay between the demo's client and server
//! that forwards every byte and records it, and the demo's view of what it
//! recorded ([`Tap`]).

use crate::error::Result;
use crate::teach::narrate::Narrator;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

/// What the eavesdropper records: which way the bytes went, and the bytes.
pub(super) type Capture = (Flow, Vec<u8>);

/// Which way bytes were travelling through the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    ClientToServer,
    ServerToClient,
}

/// Start the eavesdropper: listen on an ephemeral port, and relay the first
/// connection to `server`, sending a copy of every chunk to the returned
/// receiver *before* forwarding it. So once a side has read some bytes, the
/// eavesdropper's copy of them is already in the channel.
pub(super) fn start_eavesdropper(server: SocketAddr) -> Result<(SocketAddr, Receiver<Capture>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::channel();
    thread::Builder::new().name("eavesdropper".into()).spawn(move || -> std::io::Result<()> {
        let (from_client, _) = listener.accept()?;
        let to_server = TcpStream::connect(server)?;
        let (c2, s2) = (from_client.try_clone()?, to_server.try_clone()?);
        let tx2 = tx.clone();
        let upstream = thread::Builder::new()
            .name("eavesdropper-up".into())
            .spawn(move || relay(from_client, to_server, Flow::ClientToServer, tx))?;
        relay(s2, c2, Flow::ServerToClient, tx2);
        let _ = upstream.join();
        Ok(())
    })?;
    Ok((addr, rx))
}

/// Copy bytes from one socket to the other until the first one closes.
fn relay(mut from: TcpStream, mut to: TcpStream, direction: Flow, tx: Sender<Capture>) {
    let mut buffer = [0u8; 4096];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let _ = tx.send((direction, buffer[..n].to_vec()));
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// The demo's view of what the eavesdropper recorded.
pub(super) struct Tap {
    pub(super) wire: Receiver<Capture>,
    pub(super) seen: Vec<u8>,
}

impl Tap {
    /// Print the bytes recorded since the last call (one block per
    /// direction, in the order they crossed), then what they reveal.
    pub(super) fn show(&mut self, n: &mut Narrator, reveals: &str) -> Result<()> {
        let mut blocks: Vec<(Flow, Vec<u8>)> = Vec::new();
        while let Ok((flow, bytes)) = self.wire.try_recv() {
            match blocks.last_mut() {
                Some((last, block)) if *last == flow => block.extend_from_slice(&bytes),
                _ => blocks.push((flow, bytes)),
            }
        }
        self.seen.clear();
        if blocks.is_empty() {
            n.wire("wire: nothing", b"")?;
        }
        for (flow, bytes) in &blocks {
            let arrow = match flow {
                Flow::ClientToServer => "client -> server",
                Flow::ServerToClient => "server -> client",
            };
            n.wire(&format!("wire: {arrow}, {} bytes", bytes.len()), bytes)?;
            self.seen.extend_from_slice(bytes);
        }
        n.eavesdropper(reveals)
    }
}
