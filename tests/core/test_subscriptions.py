"""Who may subscribe a channel to which meeting, and who may remove it.

Zoom only shows a user-level app the meetings its user hosts, so some of these
rules (another host's meeting, a system admin's) cannot be reached through the
simulator; they are checked here, on the decisions themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mattermost_zoom.core import commands
from mattermost_zoom.core import subscriptions as rules
from mattermost_zoom.core.subscriptions import MeetingInfo, Subscription

ALICE_ZOOM = "zoom-alice"
BOB_ZOOM = "zoom-bob"


def meeting(host: str = ALICE_ZOOM, type_: int = 8, **kwargs: Any) -> MeetingInfo:
    return MeetingInfo(
        meeting_id=kwargs.pop("meeting_id", "81234567890"), host_id=host, type=type_, **kwargs
    )


def subscription(channel: str = "town", by: str = "alice") -> Subscription:
    return Subscription(
        meeting_id="81234567890",
        channel_id=channel,
        created_by=by,
        zoom_user_id=ALICE_ZOOM,
        created_at=datetime(2026, 12, 4, tzinfo=UTC),
    )


def add(**overrides: Any) -> rules.Refuse | rules.AlreadySubscribed | rules.Subscribe:
    facts: dict[str, Any] = {
        "meeting_id": "81234567890",
        "channel_id": "town",
        "meeting": meeting(),
        "zoom_user_id": ALICE_ZOOM,
        "user_pmi": "5551234567",
        "is_system_admin": False,
        "existing": None,
    }
    facts.update(overrides)
    return rules.decide_add(**facts)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("812 3456 7890", "81234567890"),
        ("812-3456-7890", "81234567890"),
        ("  81234567890 ", "81234567890"),
        ("81234567890x", None),
        ("next tuesday", None),
        ("８１２", None),  # full-width digits are not an ID
        ("1" * 21, None),
    ],
)
def test_meeting_ids_are_read_as_zoom_shows_them(typed: str, expected: str | None) -> None:
    assert rules.parse_meeting_id(typed) == expected


def test_subscription_commands_parse() -> None:
    assert commands.parse("subscription add 812 3456 7890") == commands.SubscriptionAdd(
        "81234567890"
    )
    assert commands.parse("SUBSCRIPTION Remove 81234567890") == commands.SubscriptionRemove(
        "81234567890"
    )
    assert commands.parse("subscription list") == commands.SubscriptionList()


def test_the_host_may_subscribe() -> None:
    assert add() == rules.Subscribe()


def test_someone_elses_meeting_is_refused_with_whom_to_ask() -> None:
    decision = add(meeting=meeting(host=BOB_ZOOM))
    assert isinstance(decision, rules.Refuse)
    assert "only subscribe to meetings you host" in decision.text
    assert "system admin" in decision.text
    # Only then does admin status matter, so only then is it looked up.
    assert rules.host_matters(meeting(host=BOB_ZOOM), zoom_user_id=ALICE_ZOOM)
    assert not rules.host_matters(meeting(), zoom_user_id=ALICE_ZOOM)
    assert not rules.host_matters(None, zoom_user_id=ALICE_ZOOM)


def test_a_system_admin_may_subscribe_to_any_meeting() -> None:
    assert add(meeting=meeting(host=BOB_ZOOM), is_system_admin=True) == rules.Subscribe()


@pytest.mark.parametrize(
    "personal",
    [
        meeting(type_=4),  # Zoom says it is a personal meeting room
        meeting(meeting_id="5551234567"),  # the user's own PMI
        meeting(meeting_id="7770001111", pmi="7770001111"),  # scheduled on its host's PMI
    ],
)
def test_personal_meeting_ids_are_refused_even_for_admins(personal: MeetingInfo) -> None:
    decision = add(meeting_id=personal.meeting_id, meeting=personal, is_system_admin=True)
    assert isinstance(decision, rules.Refuse)
    assert "personal meeting ID" in decision.text


def test_not_found_comes_first() -> None:
    decision = add(meeting=None)
    assert decision == rules.Refuse(rules.meeting_not_found("81234567890"))


def test_membership_and_connection_are_checked_before_zoom_is_asked() -> None:
    assert rules.precheck_add(is_member=False, connected=True) == rules.Refuse(
        rules.not_member_add()
    )
    assert rules.precheck_add(is_member=True, connected=False) == rules.NeedsConnection()
    assert rules.precheck_add(is_member=True, connected=True) is None


def test_an_existing_subscription_here_is_no_error_elsewhere_it_is() -> None:
    here = add(existing=subscription(channel="town"))
    assert here == rules.AlreadySubscribed(rules.already_subscribed_here("81234567890"))
    elsewhere = add(existing=subscription(channel="design"))
    assert isinstance(elsewhere, rules.Refuse)
    assert "another channel" in elsewhere.text


def remove(**overrides: Any) -> rules.Refuse | rules.Unsubscribe:
    facts: dict[str, Any] = {
        "meeting_id": "81234567890",
        "channel_id": "town",
        "user_id": "alice",
        "is_member": True,
        "is_system_admin": False,
        "existing": subscription(),
    }
    facts.update(overrides)
    return rules.decide_remove(**facts)


def test_removal_rules() -> None:
    assert remove() == rules.Unsubscribe(subscription())
    assert remove(user_id="bob") == rules.Refuse(rules.not_creator("81234567890"))
    assert remove(user_id="bob", is_system_admin=True) == rules.Unsubscribe(subscription())
    assert remove(is_member=False) == rules.Refuse(rules.not_member_remove())
    assert remove(existing=None) == rules.Refuse(rules.no_subscription("81234567890"))
    assert remove(channel_id="design") == rules.Refuse(
        rules.subscribed_in_other_channel("81234567890")
    )
    # Admin status is looked up only when it could change the answer.
    assert rules.remove_needs_admin(subscription(), channel_id="town", user_id="bob")
    assert not rules.remove_needs_admin(subscription(), channel_id="town", user_id="alice")
    assert not rules.remove_needs_admin(subscription(), channel_id="design", user_id="bob")


def test_the_list_names_channels_as_users_know_them() -> None:
    assert rules.channel_label(name="town-square", type_="O") == "~town-square"
    assert rules.channel_label(name="abc__def", type_="D") == "a direct message"
    assert rules.channel_label(name="xyz", type_="G") == "a group message"
    assert "no longer exists" in rules.channel_label(name=None, type_=None)
    rows = [rules.ListRow(str(n), "~town-square") for n in range(3)]
    text = rules.subscription_list(rows, everyone=False, total=5)
    assert "| 0 | ~town-square |" in text
    assert "and 2 more" in text
