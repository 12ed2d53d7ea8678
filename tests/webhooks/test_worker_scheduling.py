"""When the worker carries events out. Answering Zoom comes first: during a burst
of deliveries the worker waits for a pause, but never so long that a card stops
telling the truth. Events of one meeting run in the order they came; events of
different meetings run side by side."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from mattermost_zoom import worker
from mattermost_zoom.core.webhooks import ordering_key
from mattermost_zoom.simulators.zoom_webhooks import encode, signed_headers
from mattermost_zoom.worker import LULL, MAX_DEFERRAL, DeliveryPressure
from tests.harness import World
from tests.webhooks.test_meeting_lifecycle import started_card, wait_ended
from tests.webhooks.zoom import deliver, fixture, webhook_url


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_worker_waits_while_deliveries_arrive_and_goes_on_at_a_pause() -> None:
    clock = FakeClock()
    pressure = DeliveryPressure(clock)
    assert not pressure.pressing()  # nothing delivered yet

    pressure.delivered()
    assert pressure.pressing()
    clock.now += LULL / 2
    pressure.delivered()
    clock.now += LULL / 2
    assert pressure.pressing()

    clock.now += LULL
    assert not pressure.pressing()


def test_a_long_burst_holds_the_worker_back_only_so_long() -> None:
    clock = FakeClock()
    pressure = DeliveryPressure(clock)
    pressure.delivered()
    assert pressure.pressing()
    while clock.now < 1000.0 + MAX_DEFERRAL - LULL:
        clock.now += LULL / 2
        pressure.delivered()
        assert pressure.pressing()
    clock.now += LULL
    pressure.delivered()
    assert not pressure.pressing(), "the worker must not starve under endless deliveries"
    clock.now += LULL / 2
    pressure.delivered()
    assert not pressure.pressing(), "once past the limit it keeps going until a pause"

    clock.now += 2 * LULL  # a pause, then a new burst is waited out again
    pressure.delivered()
    assert pressure.pressing()


def test_a_card_ends_while_zoom_keeps_delivering(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "MAX_DEFERRAL", 0.5)
    card = started_card(world)
    meeting_id = card["props"]["meeting_id"]
    deliver(world, world.zoom.start_meeting(meeting_id))

    stop, delivered = threading.Event(), [0]
    secret = world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"]

    def burst() -> None:
        # Other meetings ending, back to back, until told to stop.
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                n = delivered[0]
                body = encode(fixture("meeting_ended", id=str(90_000_000 + n), uuid=f"b{n}=="))
                headers = signed_headers(body, secret, int(time.time()))
                assert client.post(webhook_url(world), content=body, headers=headers).is_success
                delivered[0] += 1

    sender = threading.Thread(target=burst)
    sender.start()
    try:
        deliver(world, world.zoom.end_meeting(meeting_id))
        ended = wait_ended(world, card)
        still_delivering = sender.is_alive() and not stop.is_set()
    finally:
        stop.set()
        sender.join()
    assert ended["props"]["meeting_status"] == "ENDED"
    assert still_delivering and delivered[0] > 0


def test_events_of_one_meeting_keep_their_order_and_other_meetings_do_not_wait() -> None:
    started = fixture("meeting_started")
    ended = fixture("meeting_ended", id=started["payload"]["object"]["id"])
    # A personal meeting ID: a later session has a new uuid and the same ID.
    next_session = fixture(
        "meeting_started", id=started["payload"]["object"]["id"], uuid="another-session=="
    )
    recording = fixture("recording_completed", id=started["payload"]["object"]["id"])
    other = fixture("meeting_ended", id="89999999999")

    key = ordering_key(started)
    assert ordering_key(ended) == key
    assert ordering_key(next_session) == key
    assert ordering_key(recording) == key
    assert ordering_key(other) != key

    removal = {"event": "app_deauthorized", "payload": {"user_id": "u1", "account_id": "a"}}
    assert ordering_key(removal) != ordering_key({**removal, "payload": {"user_id": "u2"}})


def test_meetings_ending_together_all_end(world: World) -> None:
    channels = [
        world.mm.add_channel(world.team, "O", f"standup-{n}", [world.alice]) for n in range(6)
    ]
    cards = [started_card(world, channel, connect=n == 0) for n, channel in enumerate(channels)]
    for card in cards:
        deliver(world, world.zoom.start_meeting(card["props"]["meeting_id"]))
    for card in cards:  # back to back: one claim takes them all
        deliver(world, world.zoom.end_meeting(card["props"]["meeting_id"]))
    for card in cards:
        assert wait_ended(world, card)["props"]["meeting_status"] == "ENDED"
