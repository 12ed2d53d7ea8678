"""`mattermost-zoom rotate-key`: an old encryption key is retired and nobody has to
reconnect Zoom; a key removed too early is reported, and nothing is lost."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa

from mattermost_zoom.admin.rotate_key import KeyRotation, Outcome
from mattermost_zoom.clock import utcnow
from mattermost_zoom.config import load_settings
from mattermost_zoom.core.models import NewConnection
from mattermost_zoom.crypto import TokenCipher
from mattermost_zoom.simulators.sandbox import ENCRYPTION_KEY as KEY_A
from mattermost_zoom.simulators.server import ServerThread
from mattermost_zoom.store import rotation
from mattermost_zoom.store.migrate import migrate
from mattermost_zoom.store.repository import Store
from mattermost_zoom.store.rotation import ENCRYPTED_TABLES
from mattermost_zoom.store.urls import sync_url
from mattermost_zoom.web.app import create_app
from tests.harness import World, link_in

KEY_B = "the-new-key-that-replaces-the-old-one-0123456789"
CONNECTIONS = ENCRYPTED_TABLES[0]


def restart_service(world: World, keys: str) -> None:
    """Stop the service and start it again, on the same port, with other keys."""
    old = world.servers.pop()
    port = old.port
    old.stop()
    settings = load_settings(environ=dict(world.env, MMZOOM_ENCRYPTION_KEY=keys))
    world.servers.append(ServerThread(create_app(settings), port=port).start())


def rotate_key(world: World, keys: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`mattermost-zoom rotate-key` as an admin runs it, with the service's settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MMZOOM_")}
    return subprocess.run(
        [sys.executable, "-m", "mattermost_zoom", "rotate-key", *args],
        env={**clean, **world.env, "MMZOOM_ENCRYPTION_KEY": keys},
        capture_output=True,
        text=True,
        timeout=60,
    )


def prefer_unique_meetings(world: World) -> None:
    world.run(world.alice, world.town_square, "/zoom settings")
    settings = world.ephemerals(world.alice, world.town_square)[-1]
    world.click(world.alice, settings, "Use a Unique Meeting ID")
    world.wait_for_ephemeral(world.alice, world.town_square, "Saved")


def start_meeting(world: World, room_name: str) -> dict[str, object]:
    room = world.mm.add_channel(world.team, "O", room_name, [world.alice, world.bob])
    world.run(world.alice, room, "/zoom start")
    card = world.wait_for_card(room)
    asked = [p for p in world.ephemerals(world.alice, room) if "connect" in p["message"].lower()]
    assert asked == [], "nobody is asked to reconnect"
    return card


def stored_secrets(world: World) -> list[str]:
    engine = sa.create_engine(sync_url(world.settings.database_url))
    with engine.connect() as conn:
        values = [
            *conn.execute(sa.text("SELECT access_token FROM zoom_connections")).scalars(),
            *conn.execute(sa.text("SELECT refresh_token FROM zoom_connections")).scalars(),
            *conn.execute(sa.text("SELECT code_verifier FROM oauth_states")).scalars(),
        ]
    engine.dispose()
    return values


def assert_no_secrets(
    world: World, result: subprocess.CompletedProcess[str], ciphertexts: list[str]
) -> None:
    output = result.stdout + result.stderr
    secrets = [*world.zoom.access_tokens, *world.zoom.refresh_tokens, *ciphertexts, KEY_A, KEY_B]
    assert not [s for s in secrets if s in output], "a secret was printed"


def test_an_old_key_is_retired_without_anyone_reconnecting(world: World) -> None:
    # With key A: Alice is connected; Bob is half-way through connecting.
    world.connect(world.alice, world.alice_zoom)
    prefer_unique_meetings(world)
    world.run(world.bob, world.town_square, "/zoom connect")
    link = link_in(world.ephemerals(world.bob, world.town_square)[-1])
    to_zoom = httpx.get(link, follow_redirects=False)  # the state is stored, Bob is at Zoom
    assert to_zoom.status_code == 302

    # The admin puts the new key first; the service still reads what A encrypted.
    restart_service(world, f"{KEY_B},{KEY_A}")
    start_meeting(world, "before-rotation")
    ciphertexts = stored_secrets(world)

    result = rotate_key(world, f"{KEY_B},{KEY_A}", "--batch-size", "1")
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 1 of 2 rows" in result.stdout  # one batch at a time
    assert "re-encrypted 2 of 2 rows" in result.stdout
    assert "done: 2 re-encrypted, 0 already used the first key" in result.stdout
    assert "other keys can be removed" in result.stdout
    assert_no_secrets(world, result, ciphertexts)

    again = rotate_key(world, f"{KEY_B},{KEY_A}")
    assert again.returncode == 0, again.stderr
    assert "done: 0 re-encrypted, 2 already used the first key" in again.stdout

    # Key A is gone. Alice starts meetings, also after her access token expired
    # (the refresh token is read with B); Bob finishes connecting.
    restart_service(world, KEY_B)
    start_meeting(world, "after-rotation")
    world.let_tokens_expire(world.alice, world.alice_zoom)
    start_meeting(world, "after-refresh")
    assert world.zoom.refresh_count.get(world.alice_zoom.id) == 1

    page = world.open_link(to_zoom.headers["location"], world.bob_zoom)
    assert page.status_code == 200
    world.wait_for_ephemeral(world.bob, world.town_square, "connected to Zoom")


def test_removing_the_old_key_without_rotating_is_reported_and_recoverable(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    prefer_unique_meetings(world)

    restart_service(world, KEY_B)  # too early: nothing was re-encrypted
    room = world.mm.add_channel(world.team, "O", "too-early", [world.alice])
    world.run(world.alice, room, "/zoom start")
    answer = world.wait_for_ephemeral(world.alice, room, "cannot be read")
    assert "/zoom disconnect" in answer["message"], "Alice is told how to get going again"
    assert world.cards(room) == []
    health = httpx.get(f"{world.url}/healthz")
    assert health.status_code == 200, "the service keeps running"

    ciphertexts = stored_secrets(world)
    check = rotate_key(world, KEY_B)
    assert check.returncode == 1
    assert (
        "1 rows cannot be decrypted with any configured key (zoom_connections: 1)" in check.stderr
    )
    assert "done: 0 re-encrypted" in check.stdout
    assert_no_secrets(world, check, ciphertexts)
    assert stored_secrets(world) == ciphertexts, "unreadable rows are left as they were"

    # The admin puts the old key back behind the new one and rotates.
    fixed = rotate_key(world, f"{KEY_B},{KEY_A}")
    assert fixed.returncode == 0, fixed.stderr
    assert "done: 1 re-encrypted" in fixed.stdout
    start_meeting(world, "recovered")


def test_a_token_refreshed_during_the_rotation_is_never_overwritten(database_url: str) -> None:
    """A running service refreshes Alice's token between rotate-key reading her row
    and writing it: the refreshed token stays, whichever key the service wrote it with."""

    async def scenario(service_keys: list[str]) -> tuple[Outcome, str, str]:
        store = Store.open(database_url)
        old = TokenCipher([KEY_A])
        try:
            now = utcnow()
            await store.save_connection(alice_connection(old, "old-access", "old-refresh", now))
            [read_by_rotation] = await rotation.read_batch(
                store.engine, CONNECTIONS, after=None, limit=10, now=now
            )
            service = TokenCipher(service_keys)
            assert await store.store_refreshed_tokens(
                "alice",
                version=1,
                access_token_enc=service.encrypt("new-access"),
                refresh_token_enc=service.encrypt("new-refresh"),
                access_expires_at=now + timedelta(hours=1),
            )
            rotator = KeyRotation(store.engine, [KEY_B, KEY_A])
            outcome = await rotator.rotate_row(CONNECTIONS, read_by_rotation)
            conn = await store.get_connection("alice")
            assert conn is not None
            await store.engine.dispose()
            new_only = TokenCipher([KEY_B])
            return (
                outcome,
                new_only.decrypt(conn.access_token_enc),
                new_only.decrypt(conn.refresh_token_enc),
            )
        finally:
            await store.close()

    migrate(database_url)
    # The service already runs with the new key first: its write is kept as it is.
    assert asyncio.run(scenario([KEY_B, KEY_A])) == (Outcome.CURRENT, "new-access", "new-refresh")
    _empty(database_url)
    # A service still on the old key: the refreshed token is re-encrypted, not the old one.
    assert asyncio.run(scenario([KEY_A])) == (Outcome.ROTATED, "new-access", "new-refresh")


def test_a_row_deleted_during_the_rotation_is_not_brought_back(database_url: str) -> None:
    async def scenario() -> tuple[Outcome, bool]:
        store = Store.open(database_url)
        try:
            now = utcnow()
            old = TokenCipher([KEY_A])
            await store.save_connection(alice_connection(old, "a", "r", now))
            [row] = await rotation.read_batch(
                store.engine, CONNECTIONS, after=None, limit=10, now=now
            )
            await store.delete_connection("alice")  # Alice ran /zoom disconnect
            outcome = await KeyRotation(store.engine, [KEY_B, KEY_A]).rotate_row(CONNECTIONS, row)
            return outcome, await store.get_connection("alice") is not None
        finally:
            await store.close()

    migrate(database_url)
    assert asyncio.run(scenario()) == (Outcome.GONE, False)


def _empty(database_url: str) -> None:
    engine = sa.create_engine(sync_url(database_url))
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM zoom_connections"))
    engine.dispose()


def alice_connection(
    cipher: TokenCipher, access: str, refresh: str, now: datetime
) -> NewConnection:
    return NewConnection(
        mm_user_id="alice",
        zoom_user_id="zoom-alice",
        zoom_email="alice@example.com",
        pmi=None,
        access_token_enc=cipher.encrypt(access),
        refresh_token_enc=cipher.encrypt(refresh),
        access_expires_at=now,
        connected_at=now,
    )
