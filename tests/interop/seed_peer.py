#!/usr/bin/env python3
"""A Python peer for RFMP v1.0, written from the seed's wire facts.

This script speaks the handshake the way the seed's original Python
client/server did (steps 1-13 of the flow), plus rfmp's steps 14-17
(SC confirmation, data frames with acknowledgements, End in both
directions). It exists to prove that a peer written independently from the
wire facts can talk to the Rust `rfmp` binary.

Two roles:

    seed_peer.py client --port P --cipher none|caesar|aes [--message TEXT]
    seed_peer.py server --port-file F --cipher-expected none|caesar|aes

The wire, in one picture (the client's frames and the server's frames are
numbered separately, each from 0):

    client                                               server
      | 1.b-2.a   (SS,RFMP,v1.0,1)                 --->  |  3.a-4.a
      | 8.a-9.a   <--- (CC,<server public key PEM>)      |  5.a-7.a
      | 10.a-11.a (EC,aes,<secret>,<client key>)   --->  |  12.a-13.a
      | 15.a      <--- (SC,<nonce>,<sealed "RFMP v1.0 ready">) |  14.a
      | 16.a-d    (DP,0,0,1,<sealed message>,<crc>) -->  |  16.e-h
      |           <--- (AK,1,<crc>)                      |  16.g
      | 16.e-h    <--- (DP,0,0,1,<sealed echo>,<crc>)    |  16.a-d (echo)
      | 16.g      (AK,1,<crc>)                     --->  |
      | 17.a      (End,1,<sealed empty>,<crc>)     --->  |
      |           <--- (AK,2,<crc>)                      |  16.g
      |           <--- (End,1,<sealed empty>,<crc>)      |  17.a
      | 16.g      (AK,2,<crc>)                     --->  |  17.b: both close

In a secured session the session key is not the client's secret itself:
the server draws a fresh 32-byte nonce (step 14.a.i), sends it in the SC
packet, and both sides derive the key with HKDF-SHA256 (step 14.a.ii /
15.a.i; see derive_session_key), so a recorded session replayed into a new
connection meets another key.

Every packet is UTF-8 text: "(" + fields joined by "," + ")". There is no
length prefix, so a reader collects bytes until the first ")". The seed's
original assumed one recv() returns exactly one packet; that is wrong for
TCP (a byte stream), so this peer buffers properly (see PacketReader):
several frames may arrive in one recv(), and one frame may be split over
several.

After the handshake every packet is a *frame* (at most 1025 bytes):

    (DP,<seq>,<index>,<count>,<payload>,<crc>)  fragment index of count
    (AK,<next>,<crc>)                           every frame before next arrived
    (NK,<seq>,<crc>)                            please send frame seq again
    (End,<seq>,<payload>,<crc>)                 nothing more to say

- payload: standard base64 of the sealed bytes (an End seals the empty
  message). AES seals with 24 bytes of associated data (see
  associated_data), so a frame cannot be replayed, moved or reflected.
- crc: '%08x' % zlib.crc32(every byte from "(" through the last comma).

This peer is deliberately simple: it sends its frames and keeps each until
a cumulative AK covers it, sends a frame again when an NK asks for it
(TCP loses nothing, so it has no retransmission timer), acknowledges every
DP and End frame it receives at once, and fails with a clear message on
anything unexpected, a CRC mismatch included (the loopback damages
nothing, so a mismatch is a bug).

Needs Python 3.11 and pycryptodome (`python3 -m pip install pycryptodome`).
"""

import argparse
import base64
import json
import os
import secrets
import socket
import struct
import sys
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone

from Crypto.Cipher import AES, PKCS1_OAEP
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF
from Crypto.PublicKey import RSA
from Crypto.Random import get_random_bytes

# --- Constants from the seed's wire facts ---------------------------------

PROTOCOL = "RFMP"
VERSION = "v1.0"
CONFIRMATION_TEXT = b"RFMP v1.0 ready"  # what the server seals in step 14.a
MAX_PACKET_BYTES = 4096                 # framing cap: "(" to ")" inclusive
RECV_BYTES = 1024                       # how much one recv() asks for
RSA_BITS = 2048                         # RSA keys are 2048-bit, e = 65537
AES_KEY_BYTES = 16                      # AES-128 session key
NONCE_BYTES = 16                        # EAX nonce on the wire
TAG_BYTES = 16                          # EAX tag on the wire
TIMEOUT_SECONDS = 20                    # never wait forever for the peer
CLOSE_TIMEOUT_SECONDS = 5               # 17.b: how long to wait for the AK of our End

# Frames (steps 16 and 17).
MAX_FRAME_BYTES = 1025                  # no frame is longer, "(" to ")" inclusive
MAX_SEALED_FRAGMENT_BYTES = 732         # sealed bytes one DP frame carries (976 base64 chars)
MAX_MESSAGE_BYTES = 1024 * 1024         # largest message a receiver reassembles
CRC_HEX_DIGITS = 8                      # the CRC field: 8 lower-case hex digits
AAD_PREFIX = b"RFMP/1.0"                # first 8 bytes of the associated data
CLIENT_TO_SERVER = b"C"                 # direction byte of the client's frames
SERVER_TO_CLIENT = b"S"                 # direction byte of the server's frames

