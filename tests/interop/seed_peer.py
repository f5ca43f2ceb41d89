#!/usr/bin/env python3
"""A Python peer for RFMP v1.0, written from the seed's wire facts.

This script speaks the handshake the way the seed's original Python
client/server did (steps 1-13 of the flow), plus rfmp's steps 14-17
(SC confirmation, DP data, End). It exists to prove that a peer written
independently from the wire facts can talk to the Rust `rfmp` binary.

Two roles:

    seed_peer.py client --port P --cipher none|caesar|aes [--message TEXT]
    seed_peer.py server --port-file F --cipher-expected none|caesar|aes

The wire, in one picture:

    client                                             server
      | 1.b-2.a   (SS,RFMP,v1.0,1)               --->  |  3.a-4.a
      | 8.a-9.a   <--- (CC,<server public key PEM>)    |  5.a-7.a
      | 10.a-11.a (EC,aes,<secret>,<client key>) --->  |  12.a-13.a
      | 15.a      <--- (SC,<sealed "RFMP v1.0 ready">) |  14.a
      | 16.a      (DP,<sealed message>)          <-->  |  16.a (echo)
      | 17.a      (End)                          --->  |

Every packet is UTF-8 text: "(" + fields joined by "," + ")". There is no
length prefix, so a reader collects bytes until the first ")". The seed's
original assumed one recv() returns exactly one packet; that is wrong for
TCP (a byte stream), so this peer buffers properly (see PacketReader).

Needs Python 3.11 and pycryptodome (`python3 -m pip install pycryptodome`).
"""

import argparse
import base64
import os
import secrets
import socket
import sys

from Crypto.Cipher import AES, PKCS1_OAEP
from Crypto.Hash import SHA256
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
    packet and the start of the next. So we keep a buffer: bytes after the
    first ")" stay there for the next call.
    """

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def read_packet(self, waiting_for):
        while True:
            # Is a whole packet buffered yet? Look for ")" in the first
            # MAX_PACKET_BYTES bytes only.
            end = self.buffer.find(b")", 0, MAX_PACKET_BYTES)
            if end != -1:
                raw = self.buffer[:end + 1]
                self.buffer = self.buffer[end + 1:]
                return parse_packet(raw)
            if len(self.buffer) >= MAX_PACKET_BYTES:
                raise ProtocolError(
                    f"no ')' in the first {MAX_PACKET_BYTES} bytes while waiting for {waiting_for}")
            try:
                chunk = self.sock.recv(RECV_BYTES)
            except socket.timeout:
                raise ProtocolError(f"timed out waiting for {waiting_for}")
            if not chunk:
                raise ProtocolError(f"connection closed while waiting for {waiting_for}")
            self.buffer += chunk


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
    """

    def __init__(self, name, secret=b""):
        self.name = name
        self.secret = secret

    def seal(self, message):
        if self.name == "none":
            return message
        if self.name == "caesar":
            shift = self.secret[0]
            return bytes((b + shift) % 256 for b in message)
        # aes: a fresh random nonce for every message, never reuse one.
        nonce = get_random_bytes(NONCE_BYTES)
        cipher = AES.new(self.secret, AES.MODE_EAX, nonce=nonce, mac_len=TAG_BYTES)
        ciphertext, tag = cipher.encrypt_and_digest(message)
        return nonce + tag + ciphertext

    def open(self, sealed):
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
        try:
            return cipher.decrypt_and_verify(ciphertext, tag)
        except ValueError:
            raise ProtocolError("the AES-EAX tag does not verify (wrong key or altered message)")


def b64encode(data):
    """Standard base64 with padding, as text."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text, what):
    """Decode standard base64, refusing anything else."""
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ProtocolError(f"{what} is not standard base64: {text[:40]!r}")


def sc_packet(cipher):
    """Step 14.a: (SC) unsecured, or (SC,<base64 of the sealed confirmation>)."""
    if cipher.name == "none":
        return packet_formatter("SC")
    return packet_formatter("SC", b64encode(cipher.seal(CONFIRMATION_TEXT)))


def dp_packet(cipher, message):
    """Step 16.a: (DP,<base64 of the sealed message>)."""
    return packet_formatter("DP", b64encode(cipher.seal(message)))


def open_dp_packet(fields, cipher):
    """Step 16.b: check a DP packet and open its message."""
    expect(fields, "DP", "16.b")
    if len(fields) != 2:
        raise ProtocolError(f"a DP packet has 2 fields, this one has {len(fields)}")
    return cipher.open(b64decode(fields[1], "the DP payload"))


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
            cipher = SessionCipher(cipher_name, secret)
        else:
            raise ProtocolError(f"step 8.a: a CC packet has 1 or 2 fields, this one has {len(cc)}")

        # 15.a: the SC packet must prove the server holds our secret.
        sc = expect(reader.read_packet("the SC packet (step 15.a)"), "SC", "15.a")
        if cipher.name == "none":
            if sc != ["SC"]:
                raise ProtocolError(f"step 15.a: an unsecured session is confirmed by exactly (SC), got ({','.join(sc)})")
        else:
            if len(sc) != 2:
                raise ProtocolError(f"step 15.a: expected (SC,<sealed confirmation>), got {len(sc)} fields")
            opened = cipher.open(b64decode(sc[1], "the SC confirmation"))
            if opened != CONFIRMATION_TEXT:
                raise ProtocolError(f"step 15.a: the confirmation opens to {opened!r}, not {CONFIRMATION_TEXT!r}")

        # 16.a: send one message; the server echoes it back sealed anew.
        sent = dp_packet(cipher, message.encode("utf-8"))
        send_packet(sock, sent)
        echo_fields = reader.read_packet("the echoed DP packet (step 16.b)")
        echoed = open_dp_packet(echo_fields, cipher)
        if echoed != message.encode("utf-8"):
            raise ProtocolError(f"step 16.b: the echo is {echoed!r}, not {message!r}")
        if cipher.name == "aes":
            sent_nonce = b64decode(parse_packet(sent.encode())[1], "our DP")[:NONCE_BYTES]
            echo_nonce = b64decode(echo_fields[1], "the echo")[:NONCE_BYTES]
            if sent_nonce == echo_nonce:
                raise ProtocolError("step 16.a: the echo reuses our nonce; every message needs a fresh one")

        # 17.a: say goodbye and close.
        send_packet(sock, packet_formatter("End"))
    steps = "SS/CC/EC/SC" if secure else "SS/CC/SC"
    print(f"ok: client, cipher {cipher_name}: handshake {steps} done, "
          f"confirmation verified, message {message!r} echoed back intact")


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
          f"{echoed} message(s) echoed, (End) received")


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
        cipher = SessionCipher(algorithm, secret)

    # 14.a: confirm the session, sealed with the new cipher.
    send_packet(sock, sc_packet(cipher))

    # 16: echo every message, re-sealed with a fresh nonce, until 17.a (End).
    echoed = 0
    while True:
        fields = reader.read_packet("a DP or End packet (step 16.b)")
        if fields == ["End"]:
            return echoed
        message = open_dp_packet(fields, cipher)
        send_packet(sock, dp_packet(cipher, message))
        echoed += 1


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
