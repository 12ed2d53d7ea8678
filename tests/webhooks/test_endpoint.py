"""POST /webhook: only genuine Zoom deliveries get in, and bad input changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import pytest

from mattermost_zoom.core.webhooks import expected_signature, url_validation_answer
from tests.harness import World
from tests.webhooks.zoom import deliver, fixture, webhook_url


def test_signature_follows_zooms_formula() -> None:
    body = b'{"event":"meeting.ended"}'
    digest = hmac.new(b"s3cret", b"v0:1700000000:" + body, hashlib.sha256).hexdigest()
    assert expected_signature("s3cret", "1700000000", body) == "v0=" + digest


def test_url_validation_vector() -> None:
    # A published test vector: secret "zoomwebhooksecret", plain token below.
    answer = url_validation_answer("zoomwebhooksecret", "Kn5a3Wv7SP6YP5b4BWfZpg")
    assert answer == {
        "plainToken": "Kn5a3Wv7SP6YP5b4BWfZpg",
        "encryptedToken": "2a41c3138d2187a756c51428f78d192e9b88dcf44dd62d1b081ace4ec2241e0a",
    }


def test_url_validation_is_answered(world: World) -> None:
    response = deliver(world, fixture("endpoint_url_validation"))
    assert response.status_code == 200
    expected = hmac.new(
        world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"].encode(), b"Kn5a3Wv7SP6YP5b4BWfZpg", hashlib.sha256
    ).hexdigest()
    assert response.json() == {"plainToken": "Kn5a3Wv7SP6YP5b4BWfZpg", "encryptedToken": expected}


def test_zoom_simulator_validates_the_endpoint(world: World) -> None:
    import asyncio

    assert asyncio.run(
        world.zoom.validate_endpoint(webhook_url(world), world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"])
    )


def test_unknown_events_are_acknowledged_and_ignored(world: World) -> None:
    response = deliver(world, fixture("meeting_participant_joined"))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"


BIG = b'{"event":"meeting.ended","pad":"' + b"x" * (1024 * 1024) + b'"}'


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("wrong secret in the URL", 401, "secret"),
        ("no secret in the URL", 401, "secret"),
        ("signed with another secret", 401, "signature"),
        ("stale timestamp", 401, "5 minutes"),
        ("timestamp from the future", 401, "5 minutes"),
        ("no signature headers", 401, "missing"),
        ("body changed after signing", 401, "signature"),
        ("not JSON", 400, "JSON"),
        ("JSON without an event", 400, "event"),
        ("meeting.ended without an object", 400, "payload.object"),
        ("meeting.ended without a uuid", 400, "uuid"),
        ("meeting.ended with a bad id", 400, "id"),
        ("meeting.ended with a bad end_time", 400, "end_time"),
        ("url_validation without a token", 400, "plainToken"),
        ("over 1 MB", 413, "larger"),
        ("form-encoded", 415, "Content-Type"),
    ],
)
def test_bad_deliveries_are_refused(world: World, case: str, status: int, reason: str) -> None:
    good = fixture("meeting_ended")
    now = int(time.time())
    kwargs: dict[str, object] = {}
    if case == "wrong secret in the URL":
        kwargs["url"] = webhook_url(world, "not-the-secret")
    elif case == "no secret in the URL":
        kwargs["url"] = f"{world.url}/webhook"
    elif case == "signed with another secret":
        kwargs["signing_secret"] = "another-secret"
    elif case == "stale timestamp":
        kwargs["timestamp"] = now - 301
    elif case == "timestamp from the future":
        kwargs["timestamp"] = now + 301
    elif case == "no signature headers":
        response = httpx.post(webhook_url(world), json=good)
        _assert_refused(world, response, status, reason)
        return
    elif case == "body changed after signing":
        from mattermost_zoom.simulators.zoom_webhooks import encode, signed_headers

        headers = signed_headers(encode(good), world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"])
        tampered = encode(fixture("meeting_ended", id="99999999999"))
        _assert_refused(
            world, httpx.post(webhook_url(world), content=tampered, headers=headers), status, reason
        )
        return
    elif case == "not JSON":
        kwargs["body"] = b"{nope"
    elif case == "JSON without an event":
        kwargs["body"] = b'{"payload": {}}'
    elif case == "meeting.ended without an object":
        good["payload"].pop("object")
    elif case == "meeting.ended without a uuid":
        good["payload"]["object"].pop("uuid")
    elif case == "meeting.ended with a bad id":
        good["payload"]["object"]["id"] = "eighty-one"
    elif case == "meeting.ended with a bad end_time":
        good["payload"]["object"]["end_time"] = "yesterday"
    elif case == "url_validation without a token":
        good = fixture("endpoint_url_validation")
        good["payload"] = {}
    elif case == "over 1 MB":
        kwargs["body"] = BIG
    elif case == "form-encoded":
        kwargs["headers"] = {"content-type": "application/x-www-form-urlencoded"}
    response = deliver(world, good, **kwargs)  # type: ignore[arg-type]
    _assert_refused(world, response, status, reason)


def _assert_refused(world: World, response: httpx.Response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert reason in response.json()["error"]
    # Nothing was queued, nothing changed in Mattermost.
    assert world.mm.posts == {}
    assert not any(r.method != "GET" for r in world.mm.requests)
