"""meeting.started and meeting.ended: the card tells the truth, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from mattermost_zoom.simulators.server import ServerThread
from mattermost_zoom.store.urls import sync_url
from mattermost_zoom.web.app import create_app
from tests.harness import World, wait_until
from tests.webhooks.zoom import deliver, fixture


def started_card(
    world: World, channel: Any = None, *, personal: bool = False, connect: bool = True
) -> dict[str, Any]:
    channel = channel or world.town_square
    if connect:
        world.connect(world.alice, world.alice_zoom, channel)
    world.run(world.alice, channel, "/zoom settings")
    label = "Use Personal Meeting ID" if personal else "Use a Unique Meeting ID"
    world.click(world.alice, world.ephemerals(world.alice, channel)[-1], label)
    count = len(world.cards(channel)) + 1
    world.run(world.alice, channel, "/zoom start Design review")
    return world.wait_for_card(channel, count)


def card_now(world: World, card: dict[str, Any]) -> dict[str, Any]:
    return world.mm.posts[card["id"]]


def wait_ended(world: World, card: dict[str, Any]) -> dict[str, Any]:
    wait_until(
        lambda: card_now(world, card)["props"]["meeting_status"] == "ENDED",
        what="the card to show the meeting ended",
    )
    return card_now(world, card)


def patches_of(world: World, card: dict[str, Any]) -> int:
    return sum(
        1
        for r in world.mm.requests
        if r.method == "PUT" and r.path.startswith(f"/api/v4/posts/{card['id']}")
    )


def test_ending_the_meeting_in_zoom_ends_the_card(world: World) -> None:
    card = started_card(world)
    meeting_id = card["props"]["meeting_id"]
    deliver(world, world.zoom.start_meeting(meeting_id))
    response = deliver(world, world.zoom.end_meeting(meeting_id))
    assert response.status_code == 200

    ended = wait_ended(world, card)
    assert ended["message"] == "The meeting has ended."
    props = ended["props"]
    assert props["meeting_topic"] == "Design review"
    assert props["meeting_creator_username"] == "alice"
    assert props["meeting_link"] == card["props"]["meeting_link"]
    fields = {f["title"]: f["value"] for f in props["attachments"][0]["fields"]}
    assert fields["Meeting Length"] == "1 minute"
    assert isinstance(props["meeting_end_time"], int)


def test_fixture_events_end_the_card_with_zooms_times(world: World) -> None:
    card = started_card(world)
    ids = {"id": str(card["props"]["meeting_id"]), "uuid": card["props"]["meeting_uuid"]}
    assert deliver(world, fixture("meeting_started", **ids)).status_code == 200
    assert deliver(world, fixture("meeting_ended", **ids)).status_code == 200
    ended = wait_ended(world, card)
    fields = {f["title"]: f["value"] for f in ended["props"]["attachments"][0]["fields"]}
    assert fields["Meeting Length"] == "45 minutes"
    assert fields["Date"] == "Fri Dec 4 2026 12:00 UTC"


def test_duplicate_deliveries_have_one_effect(world: World) -> None:
    card = started_card(world)
    event = world.zoom.end_meeting(card["props"]["meeting_id"])
    first = deliver(world, event)
    second = deliver(world, event)
    assert (first.json()["status"], second.json()["status"]) == ("accepted", "duplicate")
    wait_ended(world, card)
    third = deliver(world, event)
    assert third.json()["status"] == "duplicate"
    assert patches_of(world, card) == 1


def test_the_answer_does_not_wait_for_mattermost(world: World) -> None:
    card = started_card(world)
    world.mm.set_down(True)
    response = deliver(world, world.zoom.end_meeting(card["props"]["meeting_id"]))
    assert response.status_code == 200
    assert card_now(world, card)["props"]["meeting_status"] == "STARTED"
    world.mm.set_down(False)
    wait_ended(world, card)  # retried with backoff once Mattermost is back
    assert patches_of(world, card) == 1


def test_rate_limited_update_is_retried(world: World) -> None:
    card = started_card(world)
    world.mm.fail_next("PUT", f"/api/v4/posts/{card['id']}", 429, {"Retry-After": "1"})
    deliver(world, world.zoom.end_meeting(card["props"]["meeting_id"]))
    wait_ended(world, card)
    assert patches_of(world, card) == 2  # the refused one, then the one that worked


def age_card(world: World, card: dict[str, Any], minutes: int) -> None:
    """Time passes for one card: it was posted ``minutes`` ago."""
    engine = sa.create_engine(sync_url(world.settings.database_url))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE meetings SET created_at = :t WHERE post_id = :p"),
            {"t": datetime.now(UTC) - timedelta(minutes=minutes), "p": card["id"]},
        )
    engine.dispose()


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_personal_meeting_sessions_end_their_own_cards(world: World) -> None:
    """With a personal meeting ID every session reuses the ID: the end of an
    earlier session must not end a newer card."""
    older = started_card(world, world.town_square, personal=True)
    newer = started_card(world, world.private, personal=True, connect=False)
    pmi = str(world.alice_zoom.pmi)
    assert older["props"]["meeting_id"] == newer["props"]["meeting_id"] == world.alice_zoom.pmi
    age_card(world, older, minutes=30)
    now = datetime.now(UTC)

    session_1 = {
        "id": pmi,
        "uuid": "session-one-uuid==",
        "start_time": iso(now - timedelta(minutes=29)),
    }
    session_2 = {"id": pmi, "uuid": "session-two-uuid==", "start_time": iso(now)}
    deliver(world, fixture("meeting_started", **session_1))
    deliver(world, fixture("meeting_started", **session_2))
    deliver(world, fixture("meeting_ended", **session_1, end_time=iso(now)))
    wait_ended(world, older)
    assert card_now(world, newer)["props"]["meeting_status"] == "STARTED"

    deliver(world, fixture("meeting_ended", **session_2, end_time=iso(now + timedelta(minutes=5))))
    wait_ended(world, newer)


def test_earlier_session_never_ends_a_newer_card_even_without_its_start_event(
    world: World,
) -> None:
    older = started_card(world, world.town_square, personal=True)
    newer = started_card(world, world.private, personal=True, connect=False)
    age_card(world, older, minutes=30)
    now = datetime.now(UTC)
    session_1 = {
        "id": str(world.alice_zoom.pmi),
        "uuid": "session-one-uuid==",
        "start_time": iso(now - timedelta(minutes=29)),
        "end_time": iso(now - timedelta(minutes=1)),
    }
    deliver(world, fixture("meeting_ended", **session_1))
    wait_ended(world, older)
    assert card_now(world, newer)["props"]["meeting_status"] == "STARTED"


def test_end_of_an_unknown_meeting_changes_nothing(world: World) -> None:
    card = started_card(world)
    response = deliver(world, fixture("meeting_ended", id="99999999999", uuid="nobody=="))
    assert response.status_code == 200
    # Events are worked off in order: once the card's own end has landed, the
    # unknown one was handled before it, and touched nothing.
    deliver(world, world.zoom.end_meeting(card["props"]["meeting_id"]))
    wait_ended(world, card)
    assert patches_of(world, card) == 1
    assert len(world.cards(world.town_square)) == 1


def stored_events(world: World) -> list[tuple[str, str]]:
    engine = sa.create_engine(sync_url(world.settings.database_url))
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event, status FROM webhook_events ORDER BY id")).all()
    engine.dispose()
    return [(r[0], r[1]) for r in rows]


def test_finished_events_are_forgotten_after_a_week(world: World) -> None:
    """Stored bodies can carry download tokens: once Zoom has long stopped
    redelivering, the service deletes them."""
    card = started_card(world)
    old = world.zoom.start_meeting(card["props"]["meeting_id"])
    deliver(world, old)
    wait_until(lambda: stored_events(world) == [("meeting.started", "done")], what="processing")
    engine = sa.create_engine(sync_url(world.settings.database_url))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE webhook_events SET received_at = :t"),
            {"t": datetime.now(UTC) - timedelta(days=8)},
        )
    engine.dispose()
    recent = world.zoom.end_meeting(card["props"]["meeting_id"])
    deliver(world, recent)
    wait_ended(world, card)

    # A restarted service sweeps when it has nothing else to do.
    in_process = world.servers.pop()
    port = in_process.port
    in_process.stop()
    world.servers.append(ServerThread(create_app(world.settings), port=port).start())
    wait_until(
        lambda: stored_events(world) == [("meeting.ended", "done")],
        what="the week-old event to be purged",
    )
    assert deliver(world, recent).json()["status"] == "duplicate"
