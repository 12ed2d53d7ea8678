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


def test_connected_user_with_a_saved_preference_gets_a_card_at_once(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    world.run(world.alice, world.town_square, "/zoom settings")
    settings = world.ephemerals(world.alice, world.town_square)[-1]
    clicked = world.click(world.alice, settings, "Use a Unique Meeting ID")
    assert clicked.api_status == 200
    saved = world.wait_for_ephemeral(world.alice, world.town_square, "Saved")
    assert saved["id"] == settings["id"], "the prompt is replaced, not repeated"
    assert "attachments" not in saved["props"], "its buttons are gone"

    world.run(world.alice, world.town_square, "/zoom start")
    card = world.wait_for_card(world.town_square)
    props = card["props"]
    assert props["meeting_topic"] == "Zoom Meeting"
    assert props["meeting_personal"] is False
    assert props["meeting_id"] != int(world.alice_zoom.pmi)
    attachment = props["attachments"][0]
    assert f"[Join Meeting]({props['meeting_link']})" in attachment["text"]


def test_unset_preference_asks_and_the_answer_becomes_the_default(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    world.run(world.alice, world.private, "/zoom start Retro")
    question = world.wait_for_ephemeral(world.alice, world.private, "Which meeting ID")
    assert world.cards(world.private) == []

    clicked = world.click(world.alice, question, "Use Personal Meeting ID")
    assert clicked.status_code == 200
    card = world.wait_for_card(world.private)
    assert card["props"]["meeting_personal"] is True
    assert card["props"]["meeting_id"] == world.alice_zoom.pmi
    assert card["props"]["meeting_topic"] == "Retro"
    pmi_meeting = world.zoom.meetings[world.alice_zoom.pmi]
    assert card["props"]["meeting_link"] == pmi_meeting["join_url"]

    # The choice was remembered: the next meeting starts without a question.
    world.run(world.alice, world.town_square, "/zoom start")
    assert world.wait_for_card(world.town_square)["props"]["meeting_personal"] is True
    assert not any(
        "Which meeting ID" in p["message"] for p in world.ephemerals(world.alice, world.town_square)
    )


def test_user_without_a_personal_meeting_id_is_never_asked(world: World) -> None:
    world.connect(world.bob, world.bob_zoom)
    world.run(world.bob, world.town_square, "/zoom start")
    card = world.wait_for_card(world.town_square)
    assert card["props"]["meeting_personal"] is False
    assert not any(
        "Which meeting ID" in p["message"] for p in world.ephemerals(world.bob, world.town_square)
    )


def test_meeting_refused_for_a_non_member(world: World) -> None:
    world.connect(world.bob, world.bob_zoom)
    world.run(world.bob, world.private, "/zoom start")
    world.wait_for_ephemeral(world.bob, world.private, "member of")
    assert world.cards(world.private) == []
    assert world.zoom.meetings == {} or all(m["type"] == 4 for m in world.zoom.meetings.values())


def test_recent_meeting_is_offered_to_join_or_replace(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    world.connect(world.bob, world.bob_zoom)
    world.run(world.bob, world.town_square, "/zoom start Standup")
    first = world.wait_for_card(world.town_square)

    world.run(world.alice, world.town_square, "/zoom start")
    offer = world.wait_for_ephemeral(world.alice, world.town_square, "a few seconds ago")
    assert "Standup" in offer["message"]
    assert len(world.cards(world.town_square)) == 1

    joined = world.click(world.alice, offer, "Join Meeting")
    assert joined.body["goto_location"] == first["props"]["meeting_link"]
    assert len(world.cards(world.town_square)) == 1

    world.run(world.alice, world.town_square, "/zoom start")
    offer = world.wait_for_ephemeral(world.alice, world.town_square, "a few seconds ago")
    world.click(world.alice, offer, "Create New Meeting")
    # Alice has a PMI and no preference yet, so she is asked which ID to use.
    question = world.wait_for_ephemeral(world.alice, world.town_square, "Which meeting ID")
    world.click(world.alice, question, "Use a Unique Meeting ID")
    second = world.wait_for_card(world.town_square, count=2)
    assert second["props"]["meeting_creator_username"] == "alice"
