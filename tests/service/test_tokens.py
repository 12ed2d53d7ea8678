"""Zoom tokens: refreshed exactly once, however many requests need it; a dead
refresh token disconnects the user with a clear way back."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mattermost_zoom.config import load_settings
from mattermost_zoom.simulators.server import ServerThread
from mattermost_zoom.web.app import create_app
from tests.harness import World, free_port


def channels_for_alice(world: World, count: int) -> list:  # type: ignore[type-arg]
    return [world.mm.add_channel(world.team, "O", f"room-{i}", [world.alice]) for i in range(count)]


def prefer_unique(world: World) -> None:
    world.run(world.alice, world.town_square, "/zoom settings")
    world.click(
        world.alice, world.ephemerals(world.alice, world.town_square)[-1], "Use a Unique Meeting ID"
    )


def test_concurrent_starts_with_an_expired_token_refresh_once(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    prefer_unique(world)
    world.let_tokens_expire(world.alice, world.alice_zoom)
    world.zoom.refresh_delay = 0.3  # widen the window in which a second refresh could start
    rooms = channels_for_alice(world, 6)

    with ThreadPoolExecutor(len(rooms)) as pool:
        list(pool.map(lambda room: world.run(world.alice, room, "/zoom start"), rooms))

    for room in rooms:
        world.wait_for_card(room)
    assert world.zoom.refresh_count.get(world.alice_zoom.id) == 1


def test_token_rejected_by_zoom_is_refreshed_once_and_the_meeting_still_starts(
    world: World,
) -> None:
    world.connect(world.alice, world.alice_zoom)
    prefer_unique(world)
    world.zoom.expire_access_tokens(world.alice_zoom.id)  # revoked early, not by our clock
    rooms = channels_for_alice(world, 4)
    with ThreadPoolExecutor(len(rooms)) as pool:
        list(pool.map(lambda room: world.run(world.alice, room, "/zoom start"), rooms))
    for room in rooms:
        world.wait_for_card(room)
    assert world.zoom.refresh_count.get(world.alice_zoom.id) == 1


def test_two_processes_sharing_a_database_refresh_once(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    prefer_unique(world)
    # A second instance of the service on the same database serves the second team.
    port = free_port()
    public_url = f"http://127.0.0.1:{port}/plugins/zoom"
    settings = load_settings(environ=dict(world.env, MMZOOM_PUBLIC_URL=public_url))
    second = ServerThread(create_app(settings), port=port).start()
    try:
        other_team = world.other_team_channel.team_id
        token = world.env["MMZOOM_SLASH_COMMAND_TOKEN"].split(",")[1]
        world.mm.register_command(other_team, url=f"{public_url}/command", token=token)
        rooms = channels_for_alice(world, 3) + [
            world.mm.add_channel(other_team, "O", f"elsewhere-{i}", [world.alice]) for i in range(3)
        ]
        world.let_tokens_expire(world.alice, world.alice_zoom)
        world.zoom.refresh_delay = 0.3
        with ThreadPoolExecutor(len(rooms)) as pool:
            list(pool.map(lambda room: world.run(world.alice, room, "/zoom start"), rooms))
        for room in rooms:
            world.wait_for_card(room)
    finally:
        second.stop()
    assert world.zoom.refresh_count.get(world.alice_zoom.id) == 1


def test_revoked_app_disconnects_the_user_and_says_how_to_reconnect(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    prefer_unique(world)
    world.zoom.revoke(world.alice_zoom.id)
    world.let_tokens_expire(world.alice, world.alice_zoom)

    world.run(world.alice, world.town_square, "/zoom start")
    notice = world.wait_for_ephemeral(world.alice, world.town_square, "no longer accepts")
    assert "connect your Zoom account" in notice["message"]
    assert world.cards(world.town_square) == []
    again = world.run(world.alice, world.town_square, "/zoom connect")
    assert "Connect your Zoom account" in again.ephemeral_posts[-1]["message"]


def test_refreshed_tokens_are_kept_for_the_next_meeting(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    prefer_unique(world)
    world.let_tokens_expire(world.alice, world.alice_zoom)
    room_a, room_b = channels_for_alice(world, 2)
    world.run(world.alice, room_a, "/zoom start")
    world.wait_for_card(room_a)
    world.run(world.alice, room_b, "/zoom start")
    world.wait_for_card(room_b)
    assert world.zoom.refresh_count.get(world.alice_zoom.id) == 1
