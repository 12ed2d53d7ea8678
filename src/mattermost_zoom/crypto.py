"""Keys derived from ``MMZOOM_ENCRYPTION_KEY``: token encryption and signatures.

The admin gives any long string; HKDF turns it into independent keys per use,
so that a signature key can never decrypt a token. With several keys, the first
one encrypts and signs, and all of them decrypt and verify: that is how an old
key is retired (``rotate``) without anyone reconnecting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeTimedSerializer


class DecryptionError(Exception):
    """Stored ciphertext could not be decrypted with any configured key."""


class SignatureError(Exception):
    """A signed value was forged, tampered with or expired."""


def _derive(secret: str, purpose: str) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"mattermost-zoom",
        info=purpose.encode(),
    )
    return hkdf.derive(secret.encode())


class TokenCipher:
    """Authenticated encryption (Fernet: AES-CBC + HMAC-SHA256) of stored secrets."""

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet(
            [Fernet(base64.urlsafe_b64encode(_derive(s, "token-encryption/v1"))) for s in secrets]
        )

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "stored secret cannot be decrypted with the configured keys"
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the first key."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "stored secret cannot be decrypted with the configured keys"
            ) from None


class Signer:
    """Signs small JSON values put where a browser or a post can carry them."""

    def __init__(self, secrets: Sequence[str], purpose: str) -> None:
        # itsdangerous signs with the last key and verifies with all of them.
        keys = [_derive(s, f"signing/{purpose}") for s in reversed(secrets)]
        self._serializer = URLSafeTimedSerializer(keys, salt=purpose)

    def sign(self, value: dict[str, Any]) -> str:
        return str(self._serializer.dumps(value))

    def verify(self, token: str, max_age_seconds: int) -> dict[str, Any]:
        try:
            value = self._serializer.loads(token, max_age=max_age_seconds)
        except BadSignature:
            raise SignatureError("invalid or expired signature") from None
        if not isinstance(value, dict):
            raise SignatureError("unexpected signed value")
        return value


def constant_time_in(candidate: str, accepted: Sequence[str]) -> bool:
    """True when ``candidate`` equals one of ``accepted``, in time independent of where
    they differ (every accepted value is compared)."""
    found = False
    for value in accepted:
        found |= hmac.compare_digest(candidate.encode(), value.encode())
    return found


def fingerprint(value: str) -> str:
    """A short, non-reversible name for a secret (database keys, not logs)."""
    return hashlib.sha256(value.encode()).hexdigest()


class Keyring:
    """All keys of one deployment, built once from the settings."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self.tokens = TokenCipher(secrets)
        self.connect_links = Signer(secrets, "connect-link")
        self.post_actions = Signer(secrets, "post-action")
        self.dialogs = Signer(secrets, "dialog")
