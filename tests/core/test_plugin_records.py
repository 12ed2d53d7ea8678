"""Reading the Go plugin's records: its access-token encryption, its JSON, its
preference values. What goes wrong must say so, and never show a token."""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime
from typing import Any

import pytest

from mattermost_zoom.core.models import MeetingIdChoice
from mattermost_zoom.core.plugin_records import (
    PREFERENCE_KEY_PREFIX,
    USER_KEY_PREFIX,
    UnreadableRecord,
    decrypt_access_token,
    parse_expiry,
    parse_preference_record,
    parse_user_record,
    plugin_key,
    preference_choice,
    user_id_from_key,
)
from tests.plugin_data import (
    GO_ZERO_TIME,
    cfb128_encrypt,
    encrypt_like_plugin,
    go_time,
    preference_record,
    user_record,
)

KEY = b"0123456789abcdefghijklmnopqrstuv"  # the plugin generates 32 characters: AES-256
OTHER_KEY = b"vutsrqponmlkjihgfedcba9876543210"


def test_the_test_cipher_is_standard_cfb128() -> None:
    # NIST SP 800-38A, F.3.13 (CFB128-AES128.Encrypt), first two blocks: the same
    # mode as Go's cipher.NewCFBEncrypter, which the plugin uses.
    ciphertext = cfb128_encrypt(
        bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c"),
        bytes.fromhex("000102030405060708090a0b0c0d0e0f"),
        bytes.fromhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"),
    )
    assert ciphertext.hex() == ("3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b")


@pytest.mark.parametrize(
    ("key", "stored", "token"),
    [
        # Produced by encrypting as the plugin does, with fixed IVs.
        (
            KEY,
            "AAECAwQFBgcICQoLDA0OD08hLWurxpR5enqkQUvrbfjdD1GUsRpXaOU3iJXpr7X3hiH0w7-OFqAP_X-jxNoxmw==",
            "eyJhbGciOiJIUzUxMiJ9.access-token-of-alice",
        ),
        (b"sixteen-byte-key", "_____________________4cQsGQC0LspdJo_gJPNibY=", "tok"),
    ],
)
def test_known_vectors_decrypt(key: bytes, stored: str, token: str) -> None:
    assert decrypt_access_token(key, stored) == token


@pytest.mark.parametrize("key_size", [16, 24, 32])
def test_every_token_length_and_key_size_round_trips(key_size: int) -> None:
    key = KEY[:key_size]
    for length in range(1, 50):  # short, block-aligned (a whole padding block), long
        token = "".join(random.choices(string.ascii_letters + string.digits + "-_.", k=length))
        assert decrypt_access_token(key, encrypt_like_plugin(key, token)) == token


def test_a_wrong_key_is_detected_not_turned_into_garbage() -> None:
    rng = random.Random(7)
    for _ in range(500):
        token = "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(1, 60)))
        with pytest.raises(UnreadableRecord, match="does not decrypt with this key"):
            decrypt_access_token(OTHER_KEY, encrypt_like_plugin(KEY, token))


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ("not base64 at all!", "not URL-safe base64"),
        ("AAECAwQFBgcICQoLDA0ODw==", "wrong length"),  # an IV and nothing else
        ("AAECAwQFBgcICQoLDA0OD08h", "wrong length"),  # not whole blocks
    ],
)
def test_malformed_ciphertext_is_unreadable(stored: str, reason: str) -> None:
    with pytest.raises(UnreadableRecord, match=reason):
        decrypt_access_token(KEY, stored)


def test_the_plugin_key_is_the_settings_text_as_aes_key() -> None:
    assert plugin_key("k" * 32) == b"k" * 32
    assert plugin_key("k" * 16) == b"k" * 16
    for bad in ("", "k" * 31, "k" * 33, "é" * 16):  # 32 bytes of UTF-8 is fine, 16 chars is not
        if len(bad.encode()) in (16, 24, 32):
            continue
        with pytest.raises(ValueError, match="16, 24 or 32 bytes"):
            plugin_key(bad)


