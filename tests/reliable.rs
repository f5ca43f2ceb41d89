//! Teaching tests for the link over real sockets: damaged and dropped
//! frames recovered, files sent intact, and peers that misbehave
//! disconnected with a clear error while others carry on.

mod common;

use common::*;
use rfmp::chat::messages::{Envelope, decode, encode};
use rfmp::chat::server::ServerConfig;
use rfmp::chat::transfer::{FileEnd, FileInfo, FileOffer, FileReceiver, send_file, sha256_file};
use rfmp::handshake::client::{self, Mode};
use rfmp::handshake::helpers::os_rng;
use rfmp::handshake::session::{Algorithm, SessionCipher};
use rfmp::link::frames::open_dp_packet;
use rfmp::link::frames::{
    Direction, Frame, FrameReader, Received, ak_packet, decode_frame, dp_packet,
};
use rfmp::link::reliable::ReliableConfig;
use rfmp::link::{ACK_EVERY, Faults, LinkConfig};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A server whose received files go to a fresh temporary directory.
fn server_with(dir: &tempfile::TempDir, change: impl FnOnce(&mut ServerConfig)) -> SocketAddr {
    let mut config = ServerConfig {
        receive_dir: dir.path().to_path_buf(),
        data_dir: dir.path().join("accounts"),
        ..ServerConfig::default()
    };
    change(&mut config);
    start_server(config)
}

/// `len` bytes that are not all alike, the same on every run.
fn test_bytes(len: usize) -> Vec<u8> {
    let mut x: u32 = 2463534242;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// With 10% of frames damaged and 5% dropped in both directions, a 5 MiB
/// file and 1,000 messages arrive intact, exactly once and in order.
#[test]
fn lossy_link_delivers_a_5_mib_file_and_1000_messages_intact_in_order() {
    let faults = |seed| Faults { corrupt_rate: 0.10, drop_rate: 0.05, seed };
    let received = tempfile::tempdir().unwrap();
    let addr = server_with(&received, |c| c.link.faults = faults(11));
    let link = open_link_with(
        addr,
        &secured(Algorithm::Aes),
        LinkConfig { faults: faults(12), ..LinkConfig::default() },
    );
    let source = tempfile::tempdir().unwrap();
    let path = source.path().join("five-mebibytes.bin");
    let original = test_bytes(5 * 1024 * 1024);
    std::fs::write(&path, &original).unwrap();

    let token = login(&link, "alice");
    let sent = send_file(&link, Some(&token), &path, u64::MAX, &mut |_| {}).unwrap();
    for i in 0..1000 {
        say_with(&link, &token, &format!("message {i}"));
    }

    // 5 MiB through this much damage takes several seconds.
    let (saved, _) = next_envelope_within(&link, Duration::from_secs(120));
    assert_eq!(saved.action, "file-saved", "{saved:?}");
    let saved: FileInfo = serde_json::from_value(saved.data).unwrap();
    assert_eq!((saved.size, &saved.sha256), (sent.size, &sent.sha256));
    assert_eq!(std::fs::read(received.path().join(&saved.name)).unwrap(), original);
    for i in 0..1000 {
        expect_room_message(&link, "alice", &format!("message {i}"));
    }
    let stats = link.stats();
    link.close().unwrap();
    // The faults really happened, and were really recovered from.
    assert!(stats.corrupted_by_faults > 100, "{stats:?}");
    assert!(stats.dropped_by_faults > 50, "{stats:?}");
    assert!(stats.retransmissions > 100, "{stats:?}");
    assert!(stats.damaged_received > 0, "{stats:?}");
}

/// Handshake by hand, then speak frames over the raw socket: a test peer
/// that can misbehave.
fn raw_session(
    addr: SocketAddr,
    mode: &Mode,
) -> (TcpStream, FrameReader<TcpStream>, SessionCipher) {
    let (session, _) = client::handshake(connect(addr), mode, &mut os_rng()).unwrap();
    let (stream, leftover) = session.connection.into_parts();
    let reader = FrameReader::new(stream.try_clone().unwrap(), leftover);
    (stream, reader, session.cipher)
}

/// Read frames until a data frame arrives, and open it (server to client).
fn next_data(reader: &mut FrameReader<TcpStream>, cipher: &SessionCipher) -> Vec<u8> {
    loop {
        if let Received::Frame(frame @ Frame::Data { .. }) = reader.read().unwrap() {
            return open_dp_packet(frame.clone(), cipher, Direction::ServerToClient).unwrap();
        }
    }
}

/// A message frame from the client with sequence number `seq`.
fn message_frame(cipher: &SessionCipher, seq: u32, text: &str) -> String {
    let message = encode(&Envelope::new("message", text.into()), b"");
    dp_packet(cipher, Direction::ClientToServer, seq, 0, 1, &message, &mut os_rng()).unwrap()
}

/// A client that sends but never reads fills only its own queue, and is
/// disconnected with EE 503; another client is served throughout.
#[test]
fn server_disconnects_a_client_that_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let addr = server_with(&dir, |c| c.link.queue_bytes = 4096);
    let (mut stream, _reader, cipher) = raw_session(addr, &Mode::Unsecured);
    let frames: String = (0..400).map(|seq| message_frame(&cipher, seq, "x")).collect();
    stream.write_all(frames.as_bytes()).unwrap();

    let good = open_link(addr, &secured(Algorithm::Aes));
    say(&good, "still served");
    expect_echo(&good, "still served");

    let everything = read_to_close(stream);
    assert!(
        everything.contains("(EE,503,outgoing queue full"),
        "{}",
        &everything[everything.len().saturating_sub(300)..]
    );
    say(&good, "and after");
    expect_echo(&good, "and after");
}

