"""/zoom channel-settings: channel admins allow or restrict meetings in their channel."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mattermost_zoom.simulators.mattermost_model import Channel, DialogResult, User
from tests.harness import World, build_world


@pytest.fixture
def team_room(world: World) -> Channel:
    """A public channel where alice is a channel admin and bob a member."""
    return world.mm.add_channel(world.team, "O", "planning", [world.bob], admins=[world.alice])


def choose(world: World, user: User, channel: Channel, value: str) -> DialogResult:
    world.run(user, channel, "/zoom channel-settings")
    dialog = world.mm.last_dialog(user.id)
    return world.mm.submit_dialog_sync(user.id, dialog, {"preference": value})


def test_channel_admin_restricts_meetings_in_the_channel(world: World, team_room: Channel) -> None:
    result = choose(world, world.alice, team_room, "restrict")
    assert result.status_code == 200
    world.wait_for_ephemeral(world.alice, team_room, "Restrict meetings")

    world.connect(world.bob, world.bob_zoom)
    world.run(world.bob, team_room, "/zoom start")
    world.wait_for_ephemeral(world.bob, team_room, "turned off in this channel")
    assert world.cards(team_room) == []


@pytest.fixture
def restricted(database_url: str) -> Iterator[World]:
    with build_world(database_url, MMZOOM_RESTRICT_MEETING_CREATION="true") as w:
        yield w


def test_allow_overrides_the_server_wide_restriction(restricted: World) -> None:
    w = restricted
    room = w.mm.add_channel(w.team, "O", "allowed", [w.bob], admins=[w.alice])
    choose(w, w.alice, room, "allow")
    w.connect(w.bob, w.bob_zoom)
    w.run(w.bob, room, "/zoom start")
    w.wait_for_card(room)

    choose(w, w.alice, room, "default")
    w.run(w.bob, w.town_square, "/zoom start")
    w.wait_for_ephemeral(w.bob, w.town_square, "public channels is turned off")


def test_members_who_are_not_channel_admins_are_refused(world: World, team_room: Channel) -> None:
    reply = world.run(world.bob, team_room, "/zoom channel-settings").ephemeral_posts[-1]
    assert "Only channel admins and system admins" in reply["message"]
    assert world.mm.open_dialogs(world.bob.id) == []


def test_no_policy_in_direct_messages(world: World) -> None:
    dm = world.mm.direct_channel(world.alice, world.bob)
    reply = world.run(world.alice, dm, "/zoom channel-settings").ephemeral_posts[-1]
    assert "Direct and group messages" in reply["message"]


def test_forged_or_foreign_submission_is_forbidden(world: World, team_room: Channel) -> None:
    world.run(world.alice, team_room, "/zoom channel-settings")
    dialog = world.mm.last_dialog(world.alice.id)
    body = {
        "type": "dialog_submission",
        "callback_id": "channel-settings",
        "state": dialog.dialog["state"],
        "user_id": world.bob.id,  # bob replays alice's dialog
        "channel_id": team_room.id,
        "team_id": world.team.id,
        "submission": {"preference": "restrict"},
        "cancelled": False,
    }
    assert httpx.post(dialog.url, json=body).status_code == 403
    body.update(user_id=world.alice.id, state=dialog.dialog["state"][:-4] + "AAAA")
    assert httpx.post(dialog.url, json=body).status_code == 403
    listing = world.run(world.alice, team_room, "/zoom channel-settings list").ephemeral_posts[-1]
    assert "Only system admins" in listing["message"]


def test_invalid_choice_is_refused_in_the_dialog(world: World, team_room: Channel) -> None:
    world.run(world.alice, team_room, "/zoom channel-settings")
    dialog = world.mm.last_dialog(world.alice.id)
    result = world.mm.submit_dialog_sync(
        world.alice.id, dialog, {"preference": "sometimes"}, validate=False
    )
    assert result.errors == {"preference": "Choose one of the options."}


def test_system_admin_lists_channels_that_differ(world: World, team_room: Channel) -> None:
    choose(world, world.alice, team_room, "restrict")
    admin = world.mm.add_user("root", roles="system_admin system_user")
    world.mm.add_member(world.town_square, admin)
    listing = world.run(admin, world.town_square, "/zoom channel-settings list").ephemeral_posts[-1]
    assert "~planning" in listing["message"]
    assert "Restrict meetings" in listing["message"]
    assert "town-square" not in listing["message"]


def test_help_shows_channel_settings_to_channel_admins_only(
    world: World, team_room: Channel
) -> None:
    admin_help = world.run(world.alice, team_room, "/zoom help").ephemeral_posts[-1]["message"]
    member_help = world.run(world.bob, team_room, "/zoom help").ephemeral_posts[-1]["message"]
    assert "/zoom channel-settings" in admin_help
    assert "/zoom channel-settings" not in member_help
    assert "/zoom channel-settings list" not in admin_help
