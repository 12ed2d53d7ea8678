"""/zoom start, end to end: connect on first use, then a card with a Join link."""

from __future__ import annotations

from tests.harness import World, link_in


def test_first_start_asks_to_connect_then_posts_the_card_when_connected(world: World) -> None:
    world.run(world.bob, world.town_square, "/zoom start Sprint planning")
    prompt = world.wait_for_ephemeral(world.bob, world.town_square, "connect your Zoom account")
    assert world.cards(world.town_square) == []

    page = world.open_link(link_in(prompt), world.bob_zoom)
    assert page.status_code == 200
    assert "connected" in page.text.lower()

    card = world.wait_for_card(world.town_square)
    assert card["user_id"] == world.bot.id
    props = card["props"]
    assert props["meeting_topic"] == "Sprint planning"
    assert props["meeting_status"] == "STARTED"
    assert props["meeting_creator_username"] == "bob"
    meeting = world.zoom.meetings[props["meeting_id"]]
    assert props["meeting_link"] == meeting["join_url"]
    assert meeting["host_id"] == world.bob_zoom.id
    assert meeting["topic"] == "Sprint planning"
