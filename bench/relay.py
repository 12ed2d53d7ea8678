"""Figure 4: relaying a 200 MB recording file from Zoom to Mattermost.

A real recording.completed event, signed and delivered to a real serve process,
names a 200 MB chat file; the worker streams it from the Zoom simulator into a
Mattermost upload. The figure is how much the serve process's resident size grew
above its idle size at the peak of the relay (the kernel's peak, reset just
before, and a 5 ms sampler). The reference is the file's size: a relay that held
the file whole would grow by at least that much.

The service refuses files over 100 MiB (``core.recordings.MAX_ATTACHMENT_BYTES``),
so this serve process runs with that one constant raised (``bench.uncapped_serve``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from bench.deploy import MemorySampler, database, deploy
from bench.report import Figure, Section
from mattermost_zoom.simulators.sandbox import Sandbox, wait_until
from mattermost_zoom.simulators.zoom_webhooks import encode, signed_headers

MB = 1000 * 1000
FILE_BYTES = 200 * MB
GROWTH_TARGET_MIB = 32.0


def _card(sandbox: Sandbox) -> dict[str, Any]:
    sandbox.connect(sandbox.alice, sandbox.alice_zoom)
    sandbox.run(sandbox.alice, sandbox.town_square, "/zoom settings")
    prompt = sandbox.ephemerals(sandbox.alice, sandbox.town_square)[-1]
    sandbox.click(sandbox.alice, prompt, "Use a Unique Meeting ID")
    sandbox.run(sandbox.alice, sandbox.town_square, "/zoom start Recorded review")
    return sandbox.wait_for_card(sandbox.town_square)


def _attached(sandbox: Sandbox, card: dict[str, Any]) -> Any:
    for reply in sandbox.replies(card):
        files = sandbox.attachments(reply)
        if files:
            return files[0]
    return None


def run(workdir: Path, *, quick: bool) -> Section:
    section = Section("relay")
    size = FILE_BYTES  # the figure is about this size: no shorter variant
    with (
        database("sqlite", workdir) as url,
        deploy(
            url,
            workdir,
            "relay",
            module="bench.uncapped_serve",
            extra_env={"BENCH_MAX_ATTACHMENT_BYTES": str(2 * size)},
        ) as d,
    ):
        sandbox = d.sandbox
        sandbox.mm.max_file_size = 2 * size
        card = _card(sandbox)
        meeting_id = int(card["props"]["meeting_id"])
        chat = sandbox.zoom.add_recording_file(meeting_id, "CHAT", "chat_file", size=size)
        event = sandbox.zoom.complete_recording(
            meeting_id, with_chat=False, with_audio=False, video_size=1024 * 1024
        )
        body = encode(event)
        headers = signed_headers(body, sandbox.env["MMZOOM_ZOOM_WEBHOOK_SECRET"])

        time.sleep(1.0)  # let start-up and the card's work settle
        reset = d.serve.reset_peak()
        idle = d.serve.memory()
        started = time.perf_counter()
        with MemorySampler(d.serve) as sampler:
            answer = httpx.post(sandbox.webhook_url, content=body, headers=headers, timeout=30)
            answer.raise_for_status()
            info = wait_until(lambda: _attached(sandbox, card), timeout=300, what="the chat file")
        seconds = time.perf_counter() - started
        after = d.serve.memory()
        expected = chat.sha256()

    peak = max(sampler.peak, after.peak if reset else 0.0)
    growth = peak - idle.rss
    intact = info.size == size and info.sha256 == expected
    section.figures.append(
        Figure(
            name=f"Relay a {size // MB} MB recording file",
            measured=(
                f"peak RSS +{growth:.1f} MiB over idle {idle.rss:.0f} MiB;"
                f" {size / MB / seconds:.0f} MB/s, {'intact' if intact else 'CORRUPTED'}"
            ),
            target=f"growth < {GROWTH_TARGET_MIB:.0f} MiB",
            passed=growth < GROWTH_TARGET_MIB and intact,
            value=round(growth, 1),
            unit="MiB",
        )
    )
    section.details = {
        "file_bytes": size,
        "idle_rss_mib": round(idle.rss, 1),
        "peak_rss_mib": round(peak, 1),
        "sampled_peak_rss_mib": round(sampler.peak, 1),
        "kernel_peak_reset": reset,
        "kernel_peak_rss_mib": round(after.peak, 1),
        "seconds": round(seconds, 2),
        "uploaded_bytes": info.size,
        "sha256_matches": info.sha256 == expected,
    }
    if not reset:
        section.notes.append("the kernel's peak could not be reset: the 5 ms sampler alone")
    return section
