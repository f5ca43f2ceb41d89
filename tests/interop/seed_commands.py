#!/usr/bin/env python3
"""A client for rfmp's `seed` profile, written the seed's original way.

It completes the handshake of steps 1-13 exactly as the seed's original
client did (SS, CC, EC; no SC confirmation afterwards; with --cipher none
the unsecured SS and (CC), and nothing after it either), then speaks the
original's command phase:

    (CM,openWrite,<file>)  then  (DP,<payload>)    reply (SC)
    (CM,openRead,<file>)                           reply (<payload>)(SC), one write
    (CM,prompt,whoami)                             reply (SC)
    (CM,prompt,<unknown>)                          reply (EE)
    (End)

Only file contents are encrypted: AES-128-EAX as standard base64 of
nonce (16) || tag (16) || ciphertext with no associated data, or Caesar
shifting each character code modulo 256, the result UTF-8 encoded (with
none, the text itself).

    seed_commands.py --port P --cipher none|aes|caesar --client-key PEM --name FILE --text TEXT

Exits 0 when the round trip worked, 1 with a message otherwise.
The original read each reply with one recv(); this script keeps reading
until the reply is complete (TCP may split it), and that is its only
departure from the original. Needs pycryptodome.
"""

import argparse
import base64
import secrets
import socket
import sys

from Crypto.Cipher import PKCS1_OAEP
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from seed_content import decrypt, encrypt

TIMEOUT_SECONDS = 20


def fail(message):
    print(f"seed_commands.py: {message}", file=sys.stderr)
    sys.exit(1)


def recv_until(sock, done):
    """Read until done(buffer) says the reply is complete."""
    data = b""
    while not done(data):
        chunk = sock.recv(4096)
        if not chunk:
            fail(f"the server closed the connection; got {data[:80]!r}")
        data += chunk
    return data.decode("utf-8")


def one_packet(sock):
    return recv_until(sock, lambda d: b")" in d)


def secure_handshake(sock, cipher, client_key):
    """Steps 1-11, secured: SS, CC with the key, EC; returns the secret."""
    # Steps 1-2: the start packet, secured.
    sock.sendall(b"(SS,RFMP,v1.0,1)")
    # Step 8: (CC,<server public key PEM>).
    cc = one_packet(sock)
    if not cc.startswith("(CC,-----BEGIN PUBLIC KEY-----"):
        fail(f"expected (CC,<key>), got {cc[:60]!r}")
    server_key = RSA.import_key(cc[4:-1])
    # Step 10: the session secret, RSA-OAEP with SHA-256, then the EC packet.
    if cipher == "aes":
        secret = secrets.token_bytes(16)
        secret_bytes = secret
    else:
        secret = secrets.randbelow(24) + 1  # the original's shifts were 1..24
        secret_bytes = bytes([secret])
    encrypted = PKCS1_OAEP.new(server_key, hashAlgo=SHA256).encrypt(secret_bytes)
    client_pem = client_key.publickey().export_key(format="PEM").decode("ascii")
    ec = f"(EC,{cipher},{base64.b64encode(encrypted).decode('ascii')},{client_pem})"
    sock.sendall(ec.encode("utf-8"))
    return secret


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cipher", choices=["none", "aes", "caesar"], required=True)
    parser.add_argument("--client-key", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--text", required=True)
    args = parser.parse_args()

    with open(args.client_key, "rb") as f:
        client_key = RSA.import_key(f.read())
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=TIMEOUT_SECONDS)

    if args.cipher == "none":
        secret = None
        # Steps 1-2: the start packet, unsecured; step 8: exactly (CC).
        # The original compared the whole read with (CC): an SC sent right
        # after it would arrive in the same read and break that.
        sock.sendall(b"(SS,RFMP,v1.0,0)")
        cc = one_packet(sock)
        if cc != "(CC)":
            fail(f"expected exactly (CC), got {cc[:60]!r}")
    else:
        secret = secure_handshake(sock, args.cipher, client_key)
    # No confirmation: the seed goes straight on to its commands.

    # openWrite: the command, then the contents in a separate packet.
    sock.sendall(f"(CM,openWrite,{args.name})".encode("utf-8"))
    sock.sendall(f"(DP,{encrypt(args.cipher, secret, args.text)})".encode("utf-8"))
    reply = one_packet(sock)
    if reply != "(SC)":
        fail(f"openWrite: expected (SC), got {reply!r}")

    # openRead: (<payload>)(SC) in one write.
    sock.sendall(f"(CM,openRead,{args.name})".encode("utf-8"))
    reply = recv_until(sock, lambda d: d.endswith(b"(SC)") or (d.startswith(b"(EE") and b")" in d))
    if not reply.endswith(")(SC)"):
        fail(f"openRead: expected (<payload>)(SC), got {reply[:80]!r}")
    text = decrypt(args.cipher, secret, reply[1:-len(")(SC)")])
    if text != args.text:
        fail(f"openRead gave back {text!r}, not {args.text!r}")

    # Prompt commands: (SC) on success, a bare (EE) on failure.
    sock.sendall(b"(CM,prompt,whoami)")
    reply = one_packet(sock)
    if reply != "(SC)":
        fail(f"prompt whoami: expected (SC), got {reply!r}")
    sock.sendall(b"(CM,prompt,format c:)")
    reply = one_packet(sock)
    if reply != "(EE)":
        fail(f"prompt of an unknown command: expected (EE), got {reply!r}")

    sock.sendall(b"(End)")
    if sock.recv(1):
        fail("the server sent bytes after (End) instead of closing")
    sock.close()
    print(f"seed_commands.py: {args.cipher}: openWrite, openRead, prompt and End worked")


if __name__ == "__main__":
    main()
