"""A real `serve` process killed with SIGKILL after answering Zoom loses nothing:
after a restart the pending work is done, once."""

from __future__ import annotations

from pathlib import Path

from tests.harness import build_world
from tests.processes import ServiceProcess
from tests.webhooks.test_meeting_lifecycle import card_now, patches_of, started_card, wait_ended
from tests.webhooks.zoom import deliver


def test_killed_between_the_answer_and_the_effect(database_url: str, tmp_path: Path) -> None:
    with build_world(database_url, MMZOOM_WORKER_LEASE_SECONDS="2") as world:
        card = started_card(world)
        # From here on the service runs as a separate process on the same port.
        in_process = world.servers.pop()
        port = in_process.port
        in_process.stop()
        service = ServiceProcess(world.env, port, tmp_path / "serve.log").start()
        try:
            world.mm.set_down(True)  # the effect cannot happen yet
            response = deliver(world, world.zoom.end_meeting(card["props"]["meeting_id"]))
            assert response.status_code == 200
            service.kill()
            world.mm.set_down(False)
            assert card_now(world, card)["props"]["meeting_status"] == "STARTED"

            service.start()
            wait_ended(world, card)
            assert patches_of(world, card) == 1
        finally:
            service.stop()
        assert "Traceback" not in service.log()