/// A client that never acknowledges gets each answer a few times, with
/// backoff, and then EE 408: the server gives up instead of waiting forever.
#[test]
fn server_gives_up_on_a_client_that_never_acknowledges() {
    let dir = tempfile::tempdir().unwrap();
    let addr = server_with(&dir, |c| {
        c.link.reliable = ReliableConfig {
            initial_rto: Duration::from_millis(20),
            max_transmissions: 3,
            ..ReliableConfig::default()
        }
    });
    let (mut stream, _reader, cipher) = raw_session(addr, &Mode::Unsecured);
    stream.write_all(message_frame(&cipher, 0, "hello?").as_bytes()).unwrap();
    let everything = read_to_close(stream);
    assert_eq!(everything.matches("(DP,0,0,1,").count(), 3, "{everything}");
    assert!(everything.contains("(EE,408,"), "{everything}");
}

/// A replayed AES frame, re-numbered with a correct CRC, fails the AEAD:
/// the server ends that session with EE 422.
#[test]
fn server_rejects_a_replayed_aes_frame_with_ee_422() {
    let addr = start_default_server();
    let (mut stream, mut reader, cipher) = raw_session(addr, &secured(Algorithm::Aes));
    let original = message_frame(&cipher, 0, "transfer 10 coins");
    stream.write_all(original.as_bytes()).unwrap();
    // The echo arrives: the original was accepted.
    let echo = next_data(&mut reader, &cipher);
    assert_eq!(decode(&echo).unwrap().0.text(), Some("transfer 10 coins"));
    stream.write_all(ak_packet(1).as_bytes()).unwrap();
    // Eve replays it as frame 1, with a CRC she computed herself.
    let Frame::Data { payload, .. } = decode_frame(original.as_bytes()).unwrap() else {
        unreachable!()
    };
    let replay =
        with_crc(&format!("(DP,1,0,1,{},", rfmp::handshake::helpers::base64_encode(&payload)));
    stream.write_all(replay.as_bytes()).unwrap();
    let everything = read_to_close(stream);
    assert!(everything.contains("(EE,422,authentication failed"), "{everything}");
}

