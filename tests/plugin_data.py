"""The Go Zoom plugin's data, written the way the plugin writes it (from the facts in
the plugin behaviour notes), and a PostgreSQL database shaped like Mattermost's.

The cipher is built by hand from the AES block function (CFB with 128-bit segments:
each ciphertext block is the plaintext XOR the encryption of the previous ciphertext
block, the IV first), so it shares no code with the service's decryption.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mattermost_zoom.simulators.scratch_database import scratch_postgres_database

BLOCK = 16
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def cfb128_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    assert len(plaintext) % BLOCK == 0
    block_cipher = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - one block at a time
    out = bytearray()
    previous = iv
    for i in range(0, len(plaintext), BLOCK):
        stream = block_cipher.update(previous)
        block = bytes(p ^ s for p, s in zip(plaintext[i : i + BLOCK], stream, strict=True))
        out += block
        previous = block
    return bytes(out)


def encrypt_like_plugin(key: bytes, text: str, iv: bytes | None = None) -> str:
    """Pad to whole blocks (n bytes of value n, a full block when already aligned), a
    random IV, AES-CFB, then URL-safe base64 with ``=`` padding of IV || ciphertext."""
    iv = iv if iv is not None else os.urandom(BLOCK)
    data = text.encode()
    pad = BLOCK - len(data) % BLOCK
    padded = data + bytes([pad]) * pad
    return base64.urlsafe_b64encode(iv + cfb128_encrypt(key, iv, padded)).decode()


def go_time(moment: datetime) -> str:
    """A time.Time as Go's encoding/json writes it in UTC (RFC 3339, nanoseconds,
    trailing zeros dropped)."""
    moment = moment.astimezone(UTC)
    fraction = f"{moment.microsecond:06d}123".rstrip("0")  # Go keeps nanoseconds
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def user_record(
    key: bytes,
    *,
    mm_user_id: str,
    zoom_user_id: str,
    zoom_email: str,
    access_token: str,
    refresh_token: str,
    expiry: str,
    expires_in: int | None = None,
) -> bytes:
    """A ``zoomtoken_<id>`` value: Go field names, compact JSON, access token encrypted."""
    token: dict[str, Any] = {
        "access_token": encrypt_like_plugin(key, access_token),
        "token_type": "bearer",
        "refresh_token": refresh_token,
        "expiry": expiry,
    }
    if expires_in is not None:
        token["expires_in"] = expires_in
    record = {
        "ZoomEmail": zoom_email,
        "OAuthToken": token,
        "UserID": mm_user_id,
        "ZoomID": zoom_user_id,
    }
    return json.dumps(record, separators=(",", ":")).encode()


def preference_record(value: str) -> bytes:
    """A ``zoomUserPreference_<id>`` value: the plugin's KV client stores JSON."""
    return json.dumps(value).encode()


# The shape of Mattermost's own tables on PostgreSQL (unquoted, so lower case).
_MATTERMOST_TABLES = (
    """CREATE TABLE pluginkeyvaluestore (
        pluginid varchar(190) NOT NULL,
        pkey varchar(150) NOT NULL,
        pvalue bytea,
        expireat bigint DEFAULT 0,
        PRIMARY KEY (pluginid, pkey)
    )""",
    """CREATE TABLE preferences (
        userid varchar(26) NOT NULL,
        category varchar(32) NOT NULL,
        name varchar(32) NOT NULL,
        value varchar(2000),
        PRIMARY KEY (userid, category, name)
    )""",
)


class MattermostDatabase:
    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))

    def put(
        self, key: str, value: bytes | None, *, plugin_id: str = "zoom", expire_at: int = 0
    ) -> None:
        """What the plugin API's KVSet does: insert or replace the value."""
        with self._engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO pluginkeyvaluestore (pluginid, pkey, pvalue, expireat) "
                    "VALUES (:p, :k, :v, :e) ON CONFLICT (pluginid, pkey) "
                    "DO UPDATE SET pvalue = :v, expireat = :e"
                ),
                {"p": plugin_id, "k": key, "v": value, "e": expire_at},
            )

    def put_preference(self, user_id: str, category: str, name: str, value: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO preferences VALUES (:u, :c, :n, :v)"),
                {"u": user_id, "c": category, "n": name, "v": value},
            )

    def snapshot(self) -> list[tuple[Any, ...]]:
        with self._engine.connect() as conn:
            kv = conn.execute(sa.text("SELECT * FROM pluginkeyvaluestore ORDER BY 1, 2")).all()
            prefs = conn.execute(sa.text("SELECT * FROM preferences ORDER BY 1, 2, 3")).all()
        return [tuple(r) for r in [*kv, *prefs]]

    def dispose(self) -> None:
        self._engine.dispose()


@contextmanager
def mattermost_database(admin_url: str) -> Iterator[MattermostDatabase]:
    """A throw-away database holding Mattermost's plugin key-value and preferences
    tables, dropped afterwards."""
    with scratch_postgres_database(admin_url, "mm_plugin") as url:
        database = MattermostDatabase(url)
        try:
            with database._engine.begin() as conn:
                for ddl in _MATTERMOST_TABLES:
                    conn.execute(sa.text(ddl))
            yield database
        finally:
            database.dispose()
