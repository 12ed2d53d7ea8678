"""What an admin sees: metrics, readiness, and structured logs with request ids."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mattermost_zoom.config import load_settings
from mattermost_zoom.simulators.server import ServerThread
from mattermost_zoom.web.app import create_app
from tests.harness import World, wait_until
from tests.processes import ServiceProcess
from tests.webhooks.zoom import deliver, fixture


def samples(world: World) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{world.url}/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(world: World, name: str, **labels: str) -> float:
    return samples(world).get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_events_and_upstream_calls(world: World) -> None:
    world.connect(world.bob, world.bob_zoom)
    world.run(world.bob, world.town_square, "/zoom start")
    card = world.wait_for_card(world.town_square)
    deliver(world, fixture("meeting_participant_joined"))
    deliver(world, fixture("meeting_ended"), url=f"{world.url}/webhook?secret=wrong")

    assert (
        value(world, "mmzoom_http_requests_total", route="/command", method="POST", status="200")
        >= 2
    )
    assert value(world, "mmzoom_webhook_events_total", event="other", outcome="ignored") == 1
    assert value(world, "mmzoom_webhook_events_total", event="unknown", outcome="rejected") == 1
    assert (
        value(world, "mmzoom_upstream_request_duration_seconds_count", peer="zoom", method="POST")
        >= 2
    )
    assert (
        value(
            world,
            "mmzoom_upstream_request_duration_seconds_count",
            peer="mattermost",
            method="POST",
        )
        >= 1
    )

    world.mm.set_down(True)
    deliver(world, world.zoom.end_meeting(card["props"]["meeting_id"]))
    wait_until(
        lambda: (
            value(world, "mmzoom_webhook_events_total", event="meeting.ended", outcome="retried")
            >= 1
        ),
        what="a retry to be counted",
    )
    assert value(world, "mmzoom_pending_events") == 1
    assert value(world, "mmzoom_upstream_errors_total", peer="mattermost", kind="503") >= 1
    world.mm.set_down(False)
    wait_until(lambda: value(world, "mmzoom_pending_events") == 0, what="the backlog to drain")
    assert (
        value(world, "mmzoom_webhook_events_total", event="meeting.ended", outcome="processed") == 1
    )


def test_readyz_checks_the_database(world: World) -> None:
    response = httpx.get(f"{world.url}/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_logs_are_json_lines_with_the_request_id_and_no_secrets(
    world: World, tmp_path: Path
) -> None:
    in_process = world.servers.pop()
    port = in_process.port
    in_process.stop()
    log_file = tmp_path / "serve.log"
    service = ServiceProcess(world.env, port, log_file).start()
    try:
        response = deliver(world, fixture("meeting_participant_joined"))
        request_id = response.headers["x-request-id"]
        httpx.get(f"{world.url}/oauth2/complete?state=s3cr3t-state&code=s3cr3t-code")
    finally:
        service.stop()
    lines = [line for line in log_file.read_text().splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    assert entries, "serve writes JSON lines by default"
    mine = [e for e in entries if e.get("request_id") == request_id]
    assert mine and "/webhook" in mine[0]["message"]
    text = log_file.read_text()
    for secret in (world.env["MMZOOM_WEBHOOK_SECRET"], "s3cr3t-state", "s3cr3t-code"):
        assert secret not in text


def test_livez_answers_without_touching_the_database(tmp_path: Path) -> None:
    # A database that cannot be opened: readiness fails, liveness does not.
    unreachable = f"sqlite:///{tmp_path / 'no-such-directory' / 'mmzoom.db'}"
    settings = load_settings(
        environ={
            "MMZOOM_MATTERMOST_URL": "http://mattermost.invalid",
            "MMZOOM_BOT_TOKEN": "bot-token",
            "MMZOOM_SLASH_COMMAND_TOKEN": "command-token",
            "MMZOOM_OAUTH_CLIENT_ID": "client-id",
            "MMZOOM_OAUTH_CLIENT_SECRET": "client-secret",
            "MMZOOM_ENCRYPTION_KEY": "livez-test-encryption-key-0123456789-abcdef",
            "MMZOOM_WEBHOOK_SECRET": "livez-test-webhook-secret",
            "MMZOOM_DATABASE_URL": unreachable,
        }
    )
    with ServerThread(create_app(settings)) as server:
        live = httpx.get(f"{server.url}/plugins/zoom/livez")
        ready = httpx.get(f"{server.url}/plugins/zoom/readyz")
    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert ready.status_code == 503
