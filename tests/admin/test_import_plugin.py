"""`mattermost-zoom import-plugin-data`: the Go plugin's users start meetings here
without reconnecting; what cannot be imported is counted and explained; a second
run imports nothing twice; Mattermost's database is only read."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mattermost_zoom.simulators.mattermost_model import User
from mattermost_zoom.simulators.zoom import ZoomUser
from tests.conftest import PG_ADMIN_URL, SKIP_POSTGRES
from tests.harness import World
from tests.plugin_data import (
    GO_ZERO_TIME,
    MattermostDatabase,
    go_time,
    mattermost_database,
    preference_record,
    user_record,
)

PLUGIN_KEY = "Zq4rTn8vWm2yXb6cPd0fLg3hJk5sNe7u"  # the plugin generates 32 characters
OTHER_KEY = "a-different-32-character-key-000"


@pytest.fixture
def mattermost() -> Iterator[MattermostDatabase]:
    if SKIP_POSTGRES:
        pytest.skip("MMZOOM_TEST_SKIP_POSTGRES=1: Mattermost's database is PostgreSQL")
    with mattermost_database(PG_ADMIN_URL) as database:
        yield database


def connected_in_plugin(
    world: World,
    mattermost: MattermostDatabase,
    user: User,
    zoom_user: ZoomUser,
    *,
    expiry_known: bool = True,
    key: str = PLUGIN_KEY,
) -> dict[str, Any]:
    """The user connected Zoom through the plugin: Zoom issued tokens to the same Zoom
    app, and the plugin stored them under both of its keys."""
    tokens = world.zoom.issue_tokens(zoom_user.id, world.settings.oauth_client_id)
    expiry = datetime.now(UTC) + timedelta(seconds=tokens["expires_in"])
    record = user_record(
        key.encode(),
        mm_user_id=user.id,
        zoom_user_id=zoom_user.id,
        zoom_email=zoom_user.email,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        expiry=go_time(expiry) if expiry_known else GO_ZERO_TIME,
        expires_in=tokens["expires_in"] if expiry_known else None,
    )
    mattermost.put(f"zoomtoken_{user.id}", record)
    mattermost.put(f"zoomtokenbyzoomid_{zoom_user.id}", record)
    return tokens


def import_plugin_data(
    world: World, mattermost: MattermostDatabase, key: str = PLUGIN_KEY, *, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The command as an admin runs it, with the service's settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MMZOOM_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mattermost_zoom",
            "import-plugin-data",
            "--mattermost-db",
            mattermost.url.replace("postgresql://", "postgres://", 1),  # as Mattermost writes it
            "--plugin-encryption-key",
            "-" if stdin is not None else key,
        ],
        env={**clean, **world.env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_no_secrets(world: World, result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    secrets = [*world.zoom.access_tokens, *world.zoom.refresh_tokens, PLUGIN_KEY, OTHER_KEY]
    assert not [s for s in secrets if s in output], "a secret was printed"


def start(world: World, user: User, room_name: str) -> tuple[Any, list[dict[str, Any]]]:
    room = world.mm.add_channel(world.team, "O", room_name, [world.alice, world.bob])
    world.run(user, room, "/zoom start")
    return room, world.ephemerals(user, room)


def test_plugin_users_start_meetings_without_reconnecting(
    world: World, mattermost: MattermostDatabase
) -> None:
    # Alice's token is fresh and she uses her personal meeting ID; the plugin never
    # knew when Bob's expires, and Bob chose unique IDs before the plugin kept
    # settings in its key-value store.
    connected_in_plugin(world, mattermost, world.alice, world.alice_zoom)
    connected_in_plugin(world, mattermost, world.bob, world.bob_zoom, expiry_known=False)
    mattermost.put(f"zoomUserPreference_{world.alice.id}", preference_record("true"))
    mattermost.put_preference(world.bob.id, "plugin:zoom", "use-pmi", "false")
    # Not the plugin's users: another plugin's key, an OAuth state, an expired key.
    mattermost.put("zoomtoken_intruder", b"{}", plugin_id="someotherplugin")
    mattermost.put(f"zoomuserstate_{world.alice.id}", b"abc_def_ghi_true", expire_at=1)
    mattermost.put("zoomtoken_expired", b"{}", expire_at=1)
    before = mattermost.snapshot()

    result = import_plugin_data(world, mattermost)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "found 2 users connected to Zoom and 2 meeting ID settings" in out
    assert "users: 2 of 2 done" in out
    assert "users imported: 2" in out
    assert "users already connected here: 0" in out
    assert "users unreadable: 0" in out
    assert "meeting ID settings: 2 imported, 0 already set here, 0 unreadable" in out
    assert "keep the Zoom plugin disabled" in out
    assert_no_secrets(world, result)
    assert mattermost.snapshot() == before, "Mattermost's database is only read"
    # Bob's unknown expiry counted as expired: refreshed once, while importing.
    assert world.zoom.refresh_count.get(world.bob_zoom.id) == 1
    assert world.alice_zoom.id not in world.zoom.refresh_count

    room, alice_said = start(world, world.alice, "alice-room")
    card = world.wait_for_card(room)
    assert card["props"]["meeting_id"] == world.alice_zoom.pmi, "her personal meeting ID"
    assert card["props"]["meeting_creator_username"] == "alice"
    assert not [p for p in alice_said if "connect" in p["message"].lower()]

    room, bob_said = start(world, world.bob, "bob-room")
    card = world.wait_for_card(room)
    assert card["props"]["meeting_creator_username"] == "bob"
    assert world.zoom.meetings[card["props"]["meeting_id"]]["host_id"] == world.bob_zoom.id
    assert not [p for p in bob_said if "connect" in p["message"].lower()]

    world.run(world.alice, world.town_square, "/zoom connect")
    world.wait_for_ephemeral(world.alice, world.town_square, "alice@example.com) is already")

    again = import_plugin_data(world, mattermost, stdin=PLUGIN_KEY + "\n")
    assert again.returncode == 0, again.stderr
    assert "users imported: 0" in again.stdout
    assert "users already connected here: 2" in again.stdout
    assert "meeting ID settings: 0 imported, 2 already set here" in again.stdout
    assert world.zoom.refresh_count.get(world.bob_zoom.id) == 1, "no token touched twice"


def test_unreadable_records_are_counted_and_everyone_else_is_imported(
    world: World, mattermost: MattermostDatabase
) -> None:
    carol = world.mm.add_user("carol")
    connected_in_plugin(world, mattermost, world.alice, world.alice_zoom)
    connected_in_plugin(world, mattermost, world.bob, world.bob_zoom, key=OTHER_KEY)
    mattermost.put(f"zoomtoken_{carol.id}", b'{"ZoomEmail": "carol@exa')
    mattermost.put(f"zoomUserPreference_{world.alice.id}", preference_record("true"))
    mattermost.put(f"zoomUserPreference_{carol.id}", b"{")
    # Alice already chose unique meeting IDs here: her choice here wins.
    world.run(world.alice, world.town_square, "/zoom settings")
    settings = world.ephemerals(world.alice, world.town_square)[-1]
    world.click(world.alice, settings, "Use a Unique Meeting ID")
    world.wait_for_ephemeral(world.alice, world.town_square, "Saved")

    result = import_plugin_data(world, mattermost)

    assert result.returncode == 1
    assert "users imported: 1" in result.stdout
    assert "users unreadable: 2" in result.stdout
    assert "meeting ID settings: 0 imported, 1 already set here, 1 unreadable" in result.stdout
    assert (
        f"zoomtoken_{world.bob.id}: the access token does not decrypt with this key"
        in result.stderr
    )
    assert f"zoomtoken_{carol.id}: the record is not JSON" in result.stderr
    assert "check --plugin-encryption-key" in result.stderr
    assert_no_secrets(world, result)

    room, _ = start(world, world.alice, "alice-room")
    card = world.wait_for_card(room)
    assert card["props"]["meeting_id"] != world.alice_zoom.pmi, "her choice here was kept"
    room, _ = start(world, world.bob, "bob-room")
    world.wait_for_ephemeral(world.bob, room, "connect your Zoom account")
    assert world.cards(room) == []


def test_users_whose_zoom_authorization_was_revoked_connect_again_later(
    world: World, mattermost: MattermostDatabase
) -> None:
    connected_in_plugin(world, mattermost, world.alice, world.alice_zoom)
    connected_in_plugin(world, mattermost, world.bob, world.bob_zoom, expiry_known=False)
    world.zoom.revoke(world.bob_zoom.id)  # Bob removed the app in Zoom

    result = import_plugin_data(world, mattermost)

    assert result.returncode == 0, result.stderr
    assert "users imported: 1" in result.stdout
    assert "users refused by Zoom: 1" in result.stdout
    assert f"user {world.bob.id}: refused by Zoom" in result.stderr
    room, _ = start(world, world.bob, "bob-room")
    world.wait_for_ephemeral(world.bob, room, "connect your Zoom account")


def test_tokens_refused_for_everyone_point_at_the_zoom_app(
    world: World, mattermost: MattermostDatabase
) -> None:
    connected_in_plugin(world, mattermost, world.alice, world.alice_zoom, expiry_known=False)
    world.zoom.revoke(world.alice_zoom.id)

    result = import_plugin_data(world, mattermost)

    assert result.returncode == 1
    assert "MMZOOM_OAUTH_CLIENT_ID and MMZOOM_OAUTH_CLIENT_SECRET" in result.stderr


def test_while_zoom_is_down_nothing_is_lost_and_a_second_run_finishes(
    world: World, mattermost: MattermostDatabase
) -> None:
    for user, zoom_user in ((world.alice, world.alice_zoom), (world.bob, world.bob_zoom)):
        connected_in_plugin(world, mattermost, user, zoom_user, expiry_known=False)
        mattermost.put(f"zoomUserPreference_{user.id}", preference_record("false"))
    world.zoom.set_down(True)

    down = import_plugin_data(world, mattermost)

    assert down.returncode == 1
    assert "users imported: 0" in down.stdout
    assert "users not imported, Zoom unavailable: 2" in down.stdout
    assert "run the command again" in down.stderr
    assert_no_secrets(world, down)

    world.zoom.set_down(False)
    # The first user's token is refreshed, then Zoom fails the profile look-up: the
    # refreshed token is kept (the plugin's is spent), without a personal meeting ID.
    world.zoom.fail_next("GET", "/v2/users/me", 503, times=1)
    up = import_plugin_data(world, mattermost)
    assert up.returncode == 0, up.stderr
    assert "users imported: 2" in up.stdout
    assert "users imported without their personal meeting ID: 1" in up.stdout
    for user, name in ((world.alice, "alice-room"), (world.bob, "bob-room")):
        room, said = start(world, user, name)
        world.wait_for_card(room)
        assert not [p for p in said if "connect" in p["message"].lower()]


def test_what_cannot_work_is_refused_before_anything_is_read(
    world: World, mattermost: MattermostDatabase
) -> None:
    connected_in_plugin(world, mattermost, world.alice, world.alice_zoom)

    short_key = import_plugin_data(world, mattermost, key="too-short-a-key")
    assert short_key.returncode == 2
    assert "must be 16, 24 or 32 bytes long" in short_key.stderr
    assert "too-short-a-key" not in short_key.stderr + short_key.stdout

    clean = {k: v for k, v in os.environ.items() if not k.startswith("MMZOOM_")}

    def run(database: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "mattermost_zoom",
                "import-plugin-data",
                "--mattermost-db",
                database,
                "--plugin-encryption-key",
                PLUGIN_KEY,
            ],
            env={**clean, **world.env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    mysql = run("mysql://mmuser:s3cret-pw@db/mattermost")
    assert mysql.returncode == 2
    assert "only PostgreSQL" in mysql.stderr
    assert "s3cret-pw" not in mysql.stderr

    not_mattermost = run(PG_ADMIN_URL)
    assert not_mattermost.returncode == 1
    assert "is it Mattermost's?" in not_mattermost.stderr

    # Nothing was imported by any of these.
    room, _ = start(world, world.alice, "alice-room")
    world.wait_for_ephemeral(world.alice, room, "connect your Zoom account")
