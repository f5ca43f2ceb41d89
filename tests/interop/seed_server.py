#!/usr/bin/env python3
"""A server for rfmp's `seed` profile, written the seed's original way.

It serves one client: the handshake of steps 3-13 exactly as the seed's
original server did (SS; (CC) or (CC,<public key PEM>); EC decrypted with
RSA-OAEP-SHA256; no SC confirmation afterwards), then the original's
command phase:

    (CM,openWrite,<file>)  then  (DP,<payload>)    reply (SC)
    (CM,openRead,<file>)                           reply (<payload>)(SC), one write
                                                   or (EE,404,File not found)
    (CM,prompt,<cmd>)                              reply (SC), or a bare (EE)
    (End)                                          the session ends

Only file contents are encrypted: AES-128-EAX as standard base64 of
nonce (16) || tag (16) || ciphertext with no associated data, or Caesar
shifting each character code modulo 256. Files live in memory; prompt
commands are never run (the original ran them in a shell): whoami,
hostname and echo succeed, anything else gets (EE).

    seed_server.py --server-key PEM

Prints the port it listens on (127.0.0.1, chosen by the OS) as its first
line, serves one client, and exits 0 after (End), 1 with a message on
anything unexpected. The original read each packet with one recv(); this
script cuts packets out of the stream at their parentheses, and that is its
only departure from the original. Needs pycryptodome.
"""

import argparse
import base64
import socket
import sys

from Crypto.Cipher import PKCS1_OAEP
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from seed_content import decrypt, encrypt

TIMEOUT_SECONDS = 20


def fail(message):
    print(f"seed_server.py: {message}", file=sys.stderr)
    sys.exit(1)


class Packets:
    """Whole packets, `(` to `)`, out of the byte stream."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def next(self):
        while b")" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                fail(f"the client closed the connection; got {self.buffer[:80]!r}")
            self.buffer += chunk
        end = self.buffer.index(b")") + 1
        packet, self.buffer = self.buffer[:end], self.buffer[end:]
        return packet.decode("utf-8")


def handshake(sock, packets, server_key):
    """Steps 3-13; returns (cipher, secret)."""
    ss = packets.next()
    if ss not in ("(SS,RFMP,v1.0,0)", "(SS,RFMP,v1.0,1)"):
        fail(f"expected (SS,RFMP,v1.0,0|1), got {ss!r}")
    if ss.endswith("0)"):
        sock.sendall(b"(CC)")
        return "none", None
    pem = server_key.publickey().export_key(format="PEM").decode("ascii")
    sock.sendall(f"(CC,{pem})".encode("utf-8"))
    ec = packets.next()
    fields = ec[1:-1].split(",")
    if len(fields) != 4 or fields[0] != "EC" or fields[1] not in ("aes", "caesar"):
        fail(f"expected (EC,aes|caesar,<secret>,<key>), got {ec[:60]!r}")
    secret = PKCS1_OAEP.new(server_key, hashAlgo=SHA256).decrypt(base64.b64decode(fields[2]))
    if fields[1] == "caesar":
        return "caesar", secret[0]
    return "aes", secret


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-key", required=True)
    args = parser.parse_args()
    with open(args.server_key, "rb") as f:
        server_key = RSA.import_key(f.read())

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(TIMEOUT_SECONDS)
    print(listener.getsockname()[1], flush=True)
    sock, _ = listener.accept()
    sock.settimeout(TIMEOUT_SECONDS)
    packets = Packets(sock)
    cipher, secret = handshake(sock, packets, server_key)
    # No confirmation: the seed goes straight on to its commands.

    files = {}
    while True:
        packet = packets.next()
        if packet == "(End)":
            sock.close()
            print(f"seed_server.py: {cipher}: the client ended the session", file=sys.stderr)
            return
        fields = packet[1:-1].split(",")
        if fields[:2] == ["CM", "openWrite"] and len(fields) == 3:
            data = packets.next()
            if not data.startswith("(DP,"):
                fail(f"openWrite: expected (DP,<payload>), got {data[:60]!r}")
            files[fields[2]] = decrypt(cipher, secret, data[4:-1])
            sock.sendall(b"(SC)")
        elif fields[:2] == ["CM", "openRead"] and len(fields) == 3:
            if fields[2] in files:
                payload = encrypt(cipher, secret, files[fields[2]])
                sock.sendall(f"({payload})(SC)".encode("utf-8"))
            else:
                sock.sendall(b"(EE,404,File not found)")
        elif fields[:2] == ["CM", "prompt"] and len(fields) >= 3:
            command = fields[2].split(" ")[0]
            sock.sendall(b"(SC)" if command in ("whoami", "hostname", "echo") else b"(EE)")
        else:
            fail(f"unexpected packet {packet[:60]!r}")


if __name__ == "__main__":
    main()
