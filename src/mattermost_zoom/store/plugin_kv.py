"""Reading the Go Zoom plugin's data from Mattermost's own database, read-only.

Mattermost keeps every plugin's key-value pairs in one table (PostgreSQL names:
``pluginkeyvaluestore`` with ``pluginid``, ``pkey``, ``pvalue`` (bytea) and
``expireat``, milliseconds since the epoch, 0 or NULL for never) and user
preferences in ``preferences`` (``userid``, ``category``, ``name``, ``value``).
Only PostgreSQL is supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
    or_,
    select,
)
from sqlalchemy.engine import make_url

from mattermost_zoom.core.plugin_records import (
    LEGACY_PREFERENCE_CATEGORY,
    LEGACY_PREFERENCE_NAME,
    PLUGIN_ID,
    PREFERENCE_KEY_PREFIX,
    USER_KEY_PREFIX,
    user_id_from_key,
)

_mattermost = MetaData()

plugin_key_value_store = Table(
    "pluginkeyvaluestore",
    _mattermost,
    Column("pluginid", String(190), primary_key=True),
    Column("pkey", String(150), primary_key=True),
    Column("pvalue", LargeBinary),
    Column("expireat", BigInteger),
)

preferences = Table(
    "preferences",
    _mattermost,
    Column("userid", String(26), primary_key=True),
    Column("category", String(32), primary_key=True),
    Column("name", String(32), primary_key=True),
    Column("value", Text),
)


class NotMattermostDatabase(Exception):
    """The database has no plugin key-value table."""


class UnsupportedDatabase(Exception):
    """Not a PostgreSQL URL."""


@dataclass
class PluginData:
    # Mattermost user ID -> raw value, as the plugin wrote it.
    users: dict[str, bytes] = field(default_factory=dict)
    preferences: dict[str, bytes] = field(default_factory=dict)
    # From before the plugin used its key-value store: user ID -> plain value.
    legacy_preferences: dict[str, str] = field(default_factory=dict)


def postgres_url(url: str) -> str:
    """The SQLAlchemy URL for a Mattermost database URL as Mattermost writes it
    (``postgres://`` or ``postgresql://``, libpq query options allowed)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        parsed = make_url(url)
    except Exception:
        raise UnsupportedDatabase("not a database URL") from None
    if parsed.get_backend_name() != "postgresql":
        raise UnsupportedDatabase(f"{parsed.get_backend_name()} is not supported")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def read_plugin_data(url: str, now: datetime) -> PluginData:
    """Everything the import needs, in one read-only transaction."""
    engine = create_engine(postgres_url(url), execution_options={"postgresql_readonly": True})
    now_ms = int(now.timestamp() * 1000)
    data = PluginData()
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if plugin_key_value_store.name not in tables:
                raise NotMattermostDatabase()
            kv = plugin_key_value_store.c
            rows = conn.execute(
                select(kv.pkey, kv.pvalue).where(
                    kv.pluginid == PLUGIN_ID,
                    or_(
                        kv.pkey.startswith(USER_KEY_PREFIX, autoescape=True),
                        kv.pkey.startswith(PREFERENCE_KEY_PREFIX, autoescape=True),
                    ),
                    or_(kv.expireat.is_(None), kv.expireat <= 0, kv.expireat > now_ms),
                )
            )
            for key, value in rows:
                if value is None:
                    continue
                if user_id := user_id_from_key(key, USER_KEY_PREFIX):
                    data.users[user_id] = bytes(value)
                elif user_id := user_id_from_key(key, PREFERENCE_KEY_PREFIX):
                    data.preferences[user_id] = bytes(value)
            if preferences.name in tables:
                p = preferences.c
                legacy = conn.execute(
                    select(p.userid, p.value).where(
                        p.category == LEGACY_PREFERENCE_CATEGORY, p.name == LEGACY_PREFERENCE_NAME
                    )
                )
                data.legacy_preferences = {u: v or "" for u, v in legacy}
    finally:
        engine.dispose()
    return data
