//! Teaching tests for frames (step 16): the wire format, the CRC, the
//! fragmenter, the windows, and what a malformed frame gets.
//!
//! The property tests (proptest) try many random cases; a failing case is
//! shrunk to the smallest one that still fails and printed.

mod common;

use common::with_crc;
use proptest::prelude::*;
use rfmp::Error;
use rfmp::handshake::session::{SessionCipher, SessionSecret};
use rfmp::link::frames::open_dp_packet;
use rfmp::link::frames::*;
use rfmp::link::reliable::*;
use std::io::Cursor;
use std::time::{Duration, Instant};

fn aes() -> SessionCipher {
    SessionCipher::from_secret(&SessionSecret::Aes([7; 16]))
}

/// Step 16.b: the module docs' example frame, byte for byte.
#[test]
fn step_16_unsecured_frame_for_hi_is_exact() {
    let frame = dp_packet(
        &SessionCipher::None,
        Direction::ClientToServer,
        0,
        0,
        1,
        b"hi",
        &mut rfmp::handshake::helpers::os_rng(),
    )
    .unwrap();
    assert_eq!(frame, "(DP,0,0,1,aGk=,e18162db)");
}

/// Steps 16.a and 16.b as the link runs them: `fragment_at` cuts the
/// same pieces as `fragment`, and `write_dp_packet` appends, into buffers
/// used again and again, the very frame `dp_packet` returns (the same
/// nonce generator state gives the same AES nonce). A frame left in the
/// buffer before stays as it was.
#[test]
fn step_16_write_dp_packet_builds_dp_packets_frame_in_reused_buffers() {
    use rand::SeedableRng;
    let message: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
    for cipher in [SessionCipher::None, SessionCipher::Caesar { shift: 3 }, aes()] {
        let capacity = fragment_capacity(&cipher);
        let pieces: Vec<&[u8]> = fragment(&message, capacity).collect();
        let count = pieces.len() as u32;
        let (mut frame, mut sealed) = (String::from("(AK,1,"), Vec::new());
        let mut rng_a = rand::rngs::StdRng::seed_from_u64(9);
        let mut rng_b = rand::rngs::StdRng::seed_from_u64(9);
        for (index, piece) in pieces.iter().enumerate() {
            assert_eq!(fragment_at(&message, capacity, index), *piece);
            let expected = dp_packet(
                &cipher,
                Direction::ServerToClient,
                40 + index as u32,
                index as u32,
                count,
                piece,
                &mut rng_a,
            )
            .unwrap();
            frame.truncate(6);
            let fields = DpFields {
                direction: Direction::ServerToClient,
                seq: 40 + index as u32,
                index: index as u32,
                count,
            };
            write_dp_packet(&mut frame, &mut sealed, &cipher, fields, piece, &mut rng_b).unwrap();
            assert_eq!(&frame[..6], "(AK,1,");
            assert_eq!(frame[6..], expected);
        }
        // A fragment too large for one frame is refused, the buffer untouched.
        let too_big = vec![0; capacity + 1];
        let fields = DpFields { direction: Direction::ServerToClient, seq: 0, index: 0, count: 1 };
        frame.truncate(6);
        assert!(matches!(
            write_dp_packet(&mut frame, &mut sealed, &cipher, fields, &too_big, &mut rng_b),
            Err(Error::Usage(_))
        ));
        assert_eq!(frame, "(AK,1,");
    }
}

/// The largest data frame (10-digit numbers, a full fragment) is 1023 bytes: under the 1025 cap.
#[test]
fn step_16_largest_frame_fits_1025_bytes() {
    for cipher in [SessionCipher::None, aes()] {
        let full = vec![0xAB; fragment_capacity(&cipher)];
        let frame = dp_packet(
            &cipher,
            Direction::ServerToClient,
            u32::MAX,
            u32::MAX - 1,
            u32::MAX,
            &full,
            &mut rfmp::handshake::helpers::os_rng(),
        )
        .unwrap();
        assert_eq!(frame.len(), 1023, "{}", cipher.name());
        assert!(frame.len() <= MAX_FRAME_BYTES);
        // One byte more does not fit.
        let over = vec![0; fragment_capacity(&cipher) + 1];
        let refused = dp_packet(
            &cipher,
            Direction::ServerToClient,
            0,
            0,
            1,
            &over,
            &mut rfmp::handshake::helpers::os_rng(),
        );
        // The caller cut the message wrongly: a usage error, not the peer's.
        let Err(error @ Error::Usage(_)) = refused else {
            panic!("an oversized fragment must be refused: {refused:?}");
        };
        assert!(error.to_string().contains("does not fit one data frame"), "{error}");
    }
    assert_eq!(fragment_capacity(&SessionCipher::None), 732);
    assert_eq!(fragment_capacity(&aes()), 700);
}

