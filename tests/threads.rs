//! Teaching tests for the server's threads. Each client's thread and each
//! link thread gets an explicit, small stack (128 KiB, where `std` gives a
//! spawned thread 2 MiB). A thread that outgrows its stack aborts the whole
//! process, so the deepest path a client can drive must run on threads of
//! that size, with room to spare: here it runs on threads of half the size.

mod common;

use common::*;
use rfmp::chat::messages::{Envelope, encode};
use rfmp::chat::server::{CLIENT_THREAD_STACK, Server, ServerConfig};
use rfmp::chat::transfer::send_file;
use rfmp::handshake::server::ServerKey;
use rfmp::handshake::session::Algorithm;
use rfmp::link::{LINK_THREAD_STACK, LinkConfig};

/// The deepest paths of a client's thread and of the link's threads, on
/// stacks half the size the server uses: an AES handshake (the server's
/// RSA-2048 OAEP decryption), a new account (an Argon2id hash) and a login
/// to it (an Argon2id check), a room message, a file (SHA-256, written to
/// disk), a custom handler, and a clean close.
#[test]
fn server_threads_fit_in_half_their_stack() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        receive_dir: dir.path().join("received"),
        data_dir: dir.path().join("accounts"),
        thread_stack: CLIENT_THREAD_STACK / 2,
        link: LinkConfig {
            thread_stack: LINK_THREAD_STACK / 2,
            ..LinkConfig::default()
        },
        ..ServerConfig::default()
    };
    let key = ServerKey::new(test_server_key()).unwrap();
    let server = Server::bind("127.0.0.1:0", key, config).unwrap();
    server
        .handle("shout", |request| {
            Ok(request
                .data
                .as_str()
                .unwrap_or_default()
                .to_uppercase()
                .into())
        })
        .unwrap();
    let addr = server.local_addr().unwrap();
    std::thread::spawn(move || server.run());

    let link = open_link(addr, &secured(Algorithm::Aes));
    let token = login(&link, "alice"); // a new account: Argon2id hash
    say_with(&link, &token, "hello");
    expect_room_message(&link, "alice", "hello");

    let path = dir.path().join("photo.bin");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let sent = send_file(&link, Some(&token), &path, u64::MAX, &mut |_| {}).unwrap();
    let (saved, _) = next_envelope(&link);
    assert_eq!(saved.action, "file-saved", "{saved:?}");
    assert_eq!(saved.data["sha256"], sent.sha256.as_str(), "{saved:?}");

    let shout = Envelope::new("shout", "hi".into()).with_token(Some(&token));
    link.send(encode(&shout, b"")).unwrap();
    let (answer, _) = next_envelope(&link);
    assert_eq!(
        (answer.action.as_str(), &answer.data),
        ("shout", &"HI".into())
    );
    link.close().unwrap();

    // The same account again: an Argon2id check, on another thread.
    let again = open_link(addr, &secured(Algorithm::Aes));
    login(&again, "alice");
    again.close().unwrap();
}
