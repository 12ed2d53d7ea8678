"""Reading what the Go Zoom plugin left in Mattermost's plugin key-value store. Pure.

The plugin keeps, under plugin id ``zoom``:

- ``zoomtoken_<mm user id>``: a JSON object with the Go field names ``ZoomEmail``,
  ``ZoomID``, ``UserID`` and ``OAuthToken`` (an OAuth 2 token object with
  ``access_token``, ``refresh_token``, ``expiry``). Only the access token is
  encrypted; the refresh token is in the clear.
- ``zoomUserPreference_<mm user id>``: a JSON string, ``"true"`` (personal meeting
  ID), ``"false"`` (unique ID) or ``"ask"``.

The access token is encrypted with the plugin's "At Rest Token Encryption Key" used
as raw AES key bytes: a random 16-byte IV, AES in CFB mode with 128-bit segments over
the token padded PKCS#7-style to whole blocks, and the IV followed by the ciphertext
in URL-safe base64 with ``=`` padding.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # CFB is "decrepit" (legacy) from cryptography 47 on; the plugin chose it, not us
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB

from mattermost_zoom.core.models import MeetingIdChoice

PLUGIN_ID = "zoom"
USER_KEY_PREFIX = "zoomtoken_"
PREFERENCE_KEY_PREFIX = "zoomUserPreference_"
# Before the key-value store, the plugin kept the choice in Mattermost's user
# preferences; it moves a user's value over only when that user next starts a meeting.
LEGACY_PREFERENCE_CATEGORY = "plugin:zoom"
LEGACY_PREFERENCE_NAME = "use-pmi"

AES_KEY_SIZES = (16, 24, 32)
_BLOCK = 16


class UnreadableRecord(Exception):
    """A plugin record that cannot be used. The message says why, never what it holds."""


@dataclass(frozen=True)
class PluginUser:
    """A Mattermost user connected to Zoom in the plugin, tokens decrypted."""

    mm_user_id: str
    zoom_user_id: str
    zoom_email: str
    access_token: str
    refresh_token: str
    # None when the plugin did not record it: treat the access token as expired.
    access_expires_at: datetime | None

    def __repr__(self) -> str:  # never print the tokens
        return f"PluginUser(mm_user_id={self.mm_user_id!r}, zoom_user_id={self.zoom_user_id!r})"


def plugin_key(value: str) -> bytes:
    """The plugin's encryption key as AES key bytes; ValueError if it cannot be one."""
    raw = value.encode("utf-8")
    if len(raw) not in AES_KEY_SIZES:
        raise ValueError(
            f"must be 16, 24 or 32 bytes long (the plugin uses the setting's text as the "
            f"AES key), not {len(raw)}"
        )
    return raw


def user_id_from_key(key: str, prefix: str) -> str | None:
    """The Mattermost user ID of a ``<prefix><user id>`` key, or None."""
    if not key.startswith(prefix):
        return None
    user_id = key[len(prefix) :]
    return user_id or None


def decrypt_access_token(key: bytes, text: str) -> str:
    """Decrypt an access token as the plugin stored it.

    Stricter than the plugin: the padding must be well-formed and the token printable
    ASCII, so that a wrong key is detected instead of producing garbage.
    """
    try:
        data = base64.b64decode(text.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise UnreadableRecord("the access token is not URL-safe base64") from None
    if len(data) < 2 * _BLOCK or len(data) % _BLOCK:
        raise UnreadableRecord("the access token has the wrong length for AES")
    iv, body = data[:_BLOCK], data[_BLOCK:]
    decryptor = Cipher(algorithms.AES(key), CFB(iv)).decryptor()
    padded = decryptor.update(body) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= _BLOCK or padded[-pad:] != bytes([pad]) * pad:
        raise UnreadableRecord("the access token does not decrypt with this key")
    token = padded[:-pad]
    if not token or any(not 0x21 <= b <= 0x7E for b in token):
        raise UnreadableRecord("the access token does not decrypt with this key")
    return token.decode("ascii")


def parse_user_record(mm_user_id: str, raw: bytes, key: bytes) -> PluginUser:
    """A ``zoomtoken_<mm_user_id>`` value, decrypted. Raises ``UnreadableRecord``."""
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise UnreadableRecord("the record is not JSON") from None
    if not isinstance(record, dict):
        raise UnreadableRecord("the record is not a JSON object")
    owner = record.get("UserID")
    if owner not in (None, "", mm_user_id):
        raise UnreadableRecord("the record names another Mattermost user")
    token = record.get("OAuthToken")
    if not isinstance(token, dict):
        raise UnreadableRecord("the record has no OAuth token")
    encrypted = token.get("access_token")
    refresh = token.get("refresh_token")
    if not isinstance(encrypted, str) or not encrypted:
        raise UnreadableRecord("the record has no access token")
    if not isinstance(refresh, str) or not refresh:
        raise UnreadableRecord("the record has no refresh token")
    zoom_user_id = record.get("ZoomID")
    if not isinstance(zoom_user_id, str) or not zoom_user_id:
        raise UnreadableRecord("the record has no Zoom user ID")
    email = record.get("ZoomEmail")
    return PluginUser(
        mm_user_id=mm_user_id,
        zoom_user_id=zoom_user_id,
        zoom_email=email if isinstance(email, str) else "",
        access_token=decrypt_access_token(key, encrypted),
        refresh_token=refresh,
        access_expires_at=parse_expiry(token.get("expiry")),
    )


def parse_expiry(value: object) -> datetime | None:
    """An OAuth token's ``expiry`` (RFC 3339, nanoseconds allowed); None when absent
    or Go's zero time (the plugin then never knew when the token expires)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.year <= 1:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def preference_choice(value: str) -> MeetingIdChoice | None:
    """The plugin's stored preference as a meeting ID choice; None when never set.

    As the plugin reads it: ``"true"`` is the personal meeting ID, ``"ask"`` asks
    each time, anything else a unique meeting ID.
    """
    if value == "":
        return None
    if value == "true":
        return MeetingIdChoice.PERSONAL
    if value == "ask":
        return MeetingIdChoice.ASK
    return MeetingIdChoice.UNIQUE


def parse_preference_record(raw: bytes) -> MeetingIdChoice | None:
    """A ``zoomUserPreference_<id>`` value (a JSON string). Raises ``UnreadableRecord``."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise UnreadableRecord("the preference is not JSON") from None
    if not isinstance(value, str):
        raise UnreadableRecord("the preference is not a JSON string")
    return preference_choice(value)