/// Step 16.f: the AEAD's associated data binds a frame to its direction and position.
#[test]
fn step_16_replayed_moved_or_reflected_aes_frames_fail_authentication() {
    let cipher = aes();
    let mut rng = rfmp::handshake::helpers::os_rng();
    let frame =
        dp_packet(&cipher, Direction::ClientToServer, 5, 0, 1, b"pay 10", &mut rng).unwrap();
    let decoded = decode_frame(frame.as_bytes()).unwrap();
    assert_eq!(
        open_dp_packet(decoded.clone(), &cipher, Direction::ClientToServer).unwrap(),
        b"pay 10"
    );
    // Reflected: the client's own frame sent back to it as if from the server.
    assert!(matches!(
        open_dp_packet(decoded.clone(), &cipher, Direction::ServerToClient),
        Err(Error::AuthenticationFailed)
    ));
    // Replayed later, or moved: same payload, another sequence number or position.
    let Frame::Data { payload, .. } = decoded else { unreachable!() };
    for (seq, index, count) in [(6, 0, 1), (5, 0, 2), (5, 1, 2)] {
        let moved = Frame::Data { seq, index, count, payload: payload.clone() };
        assert!(matches!(
            open_dp_packet(moved.clone(), &cipher, Direction::ClientToServer),
            Err(Error::AuthenticationFailed)
        ));
    }
}

/// Step 17.a: End is sealed too; with AES an End frame for another position fails.
#[test]
fn step_17_end_frame_is_authenticated() {
    let cipher = aes();
    let end =
        end_packet(&cipher, Direction::ClientToServer, 9, &mut rfmp::handshake::helpers::os_rng())
            .unwrap();
    let frame = decode_frame(end.as_bytes()).unwrap();
    assert_eq!(frame.seq(), Some(9));
    assert_eq!(open_dp_packet(frame.clone(), &cipher, Direction::ClientToServer).unwrap(), b"");
    let Frame::End { payload, .. } = frame else { unreachable!() };
    let forged = Frame::End { seq: 10, payload };
    assert!(matches!(
        open_dp_packet(forged.clone(), &cipher, Direction::ClientToServer),
        Err(Error::AuthenticationFailed)
    ));
}

/// Step 16.e: malformed frames with a correct CRC get a clear error, never a panic.
#[test]
fn step_16_malformed_frames_get_clear_errors() {
    let cases: [(&str, &str); 9] = [
        ("(DP,0,0,-1,aGk=,", "fragment count"),
        ("(DP,0,0,99999999999,aGk=,", "fragment count"),
        ("(DP,0,3,2,aGk=,", "not below the fragment count"),
        ("(DP,0,0,0,aGk=,", "not below the fragment count"),
        ("(DP,x,0,1,aGk=,", "sequence number"),
        ("(DP,0,0,1,", "fields"),
        ("(ZZ,1,", "unknown frame type"),
        ("(AK,1,2,", "fields"),
        ("(NK,+1,", "sequence number"),
    ];
    for (body, says) in cases {
        let error = decode_frame(with_crc(body).as_bytes()).unwrap_err();
        assert!(matches!(error, Error::Malformed(_)), "{body}: {error:?}");
        assert!(error.to_string().contains(says), "{body}: {error}");
        assert_eq!(error.code(), 400);
    }
    let error = decode_frame(with_crc("(DP,0,0,1,not*base64,").as_bytes()).unwrap_err();
    assert!(matches!(error, Error::Base64 { .. }), "{error:?}");
}

/// Step 16.e: a bad CRC field, or a CRC that does not match, means "damaged": NK, not an error.
#[test]
fn step_16_bad_crc_means_damaged() {
    for frame in ["(AK,1,zzzzzzzz)", "(AK,1,1234567)", "(AK,1,00000000)", "(AK)", "(AK,1,ABCDEF01)"]
    {
        assert!(matches!(decode_frame(frame.as_bytes()), Err(Error::Damaged(_))), "{frame}");
    }
}

