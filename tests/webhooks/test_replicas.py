"""Several service processes on one database take different events; none is
done twice."""

from __future__ import annotations

import logging

import pytest

from mattermost_zoom.config import load_settings
from mattermost_zoom.simulators.server import ServerThread
from mattermost_zoom.web.app import create_app
from tests.harness import World, free_port
from tests.webhooks.test_meeting_lifecycle import patches_of, started_card, wait_ended
from tests.webhooks.zoom import deliver


def test_two_replicas_share_the_work_without_doing_anything_twice(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mattermost_zoom.worker")
    cards = [started_card(world, connect=True)]
    for i in range(7):
        room = world.mm.add_channel(world.team, "O", f"room-{i}", [world.alice])
        cards.append(started_card(world, room, connect=False))

    port = free_port()
    public_url = f"http://127.0.0.1:{port}/plugins/zoom"
    second = ServerThread(
        create_app(load_settings(environ=dict(world.env, MMZOOM_PUBLIC_URL=public_url))), port=port
    ).start()
    try:
        secret = world.settings.webhook_secret.get_secret_value()
        urls = [world.webhook_url, f"{public_url}/webhook?secret={secret}"]
        for index, card in enumerate(cards):
            event = world.zoom.end_meeting(card["props"]["meeting_id"])
            # Zoom's retry of the same event may land on the other replica.
            assert deliver(world, event, url=urls[index % 2]).status_code == 200
            assert deliver(world, event, url=urls[(index + 1) % 2]).status_code == 200
        for card in cards:
            wait_ended(world, card)
    finally:
        second.stop()
    assert [patches_of(world, card) for card in cards] == [1] * len(cards)
    workers = {r.threadName for r in caplog.records if r.getMessage() == "zoom event processed"}
    assert len(workers) == 2, "both replicas took events"
