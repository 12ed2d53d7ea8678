"""``mattermost-zoom demo``: one user's story, played against the simulators.

The real service runs with a throw-away SQLite database; Mattermost and Zoom are
the simulators the test suite uses. Each step prints what the channel shows.
"""

from __future__ import annotations

import asyncio
import tempfile
import textwrap
from pathlib import Path

from mattermost_zoom.simulators.sandbox import (
    ZOOM_WEBHOOK_SECRET,
    Sandbox,
    link_in,
    start_sandbox,
    wait_until,
)


def run_demo() -> int:
    with tempfile.TemporaryDirectory(prefix="mmzoom-demo-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        with start_sandbox(database_url) as sandbox:
            _play(sandbox)
    return 0


def _play(s: Sandbox) -> None:
    print("mattermost-zoom demo")
    print(f"  Mattermost (simulated) {s.mm.url}")
    print(f"  Zoom (simulated)       {s.zoom.url}")
    print(f"  mattermost-zoom        {s.url}  (SQLite)")

    _step("1. Alice types `/zoom start Weekly sync` in ~town-square; Zoom is not connected yet")
    s.run(s.alice, s.town_square, "/zoom start Weekly sync")
    prompt = s.wait_for_ephemeral(s.alice, s.town_square, "connect your Zoom account")
    _show(s, "alice")

    _step("2. She opens the link, signs in to Zoom and allows the app")
    page = s.open_link(link_in(prompt), s.alice_zoom)
    print(f"  browser: {page.status_code} {_page_title(page.text)}")
    question = s.wait_for_ephemeral(s.alice, s.town_square, "Which meeting ID")
    _show(s, "alice")

    _step("3. She picks a unique meeting ID; the meeting card appears for everyone")
    s.click(s.alice, question, "Use a Unique Meeting ID")
    card = s.wait_for_card(s.town_square)
    _show(s, "bob")

    _step("4. The meeting runs in Zoom, then ends; Zoom tells the service (signed webhooks)")
    meeting_id = card["props"]["meeting_id"]
    for event in (s.zoom.start_meeting(meeting_id), s.zoom.end_meeting(meeting_id)):
        answer = asyncio.run(s.zoom.deliver(s.webhook_url, event, ZOOM_WEBHOOK_SECRET))
        print(f"  zoom -> {event['event']}: {answer.status_code} {answer.json()['status']}")
    wait_until(
        lambda: s.mm.posts[card["id"]]["props"]["meeting_status"] == "ENDED",
        what="the card to show the meeting ended",
    )
    _show(s, "bob")


def _step(title: str) -> None:
    print(f"\n== {title}")


def _show(s: Sandbox, viewer: str) -> None:
    user = s.alice if viewer == "alice" else s.bob
    print(f"  ~town-square, as {viewer} sees it:")
    for post in s.mm.visible_posts(s.town_square.id, user.id):
        print(textwrap.indent(s.mm.render(post), "    "))


def _page_title(html: str) -> str:
    start = html.find("<h1>")
    return html[start + 4 : html.find("</h1>")] if start >= 0 else ""
