"""/zoom subscription: a channel gets a card each time a meeting starts in Zoom."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from mattermost_zoom.core.subscriptions import Subscription
from mattermost_zoom.simulators.mattermost_model import User
from mattermost_zoom.simulators.zoom import ZoomUser
from mattermost_zoom.store.migrate import migrate
from mattermost_zoom.store.repository import Store
from tests.harness import World, link_in, reply, wait_for_queue, wait_until


def zoom_meeting(world: World, host: ZoomUser, topic: str = "Weekly sync") -> dict[str, Any]:
    """A recurring meeting the host scheduled in Zoom itself."""
    return world.zoom.store_meeting(world.zoom.new_meeting(host, {"topic": topic, "type": 8}))


def spaced(meeting_id: int | str) -> str:
    """The ID as Zoom shows it: 812 3456 7890."""
    text = str(meeting_id)
    return f"{text[:-8]} {text[-8:-4]} {text[-4:]}"


def subscribe(world: World, meeting: dict[str, Any]) -> str:
    """Alice subscribes town square to ``meeting``, typing the ID as Zoom shows it;
    her answer."""
    command = f"/zoom subscription add {spaced(meeting['id'])}"
    return reply(world, world.alice, world.town_square, command, "subscribed")


def deliver(world: World, event: dict[str, Any]) -> None:
    url = f"{world.url}/webhook?secret={world.env['MMZOOM_WEBHOOK_SECRET']}"
    response = asyncio.run(world.zoom.deliver(url, event, world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"]))
    assert response.status_code == 200, response.text


def add_admin(world: World) -> tuple[User, ZoomUser]:
    carol = world.mm.add_user("carol", roles="system_user system_admin")
    world.mm.add_member(world.town_square, carol)
    carol_zoom = world.zoom.add_user("carol@example.com", "Carol", "Admin", pmi=0)
    world.connect(carol, carol_zoom)
    return carol, carol_zoom


# --- the whole story --------------------------------------------------------------


def test_subscribed_meeting_gets_one_card_per_session_and_it_ends(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = zoom_meeting(world, world.alice_zoom)
    answer = subscribe(world, meeting)
    assert str(meeting["id"]) in answer
    assert world.cards(world.town_square) == []

    started = world.zoom.start_meeting(meeting["id"])
    deliver(world, started)
    card = world.wait_for_card(world.town_square)
    assert card["user_id"] == world.bot.id
    props = card["props"]
    assert props["meeting_id"] == meeting["id"]
    assert props["meeting_topic"] == "Weekly sync"
    assert props["meeting_status"] == "STARTED"
    # The host is alice, whom the service knows: the card says she started it.
    assert props["meeting_creator_username"] == "alice"
    # The link comes from Zoom, with the passcode in it: joining needs no typing.
    assert props["meeting_link"] == meeting["join_url"]

    # Zoom delivers the same start again, and once more with a new timestamp.
    deliver(world, started)
    deliver(world, {**started, "event_ts": started["event_ts"] + 1})
    deliver(world, world.zoom.end_meeting(meeting["id"]))
    wait_until(
        lambda: world.mm.posts[card["id"]]["props"]["meeting_status"] == "ENDED",
        what="the card to show the meeting ended",
    )
    assert len(world.cards(world.town_square)) == 1
    assert world.mm.posts[card["id"]]["message"] == "The meeting has ended."

    # The next session of the recurring meeting gets a card of its own.
    next_session = world.zoom.start_meeting(meeting["id"])
    next_session["payload"]["object"]["uuid"] = "next-session-uuid=="
    deliver(world, next_session)
    second = world.wait_for_card(world.town_square, count=2)
    assert second["id"] != card["id"]
    assert second["props"]["meeting_status"] == "STARTED"


def test_a_card_whose_answer_was_lost_is_not_posted_twice(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = zoom_meeting(world, world.alice_zoom)
    subscribe(world, meeting)
    # Mattermost posts the card, but the answer is lost on the way (a proxy's 504).
    world.mm.fail_next("POST", "/api/v4/posts", 504, after=True)
    deliver(world, world.zoom.start_meeting(meeting["id"]))
    card = world.wait_for_card(world.town_square)
    wait_for_queue(world)  # the retry has run

    assert [c["id"] for c in world.cards(world.town_square)] == [card["id"]]
    # The card is known as this session's: the end of the meeting ends it.
    deliver(world, world.zoom.end_meeting(meeting["id"]))
    wait_until(
        lambda: world.mm.posts[card["id"]]["props"]["meeting_status"] == "ENDED",
        what="the card to show the meeting ended",
    )


def test_card_uses_the_plain_join_link_when_the_subscriber_is_no_longer_connected(
    world: World,
) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = zoom_meeting(world, world.alice_zoom, topic="Board meeting")
    reply(
        world, world.alice, world.private, f"/zoom subscription add {meeting['id']}", "subscribed"
    )
    reply(world, world.alice, world.private, "/zoom disconnect", "disconnected")

    deliver(world, world.zoom.start_meeting(meeting["id"]))
    card = world.wait_for_card(world.private)
    assert card["props"]["meeting_link"] == f"{world.zoom.url}/j/{meeting['id']}"
    assert card["props"]["meeting_topic"] == "Board meeting"
    # She still hosts it in Zoom, and subscribed the channel with that account.
    assert card["props"]["meeting_creator_username"] == "alice"


def test_a_meeting_handed_to_a_host_unknown_here_is_posted_by_the_bot(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = zoom_meeting(world, world.alice_zoom)
    reply(
        world, world.alice, world.private, f"/zoom subscription add {meeting['id']}", "subscribed"
    )
    # In Zoom, alice makes bob (who never connected here) the host.
    with world.zoom.lock:
        world.zoom.meetings[meeting["id"]]["host_id"] = world.bob_zoom.id

    deliver(world, world.zoom.start_meeting(meeting["id"]))
    card = world.wait_for_card(world.private)
    assert card["props"]["meeting_creator_username"] == world.bot.username
    # Alice's account can no longer read the meeting: the plain link is used.
    assert card["props"]["meeting_link"] == f"{world.zoom.url}/j/{meeting['id']}"


def test_no_card_once_the_subscription_is_removed(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = zoom_meeting(world, world.alice_zoom)
    reply(
        world,
        world.alice,
        world.town_square,
        f"/zoom subscription add {meeting['id']}",
        "subscribed",
    )
    answer = reply(
        world,
        world.alice,
        world.town_square,
        f"/zoom subscription remove {spaced(meeting['id'])}",
        "no longer subscribed",
    )
    assert str(meeting["id"]) in answer

    deliver(world, world.zoom.start_meeting(meeting["id"]))
    wait_for_queue(world)
    assert world.cards(world.town_square) == []


def test_no_card_after_the_subscriber_left_the_channel(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = zoom_meeting(world, world.alice_zoom)
    reply(
        world, world.alice, world.private, f"/zoom subscription add {meeting['id']}", "subscribed"
    )
    with world.mm.lock:
        del world.mm.members[world.private.id][world.alice.id]

    deliver(world, world.zoom.start_meeting(meeting["id"]))
    wait_for_queue(world)
    assert world.cards(world.private) == []


# --- who may subscribe, and what they are told -----------------------------------


def test_subscribing_needs_channel_membership(world: World) -> None:
    world.connect(world.bob, world.bob_zoom)
    meeting = zoom_meeting(world, world.bob_zoom)
    answer = reply(
        world, world.bob, world.private, f"/zoom subscription add {meeting['id']}", "member of"
    )
    assert "Join the channel" in answer
    assert not any(r.path.startswith("/v2/meetings") for r in world.zoom.requests)


def test_subscribing_asks_an_unconnected_user_to_connect_first(world: World) -> None:
    meeting = zoom_meeting(world, world.bob_zoom)
    text = f"/zoom subscription add {meeting['id']}"
    prompt = reply(world, world.bob, world.town_square, text, "connect your Zoom account")
    page = world.open_link(link_in({"message": prompt}), world.bob_zoom)
    assert page.status_code == 200
    world.wait_for_ephemeral(world.bob, world.town_square, "connected to Zoom")

    reply(world, world.bob, world.town_square, text, "subscribed")


def test_unknown_or_invisible_meetings_are_not_found(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    reply(
        world,
        world.alice,
        world.town_square,
        "/zoom subscription add 999 9999 9999",
        "Zoom has no meeting 99999999999",
    )
    # Bob's meeting: Zoom does not show it to alice's account.
    bobs = zoom_meeting(world, world.bob_zoom)
    reply(
        world,
        world.alice,
        world.town_square,
        f"/zoom subscription add {bobs['id']}",
        f"Zoom has no meeting {bobs['id']}",
    )
    reply(
        world, world.alice, world.town_square, "/zoom subscription list", "no meeting subscriptions"
    )


def test_personal_meeting_ids_cannot_be_subscribed(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    answer = reply(
        world,
        world.alice,
        world.town_square,
        f"/zoom subscription add {spaced(world.alice_zoom.pmi)}",
        "personal meeting ID",
    )
    assert "Schedule a meeting" in answer
    reply(
        world, world.alice, world.town_square, "/zoom subscription list", "no meeting subscriptions"
    )


def test_a_meeting_posts_to_one_channel(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = zoom_meeting(world, world.alice_zoom)
    add = f"/zoom subscription add {meeting['id']}"
    reply(world, world.alice, world.town_square, add, "is subscribed to meeting")
    reply(world, world.alice, world.town_square, add, "already subscribed to meeting")
    answer = reply(world, world.alice, world.private, add, "another channel")
    assert f"/zoom subscription remove {meeting['id']}" in answer

    deliver(world, world.zoom.start_meeting(meeting["id"]))
    world.wait_for_card(world.town_square)
    wait_for_queue(world)
    assert world.cards(world.private) == []


def test_mistyped_subscription_commands_are_explained(world: World) -> None:
    cases = {
        "/zoom subscription": "Say what to do",
        "/zoom subscription frobnicate 123": "`frobnicate` is not a subscription action",
        "/zoom subscription add": "Give the meeting ID",
        "/zoom subscription remove": "Give the meeting ID",
        "/zoom subscription add next-tuesday": "is not a Zoom meeting ID",
        "/zoom subscription list everything": "takes no arguments",
    }
    for text, expected in cases.items():
        answer = world.run(world.alice, world.town_square, text).ephemeral_posts[-1]["message"]
        assert expected in answer, (text, answer)


def test_help_lists_the_subscription_commands(world: World) -> None:
    message = world.run(world.bob, world.town_square, "/zoom help").ephemeral_posts[-1]["message"]
    for usage in (
        "/zoom subscription add [meeting ID]",
        "/zoom subscription remove [meeting ID]",
        "/zoom subscription list",
    ):
        assert usage in message


# --- who may remove one -----------------------------------------------------------


def test_removing_rules(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = zoom_meeting(world, world.alice_zoom)
    meeting_id = meeting["id"]
    reply(
        world, world.alice, world.town_square, f"/zoom subscription add {meeting_id}", "subscribed"
    )
    remove = f"/zoom subscription remove {meeting_id}"

    reply(world, world.alice, world.private, remove, "subscribed in a different channel")
    reply(world, world.bob, world.private, remove, "from a channel you are a member of")
    reply(world, world.bob, world.town_square, remove, "Only the person who subscribed")
    reply(
        world,
        world.alice,
        world.town_square,
        "/zoom subscription remove 123456789",
        "not subscribed",
    )
    # Bob's attempts changed nothing: the meeting still posts here.
    deliver(world, world.zoom.start_meeting(meeting_id))
    world.wait_for_card(world.town_square)


def test_a_system_admin_may_remove_any_subscription_and_lists_them_all(world: World) -> None:
    carol, _ = add_admin(world)
    world.connect(world.alice, world.alice_zoom)
    world.connect(world.bob, world.bob_zoom)
    alices = zoom_meeting(world, world.alice_zoom, topic="Alice's sync")
    bobs = zoom_meeting(world, world.bob_zoom, topic="Bob's sync")
    reply(world, world.alice, world.private, f"/zoom subscription add {alices['id']}", "subscribed")
    reply(world, world.bob, world.town_square, f"/zoom subscription add {bobs['id']}", "subscribed")

    mine = reply(world, world.alice, world.town_square, "/zoom subscription list", "Meeting ID")
    assert f"| {alices['id']} | ~design |" in mine
    assert str(bobs["id"]) not in mine

    everything = reply(world, carol, world.town_square, "/zoom subscription list", "Meeting ID")
    assert f"| {alices['id']} | ~design | @alice |" in everything
    assert f"| {bobs['id']} | ~town-square | @bob |" in everything

    reply(world, carol, world.town_square, f"/zoom subscription remove {bobs['id']}", "no longer")
    reply(
        world, world.bob, world.town_square, "/zoom subscription list", "no meeting subscriptions"
    )
    # The admin still cannot remove it from a channel they are not in.
    reply(world, carol, world.private, f"/zoom subscription remove {alices['id']}", "member of")


# --- two deliveries of one start at the same moment ----------------------------------


def test_one_delivery_claims_a_session_however_many_arrive_at_once(database_url: str) -> None:
    """Two workers (in two processes, say) handle two deliveries of the same start:
    one of them posts the card; a retry of the winner may carry on."""
    migrate(database_url)

    async def scenario() -> None:
        store = Store.open(database_url)
        try:
            await store.add_subscription(
                Subscription("81234567890", "town", "alice", "zoom-alice", datetime.now(UTC))
            )
            claims = await asyncio.gather(
                *(store.claim_subscription_session("81234567890", "session-1", e) for e in (1, 2))
            )
            assert sorted(claims) == [False, True]
            winner = 1 if claims[0] else 2
            assert await store.claim_subscription_session("81234567890", "session-1", winner)
            assert not await store.claim_subscription_session("81234567890", "session-1", 3)
            # The next session of the meeting is free again.
            assert await store.claim_subscription_session("81234567890", "session-2", 3)
            assert not await store.claim_subscription_session("99999999999", "session-1", 4)
        finally:
            await store.close()

    asyncio.run(scenario())