/// A damaged frame is answered with NK; bytes that are not an envelope get
/// an error answer, and the session goes on.
#[test]
fn server_naks_a_damaged_frame_and_answers_bad_json_with_an_error() {
    let addr = start_default_server();
    let (mut stream, mut reader, cipher) = raw_session(addr, &Mode::Unsecured);
    let good =
        dp_packet(&cipher, Direction::ClientToServer, 0, 0, 1, b"not json", &mut os_rng()).unwrap();
    let mut damaged = good.clone().into_bytes();
    damaged[12] ^= 0x04;
    stream.write_all(&damaged).unwrap();
    assert_eq!(reader.read().unwrap(), Received::Frame(Frame::Nak { seq: 0 }));
    stream.write_all(good.as_bytes()).unwrap();
    let answer = next_data(&mut reader, &cipher);
    let (envelope, _) = decode(&answer).unwrap();
    assert_eq!(envelope.action, "error");
    let (code, message) = envelope.error_parts().unwrap();
    assert_eq!(code, 400);
    assert!(message.contains("not a JSON envelope"), "{envelope:?}");
    stream.write_all(ak_packet(1).as_bytes()).unwrap();
    stream.write_all(message_frame(&cipher, 1, "still fine").as_bytes()).unwrap();
    let echo = next_data(&mut reader, &cipher);
    assert_eq!(decode(&echo).unwrap().0.text(), Some("still fine"));
}

/// A frame of an unknown type (with a correct CRC) ends that session with EE 400.
#[test]
fn server_answers_an_unknown_frame_type_with_ee_400() {
    let addr = start_default_server();
    let (mut stream, _reader, _) = raw_session(addr, &Mode::Unsecured);
    let frame = with_crc("(ZZ,0,");
    stream.write_all(frame.as_bytes()).unwrap();
    let everything = read_to_close(stream);
    assert!(everything.contains("(EE,400,malformed packet: unknown frame type"), "{everything}");
}

/// Files: an unsafe name is cut down to its last part, nothing is
/// overwritten, and a wrong SHA-256, a short file or an oversized one leaves
/// no file.
#[test]
fn received_files_get_safe_names_and_never_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = FileReceiver::new(dir.path(), 1000);
    let offer = FileOffer { name: "../../etc/passwd".into(), size: 5 };
    let hello = || FileEnd {
        sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into(),
    };
    let save = |files: &mut FileReceiver, bytes: &[u8]| {
        files.start(offer.clone()).unwrap();
        files.chunk(bytes)?;
        files.end(hello())
    };
    assert_eq!(save(&mut files, b"hello").unwrap().unwrap().name, "passwd");
    assert_eq!(save(&mut files, b"hello").unwrap().unwrap().name, "passwd (1)");
    assert_eq!(std::fs::read(dir.path().join("passwd")).unwrap(), b"hello");

    // Wrong bytes for the SHA-256 in file-end: refused, nothing left behind.
    assert!(matches!(save(&mut files, b"jello"), Err(rfmp::Error::NotConfirmed(_))));
    // Fewer bytes than announced: refused at file-end.
    files.start(offer.clone()).unwrap();
    files.chunk(b"hell").unwrap();
    assert!(matches!(files.end(hello()), Err(rfmp::Error::Protocol(_))));
    // More bytes than announced: refused at once, the rest swallowed, and
    // its file-end gets no second answer.
    files.start(offer.clone()).unwrap();
    assert!(matches!(files.chunk(b"hello!"), Err(rfmp::Error::Protocol(_))));
    assert!(files.chunk(b"more").is_ok());
    assert_eq!(files.end(hello()).unwrap(), None);
    // Too large: refused before any byte is stored.
    let big = FileOffer { size: 5000, ..offer };
    assert!(matches!(files.start(big), Err(rfmp::Error::MessageTooLarge(_))));
    assert!(files.chunk(&[0; 1000]).is_ok());
    assert_eq!(files.end(hello()).unwrap(), None);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["passwd", "passwd (1)"]);
}

