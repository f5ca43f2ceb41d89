"""File contents sealed as the seed's original sealed them, for the Python
peers written its way (seed_commands.py, seed_server.py).

AES-128-EAX as standard base64 of nonce (16) || tag (16) || ciphertext
with no associated data; Caesar shifting each character code modulo 256;
with no cipher, the text itself.
"""

import base64

from Crypto.Cipher import AES


def encrypt(cipher, secret, text):
    """The original's content encryption, for a DP or reply payload."""
    if cipher == "none":
        return text
    if cipher == "caesar":
        return "".join(chr((ord(c) + secret) % 256) for c in text)
    aes = AES.new(secret, AES.MODE_EAX)  # a random 16-byte nonce, a 16-byte tag
    ciphertext, tag = aes.encrypt_and_digest(text.encode("utf-8"))
    return base64.b64encode(aes.nonce + tag + ciphertext).decode("ascii")


def decrypt(cipher, secret, payload):
    if cipher == "none":
        return payload
    if cipher == "caesar":
        return "".join(chr((ord(c) - secret) % 256) for c in payload)
    raw = base64.b64decode(payload, validate=True)
    nonce, tag, ciphertext = raw[:16], raw[16:32], raw[32:]
    aes = AES.new(secret, AES.MODE_EAX, nonce=nonce)
    return aes.decrypt_and_verify(ciphertext, tag).decode("utf-8")
