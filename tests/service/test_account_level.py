"""Account-level app: one system admin connects once; everyone else is found in
Zoom by their Mattermost email."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import World, build_world, link_in


@pytest.fixture
def account(database_url: str) -> Iterator[World]:
    with build_world(database_url, MMZOOM_ACCOUNT_LEVEL_APP="true") as w:
        yield w


def admin_of(w: World) -> tuple[object, object]:
    admin = w.mm.add_user("root", email="it@example.com", roles="system_admin system_user")
    w.mm.add_member(w.town_square, admin)
    zoom_admin = w.zoom.add_user(
        "it@example.com", "IT", "Admin", account_id=w.alice_zoom.account_id
    )
    return admin, zoom_admin


def connect_account(w: World) -> None:
    admin, zoom_admin = admin_of(w)
    reply = w.run(admin, w.town_square, "/zoom connect").ephemeral_posts[-1]  # type: ignore[arg-type]
    page = w.open_link(link_in(reply), zoom_admin)  # type: ignore[arg-type]
    assert page.status_code == 200


def test_only_a_system_admin_may_connect_or_disconnect(account: World) -> None:
    w = account
    for command in ("/zoom connect", "/zoom disconnect"):
        reply = w.run(w.alice, w.town_square, command).ephemeral_posts[-1]
        assert "only a system admin" in reply["message"]
    help_text = w.run(w.alice, w.town_square, "/zoom help").ephemeral_posts[-1]["message"]
    assert "/zoom connect" not in help_text
    admin, _ = admin_of(w)
    admin_help = w.run(admin, w.town_square, "/zoom help").ephemeral_posts[-1]["message"]  # type: ignore[arg-type]
    assert "/zoom connect" in admin_help


def test_before_the_admin_connects_users_are_told_to_ask_one(account: World) -> None:
    w = account
    w.run(w.alice, w.town_square, "/zoom start")
    w.wait_for_ephemeral(w.alice, w.town_square, "Ask a system admin")
    assert w.cards(w.town_square) == []


def test_users_start_meetings_in_their_own_zoom_account(account: World) -> None:
    w = account
    connect_account(w)
    w.run(w.bob, w.town_square, "/zoom start Planning")
    card = w.wait_for_card(w.town_square)
    meeting = w.zoom.meetings[card["props"]["meeting_id"]]
    assert meeting["host_id"] == w.bob_zoom.id
    assert card["props"]["meeting_creator_username"] == "bob"


def test_email_unknown_to_zoom_gets_a_clear_message(account: World) -> None:
    w = account
    connect_account(w)
    carol = w.mm.add_user("carol", email="carol@elsewhere.example")
    w.mm.add_member(w.town_square, carol)
    w.run(carol, w.town_square, "/zoom start")
    notice = w.wait_for_ephemeral(carol, w.town_square, "carol@elsewhere.example")
    assert "Zoom has no user" in notice["message"]
    assert w.cards(w.town_square) == []