# Packet sizes the seed states for RSA-2048 keys.
CC_SECURE_BYTES = 455
EC_BYTES = {"aes": 804, "caesar": 807}


class ProtocolError(Exception):
    """The peer sent something the protocol does not allow."""


# --- Packets (step 1.c): building and reading -----------------------------

def packet_formatter(*fields):
    """Step 1.c: add the parentheses and commas: ("SS", "RFMP") -> "(SS,RFMP)"."""
    for field in fields:
        if any(c in field for c in ",()"):
            raise ValueError(f"a field may not contain ',', '(' or ')': {field!r}")
    return "(" + ",".join(fields) + ")"


def parse_packet(raw):
    """Turn one packet's bytes, "(" to ")", into its list of fields."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"packet is not UTF-8: {raw[:40]!r}")
    if not (text.startswith("(") and text.endswith(")")):
        raise ProtocolError(f"a packet is '(' fields ')', got {text[:40]!r}")
    inner = text[1:-1]
    if "(" in inner:
        raise ProtocolError(f"a field may not contain '(': {text[:40]!r}")
    return inner.split(",")


class PacketReader:
    """Cut whole packets out of a TCP byte stream.

    One recv() may return part of a packet, exactly one packet, or one
    packet and the start of the next (or several whole frames). So we keep
    a buffer: bytes after the first ")" stay there for the next call. The
    same buffer carries on from the handshake into the frames: the server's
    first frame may arrive in the same recv() as its SC packet.
    """

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def read_raw(self, waiting_for, limit=MAX_PACKET_BYTES):
        """The next packet's bytes, "(" to ")" inclusive, at most `limit` of them."""
        while True:
            # Is a whole packet buffered yet? Look for ")" in the first
            # `limit` bytes only.
            end = self.buffer.find(b")", 0, limit)
            if end != -1:
                raw = self.buffer[:end + 1]
                self.buffer = self.buffer[end + 1:]
                return raw
            if len(self.buffer) >= limit:
                raise ProtocolError(
                    f"no ')' in the first {limit} bytes while waiting for {waiting_for}")
            try:
                chunk = self.sock.recv(RECV_BYTES)
            except socket.timeout:
                raise ProtocolError(f"timed out waiting for {waiting_for}")
            if not chunk:
                raise ProtocolError(f"connection closed while waiting for {waiting_for}")
            self.buffer += chunk

    def read_packet(self, waiting_for):
        return parse_packet(self.read_raw(waiting_for))


def send_packet(sock, packet):
    """Send one packet's text as UTF-8 (sendall: all of it, however long)."""
    sock.sendall(packet.encode("utf-8"))


def expect(fields, kind, step):
    """Check the packet type; turn an (EE,code,description) into a clear error."""
    if fields[0] == kind:
        return fields
    if fields[0] == "EE":
        raise ProtocolError(
            f"step {step}: the peer sent an error instead of {kind}: " + ",".join(fields[1:]))
    raise ProtocolError(f"step {step}: expected a {kind} packet, got ({','.join(fields)[:60]})")


# --- Keys (steps 6.a, 9.a, 10.a.iii) --------------------------------------

def public_key_pem(key):
    """The wire form of a public key: SPKI PEM, LF line endings, no trailing newline.

    pycryptodome's export_key() already gives exactly that form:
    "-----BEGIN PUBLIC KEY-----\\n<64-char base64 lines>\\n-----END PUBLIC KEY-----".
    """
    pem = key.publickey().export_key(format="PEM").decode("ascii")
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert pem.endswith("-----END PUBLIC KEY-----") and "\r" not in pem
    return pem


def rsa_public_key_converter(pem, whose):
    """Step 9.a (and 13.a.i): PEM text from the wire -> RSA public key.

    Also checks the peer's text is byte for byte the canonical form
    (re-exporting the key gives the same text), and that it is RSA-2048
    with e = 65537, as the seed says.
    """
    if not pem.startswith("-----BEGIN PUBLIC KEY-----"):
        raise ProtocolError(f"{whose} key is not SPKI PEM: {pem[:40]!r}")
    try:
        key = RSA.import_key(pem)
    except (ValueError, IndexError, TypeError) as e:
        raise ProtocolError(f"{whose} key does not parse: {e}")
    if key.has_private():
        raise ProtocolError(f"{whose} key is a private key")
    if key.size_in_bits() != RSA_BITS or key.e != 65537:
        raise ProtocolError(
            f"{whose} key is {key.size_in_bits()}-bit with e = {key.e}, expected 2048-bit, e = 65537")
    if public_key_pem(key) != pem:
        raise ProtocolError(
            f"{whose} key text differs from the canonical PEM form "
            f"(LF line endings, 64-character lines, no trailing newline): {pem[-40:]!r}")
    return key