/// A frame of more than 1025 bytes is refused (413) instead of buffered.
#[test]
fn step_16_frame_over_1025_bytes_is_refused() {
    let long = format!("(DP,0,0,1,{})", "A".repeat(MAX_FRAME_BYTES));
    let mut reader = FrameReader::new(Cursor::new(long.into_bytes()), Vec::new());
    let error = reader.read().unwrap_err();
    assert!(matches!(error, Error::PacketTooLarge { limit: 1025 }), "{error:?}");
    assert_eq!(error.code(), 413);
}

/// A fragment count no message within the limit needs is refused on arrival (413).
#[test]
fn step_16_huge_fragment_count_is_refused_before_any_memory_is_spent() {
    let frame = with_crc("(DP,0,0,4294967295,aGk=,");
    let Frame::Data { seq, index, count, payload } = decode_frame(frame.as_bytes()).unwrap() else {
        unreachable!()
    };
    let mut window = ReceiveWindow::new(0, 700, &ReliableConfig::default());
    let error = window
        .accept(seq, Sequenced::Fragment { index, count, bytes: payload }, Instant::now())
        .unwrap_err();
    assert!(matches!(error, Error::MessageTooLarge(_)), "{error:?}");
    assert_eq!(error.code(), 413);
}

/// The peer's EE packet, which has no CRC, is read as the peer's error.
#[test]
fn step_16_ee_packet_between_frames_is_the_peers_error() {
    let error = decode_frame(b"(EE,503,outgoing queue full)").unwrap_err();
    assert!(matches!(error, Error::Peer { ref code, .. } if code == "503"), "{error:?}");
}

/// Step 16.h: a message that stays incomplete past the reassembly timeout is an error.
#[test]
fn step_16_reassembly_times_out() {
    let config =
        ReliableConfig { reassembly_timeout: Duration::from_secs(1), ..ReliableConfig::default() };
    let mut window = ReceiveWindow::new(0, 700, &config);
    let start = Instant::now();
    let first = Sequenced::Fragment { index: 0, count: 2, bytes: vec![1] };
    assert!(window.accept(0, first, start).unwrap().delivered.is_empty());
    assert!(window.check_deadline(start + Duration::from_millis(500)).is_ok());
    let error = window.check_deadline(start + Duration::from_secs(2)).unwrap_err();
    assert!(matches!(error, Error::TimedOut { .. }), "{error:?}");
}

/// Step 16.g: a gap is asked for once with NK, filled, and then everything is delivered in order.
#[test]
fn step_16_gap_gets_one_nak_and_in_order_delivery() {
    let mut window = ReceiveWindow::new(0, 700, &ReliableConfig::default());
    let now = Instant::now();
    let one = |b: u8| Sequenced::Fragment { index: 0, count: 1, bytes: vec![b] };
    assert_eq!(window.accept(0, one(0), now).unwrap().delivered, [Delivery::Message(vec![0])]);
    // Frame 1 is lost; 2 and 3 arrive: NK 1, once.
    assert_eq!(window.accept(2, one(2), now).unwrap().naks, [1]);
    let outcome = window.accept(3, one(3), now).unwrap();
    assert!(outcome.naks.is_empty() && outcome.delivered.is_empty());
    assert_eq!(window.expected(), 1, "the AK still says 1");
    // The retransmission fills the gap: 1, 2, 3 come out in order.
    let outcome = window.accept(1, one(1), now).unwrap();
    let expected: Vec<Delivery> = (1..=3).map(|b| Delivery::Message(vec![b])).collect();
    assert_eq!(outcome.delivered, expected);
    assert_eq!(window.expected(), 4);
    // A late duplicate is not delivered again.
    assert_eq!(window.position(2), Position::Duplicate);
}

/// Step 16.i: NK and timeouts resend a frame, with backoff, and the sender gives up.
#[test]
fn step_16_sender_retransmits_with_backoff_then_gives_up() {
    let config = ReliableConfig {
        initial_rto: Duration::from_millis(100),
        max_transmissions: 3,
        ..ReliableConfig::default()
    };
    let mut window = SendWindow::new(0, config);
    let t0 = Instant::now();
    window.sent("(frame 0)".into(), t0);
    window.sent("(frame 1)".into(), t0);
    // NK 1: frame 1 again, now.
    let resend = window.on_nak(1, t0).unwrap().unwrap();
    assert_eq!((resend.seq, resend.transmission, &*resend.frame), (1, 2, "(frame 1)"));
    // Nothing is due before the timeout; frame 0 is due after it.
    assert!(window.on_tick(t0 + Duration::from_millis(99)).unwrap().is_none());
    let again = window.on_tick(t0 + Duration::from_millis(100)).unwrap().unwrap();
    assert_eq!((again.seq, again.transmission), (0, 2));
    // The next wait is twice as long (backoff).
    assert_eq!(window.next_deadline(), Some(t0 + Duration::from_millis(300)));
    window.on_tick(t0 + Duration::from_millis(300)).unwrap().unwrap();
    let error = window.on_tick(t0 + Duration::from_secs(10)).unwrap_err();
    assert!(matches!(error, Error::GaveUp(_)), "{error:?}");
    assert_eq!(error.code(), 408);
}

