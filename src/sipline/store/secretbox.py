"""Encryption at rest for secrets the API must give back (SIP passwords, API secrets).

AES-256-GCM with a random 96-bit nonce per value; the stored form is `v1:<base64(nonce|ciphertext)>`.
The key is 32 random bytes, kept base64-encoded in a file of the data directory (mode 0600) or
given by configuration.
"""

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "v1:"


class SecretBoxError(Exception):
    pass


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SecretBoxError("the secret key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(key)
        self._key = key

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for one other use (e.g. signing links), derived from this key with HKDF, so
        that the key itself is never used for two things and one use's key reveals nothing of it."""
        return HKDF(hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(self._key)

    @classmethod
    def from_base64(cls, encoded: str) -> "SecretBox":
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except ValueError:
            raise SecretBoxError("the secret key is not valid base64") from None
        return cls(key)

    @classmethod
    def from_key_file(cls, path: Path) -> "SecretBox":
        """Load the key, generating it on first start (readable by the owner only)."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode() + "\n")
        return cls.from_base64(path.read_text())

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(_PREFIX):
            raise SecretBoxError("unknown secret format")
        try:
            raw = base64.b64decode(stored[len(_PREFIX) :])
            return self._aead.decrypt(raw[:12], raw[12:], None).decode()
        except (ValueError, InvalidTag):
            raise SecretBoxError("a stored secret cannot be decrypted with the configured key") from None