def oaep(key):
    """RSA-OAEP with SHA-256 (MGF1 then uses SHA-256 too) and an empty label."""
    return PKCS1_OAEP.new(key, hashAlgo=SHA256)


# --- Session ciphers (steps 14-16) ----------------------------------------

class SessionCipher:
    """Seal and open messages with the secret from the handshake.

    none:   the plain bytes
    caesar: every byte + shift, modulo 256
    aes:    nonce (16) || tag (16) || ciphertext, AES-128 in EAX mode
    On the wire a sealed message is always standard base64.

    `aad` is the associated data: authenticated by the AES tag, never sent.
    Frames pass associated_data(...); the SC confirmation (step 14) passes
    none (b""). Caesar and none ignore it: they have no tag.
    """

    def __init__(self, name, secret=b""):
        self.name = name
        self.secret = secret

    def overhead(self):
        """Bytes sealing adds: 32 with AES (nonce and tag), else 0."""
        return NONCE_BYTES + TAG_BYTES if self.name == "aes" else 0

    def seal(self, message, aad=b""):
        if self.name == "none":
            return message
        if self.name == "caesar":
            shift = self.secret[0]
            return bytes((b + shift) % 256 for b in message)
        # aes: a fresh random nonce for every message, never reuse one.
        nonce = get_random_bytes(NONCE_BYTES)
        cipher = AES.new(self.secret, AES.MODE_EAX, nonce=nonce, mac_len=TAG_BYTES)
        cipher.update(aad)
        ciphertext, tag = cipher.encrypt_and_digest(message)
        return nonce + tag + ciphertext

    def open(self, sealed, aad=b""):
        if self.name == "none":
            return sealed
        if self.name == "caesar":
            shift = self.secret[0]
            return bytes((b - shift) % 256 for b in sealed)
        # aes: split nonce || tag || ciphertext and verify the tag.
        if len(sealed) < NONCE_BYTES + TAG_BYTES:
            raise ProtocolError(f"an AES-EAX message is at least 32 bytes, got {len(sealed)}")
        nonce = sealed[:NONCE_BYTES]
        tag = sealed[NONCE_BYTES:NONCE_BYTES + TAG_BYTES]
        ciphertext = sealed[NONCE_BYTES + TAG_BYTES:]
        cipher = AES.new(self.secret, AES.MODE_EAX, nonce=nonce, mac_len=TAG_BYTES)
        cipher.update(aad)
        try:
            return cipher.decrypt_and_verify(ciphertext, tag)
        except ValueError:
            raise ProtocolError(
                "the AES-EAX tag does not verify (wrong key, altered message, "
                "or sealed with other associated data: replayed, moved or reflected)")