/// An empty file is a file too: it is saved, with the SHA-256 of nothing.
#[test]
fn an_empty_file_arrives() {
    let received = tempfile::tempdir().unwrap();
    let addr = server_with(&received, |_| {});
    let link = open_link(addr, &Mode::Unsecured);
    let source = tempfile::tempdir().unwrap();
    let path = source.path().join("empty.txt");
    std::fs::write(&path, b"").unwrap();
    let token = login(&link, "alice");
    let sent = send_file(&link, Some(&token), &path, 10, &mut |_| {}).unwrap();
    assert_eq!(sha256_file(&path).unwrap(), (0, sent.sha256.clone()));
    let (saved, _) = next_envelope(&link);
    let saved: FileInfo = serde_json::from_value(saved.data).unwrap();
    assert_eq!(saved.name, "empty.txt");
    assert_eq!(std::fs::read(received.path().join("empty.txt")).unwrap(), b"");
    link.close().unwrap();
}

/// The next frame from `reader` that is not an AK (AKs are skipped, as
/// if lost); anything damaged fails the test.
fn next_frame_but_aks(reader: &mut FrameReader<TcpStream>) -> Frame {
    loop {
        match reader.read().unwrap() {
            Received::Frame(Frame::Ack { .. }) => {}
            Received::Frame(frame) => return frame,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Play the server for one connection on `listener`: accept it, run the
/// real server handshake, and return the raw socket, the bytes read past
/// the handshake, and the session cipher, for a test that writes frames
/// by hand.
fn accept_session(listener: &std::net::TcpListener) -> (TcpStream, Vec<u8>, SessionCipher) {
    use rfmp::handshake::keys::ServerKey;
    let (stream, _) = listener.accept().unwrap();
    let key = ServerKey::new(test_server_key()).unwrap();
    let accepted = rfmp::handshake::server::handshake(
        rfmp::handshake::framing::Connection::new(stream),
        &key,
        &mut os_rng(),
    )
    .unwrap();
    let (stream, leftover) = accepted.session.connection.into_parts();
    (stream, leftover, accepted.session.cipher)
}

/// Step 17.b: a peer that says End and hangs up at once, before our own
/// End, leaves nothing of ours unacknowledged, so `close` is clean (TCP's
/// "last ACK" problem: the peer is gone, but nothing was lost).
#[test]
fn step_17_close_is_clean_after_the_peer_said_end_and_hung_up() {
    use rfmp::link::frames::end_packet;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut stream, _, cipher) = accept_session(&listener);
        let end = end_packet(&cipher, Direction::ServerToClient, 0, &mut os_rng()).unwrap();
        stream.write_all(end.as_bytes()).unwrap();
        // Hang up at once: no waiting for the AK, nor for the client's End.
    });
    let link = open_link(addr, &secured(Algorithm::Aes));
    assert_eq!(
        link.receive_timeout(Some(Duration::from_secs(10))).unwrap(),
        Some(rfmp::link::reliable::Delivery::End)
    );
    peer.join().unwrap();
    link.close().expect("nothing of ours was unacknowledged: a clean close");
}

/// Step 17.a (SPEC §17.a-3): End waits until every frame before it is
/// acknowledged. Here the AK of our last message is lost, and the peer's
/// End crosses ours: the peer hangs up as soon as it has our End, and our
/// frames can no longer be acknowledged. Had End gone with the message
/// still unacknowledged, `close` could not tell whether the message
/// arrived; so End waits, the message is sent again, and once it is
/// acknowledged End goes alone, and the close is clean.
#[test]
fn step_17_end_waits_until_every_frame_before_it_is_acknowledged() {
    use rfmp::link::frames::end_packet;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut stream, leftover, cipher) = accept_session(&listener);
        let mut reader = FrameReader::new(stream.try_clone().unwrap(), leftover);
        let mut next_frame = || next_frame_but_aks(&mut reader);
        // The client's message (frame 0), whose AK we take as lost...
        assert!(matches!(next_frame(), Frame::Data { seq: 0, .. }));
        // ...and our End, which crosses the client's.
        let end = end_packet(&cipher, Direction::ServerToClient, 0, &mut os_rng()).unwrap();
        stream.write_all(end.as_bytes()).unwrap();
        // The client sends frame 0 again when its timer runs out, not End.
        let again = next_frame();
        assert!(
            matches!(again, Frame::Data { seq: 0, .. }),
            "End must wait for the AK of frame 0, got {again:?}"
        );
        stream.write_all(ak_packet(1).as_bytes()).unwrap();
        // Now End comes, alone in flight. We have everything: hang up at
        // once, and let the AK of the client's End be the one lost.
        assert!(matches!(next_frame(), Frame::End { seq: 1, .. }));
    });
    let link = open_link(addr, &secured(Algorithm::Aes));
    say(&link, "last words");
    link.close().expect("the message was acknowledged before End: a clean close");
    peer.join().unwrap();
}