/// Step 16.i: an AK for frames never sent, or an NK for an acknowledged frame, is an error.
#[test]
fn step_16_sender_refuses_impossible_acknowledgements() {
    let mut window = SendWindow::new(0, ReliableConfig::default());
    let now = Instant::now();
    window.sent("(0)".into(), now);
    window.sent("(1)".into(), now);
    let error = window.on_ack(3, now).unwrap_err();
    assert!(matches!(error, Error::Protocol(_)), "{error:?}");
    assert!(error.to_string().contains("only frames before 2 were sent"), "{error}");
    assert_eq!(error.code(), 400);
    assert_eq!(window.on_ack(1, now).unwrap(), None);
    assert_eq!(window.len(), 1);
    assert_eq!(window.on_ack(0, now).unwrap(), None, "an old AK is harmless");
    assert_eq!(window.len(), 1);
    let error = window.on_nak(0, now).unwrap_err();
    assert!(matches!(error, Error::Protocol(_)), "{error:?}");
    assert!(error.to_string().contains("already acknowledged"), "{error}");
    assert!(window.on_nak(2, now).unwrap().is_none(), "not sent yet: nothing to do");
}

/// Run a sender and a receiver against each other, delivering the frames
/// in `order` (indexes into the frames sent, repeats allowed), then every
/// frame once more in order; return what the receiver delivered.
fn deliver_in_order(
    first_seq: u32,
    messages: &[Vec<u8>],
    capacity: usize,
    order: &[usize],
) -> Vec<Vec<u8>> {
    let config = ReliableConfig::default();
    let now = Instant::now();
    let mut frames = Vec::new();
    let mut seq = first_seq;
    for message in messages {
        let count = fragment_count(message.len(), capacity) as u32;
        for (index, piece) in fragment(message, capacity).enumerate() {
            frames.push((
                seq,
                Sequenced::Fragment { index: index as u32, count, bytes: piece.to_vec() },
            ));
            seq = seq.wrapping_add(1);
        }
    }
    let mut receiver = ReceiveWindow::new(first_seq, capacity, &config);
    let mut delivered = Vec::new();
    let all: Vec<usize> = (0..frames.len()).collect();
    for &i in order.iter().chain(all.iter()) {
        let Some((seq, frame)) = frames.get(i) else {
            continue;
        };
        if let Position::InWindow(_) = receiver.position(*seq) {
            for d in receiver.accept(*seq, frame.clone(), now).unwrap().delivered {
                if let Delivery::Message(m) = d {
                    delivered.push(m);
                }
            }
        }
    }
    delivered
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Step 16.a/16.h: fragment then reassemble is the identity, for messages from 0 bytes to 5 MiB.
    #[test]
    fn prop_fragment_then_reassemble_is_identity(
        len in prop_oneof![0usize..3000, 0usize..=5 * 1024 * 1024],
        salt in any::<u8>(),
        capacity in prop_oneof![Just(700usize), Just(732usize), 1usize..2000],
    ) {
        let message: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ salt).collect();
        let mut reassembly = Reassembly::new(6 * 1024 * 1024, capacity, Duration::from_secs(30));
        let count = fragment_count(len, capacity) as u32;
        let now = Instant::now();
        let mut out = None;
        for (index, piece) in fragment(&message, capacity).enumerate() {
            prop_assert!(piece.len() <= capacity);
            prop_assert!(out.is_none(), "complete before the last fragment");
            out = reassembly.push(index as u32, count, piece, now).unwrap();
        }
        prop_assert_eq!(out, Some(message));
    }

    /// Step 16.e: any single flipped bit in any frame is detected, and the
    /// reader finds the next good frame after it.
    #[test]
    fn prop_any_single_bit_flip_is_detected(
        kind in 0u8..4,
        seq in any::<u32>(),
        payload in prop::collection::vec(any::<u8>(), 0..700),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut rng = rfmp::handshake::helpers::os_rng();
        let cipher = aes();
        let frame = match kind {
            0 => dp_packet(&cipher, Direction::ClientToServer, seq, 0, 1, &payload, &mut rng).unwrap(),
            1 => ak_packet(seq),
            2 => nk_packet(seq),
            _ => end_packet(&cipher, Direction::ClientToServer, seq, &mut rng).unwrap(),
        };
        let mut damaged = frame.clone().into_bytes();
        let at = position.index(damaged.len());
        damaged[at] ^= 1 << bit;
        let decoded = decode_frame(&damaged);
        prop_assert!(matches!(decoded, Err(Error::Damaged(_))), "{:?}", decoded);
        // Resynchronisation: after the damage, the next good frame is intact.
        let good = ak_packet(7);
        let mut stream = damaged.clone();
        stream.extend_from_slice(good.as_bytes());
        let mut reader = FrameReader::new(Cursor::new(stream), Vec::new());
        let mut damaged_pieces = 0;
        loop {
            match reader.read().unwrap() {
                Received::Damaged(_) => damaged_pieces += 1,
                Received::Frame(frame) => {
                    prop_assert_eq!(frame, Frame::Ack { next: 7 });
                    break;
                }
            }
        }
        prop_assert!(damaged_pieces >= 1);
        let closed = matches!(reader.read(), Err(Error::Closed { .. }));
        prop_assert!(closed, "nothing after the good frame");
    }

    /// Step 16.g: whatever order and duplication frames arrive in (within the
    /// window), each message is delivered exactly once, in order, also when
    /// the sequence numbers wrap past 4294967295.
    #[test]
    fn prop_receiver_delivers_exactly_once_in_order_across_the_wrap(
        start_offset in 0u32..40,
        sizes in prop::collection::vec(0usize..2500, 1..12),
        order in prop::collection::vec(0usize..60, 0..120),
    ) {
        let first_seq = u32::MAX - start_offset; // some runs cross the wrap
        let messages: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| vec![i as u8; n])
            .collect();
        let delivered = deliver_in_order(first_seq, &messages, 700, &order);
        prop_assert_eq!(delivered, messages);
    }

    /// Sequence numbers wrap: `a` is before `a + k` for 0 < k < 2^31, never after.
    #[test]
    fn prop_seq_before_wraps(a in any::<u32>(), k in 1u32..(1 << 31)) {
        prop_assert!(seq_before(a, a.wrapping_add(k)));
        prop_assert!(!seq_before(a.wrapping_add(k), a));
        prop_assert!(!seq_before(a, a));
    }
}

