"""A user removes the app in Zoom: everything held for that Zoom account is deleted,
Zoom is told when the user asked for it, and the user hears about it once."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx

from mattermost_zoom.simulators.mattermost_model import User
from mattermost_zoom.simulators.zoom import ZoomUser
from mattermost_zoom.simulators.zoom_webhooks import encode
from tests.harness import World, link_in, queue_statuses, reply, wait_for_queue, wait_until


def deauthorized(world: World, zoom_user: ZoomUser, retention: str = "false") -> dict[str, Any]:
    """Zoom revokes the user's tokens and sends app_deauthorized."""
    event = world.zoom.deauthorize(zoom_user.id, world.env["MMZOOM_OAUTH_CLIENT_ID"])
    event["payload"]["user_data_retention"] = retention
    return event


def deauthorization_url(world: World, secret: str | None = None) -> str:
    return f"{world.url}/deauthorization?secret={secret or world.env['MMZOOM_WEBHOOK_SECRET']}"


def deliver(world: World, event: dict[str, Any], url: str | None = None) -> httpx.Response:
    return asyncio.run(
        world.zoom.deliver(
            url or deauthorization_url(world), event, world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"]
        )
    )


def dms(world: World, user: User) -> list[dict[str, Any]]:
    channel = world.mm.direct_channel(world.bot, user)
    return [p for p in world.posts(channel) if p["user_id"] == world.bot.id]


def subscribed_meeting(world: World, user: User, zoom_user: ZoomUser) -> dict[str, Any]:
    meeting = world.zoom.store_meeting(
        world.zoom.new_meeting(zoom_user, {"topic": "Weekly sync", "type": 8})
    )
    reply(world, user, world.town_square, f"/zoom subscription add {meeting['id']}", "subscribed")
    return meeting


def abandoned_oauth(world: World, user: User) -> str:
    """The user opened a connect link but never signed in to Zoom: a pending
    OAuth state. Returns Zoom's authorize URL, which could still be finished."""
    prompt = world.run(user, world.town_square, "/zoom connect").ephemeral_posts[-1]
    with world.browser(None) as browser:
        response = browser.get(link_in(prompt), follow_redirects=False)
    assert response.status_code in (302, 303, 307), response.text
    return response.headers["location"]


def alice_fully_set_up(world: World) -> tuple[dict[str, Any], str]:
    """Alice has a pending OAuth state, a connection, a saved preference, a subscription."""
    pending = abandoned_oauth(world, world.alice)
    world.connect(world.alice, world.alice_zoom)
    world.run(world.alice, world.town_square, "/zoom settings")
    settings = world.ephemerals(world.alice, world.town_square)[-1]
    world.click(world.alice, settings, "Use a Unique Meeting ID")
    world.wait_for_ephemeral(world.alice, world.town_square, "Saved")
    meeting = subscribed_meeting(world, world.alice, world.alice_zoom)
    return meeting, pending