def b64encode(data):
    """Standard base64 with padding, as text."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text, what):
    """Decode standard base64, refusing anything else."""
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ProtocolError(f"{what} is not standard base64: {text[:40]!r}")


SERVER_NONCE_BYTES = 32
HKDF_INFO = {
    "aes": b"RFMP v1.0 aes session key",
    "caesar": b"RFMP v1.0 caesar session shift",
}


def derive_session_key(algorithm, secret, server_nonce):
    """Steps 14.a.ii / 15.a.i: the session key from the client's secret and
    the server's nonce: HKDF-SHA256 (RFC 5869) with salt = the nonce,
    IKM = the secret. aes: 16 bytes; caesar: one byte b, the shift 1 + b % 255.
    """
    if algorithm == "aes":
        return HKDF(secret, AES_KEY_BYTES, server_nonce, SHA256, context=HKDF_INFO["aes"])
    b = HKDF(secret, 1, server_nonce, SHA256, context=HKDF_INFO["caesar"])[0]
    return bytes([1 + b % 255])


def sc_packet(cipher, server_nonce=None):
    """Step 14.a: (SC) unsecured, or (SC,<base64 server nonce>,<base64 of the
    sealed confirmation>), sealed under the derived key.

    The confirmation is sealed with empty associated data (it is not a frame).
    """
    if cipher.name == "none":
        return packet_formatter("SC")
    return packet_formatter("SC", b64encode(server_nonce), b64encode(cipher.seal(CONFIRMATION_TEXT)))


# --- Frames (steps 16 and 17): building and checking ----------------------

def associated_data(kind, direction, seq, index=0, count=0):
    """Step 16.b: the 24 bytes of associated data of a DP or End frame.

    RFMP/1.0 (8 bytes) || type padded to 3 bytes ("DP " or "End") ||
    direction (b"C" client to server, b"S" server to client) ||
    seq, index, count as 4-byte big-endian numbers (End: index 0, count 0).
    """
    aad = AAD_PREFIX + kind.encode("ascii").ljust(3, b" ") + direction + struct.pack(">III", seq, index, count)
    assert len(aad) == 24
    return aad


def crc_field(covered):
    """Step 16.c: CRC-32 (zlib's) of the bytes from "(" through the last comma, 8 hex digits."""
    return "%08x" % zlib.crc32(covered)


def finish_frame(start):
    """Step 16.c: add the CRC field and the ")" to a frame's text up to its last comma."""
    return start + crc_field(start.encode("ascii")) + ")"


def dp_frame(cipher, direction, seq, index, count, fragment):
    """Step 16.b-c: seal one fragment with its associated data and build its DP frame."""
    sealed = cipher.seal(fragment, associated_data("DP", direction, seq, index, count))
    frame = finish_frame(f"(DP,{seq},{index},{count},{b64encode(sealed)},")
    assert len(frame) <= MAX_FRAME_BYTES, "a fragment too large for one frame"
    return frame


def end_frame(cipher, direction, seq):
    """Step 17.a: (End,<seq>,<the empty message, sealed>,<crc>)."""
    sealed = cipher.seal(b"", associated_data("End", direction, seq))
    return finish_frame(f"(End,{seq},{b64encode(sealed)},")


def ak_frame(next_seq):
    """Step 16.g: (AK,<next>,<crc>): every frame before `next_seq` has arrived."""
    return finish_frame(f"(AK,{next_seq},")


@dataclass
class Frame:
    """One frame whose CRC matched, its fields parsed (payload still sealed)."""
    kind: str              # "DP", "AK", "NK" or "End"
    seq: int = 0           # DP, NK, End: the sequence number; AK: `next`
    index: int = 0         # DP only
    count: int = 0         # DP only
    payload: bytes = b""   # DP and End: the sealed bytes


def frame_number(field, name):
    """A decimal u32: digits only, 1 to 10 of them, at most 4294967295."""
    if not (field.isascii() and field.isdigit() and 1 <= len(field) <= 10) or int(field) > 0xFFFFFFFF:
        raise ProtocolError(f"the {name} field is a decimal number from 0 to 4294967295, got {field[:20]!r}")
    return int(field)


def decode_frame(raw):
    """Step 16.e: check a frame's CRC first, then parse it.

    `raw` is one frame, "(" to ")" inclusive. On the loopback nothing is
    damaged, so a CRC mismatch means one side computes it wrongly: fail.
    """
    if raw.startswith(b"(EE,"):
        # The course protocol's error packet (no CRC): the peer gives up.
        fields = parse_packet(raw)
        raise ProtocolError("step 16.e: the peer sent an error: " + ",".join(fields[1:]))
    shown = raw[:60].decode("ascii", "replace")
    if not (raw.startswith(b"(") and raw.endswith(b")")):
        raise ProtocolError(f"step 16.e: a frame runs from '(' to ')', got {shown!r}")
    last_comma = raw.rfind(b",")
    if last_comma == -1:
        raise ProtocolError(f"step 16.e: a frame ends with a CRC field, got {shown!r}")
    crc = raw[last_comma + 1:-1].decode("ascii", "replace")
    if len(crc) != CRC_HEX_DIGITS or any(c not in "0123456789abcdef" for c in crc):
        raise ProtocolError(f"step 16.e: the CRC field is 8 lower-case hex digits, got {crc[:20]!r} in {shown!r}")
    expected_crc = crc_field(raw[:last_comma + 1])
    if crc != expected_crc:
        raise ProtocolError(
            f"step 16.e: CRC mismatch: the frame says {crc}, its bytes give {expected_crc}: {shown!r}")

    try:
        text = raw[1:last_comma].decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError(f"step 16.e: a frame is ASCII text, got {shown!r}")
    fields = text.split(",")
    kind = fields[0]
    expected_fields = {"DP": 5, "AK": 2, "NK": 2, "End": 3}
    if kind not in expected_fields:
        raise ProtocolError(
            f"step 16.e: unknown frame type {kind[:16]!r}: after the handshake a peer sends DP, AK, NK or End")
    if len(fields) != expected_fields[kind]:
        raise ProtocolError(
            f"step 16.e: a {kind} frame has {expected_fields[kind]} fields before the CRC, "
            f"this one has {len(fields)}: {shown!r}")
    if kind == "DP":
        seq = frame_number(fields[1], "sequence number")
        index = frame_number(fields[2], "fragment index")
        count = frame_number(fields[3], "fragment count")
        if count == 0 or index >= count:
            raise ProtocolError(f"step 16.e: fragment index {index} is not below the fragment count {count}")
        return Frame("DP", seq, index, count, b64decode(fields[4], "the DP payload"))
    if kind == "End":
        return Frame("End", frame_number(fields[1], "sequence number"),
                     payload=b64decode(fields[2], "the End payload"))
    return Frame(kind, frame_number(fields[1], "next sequence number" if kind == "AK" else "sequence number"))


def fragments(message, capacity):
    """Step 16.a: cut a message into pieces of at most `capacity` bytes (an empty one is one empty piece)."""
    if not message:
        return [b""]
    return [message[i:i + capacity] for i in range(0, len(message), capacity)]


class FrameLink:
    """Steps 16 and 17 over one connection: a minimal, correct reliable link.

    Sender (16.d, 16.i): every DP and End frame we send is numbered (from 0,
    our own numbers) and kept until the peer's cumulative AK covers it;
    an NK for a frame we keep sends it again.
    Receiver (16.e-h): every frame's CRC is checked; DP and End frames must
    come in order (TCP keeps order, and nothing is lost on the loopback), are
    opened with their associated data, acknowledged at once with a
    cumulative AK, and DP fragments are put back together into messages.
    """

    def __init__(self, sock, reader, cipher, ours, theirs):
        self.sock = sock
        self.reader = reader
        self.cipher = cipher
        self.ours = ours                # direction byte of the frames we send
        self.theirs = theirs            # direction byte of the frames we receive
        self.next_seq = 0               # our next DP/End sequence number
        self.in_flight = {}             # seq -> frame text, until an AK covers it
        self.expected = 0               # the peer's next sequence number (our AK value)
        self.parts = []                 # fragments of the message being reassembled
        self.parts_count = 0
        self.parts_sealed = []          # their sealed payloads (for the nonce check)
        self.inbox = []                 # ("message", bytes, [sealed payloads]) or ("end", b"", [])
        self.peer_ended = False
        self.frames_received = 0

    # -- sending (16.a-d, 17.a) --

    def _send_sequenced(self, frame):
        send_packet(self.sock, frame)
        self.in_flight[self.next_seq] = frame
        self.next_seq += 1

    def send_message(self, message):
        """Steps 16.a-d: fragment, seal each fragment into a DP frame, send, keep it."""
        if len(message) > MAX_MESSAGE_BYTES:
            raise ProtocolError(f"a message is at most {MAX_MESSAGE_BYTES} bytes, this one is {len(message)}")
        pieces = fragments(message, MAX_SEALED_FRAGMENT_BYTES - self.cipher.overhead())
        frames = []
        for index, piece in enumerate(pieces):
            frame = dp_frame(self.cipher, self.ours, self.next_seq, index, len(pieces), piece)
            self._send_sequenced(frame)
            frames.append(frame)
        return frames

    def send_end(self):
        """Step 17.a: send our End frame; it takes the next sequence number."""
        frame = end_frame(self.cipher, self.ours, self.next_seq)
        self._send_sequenced(frame)
        return frame

    # -- receiving (16.e-i) --

    def _pump(self, waiting_for):
        """Read and handle one frame; deliveries go to self.inbox."""
        frame = decode_frame(self.reader.read_raw(waiting_for, MAX_FRAME_BYTES))
        self.frames_received += 1
        if frame.kind == "AK":
            self._on_ack(frame.seq)
        elif frame.kind == "NK":
            self._on_nak(frame.seq)
        else:
            self._on_sequenced(frame)

    def _on_ack(self, next_seq):
        """Step 16.i: a cumulative AK: forget every frame of ours before `next_seq`."""
        if next_seq > self.next_seq:
            raise ProtocolError(
                f"step 16.i: (AK,{next_seq}) acknowledges frames up to {next_seq - 1}, "
                f"but we sent only frames before {self.next_seq}")
        for seq in [s for s in self.in_flight if s < next_seq]:
            del self.in_flight[seq]

    def _on_nak(self, seq):
        """Step 16.i: the peer asks for frame `seq` again."""
        if seq in self.in_flight:
            send_packet(self.sock, self.in_flight[seq])
        elif seq < self.next_seq:
            raise ProtocolError(f"step 16.i: (NK,{seq}) asks again for a frame the peer already acknowledged")
        # else: a frame not sent yet (the peer saw damage and names what it expects next).

    def _on_sequenced(self, frame):
        """Steps 16.f-h and 17: a DP or End frame from the peer."""
        if frame.seq < self.expected:
            # A duplicate (the peer resent it before our AK arrived): acknowledge again.
            send_packet(self.sock, ak_frame(self.expected))
            return
        if frame.seq > self.expected:
            raise ProtocolError(
                f"step 16.g: frame {frame.seq} arrived, but frame {self.expected} was expected next "
                f"(TCP keeps order and the loopback loses nothing: the peer skipped a number)")
        if self.peer_ended:
            raise ProtocolError(f"step 17.a: {frame.kind} frame {frame.seq} arrived after the peer's End")
        # Step 16.f: open the payload with the associated data the sender used.
        aad = associated_data(frame.kind, self.theirs, frame.seq, frame.index, frame.count)
        opened = self.cipher.open(frame.payload, aad)
        if frame.kind == "End":
            if opened:
                raise ProtocolError(f"step 17.a: an End frame seals the empty message, this one {len(opened)} bytes")
            if self.parts:
                raise ProtocolError("step 17.a: End arrived in the middle of a fragmented message")
            self.peer_ended = True
            self.inbox.append(("end", b"", [frame.payload]))
        else:
            self._reassemble(frame, opened)
        # Step 16.g: in order: acknowledge it (and everything before it) at once.
        self.expected += 1
        send_packet(self.sock, ak_frame(self.expected))

    def _reassemble(self, frame, opened):
        """Step 16.h: fragments 0..count-1 of one message arrive one after the other."""
        if frame.index != len(self.parts):
            raise ProtocolError(
                f"step 16.h: fragment {frame.index} of {frame.count} arrived, expected fragment {len(self.parts)}")
        if frame.index == 0:
            capacity = MAX_SEALED_FRAGMENT_BYTES - self.cipher.overhead()
            if frame.count > max(1, -(-MAX_MESSAGE_BYTES // capacity)):
                raise ProtocolError(f"step 16.h: {frame.count} fragments make a message over {MAX_MESSAGE_BYTES} bytes")
            self.parts_count = frame.count
        elif frame.count != self.parts_count:
            raise ProtocolError(
                f"step 16.h: fragment {frame.index} says the message has {frame.count} fragments, "
                f"fragment 0 said {self.parts_count}")
        self.parts.append(opened)
        self.parts_sealed.append(frame.payload)
        if len(self.parts) == frame.count:
            self.inbox.append(("message", b"".join(self.parts), self.parts_sealed))
            self.parts, self.parts_sealed, self.parts_count = [], [], 0

    def receive(self, waiting_for):
        """The next delivery from the peer: ("message", bytes, sealed payloads) or ("end", b"", ...)."""
        while not self.inbox:
            self._pump(waiting_for)
        return self.inbox.pop(0)

    def wait_acknowledged(self, waiting_for):
        """Step 16.i: read frames until the peer's AKs cover every frame we sent."""
        while self.in_flight:
            self._pump(waiting_for)


def message_envelope(data):
    """An application message: {"action":"message","data":...,"time":"<now, UTC>"}."""
    return json.dumps({"action": "message", "data": data, "time": wire_time()},
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def wire_time():
    """Now as RFC 3339 in UTC with milliseconds: 2026-11-23T10:15:00.123Z."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def decode_envelope(message, step):
    """Split a message into its JSON envelope (up to the first newline) and attachment."""
    json_part, _, attachment = message.partition(b"\n")
    try:
        envelope = json.loads(json_part.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"step {step}: the message is not a JSON envelope: {e}: {message[:60]!r}")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("action"), str):
        raise ProtocolError(f"step {step}: an envelope is a JSON object with an \"action\" string: {message[:60]!r}")
    time = envelope.get("time")
    try:
        if not isinstance(time, str):
            raise ValueError("missing")
        datetime.fromisoformat(time)
    except ValueError:
        raise ProtocolError(f"step {step}: the envelope's \"time\" is not an RFC 3339 time: {time!r}")
    return envelope, attachment


# --- Client role: steps 1-2, 8-11, 15, 16, 17 -----------------------------

def run_client(port, cipher_name, message):
    secure = cipher_name != "none"
    # 10.a.i: the encryption choice is made up front (aes or caesar).
    client_key = RSA.generate(RSA_BITS) if secure else None

    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_SECONDS)
    sock.settimeout(TIMEOUT_SECONDS)
    reader = PacketReader(sock)
    with sock:
        # 1.a-1.b: the start packet with the encrypted flag; 2.a: send it.
        send_packet(sock, packet_formatter("SS", PROTOCOL, VERSION, "1" if secure else "0"))

        # 8.a: the CC packet: 1 field -> unencrypted (8.a.i), 2 -> encrypted (8.a.ii).
        cc = expect(reader.read_packet("the CC packet (step 8.a)"), "CC", "8.a")
        if len(cc) == 1:
            if secure:
                raise ProtocolError("step 8.a.i: asked for a secured session, got (CC) without a key")
            cipher = SessionCipher("none")
        elif len(cc) == 2:
            if not secure:
                raise ProtocolError("step 8.a.ii: asked for an unsecured session, got a key")
            cc_bytes = len(packet_formatter(*cc).encode("utf-8"))
            if cc_bytes != CC_SECURE_BYTES:
                raise ProtocolError(
                    f"step 6.a: a CC packet with an RSA-2048 key is {CC_SECURE_BYTES} bytes, got {cc_bytes}")
            # 9.a: the server's public key from text to a key.
            server_key = rsa_public_key_converter(cc[1], "the server's")

            # 10.a.ii.1.a / 10.a.ii.2.a: the session secret.
            if cipher_name == "aes":
                secret = get_random_bytes(AES_KEY_BYTES)   # 16 random bytes
            else:
                secret = bytes([secrets.randbelow(255) + 1])  # one byte, shift 1-255
            # 10.a.ii.1.b / 10.a.ii.2.b: encrypt it with the server's key (RSA-OAEP-SHA256);
            # 10.a.ii.1.c / 10.a.ii.2.c: make it text (standard base64).
            encrypted_secret = b64encode(oaep(server_key).encrypt(secret))
            # 10.a.iii.1: the EC packet; 11.a: send it.
            ec = packet_formatter("EC", cipher_name, encrypted_secret, public_key_pem(client_key))
            if len(ec.encode("utf-8")) != EC_BYTES[cipher_name]:
                raise ProtocolError(f"our own EC packet is {len(ec)} bytes, not {EC_BYTES[cipher_name]}")
            send_packet(sock, ec)
            cipher = SessionCipher(cipher_name, secret)  # the key comes with the SC
        else:
            raise ProtocolError(f"step 8.a: a CC packet has 1 or 2 fields, this one has {len(cc)}")

        # 15.a: the SC packet must prove the server holds our secret.
        sc = expect(reader.read_packet("the SC packet (step 15.a)"), "SC", "15.a")
        if cipher.name == "none":
            if sc != ["SC"]:
                raise ProtocolError(f"step 15.a: an unsecured session is confirmed by exactly (SC), got ({','.join(sc)})")
        else:
            if len(sc) != 3:
                raise ProtocolError(
                    f"step 15.a: expected (SC,<server nonce>,<sealed confirmation>), got {len(sc)} fields")
            server_nonce = b64decode(sc[1], "the server nonce")
            if len(server_nonce) != SERVER_NONCE_BYTES:
                raise ProtocolError(f"step 15.a: the server nonce is 32 bytes, got {len(server_nonce)}")
            # 15.a.i: the session key, derived as the server did.
            cipher = SessionCipher(cipher_name, derive_session_key(cipher_name, cipher.secret, server_nonce))
            opened = cipher.open(b64decode(sc[2], "the SC confirmation"))
            if opened != CONFIRMATION_TEXT:
                raise ProtocolError(f"step 15.a: the confirmation opens to {opened!r}, not {CONFIRMATION_TEXT!r}")

        # 16.a-d: send one message envelope in our DP frame(s), from seq 0.
        link = FrameLink(sock, reader, cipher, ours=CLIENT_TO_SERVER, theirs=SERVER_TO_CLIENT)
        sent_frames = link.send_message(message_envelope(message))

        # 16.e-h: the server echoes it back, sealed anew (AKs are handled on the way).
        kind, echo, echo_sealed = link.receive("the echoed message (step 16.e)")
        if kind != "message":
            raise ProtocolError("step 16.e: the server sent End instead of echoing our message")
        envelope, _ = decode_envelope(echo, "16.h")
        if envelope["action"] == "error":
            raise ProtocolError(f"step 16.h: the server answered with an error: {envelope.get('data')!r}")
        if envelope["action"] != "message":
            raise ProtocolError(f"step 16.h: the echo's action is {envelope['action']!r}, not 'message'")
        if envelope.get("data") != message:
            raise ProtocolError(f"step 16.h: the echo's data is {envelope.get('data')!r}, not {message!r}")
        if cipher.name == "aes":
            sent_nonce = decode_frame(sent_frames[0].encode("ascii")).payload[:NONCE_BYTES]
            echo_nonce = echo_sealed[0][:NONCE_BYTES]
            if sent_nonce == echo_nonce:
                raise ProtocolError("step 16.b: the echo reuses our nonce; every message needs a fresh one")

        # 17.a: say goodbye (End takes our next sequence number), and
        # 17.b: wait for its AK and for the server's own End, which we AK.
        link.send_end()
        sock.settimeout(CLOSE_TIMEOUT_SECONDS)
        link.wait_acknowledged("the AK of our End frame (step 17.b)")
        if not link.peer_ended:
            kind, _, _ = link.receive("the server's End frame (step 17.b)")
            if kind != "end":
                raise ProtocolError("step 17.b: the server sent a message after our End instead of its own End")
    steps = "SS/CC/EC/SC" if secure else "SS/CC/SC"
    print(f"ok: client, cipher {cipher_name}: handshake {steps} done, "
          f"confirmation verified, message {message!r} echoed back intact, "
          f"End sent and acknowledged both ways ({link.frames_received} frames received)")


# --- Server role: steps 3-7, 12-14, 16, 17 --------------------------------

def write_port_file(path, port):
    """Write the port atomically: a reader sees no file or the whole number."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def run_server(port_file, cipher_expected):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(TIMEOUT_SECONDS)
    write_port_file(port_file, listener.getsockname()[1])
    try:
        sock, _ = listener.accept()
    except socket.timeout:
        raise ProtocolError("no client connected in time")
    finally:
        listener.close()

    sock.settimeout(TIMEOUT_SECONDS)
    reader = PacketReader(sock)
    with sock:
        try:
            echoed = serve_one(sock, reader, cipher_expected)
        except ProtocolError as e:
            # Tell the client why, as the course protocol does, then give up.
            description = str(e).replace(",", ";").replace("(", "[").replace(")", "]")
            try:
                send_packet(sock, packet_formatter("EE", "400", description))
            except OSError:
                pass
            raise
    steps = "SS/CC/SC" if cipher_expected == "none" else "SS/CC/EC/SC"
    print(f"ok: server, cipher {cipher_expected}: handshake {steps} done, "
          f"{echoed} message(s) echoed, End received and acknowledged, our End acknowledged")


def serve_one(sock, reader, cipher_expected):
    # 3.a: receive the start packet; 4.a: is_secure, checked exactly.
    ss = reader.read_packet("the SS packet (step 3.a)")
    if ss not in (["SS", PROTOCOL, VERSION, "0"], ["SS", PROTOCOL, VERSION, "1"]):
        raise ProtocolError(f"step 4.a: expected exactly (SS,RFMP,v1.0,0|1), got ({','.join(ss)[:60]})")
    secure = ss[3] == "1"
    if secure != (cipher_expected != "none"):
        raise ProtocolError(f"step 4.a: the client asked for secure={ss[3]}, expected cipher {cipher_expected}")

    if not secure:
        # 6.a / 7.b: the unsecured answer.
        send_packet(sock, packet_formatter("CC"))
        cipher = SessionCipher("none")
    else:
        # 6.a / 7.a: CC with a freshly generated RSA-2048 public key.
        server_key = RSA.generate(RSA_BITS)
        send_packet(sock, packet_formatter("CC", public_key_pem(server_key)))

        # 12.a: wait for the EC packet.
        ec = expect(reader.read_packet("the EC packet (step 12.a)"), "EC", "12.a")
        # 13.a.i: split it: algorithm, encrypted session secret, client key.
        if len(ec) != 4:
            raise ProtocolError(f"step 13.a.i: an EC packet has 4 fields, this one has {len(ec)}")
        _, algorithm, encrypted_secret, client_pem = ec
        if algorithm not in ("aes", "caesar"):
            raise ProtocolError(f"step 13.a.i: the algorithm is exactly aes or caesar, got {algorithm!r}")
        if algorithm != cipher_expected:
            raise ProtocolError(f"step 13.a.i: the client chose {algorithm}, expected {cipher_expected}")
        ec_bytes = len(packet_formatter(*ec).encode("utf-8"))
        if ec_bytes != EC_BYTES[algorithm]:
            raise ProtocolError(
                f"step 10.a.iii: an {algorithm} EC packet with RSA-2048 keys is {EC_BYTES[algorithm]} bytes, got {ec_bytes}")
        rsa_public_key_converter(client_pem, "the client's")
        ciphertext = b64decode(encrypted_secret, "the encrypted session secret")
        if len(ciphertext) != server_key.size_in_bytes():
            raise ProtocolError(f"step 13.a.ii: an RSA-2048 ciphertext is 256 bytes, got {len(ciphertext)}")
        # 13.a.ii: decrypt the session secret with our private key.
        try:
            secret = oaep(server_key).decrypt(ciphertext)
        except ValueError:
            raise ProtocolError("step 13.a.ii: the session secret does not decrypt (RSA-OAEP-SHA256)")
        if algorithm == "aes" and len(secret) != AES_KEY_BYTES:
            raise ProtocolError(f"step 13.a.ii: an aes key is 16 bytes, got {len(secret)}")
        if algorithm == "caesar" and (len(secret) != 1 or secret[0] == 0):
            raise ProtocolError(f"step 13.a.ii: a caesar secret is one byte 1-255, got {secret.hex()}")
        # 14.a.i: a fresh server nonce; 14.a.ii: the session key from both.
        server_nonce = get_random_bytes(SERVER_NONCE_BYTES)
        cipher = SessionCipher(algorithm, derive_session_key(algorithm, secret, server_nonce))

    # 14.a: confirm the session, sealed with the new cipher.
    send_packet(sock, sc_packet(cipher, server_nonce if secure else None))

    # 16: echo every message envelope (re-sealed, fresh nonce, our own
    # sequence numbers) until the client's End (17.a).
    link = FrameLink(sock, reader, cipher, ours=SERVER_TO_CLIENT, theirs=CLIENT_TO_SERVER)
    echoed = 0
    while True:
        kind, message, _ = link.receive("a DP or End frame (step 16.e)")
        if kind == "end":
            break
        envelope, _ = decode_envelope(message, "16.h")
        if envelope["action"] != "message":
            raise ProtocolError(
                f"step 16.h: this peer answers only \"message\" envelopes, got action {envelope['action'][:32]!r}")
        link.send_message(message_envelope(envelope.get("data")))
        echoed += 1

    # 17.a: the client's End is acknowledged (FrameLink did it); send ours,
    # 17.b: and wait, briefly, until the client's AK covers it (and our echoes).
    link.send_end()
    sock.settimeout(CLOSE_TIMEOUT_SECONDS)
    link.wait_acknowledged("the AK of our End frame (step 17.b)")
    return echoed


# --- Command line ----------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description="An RFMP v1.0 peer written from the seed's wire facts.")
    roles = parser.add_subparsers(dest="role", required=True)
    client = roles.add_parser("client", help="connect to an RFMP server on 127.0.0.1")
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--cipher", choices=["none", "caesar", "aes"], required=True)
    client.add_argument("--message", default="hello from the seed peer")
    server = roles.add_parser("server", help="serve one RFMP client on 127.0.0.1, any free port")
    server.add_argument("--port-file", required=True, help="where to write the port number")
    server.add_argument("--cipher-expected", choices=["none", "caesar", "aes"], required=True)
    args = parser.parse_args()

    try:
        if args.role == "client":
            run_client(args.port, args.cipher, args.message)
        else:
            run_server(args.port_file, args.cipher_expected)
    except (ProtocolError, OSError) as e:
        cipher = args.cipher if args.role == "client" else args.cipher_expected
        print(f"FAIL: {args.role}, cipher {cipher}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