/// Step 16.i: a second NK for a frame sent again less than a round trip ago
/// is ignored (that copy may still be on its way), so losses do not
/// multiply into retransmissions.
#[test]
fn step_16_repeated_nk_within_a_round_trip_is_ignored() {
    let config =
        ReliableConfig { initial_rto: Duration::from_millis(100), ..ReliableConfig::default() };
    let mut window = SendWindow::new(0, config);
    let t0 = Instant::now();
    window.sent("(frame 0)".into(), t0);
    assert_eq!(window.on_nak(0, t0).unwrap().unwrap().transmission, 2);
    let soon = t0 + Duration::from_millis(50);
    assert!(window.on_nak(0, soon).unwrap().is_none(), "the copy may still be on its way");
    let later = t0 + Duration::from_millis(100);
    assert_eq!(window.on_nak(0, later).unwrap().unwrap().transmission, 3);
}

/// Step 16.i: timeouts back off only while the peer answers none of our
/// frames; an AK or NK in between keeps the wait at one RTO.
#[test]
fn step_16_backoff_only_while_the_peer_is_silent() {
    let config =
        ReliableConfig { initial_rto: Duration::from_millis(100), ..ReliableConfig::default() };
    let mut window = SendWindow::new(0, config);
    let t0 = Instant::now();
    window.sent("(frame 0)".into(), t0);
    window.sent("(frame 1)".into(), t0);
    // Silent peer: the second wait for frame 0 is twice the first.
    let t1 = t0 + Duration::from_millis(100);
    window.on_tick(t1).unwrap().unwrap();
    assert_eq!(window.next_deadline(), Some(t1 + Duration::from_millis(200)));
    // A duplicate AK shows the peer is taking our frames: no more doubling.
    let t2 = t1 + Duration::from_millis(150);
    assert!(window.on_ack(0, t2).unwrap().is_none());
    let t3 = t1 + Duration::from_millis(200);
    window.on_tick(t3).unwrap().unwrap();
    assert_eq!(window.next_deadline(), Some(t3 + Duration::from_millis(100)));
}
