"""What /zoom start decides, for every combination that matters to a user."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mattermost_zoom.core.channel_policy import ChannelPreference
from mattermost_zoom.core.models import (
    ChannelType,
    Meeting,
    MeetingIdChoice,
    MeetingStatus,
    StartRequest,
)
from mattermost_zoom.core.start import (
    AskMeetingId,
    Create,
    NeedsConnection,
    OfferRecent,
    Refuse,
    StartFacts,
    decide_start,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def recent(seconds_ago: float) -> Meeting:
    return Meeting(
        meeting_id="81234567890",
        post_id="p1",
        channel_id="c1",
        creator_mm_user_id="u2",
        topic="Standup",
        personal=False,
        join_url="https://zoom.example/j/81234567890",
        status=MeetingStatus.STARTED,
        created_at=NOW - timedelta(seconds=seconds_ago),
    )


BASE = StartFacts(
    request=StartRequest(channel_id="c1", topic="Design review"),
    channel_type=ChannelType.PRIVATE,
    is_member=True,
    restrict_public_channels=False,
    channel_preference=None,
    connected=True,
    has_pmi=True,
    saved_choice=MeetingIdChoice.UNIQUE,
    recent_meeting=None,
    now=NOW,
)


def test_connected_member_gets_a_meeting_with_the_topic() -> None:
    assert decide_start(BASE) == Create(personal=False, topic="Design review")


def test_empty_topic_becomes_zoom_meeting() -> None:
    facts = replace(BASE, request=StartRequest(channel_id="c1"))
    assert decide_start(facts) == Create(personal=False, topic="Zoom Meeting")


def test_non_member_is_refused_even_if_everything_else_is_fine() -> None:
    assert decide_start(replace(BASE, is_member=False)) == Refuse("not_member")


@pytest.mark.parametrize("channel_type", list(ChannelType))
def test_restriction_applies_to_public_channels_only(channel_type: ChannelType) -> None:
    decision = decide_start(replace(BASE, channel_type=channel_type, restrict_public_channels=True))
    if channel_type is ChannelType.OPEN:
        assert decision == Refuse("public_channel_restricted")
    else:
        assert isinstance(decision, Create)


def test_unrestricted_public_channel_is_fine() -> None:
    assert isinstance(decide_start(replace(BASE, channel_type=ChannelType.OPEN)), Create)


def test_unconnected_user_is_asked_to_connect() -> None:
    assert decide_start(replace(BASE, connected=False)) == NeedsConnection()


def test_recent_open_meeting_is_offered_before_anything_else() -> None:
    meeting = recent(10)
    decision = decide_start(replace(BASE, recent_meeting=meeting, connected=False))
    assert decision == OfferRecent(meeting)


def test_meeting_older_than_thirty_seconds_is_not_offered() -> None:
    assert isinstance(decide_start(replace(BASE, recent_meeting=recent(31))), Create)


def test_choosing_create_new_skips_the_recent_meeting() -> None:
    facts = replace(
        BASE,
        recent_meeting=recent(5),
        request=StartRequest(channel_id="c1", topic="x", force_new=True),
    )
    assert isinstance(decide_start(facts), Create)


@pytest.mark.parametrize("saved", [None, MeetingIdChoice.ASK])
def test_unset_or_ask_preference_asks(saved: MeetingIdChoice | None) -> None:
    assert decide_start(replace(BASE, saved_choice=saved)) == AskMeetingId()


def test_saved_personal_preference_uses_the_pmi() -> None:
    decision = decide_start(replace(BASE, saved_choice=MeetingIdChoice.PERSONAL))
    assert decision == Create(personal=True, topic="Design review")


def test_choice_made_by_button_wins_over_the_saved_preference() -> None:
    request = StartRequest(channel_id="c1", topic="t", choice=MeetingIdChoice.PERSONAL)
    decision = decide_start(replace(BASE, request=request, saved_choice=MeetingIdChoice.UNIQUE))
    assert decision == Create(personal=True, topic="t")


@pytest.mark.parametrize("saved", [None, MeetingIdChoice.ASK, MeetingIdChoice.PERSONAL])
def test_user_without_a_pmi_always_gets_a_unique_meeting(saved: MeetingIdChoice | None) -> None:
    decision = decide_start(replace(BASE, has_pmi=False, saved_choice=saved))
    assert decision == Create(personal=False, topic="Design review")


@pytest.mark.parametrize(
    ("channel_type", "preference", "restrict", "allowed"),
    [
        (ChannelType.OPEN, ChannelPreference.ALLOW, True, True),
        (ChannelType.OPEN, ChannelPreference.DEFAULT, True, False),
        (ChannelType.PRIVATE, ChannelPreference.DEFAULT, True, True),
        (ChannelType.PRIVATE, ChannelPreference.RESTRICT, False, False),
        (ChannelType.OPEN, ChannelPreference.RESTRICT, False, False),
        (ChannelType.OPEN, None, False, True),
    ],
)
def test_channel_preference_overrides_the_server_default(
    channel_type: ChannelType, preference: ChannelPreference, restrict: bool, allowed: bool
) -> None:
    facts = replace(
        BASE,
        channel_type=channel_type,
        channel_preference=preference,
        restrict_public_channels=restrict,
    )
    assert isinstance(decide_start(facts), Create) is allowed


def test_explicitly_restricted_channel_says_so() -> None:
    facts = replace(BASE, channel_preference=ChannelPreference.RESTRICT)
    assert decide_start(facts) == Refuse("channel_restricted")