/// A thread that batches its writes, and ends while frames still wait to
/// be sealed (its peer's socket was full, and has been read since), seals
/// them as it ends, from the destructor of its list of links. By then its
/// own sealing buffers (a thread-local) may be gone; the link takes fresh
/// ones rather than panic, which in a thread-local's destructor would
/// abort the whole process (a server, with every client in it).
#[test]
fn a_batching_thread_that_ends_with_frames_to_seal_seals_them_safely() {
    use rfmp::handshake::framing::Connection;
    use rfmp::link::{Link, Reading};
    use std::io::Read;
    use std::sync::mpsc;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (start_reading, go) = mpsc::channel::<()>();
    let (read_some, has_read) = mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let (mut stream, _, _) = accept_session(&listener);
        go.recv().unwrap();
        // 192 KiB: room in the client's socket for one batch and more.
        let (mut buffer, mut total) = (vec![0; 64 * 1024], 0);
        while total < 192 * 1024 {
            let n = stream.read(&mut buffer).unwrap();
            assert!(n > 0, "the client hung up early");
            total += n;
        }
        read_some.send(()).unwrap();
        while matches!(stream.read(&mut buffer), Ok(n) if n > 0) {}
    });
    let (session, _) = client::handshake(
        Connection::new(TcpStream::connect(addr).unwrap()),
        &Mode::Unsecured,
        &mut os_rng(),
    )
    .unwrap();
    let mut config =
        LinkConfig { reading: Reading::Caller, queue_bytes: 64 << 20, ..LinkConfig::default() };
    config.reliable.window = 100_000;
    let owned = Link::start(session, Direction::ClientToServer, config).unwrap();
    let link = &owned;
    let sealed_before_the_end = std::thread::scope(|scope| {
        scope
            .spawn(move || {
                rfmp::link::batch_writes_on_this_thread();
                // 8 MiB: far more than the socket takes before the peer reads.
                for _ in 0..8 {
                    link.try_send(vec![b'x'; 1 << 20]).unwrap();
                }
                start_reading.send(()).unwrap();
                has_read.recv().unwrap();
                link.stats().frames_written
                // The thread ends here, with most of the 8 MiB unsealed.
            })
            .join()
            .unwrap()
    });
    assert!(
        link.stats().frames_written > sealed_before_the_end,
        "the ending thread sealed and wrote more frames"
    );
    // Hang up: the peer reads to the end of the stream, and stops.
    drop(owned);
    peer.join().unwrap();
}

/// Step 16.g's delayed AKs (TCP's delayed ACK, RFC 1122, section
/// 4.2.3.2): frames that arrive in order share one AK. With the delay set to
/// a minute, 32 frames written one by one get a single `(AK,32)`, sent when
/// the 32nd arrives (`ACK_EVERY`), instead of an AK for each.
#[test]
fn step_16_in_order_frames_share_a_delayed_ak_at_most_32_frames_apart() {
    let dir = tempfile::tempdir().unwrap();
    let addr = server_with(&dir, |c| c.link.ack_delay = Duration::from_secs(60));
    let (mut stream, mut reader, cipher) = raw_session(addr, &Mode::Unsecured);
    for seq in 0..ACK_EVERY {
        stream.write_all(message_frame(&cipher, seq, "x").as_bytes()).unwrap();
    }
    loop {
        // The echoes come too; the first AK must cover all 32 frames.
        if let Received::Frame(Frame::Ack { next }) = reader.read().unwrap() {
            assert_eq!(next, ACK_EVERY);
            break;
        }
    }
}