def test_removing_the_app_deletes_everything_and_tells_zoom_and_the_user(world: World) -> None:
    meeting, pending_authorization = alice_fully_set_up(world)
    world.connect(world.bob, world.bob_zoom)  # someone else, untouched

    event = deauthorized(world, world.alice_zoom, retention="false")
    response = deliver(world, event)
    assert response.status_code == 200

    message = wait_until(lambda: dms(world, world.alice), what="the direct message")[0]
    assert "removed from your Zoom account" in message["message"]
    assert "meeting subscription" in message["message"]
    assert "`/zoom connect`" in message["message"]

    # Zoom is told the data is gone, authenticated as the app.
    wait_until(lambda: world.zoom.compliance_requests, what="the data compliance call")
    assert world.zoom.compliance_requests == [
        {
            "client_id": world.env["MMZOOM_OAUTH_CLIENT_ID"],
            "user_id": world.alice_zoom.id,
            "account_id": world.alice_zoom.account_id,
            "deauthorization_event_received": event["payload"],
            "compliance_completed": True,
        }
    ]
    (call,) = [r for r in world.zoom.requests if r.path == "/oauth/data/compliance"]
    credentials = f"{world.env['MMZOOM_OAUTH_CLIENT_ID']}:{world.env['MMZOOM_OAUTH_CLIENT_SECRET']}"
    assert (
        call.headers["authorization"] == "Basic " + base64.b64encode(credentials.encode()).decode()
    )

    # Alice is a stranger again: no token, no subscription, no saved preference.
    reply(world, world.alice, world.town_square, "/zoom start", "To start a meeting, first")
    reply(
        world, world.alice, world.town_square, "/zoom subscription list", "no meeting subscriptions"
    )
    settings = world.run(world.alice, world.town_square, "/zoom settings").ephemeral_posts[-1]
    assert "now: **Ask each time**" in settings["message"]
    # Her subscribed meeting no longer posts here.
    url = f"{world.url}/webhook?secret={world.env['MMZOOM_WEBHOOK_SECRET']}"
    start = world.zoom.start_meeting(meeting["id"])
    asyncio.run(world.zoom.deliver(url, start, world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"]))
    wait_for_queue(world)
    assert world.cards(world.town_square) == []
    # The sign-in she abandoned earlier cannot connect her behind her back.
    with world.browser(world.alice_zoom) as browser:
        page = browser.get(pending_authorization)
    assert "expired" in page.text.lower()
    reply(world, world.alice, world.town_square, "/zoom connect", "Connect your Zoom account")

    # Bob was not touched.
    reply(world, world.bob, world.town_square, "/zoom connect", "already connected")
    assert dms(world, world.bob) == []


def test_the_message_is_sent_once_however_often_zoom_delivers(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    event = deauthorized(world, world.alice_zoom)
    assert deliver(world, event).json()["status"] == "accepted"
    assert deliver(world, event).json()["status"] == "duplicate"
    # A redelivery with its own timestamp is a new event; the data is gone already.
    assert deliver(world, {**event, "event_ts": event["event_ts"] + 1}).status_code == 200
    wait_for_queue(world)
    assert len(dms(world, world.alice)) == 1
    # Each notice Zoom sends is answered; the user hears about it once.
    assert {r["user_id"] for r in world.zoom.compliance_requests} == {world.alice_zoom.id}
    assert queue_statuses(world) == ["done", "done"]


def test_a_failed_message_is_retried_without_repeating_anything(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    world.mm.fail_next("POST", "/api/v4/posts", 503)
    assert deliver(world, deauthorized(world, world.alice_zoom)).status_code == 200

    wait_until(lambda: dms(world, world.alice), timeout=20, what="the retried direct message")
    wait_for_queue(world)
    assert len(dms(world, world.alice)) == 1
    assert len(world.zoom.compliance_requests) == 1


def test_a_message_whose_answer_was_lost_is_not_sent_twice(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    # Mattermost delivers the message, but the service never hears back (504 after it).
    world.mm.fail_next("POST", "/api/v4/posts", 504, after=True)
    assert deliver(world, deauthorized(world, world.alice_zoom)).status_code == 200

    wait_until(lambda: dms(world, world.alice), what="the direct message")
    wait_for_queue(world)
    assert len(dms(world, world.alice)) == 1
    channel = world.mm.direct_channel(world.bot, world.alice)
    looked = [r for r in world.mm.requests if r.path == f"/api/v4/channels/{channel.id}/posts"]
    assert looked, "the retry looked in the conversation before sending"


def test_zoom_is_not_called_when_the_user_let_the_app_keep_their_data(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    assert (
        deliver(world, deauthorized(world, world.alice_zoom, retention="true")).status_code == 200
    )
    wait_until(lambda: dms(world, world.alice), what="the direct message")
    wait_for_queue(world)
    assert world.zoom.compliance_requests == []
    assert not any(r.path == "/oauth/data/compliance" for r in world.zoom.requests)
    # The tokens are dead either way, so the connection is gone too.
    reply(world, world.alice, world.town_square, "/zoom start", "To start a meeting, first")


def test_an_unknown_zoom_user_is_still_reported_to_zoom(world: World) -> None:
    stranger = world.zoom.add_user("stranger@example.com", "Sam", "Stranger")
    assert deliver(world, deauthorized(world, stranger)).status_code == 200
    wait_until(lambda: world.zoom.compliance_requests, what="the data compliance call")
    wait_for_queue(world)
    assert world.zoom.compliance_requests[0]["user_id"] == stranger.id
    assert dms(world, world.alice) == [] and dms(world, world.bob) == []


def assert_alice_untouched(world: World, meeting: dict[str, Any]) -> None:
    wait_for_queue(world)
    reply(world, world.alice, world.town_square, "/zoom connect", "already connected")
    listing = reply(world, world.alice, world.town_square, "/zoom subscription list", "Meeting ID")
    assert str(meeting["id"]) in listing
    assert dms(world, world.alice) == []
    assert world.zoom.compliance_requests == []


def test_a_wrong_secret_is_refused_and_nothing_is_removed(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = subscribed_meeting(world, world.alice, world.alice_zoom)
    event = deauthorized(world, world.alice_zoom)
    for url in (
        deauthorization_url(world, secret="not-the-secret"),
        f"{world.url}/deauthorization",
    ):
        response = deliver(world, event, url=url)
        assert response.status_code == 401
        assert world.env["MMZOOM_WEBHOOK_SECRET"] not in response.text
    assert_alice_untouched(world, meeting)


def test_a_bad_zoom_signature_is_refused(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = subscribed_meeting(world, world.alice, world.alice_zoom)
    event = deauthorized(world, world.alice_zoom)
    forged = asyncio.run(
        world.zoom.deliver(deauthorization_url(world), event, "some-other-secret-token")
    )
    assert forged.status_code == 401
    stale = asyncio.run(
        world.zoom.deliver(
            deauthorization_url(world),
            event,
            world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"],
            timestamp=int(event["event_ts"] / 1000) - 3600,
        )
    )
    assert stale.status_code == 401
    assert_alice_untouched(world, meeting)


def test_another_apps_notice_is_refused(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    meeting = subscribed_meeting(world, world.alice, world.alice_zoom)
    event = world.zoom.deauthorize(world.alice_zoom.id, "another-apps-client-id")
    event["payload"]["user_data_retention"] = "false"
    assert deliver(world, event).status_code == 400
    assert_alice_untouched(world, meeting)


def test_an_unsigned_notice_with_the_secret_is_accepted(world: World) -> None:
    """Zoom's legacy deauthorization endpoint does not sign; the secret is the proof."""
    world.connect(world.alice, world.alice_zoom)
    response = httpx.post(
        deauthorization_url(world),
        content=encode(deauthorized(world, world.alice_zoom)),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    wait_until(lambda: dms(world, world.alice), what="the direct message")
    reply(world, world.alice, world.town_square, "/zoom connect", "Connect your Zoom account")


def test_malformed_notices_are_refused(world: World) -> None:
    event = deauthorized(world, world.alice_zoom)
    no_user = json.loads(json.dumps(event))
    del no_user["payload"]["user_id"]
    assert deliver(world, no_user).status_code == 400
    assert deliver(world, {**event, "event": "meeting.started"}).status_code == 400
    response = httpx.post(
        deauthorization_url(world), content=b"user_id=x", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    wait_for_queue(world)
    assert queue_statuses(world) == []


def test_zoom_can_validate_the_deauthorization_url(world: World) -> None:
    """Zoom checks an event subscription's URL before sending it events."""
    secret = world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"]
    assert asyncio.run(world.zoom.validate_endpoint(deauthorization_url(world), secret))
    assert not asyncio.run(world.zoom.validate_endpoint(deauthorization_url(world), "wrong"))