def record(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "mm_user_id": "mmuser1",
        "zoom_user_id": "zoomUser1",
        "zoom_email": "alice@example.com",
        "access_token": "access-1",
        "refresh_token": "refresh-1",
        "expiry": "2026-01-02T15:04:05.123456789Z",
        "expires_in": 3599,
    }
    fields.update(overrides)
    return user_record(KEY, **fields)  # type: ignore[arg-type]


def test_a_user_record_gives_the_connection_with_tokens_in_the_clear() -> None:
    user = parse_user_record("mmuser1", record(), KEY)
    assert user.mm_user_id == "mmuser1"
    assert user.zoom_user_id == "zoomUser1"
    assert user.zoom_email == "alice@example.com"
    assert user.access_token == "access-1"
    assert user.refresh_token == "refresh-1"  # the plugin stores it unencrypted
    assert user.access_expires_at == datetime(2026, 1, 2, 15, 4, 5, 123456, tzinfo=UTC)
    assert "access-1" not in repr(user) and "refresh-1" not in repr(user)


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        ("2026-01-02T15:04:05Z", datetime(2026, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("2026-01-02T08:04:05.5-07:00", datetime(2026, 1, 2, 15, 4, 5, 500000, tzinfo=UTC)),
        (GO_ZERO_TIME, None),  # the plugin never knew: treat as expired
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_token_expiry(expiry: object, expected: datetime | None) -> None:
    assert parse_expiry(expiry) == expected


def test_go_time_as_written_by_the_test_helper_parses() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    assert parse_expiry(go_time(moment)) == moment


def test_a_record_without_expiry_counts_as_expired() -> None:
    raw = json.loads(record())
    del raw["OAuthToken"]["expiry"]
    assert parse_user_record("mmuser1", json.dumps(raw).encode(), KEY).access_expires_at is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b'"a string"', "not a JSON object"),
        (b'{"UserID":"mmuser1","ZoomID":"z"}', "no OAuth token"),
        (record(mm_user_id="someone-else"), "names another Mattermost user"),
        (record(refresh_token=""), "no refresh token"),
        (record(zoom_user_id=""), "no Zoom user ID"),
    ],
)
def test_unusable_records_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(UnreadableRecord, match=reason) as caught:
        parse_user_record("mmuser1", raw, KEY)
    assert "access-1" not in str(caught.value) and "refresh-1" not in str(caught.value)


def test_a_record_encrypted_with_another_key_is_unreadable_without_leaking() -> None:
    with pytest.raises(UnreadableRecord) as caught:
        parse_user_record("mmuser1", user_record(OTHER_KEY, **_fields()), KEY)
    assert "refresh-1" not in str(caught.value)


def _fields() -> dict[str, Any]:
    return {
        "mm_user_id": "mmuser1",
        "zoom_user_id": "zoomUser1",
        "zoom_email": "a@example.com",
        "access_token": "access-1",
        "refresh_token": "refresh-1",
        "expiry": GO_ZERO_TIME,
    }


@pytest.mark.parametrize(
    ("value", "choice"),
    [
        ("true", MeetingIdChoice.PERSONAL),
        ("false", MeetingIdChoice.UNIQUE),
        ("ask", MeetingIdChoice.ASK),
        ("", None),  # never chosen
    ],
)
def test_preferences_mean_what_the_plugin_makes_of_them(
    value: str, choice: MeetingIdChoice | None
) -> None:
    assert parse_preference_record(preference_record(value)) == choice
    assert preference_choice(value) == choice  # the older, unquoted place


@pytest.mark.parametrize("raw", [b"true", b"{", b"null"])
def test_a_preference_that_is_not_a_json_string_is_unreadable(raw: bytes) -> None:
    with pytest.raises(UnreadableRecord):
        parse_preference_record(raw)


def test_user_ids_come_from_the_keys() -> None:
    assert user_id_from_key("zoomtoken_abc", USER_KEY_PREFIX) == "abc"
    assert user_id_from_key("zoomtokenbyzoomid_abc", USER_KEY_PREFIX) is None
    assert user_id_from_key("zoomtoken_", USER_KEY_PREFIX) is None
    assert user_id_from_key("zoomUserPreference_abc", PREFERENCE_KEY_PREFIX) == "abc"
