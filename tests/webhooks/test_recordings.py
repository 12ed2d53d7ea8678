"""Recordings and transcripts land in the meeting's thread: play links, the chat
and the transcript as files, from Zoom only, capped, and exactly once."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from mattermost_zoom.core.recordings import MAX_ATTACHMENT_BYTES, download_allowed
from mattermost_zoom.simulators.zoom import CloudFile
from tests.harness import World, build_world, wait_for_queue, wait_until
from tests.spec_validation import validate_mattermost_requests, validate_zoom_requests

FIXTURES = Path(__file__).parent / "fixtures"


# --- helpers ----------------------------------------------------------------------


def send(world: World, event: dict[str, Any]) -> httpx.Response:
    """Zoom delivers a signed event to the service's webhook."""
    response = asyncio.run(
        world.zoom.deliver(world.webhook_url, event, world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"])
    )
    assert response.status_code == 200, response.text
    return response


def meeting_card(world: World, *, end: bool = True) -> dict[str, Any]:
    """Bob starts a meeting from Mattermost; it runs in Zoom and (by default) ends."""
    world.connect(world.bob, world.bob_zoom)
    world.run(world.bob, world.town_square, "/zoom start Design review")
    card = world.wait_for_card(world.town_square)
    if end:
        meeting_id = card["props"]["meeting_id"]
        send(world, world.zoom.start_meeting(meeting_id))
        send(world, world.zoom.end_meeting(meeting_id))
        wait_until(
            lambda: world.mm.posts[card["id"]]["props"]["meeting_status"] == "ENDED",
            what="the card to show the meeting ended",
        )
    return card


def files_of(event: dict[str, Any], file_type: str) -> list[dict[str, Any]]:
    files = event["payload"]["object"]["recording_files"]
    return [f for f in files if f["file_type"] == file_type]


def cloud_file(world: World, entry: dict[str, Any]) -> CloudFile:
    key = entry["download_url"].rsplit("/", 1)[1]
    return world.zoom.cloud_files[key]


def fetched(world: World, entry: dict[str, Any]) -> list[str]:
    """The requests Zoom received for a file's download (or its storage redirect)."""
    key = entry["download_url"].rsplit("/", 1)[1]
    return [r.path for r in world.zoom.download_requests if r.path.endswith(key)]


def attached_bytes(world: World, reply: dict[str, Any]) -> dict[str, bytes]:
    return {f.name: world.mm.file_contents[f.id] for f in world.attachments(reply)}


def recording_replies(world: World, card: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in world.replies(card) if "recording" in r["message"]]


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return event


# --- what users see ------------------------------------------------------------------


def test_recording_links_and_chat_land_in_the_meetings_thread(world: World) -> None:
    card = meeting_card(world)
    chat = b"00:00:12\t From  Bob Builder  to  Everyone:\n\tNotes are in the wiki.\n"
    event = world.zoom.complete_recording(card["props"]["meeting_id"], chat=chat)
    send(world, event)

    reply = world.wait_for_reply(card, "recording")
    assert reply["root_id"] == card["id"]
    assert reply["channel_id"] == world.town_square.id
    assert reply["user_id"] == world.bot.id
    (video,) = files_of(event, "MP4")
    (audio,) = files_of(event, "M4A")
    assert f"[Shared screen with speaker view]({video['play_url']})" in reply["message"]
    assert f"[Audio only]({audio['play_url']})" in reply["message"]
    assert "chat is attached" in reply["message"]
    assert event["payload"]["object"]["password"] not in reply["message"]
    assert "Password" not in reply["message"]
    assert attached_bytes(world, reply) == {"meeting-chat.txt": chat}
    # Only the chat is downloaded; the video stays in Zoom, behind its link.
    assert fetched(world, video) == []
    assert len(fetched(world, files_of(event, "CHAT")[0])) == 1
    # The card itself is untouched and the channel gets no new root post.
    assert world.mm.posts[card["id"]]["props"]["meeting_status"] == "ENDED"
    assert [p["id"] for p in world.posts(world.town_square) if not p["root_id"]] == [card["id"]]


def test_password_is_posted_only_when_the_administrator_allows_it(database_url: str) -> None:
    with build_world(database_url, MMZOOM_ENABLE_POSTING_RECORDING_PASSWORD="true") as world:
        card = meeting_card(world)
        event = world.zoom.complete_recording(card["props"]["meeting_id"], password="s3cr3t*9")
        send(world, event)
        reply = world.wait_for_reply(card, "recording")
        assert "Password: `s3cr3t*9`" in reply["message"]
        problems = validate_mattermost_requests(world.mm.requests)
        problems += validate_zoom_requests(world.zoom.requests)
        assert problems == []


def test_recording_reaches_a_card_whose_meeting_events_never_came(world: World) -> None:
    card = meeting_card(world, end=False)
    event = world.zoom.complete_recording(card["props"]["meeting_id"], with_chat=False)
    send(world, event)
    reply = world.wait_for_reply(card, "recording")
    assert files_of(event, "MP4")[0]["play_url"] in reply["message"]
    assert world.attachments(reply) == []
    assert "chat" not in reply["message"]


def test_transcript_lands_in_the_thread_as_a_file(world: World) -> None:
    card = meeting_card(world)
    vtt = b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.500\nBob Builder: Let's begin.\n"
    send(world, world.zoom.complete_transcript(card["props"]["meeting_id"], transcript=vtt))

    reply = world.wait_for_reply(card, "transcript")
    assert reply["message"] == "The transcript of this meeting is attached."
    assert reply["root_id"] == card["id"]
    assert attached_bytes(world, reply) == {"meeting-transcript.vtt": vtt}
    (info,) = world.attachments(reply)
    assert info.mime_type == "text/vtt"


def test_zoom_documented_event_shapes_are_understood(world: World) -> None:
    card = meeting_card(world)
    event = load("recording_completed.json")
    obj = event["payload"]["object"]
    obj["id"] = card["props"]["meeting_id"]
    obj["uuid"] = world.zoom.meetings[obj["id"]]["uuid"]
    for entry in obj["recording_files"]:
        for key in ("play_url", "download_url"):
            if key in entry:
                entry[key] = entry[key].replace("https://us06web.zoom.us", world.zoom.url)
    send(world, event)

    reply = world.wait_for_reply(card, "recording")
    video, audio = obj["recording_files"][0], obj["recording_files"][1]
    assert f"({video['play_url']})" in reply["message"]
    assert f"({audio['play_url']})" in reply["message"]
    # Zoom does not know these files, so the chat cannot be fetched; the links stay.
    assert "chat could not be attached: Zoom no longer offers it" in reply["message"]
    assert world.attachments(reply) == []


def _shape(value: Any) -> Any:
    """The structure of a JSON value: keys and types, not contents."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(_shape(v), sort_keys=True) for v in value})
    return type(value).__name__


def test_simulated_recording_events_are_shaped_like_zooms(world: World) -> None:
    card = meeting_card(world)
    meeting_id = card["props"]["meeting_id"]
    completed = world.zoom.complete_recording(meeting_id)
    transcribed = world.zoom.complete_transcript(meeting_id)
    assert _shape(completed) == _shape(load("recording_completed.json"))
    assert _shape(transcribed) == _shape(load("recording_transcript_completed.json"))


# --- where files may come from ---------------------------------------------------------


def test_download_outside_zoom_is_refused_and_never_fetched(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    card = meeting_card(world)
    event = world.zoom.complete_recording(card["props"]["meeting_id"])
    (chat,) = files_of(event, "CHAT")
    # The same server under another name: not the configured Zoom host.
    chat["download_url"] = chat["download_url"].replace("127.0.0.1", "localhost")
    send(world, event)

    reply = world.wait_for_reply(card, "recording")
    assert (
        "chat could not be attached: Zoom gave a download address outside Zoom"
        in (reply["message"])
    )
    assert files_of(event, "MP4")[0]["play_url"] in reply["message"]  # the rest goes on
    assert world.attachments(reply) == []
    assert fetched(world, chat) == []
    service_thread = f"uvicorn-{world.servers[-1].port}"
    records = [r for r in caplog.records if r.threadName == service_thread]
    refusals = [r for r in records if r.getMessage() == "recording file not attached"]
    assert refusals and refusals[0].__dict__["origin"].startswith("http://localhost:")
    logged = "".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    assert event["download_token"] not in logged
    assert chat["download_url"].rsplit("/", 1)[1] not in logged


def test_redirects_are_followed_within_zoom_only(world: World) -> None:
    card = meeting_card(world)
    meeting_id = card["props"]["meeting_id"]
    world.zoom.redirect_downloads_to = world.zoom.url  # Zoom's storage, same host
    chat = b"hello from the storage host\n"
    send(world, world.zoom.complete_recording(meeting_id, chat=chat))
    first = world.wait_for_reply(card, "recording")
    assert attached_bytes(world, first) == {"meeting-chat.txt": chat}

    world.zoom.redirect_downloads_to = world.zoom.url.replace("127.0.0.1", "localhost")
    send(world, world.zoom.complete_transcript(meeting_id))
    refused = world.wait_for_reply(card, "transcript")
    assert (
        "could not be attached: Zoom gave a download address outside Zoom" in (refused["message"])
    )
    assert world.attachments(refused) == []
    storage = [r for r in world.zoom.download_requests if r.path.startswith("/rec/storage/")]
    assert len(storage) == 1, "only the first redirect was followed"


def test_chat_over_the_cap_is_refused_and_the_reply_says_so(world: World) -> None:
    card = meeting_card(world)
    meeting_id = card["props"]["meeting_id"]
    world.zoom.add_recording_file(meeting_id, "CHAT", "chat_file", size=MAX_ATTACHMENT_BYTES + 1)
    event = world.zoom.complete_recording(meeting_id, with_chat=False)
    send(world, event)

    reply = world.wait_for_reply(card, "recording")
    assert "chat could not be attached: it is larger than 100 MB" in reply["message"]
    assert files_of(event, "MP4")[0]["play_url"] in reply["message"]
    assert world.attachments(reply) == []
    assert fetched(world, files_of(event, "CHAT")[0]) == []  # refused before downloading
    assert world.mm.files == {}


def test_file_bigger_than_zoom_said_is_cut_off_at_the_cap(world: World) -> None:
    card = meeting_card(world)
    meeting_id = card["props"]["meeting_id"]
    # Zoom claims a small file, then streams more than the cap without a length
    # (Mattermost itself would take it: only the service's cap stops it).
    world.zoom.send_content_length = False
    world.mm.max_file_size = 4 * MAX_ATTACHMENT_BYTES
    world.zoom.add_recording_file(
        meeting_id,
        "TRANSCRIPT",
        "audio_transcript",
        size=MAX_ATTACHMENT_BYTES + 512 * 1024,
        reported_size=40_000,
    )
    event = world.zoom.recording_event(
        "recording.transcript_completed", meeting_id, world.zoom.recording_files(meeting_id)
    )
    send(world, event)

    reply = world.wait_for_reply(card, "transcript")
    assert "could not be attached: it is larger than 100 MB" in reply["message"]
    assert world.attachments(reply) == []
    assert world.mm.files == {}, "the cut-off upload left no file in Mattermost"


def test_expired_download_token_is_reported_and_links_still_posted(world: World) -> None:
    card = meeting_card(world)
    event = world.zoom.complete_recording(card["props"]["meeting_id"])
    world.zoom.expire_download_tokens()
    send(world, event)
    reply = world.wait_for_reply(card, "recording")
    assert "chat could not be attached: Zoom no longer offers it" in reply["message"]
    assert files_of(event, "MP4")[0]["play_url"] in reply["message"]
    assert world.attachments(reply) == []


# --- exactly once -------------------------------------------------------------------------


def test_duplicate_delivery_gives_one_reply(world: World) -> None:
    card = meeting_card(world)
    event = world.zoom.complete_recording(card["props"]["meeting_id"])
    send(world, event)
    again = send(world, copy.deepcopy(event))
    assert again.json()["status"] == "duplicate"

    wait_for_queue(world)
    (reply,) = recording_replies(world, card)
    assert len(world.attachments(reply)) == 1
    assert len(world.mm.files) == 1  # the chat, uploaded once


def test_mattermost_outage_is_retried_with_exactly_one_reply(world: World) -> None:
    card = meeting_card(world)
    world.mm.fail_next("POST", "/api/v4/files", 503)
    world.mm.fail_next("POST", "/api/v4/posts", 503)
    chat = b"retried chat\n"
    send(world, world.zoom.complete_recording(card["props"]["meeting_id"], chat=chat))

    reply = world.wait_for_reply(card, "recording")
    assert attached_bytes(world, reply) == {"meeting-chat.txt": chat}
    wait_for_queue(world)
    assert len(recording_replies(world, card)) == 1
    uploads = [r for r in world.mm.requests if r.method == "POST" and r.path == "/api/v4/files"]
    assert len(uploads) == 2  # refused once, then uploaded once
    assert len(world.mm.files) == 1


def test_reply_made_before_a_lost_answer_is_not_made_twice(world: World) -> None:
    card = meeting_card(world)
    # Mattermost saves the reply, but the service never hears back (504 after the fact).
    world.mm.fail_next("POST", "/api/v4/posts", 504, after=True)
    send(world, world.zoom.complete_recording(card["props"]["meeting_id"]))

    world.wait_for_reply(card, "recording")
    wait_for_queue(world)
    (reply,) = recording_replies(world, card)
    assert len(world.attachments(reply)) == 1
    looked = [r for r in world.mm.requests if r.path == f"/api/v4/posts/{card['id']}/thread"]
    assert looked, "the retry looked in the thread before posting"


def test_zoom_download_failure_is_retried(world: World) -> None:
    card = meeting_card(world)
    world.zoom.fail_next("GET", "/rec/webhook_download/", 503)
    chat = b"worth the wait\n"
    event = world.zoom.complete_recording(card["props"]["meeting_id"], chat=chat)
    send(world, event)

    reply = world.wait_for_reply(card, "recording")
    assert attached_bytes(world, reply) == {"meeting-chat.txt": chat}
    assert len(fetched(world, files_of(event, "CHAT")[0])) == 2
    assert cloud_file(world, files_of(event, "CHAT")[0]).downloads == 1


# --- the hosts an administrator configured ------------------------------------------------

ZOOM_CLOUD = ("https://zoom.us", "https://api.zoom.us/v2")
LAB = ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v2")


@pytest.mark.parametrize(
    ("url", "configured", "allowed"),
    [
        ("https://zoom.us/rec/webhook_download/abc", ZOOM_CLOUD, True),
        ("https://us06web.zoom.us/rec/webhook_download/abc/def", ZOOM_CLOUD, True),
        ("https://ssrweb.zoom.us/file?signature=x", ZOOM_CLOUD, True),
        ("http://us06web.zoom.us/rec/webhook_download/abc", ZOOM_CLOUD, False),
        ("https://zoom.us.attacker.example/rec/abc", ZOOM_CLOUD, False),
        ("https://attackerzoom.us/rec/abc", ZOOM_CLOUD, False),
        ("https://zoom.us@attacker.example/rec/abc", ZOOM_CLOUD, False),
        ("https://attacker.example/?next=https://zoom.us/", ZOOM_CLOUD, False),
        ("https://zoom.us:8443/rec/abc", ZOOM_CLOUD, False),
        ("https://zoom.us\\@attacker.example/rec/abc", ZOOM_CLOUD, False),
        ("ftp://zoom.us/rec/abc", ZOOM_CLOUD, False),
        ("", ZOOM_CLOUD, False),
        ("http://127.0.0.1:8080/rec/webhook_download/abc", LAB, True),
        ("http://127.0.0.1:8081/rec/webhook_download/abc", LAB, False),
        ("http://localhost:8080/rec/webhook_download/abc", LAB, False),
    ],
)
def test_recordings_are_downloaded_only_from_the_configured_zoom_hosts(
    url: str, configured: tuple[str, str], allowed: bool
) -> None:
    assert download_allowed(url, configured) is allowed