/// A delayed AK is not forgotten: one frame alone is acknowledged once the
/// delay (`LinkConfig::ack_delay`, 5 ms) has passed, though nothing else
/// arrives.
#[test]
fn step_16_a_lone_frame_is_acknowledged_after_the_delay() {
    let addr = start_default_server();
    let (mut stream, mut reader, cipher) = raw_session(addr, &Mode::Unsecured);
    stream.write_all(message_frame(&cipher, 0, "alone").as_bytes()).unwrap();
    loop {
        if let Received::Frame(Frame::Ack { next }) = reader.read().unwrap() {
            assert_eq!(next, 1);
            break;
        }
    }
}

/// Step 17.b's linger, as TCP's TIME_WAIT: the server, whose End answers
/// the client's, does not hang up as soon as its own End is acknowledged.
/// The client may still wait for an AK that was lost (of its End, or of a
/// frame before it): the server stays, answers a repeated frame with an AK
/// of everything, and leaves only when the client hangs up (or after 5 s).
/// Without the linger, a lost last AK made the client's `close` fail.
#[test]
fn step_17_the_server_lingers_after_answering_end_and_acknowledges_repeats() {
    use rfmp::link::frames::end_packet;
    let addr = start_default_server();
    let (mut stream, mut reader, cipher) = raw_session(addr, &secured(Algorithm::Aes));
    let hello = message_frame(&cipher, 0, "hello");
    let end = end_packet(&cipher, Direction::ClientToServer, 1, &mut os_rng()).unwrap();
    stream.write_all(format!("{hello}{end}").as_bytes()).unwrap();
    // The server answers with its AKs (taken here as lost) and the echo
    // (frame 0). Its End (frame 1) waits for the echo's AK (§17.a-3).
    let echo = next_frame_but_aks(&mut reader);
    assert!(matches!(echo, Frame::Data { seq: 0, .. }), "{echo:?}");
    stream.write_all(ak_packet(1).as_bytes()).unwrap();
    let server_end = next_frame_but_aks(&mut reader);
    assert!(matches!(server_end, Frame::End { seq: 1, .. }), "{server_end:?}");
    // Acknowledge End: the server's End is acknowledged, and it has ours.
    stream.write_all(ak_packet(2).as_bytes()).unwrap();
    // The server stays: for half a second nothing comes but AKs, no EOF.
    stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    loop {
        match reader.read() {
            Err(rfmp::Error::TimedOut { .. }) => break,
            Ok(Received::Frame(Frame::Ack { next: 2 })) => {}
            other => panic!("the server should linger, not end with {other:?}"),
        }
    }
    // Our frame 0 again, as if every AK of it had been lost: the server
    // acknowledges everything, End included.
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(hello.as_bytes()).unwrap();
    assert_eq!(reader.read().unwrap(), Received::Frame(Frame::Ack { next: 2 }));
}

/// Step 16.g's keepalive: a client that only listens repeats its AK, so the
/// server's idle timeout does not take it for a dead one; without the
/// keepalive the same silence ends the session with EE 408.
#[test]
fn step_16_keepalives_keep_a_quiet_client_connected() {
    let (addr, _data) = start_chat_server(|c| c.idle_timeout = Duration::from_secs(1));
    let listening = open_link_with(
        addr,
        &secured(Algorithm::Aes),
        LinkConfig { keepalive: Duration::from_millis(50), ..LinkConfig::default() },
    );
    let silent = open_link(addr, &secured(Algorithm::Aes)); // keepalive: 60 s
    // Neither says anything; the server's idle timeout is 1 s. The silent
    // one is cut off...
    let cut_off = silent.receive_timeout(Some(Duration::from_secs(10)));
    assert!(
        matches!(&cut_off, Err(rfmp::Error::Peer { code, .. }) if code == "408"),
        "{cut_off:?}"
    );
    // ...and the listening one stays: 1.5 s more of silence, no EE.
    assert_eq!(listening.receive_timeout(Some(Duration::from_millis(1500))).unwrap(), None);
    say(&listening, "still here");
    expect_echo(&listening, "still here");
    listening.close().unwrap();
}
