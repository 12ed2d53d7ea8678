"""Deciding what ``/zoom start`` does, from facts the shell has gathered. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mattermost_zoom.core.channel_policy import ChannelPreference, meetings_allowed
from mattermost_zoom.core.models import (
    ChannelType,
    Meeting,
    MeetingIdChoice,
    StartRequest,
)

DEFAULT_TOPIC = "Zoom Meeting"
RECENT_MEETING_WINDOW = timedelta(seconds=30)


@dataclass(frozen=True)
class StartFacts:
    request: StartRequest
    channel_type: ChannelType
    is_member: bool
    restrict_public_channels: bool
    channel_preference: ChannelPreference | None
    connected: bool
    has_pmi: bool
    saved_choice: MeetingIdChoice | None
    recent_meeting: Meeting | None  # the newest open meeting in the channel, if any
    now: datetime


@dataclass(frozen=True)
class Refuse:
    reason: str  # a key of messages.REFUSALS


@dataclass(frozen=True)
class NeedsConnection:
    pass


@dataclass(frozen=True)
class OfferRecent:
    meeting: Meeting


@dataclass(frozen=True)
class AskMeetingId:
    pass


@dataclass(frozen=True)
class Create:
    personal: bool
    topic: str


StartDecision = Refuse | NeedsConnection | OfferRecent | AskMeetingId | Create


def decide_start(facts: StartFacts) -> StartDecision:
    if not facts.is_member:
        return Refuse("not_member")
    if not meetings_allowed(
        facts.channel_type, facts.channel_preference, facts.restrict_public_channels
    ):
        if facts.channel_preference is ChannelPreference.RESTRICT:
            return Refuse("channel_restricted")
        return Refuse("public_channel_restricted")
    recent = facts.recent_meeting
    if (
        recent is not None
        and not facts.request.force_new
        and facts.now - recent.created_at < RECENT_MEETING_WINDOW
    ):
        # Joining needs no Zoom account, so this comes before the connection check.
        return OfferRecent(recent)
    if not facts.connected:
        return NeedsConnection()
    topic = facts.request.topic or DEFAULT_TOPIC
    choice = facts.request.choice or facts.saved_choice or MeetingIdChoice.ASK
    if not facts.has_pmi:
        # A personal meeting ID is only an option for users who have one.
        return Create(personal=False, topic=topic)
    if choice is MeetingIdChoice.ASK:
        return AskMeetingId()
    return Create(personal=choice is MeetingIdChoice.PERSONAL, topic=topic)
