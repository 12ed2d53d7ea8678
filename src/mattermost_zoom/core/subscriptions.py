"""Channel subscriptions to Zoom meetings, decided without I/O.

A subscription makes the service post a meeting card in one channel each time a
meeting starts in Zoom (typically a recurring meeting nobody starts from
Mattermost). This module holds the rules (who may subscribe a channel to which
meeting, who may remove it) and every sentence a user reads about them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Zoom's meeting types: 1 instant, 2 scheduled, 3 recurring without a fixed time,
# 4 personal meeting ID (PMI), 8 recurring with a fixed time.
PERSONAL_MEETING_TYPE = 4
MAX_MEETING_ID_DIGITS = 20
LIST_LIMIT = 100


@dataclass(frozen=True)
class Subscription:
    meeting_id: str
    channel_id: str
    created_by: str  # the Mattermost user who subscribed the channel
    zoom_user_id: str | None  # the Zoom account they were connected with then
    created_at: datetime


@dataclass(frozen=True)
class MeetingInfo:
    """What Zoom says about a meeting (``GET /meetings/{id}``)."""

    meeting_id: str
    host_id: str
    type: int
    pmi: str | None = None  # set when the meeting uses its host's personal meeting ID


# --- parsing ------------------------------------------------------------------


def parse_meeting_id(words: str) -> str | None:
    """The meeting ID in what the user typed, or None. Zoom shows IDs in groups
    ("812 3456 7890", sometimes with dashes), so the groups are joined."""
    joined = "".join(words.replace("-", " ").split())
    if not joined.isascii() or not joined.isdigit() or len(joined) > MAX_MEETING_ID_DIGITS:
        return None
    return joined


# --- decisions ----------------------------------------------------------------


@dataclass(frozen=True)
class Refuse:
    text: str


@dataclass(frozen=True)
class NeedsConnection:
    pass


@dataclass(frozen=True)
class AlreadySubscribed:
    text: str


@dataclass(frozen=True)
class Subscribe:
    pass


@dataclass(frozen=True)
class Unsubscribe:
    subscription: Subscription


def precheck_add(*, is_member: bool, connected: bool) -> Refuse | NeedsConnection | None:
    """Checks made before Zoom is asked about the meeting; None when they pass."""
    if not is_member:
        return Refuse(not_member_add())
    if not connected:
        # The meeting is looked up with the user's own Zoom account.
        return NeedsConnection()
    return None


def is_personal(meeting: MeetingInfo, *, user_pmi: str | None) -> bool:
    return (
        meeting.type == PERSONAL_MEETING_TYPE
        or meeting.meeting_id == (user_pmi or "")
        or meeting.meeting_id == (meeting.pmi or "")
    )


def host_matters(meeting: MeetingInfo | None, *, zoom_user_id: str) -> bool:
    """True when only system-admin status could allow this subscription: the
    shell looks the user's roles up only then."""
    return meeting is not None and meeting.host_id != zoom_user_id


def decide_add(
    *,
    meeting_id: str,
    channel_id: str,
    meeting: MeetingInfo | None,
    zoom_user_id: str,
    user_pmi: str | None,
    is_system_admin: bool,
    existing: Subscription | None,
) -> Refuse | AlreadySubscribed | Subscribe:
    """After Zoom was asked (``meeting`` None: Zoom has no such meeting the user can see)."""
    if meeting is None:
        return Refuse(meeting_not_found(meeting_id))
    if is_personal(meeting, user_pmi=user_pmi):
        # Personal meeting IDs are reused by every ad-hoc meeting of their owner.
        return Refuse(personal_meeting(meeting_id))
    if meeting.host_id != zoom_user_id and not is_system_admin:
        return Refuse(not_host(meeting_id))
    if existing is not None:
        return subscribed_already(existing, channel_id)
    return Subscribe()


def subscribed_already(existing: Subscription, channel_id: str) -> Refuse | AlreadySubscribed:
    """A meeting posts to one channel: adding it again is harmless, elsewhere refused."""
    if existing.channel_id == channel_id:
        return AlreadySubscribed(already_subscribed_here(existing.meeting_id))
    return Refuse(subscribed_elsewhere(existing.meeting_id))


def remove_needs_admin(existing: Subscription | None, *, channel_id: str, user_id: str) -> bool:
    """True when only system-admin status could allow this removal."""
    return (
        existing is not None
        and existing.channel_id == channel_id
        and existing.created_by != user_id
    )


def decide_remove(
    *,
    meeting_id: str,
    channel_id: str,
    user_id: str,
    is_member: bool,
    is_system_admin: bool,
    existing: Subscription | None,
) -> Refuse | Unsubscribe:
    if not is_member:
        return Refuse(not_member_remove())
    if existing is None:
        return Refuse(no_subscription(meeting_id))
    if existing.channel_id != channel_id:
        return Refuse(subscribed_in_other_channel(meeting_id))
    if existing.created_by != user_id and not is_system_admin:
        return Refuse(not_creator(meeting_id))
    return Unsubscribe(existing)


# --- what users read ------------------------------------------------------------

USAGE = (
    "Use `/zoom subscription add <meeting ID>`, `/zoom subscription remove <meeting ID>` "
    "or `/zoom subscription list`."
)


def no_action() -> str:
    return f"Say what to do with meeting subscriptions. {USAGE}"


def unknown_action(word: str) -> str:
    return f"`{word[:40]}` is not a subscription action. {USAGE}"


def missing_meeting_id(action: str) -> str:
    return f"Give the meeting ID: `/zoom subscription {action} <meeting ID>`."


def invalid_meeting_id(typed: str) -> str:
    return (
        f"“{typed[:40]}” is not a Zoom meeting ID. A meeting ID is made of digits, "
        "like `812 3456 7890`."
    )


def list_takes_no_arguments() -> str:
    return "`/zoom subscription list` takes no arguments."


def not_member_add() -> str:
    return (
        "You can only subscribe a channel you are a member of (one you can post in). "
        "Join the channel first."
    )


def not_member_remove() -> str:
    return "You can only remove subscriptions from a channel you are a member of."


def connect_first(link: str) -> str:
    return (
        f"To subscribe this channel to a meeting, first [connect your Zoom account]({link}) "
        "so that the meeting can be looked up, then run the command again. "
        "The link works for 10 minutes."
    )


def meeting_not_found(meeting_id: str) -> str:
    return (
        f"Zoom has no meeting {meeting_id} that your Zoom account can see. "
        "Check the meeting ID: you can subscribe to meetings you host."
    )


def personal_meeting(meeting_id: str) -> str:
    return (
        f"Meeting {meeting_id} uses a personal meeting ID, and channels cannot subscribe to "
        "personal meeting rooms. Schedule a meeting (a recurring one, for a series) in Zoom "
        "and subscribe to that instead."
    )


def not_host(meeting_id: str) -> str:
    return (
        f"You can only subscribe to meetings you host, and meeting {meeting_id} has another "
        "host. Ask its host, or a system admin, to subscribe this channel."
    )


def already_subscribed_here(meeting_id: str) -> str:
    return f"This channel is already subscribed to meeting {meeting_id}."


def subscribed_elsewhere(meeting_id: str) -> str:
    return (
        f"Meeting {meeting_id} is already subscribed in another channel, and a meeting posts "
        "to one channel only. Whoever subscribed it, or a system admin, can remove that "
        f"subscription by running `/zoom subscription remove {meeting_id}` in that channel."
    )


def subscribed(meeting_id: str) -> str:
    return (
        f"This channel is subscribed to meeting {meeting_id}: each time the meeting starts, "
        "a card with its Join link is posted here."
    )


def unsubscribed(meeting_id: str) -> str:
    return f"This channel is no longer subscribed to meeting {meeting_id}."


def no_subscription(meeting_id: str) -> str:
    return f"This channel is not subscribed to meeting {meeting_id}."


def subscribed_in_other_channel(meeting_id: str) -> str:
    return (
        f"Meeting {meeting_id} is subscribed in a different channel, not this one. "
        "Run the command in that channel to remove it."
    )


def not_creator(meeting_id: str) -> str:
    return (
        f"Only the person who subscribed this channel to meeting {meeting_id}, or a system "
        "admin, can remove the subscription."
    )


def lookup_failed() -> str:
    return (
        "Zoom did not answer, so the meeting could not be looked up. Please try again in a minute."
    )


def none_listed(*, everyone: bool) -> str:
    if everyone:
        return "There are no meeting subscriptions."
    return (
        "You have no meeting subscriptions. Subscribe a channel with "
        "`/zoom subscription add <meeting ID>`."
    )


@dataclass(frozen=True)
class ListRow:
    meeting_id: str
    channel: str  # already written for display: ~name, or a description
    created_by: str = ""  # @username, only in the system admin's list


def channel_label(*, name: str | None, type_: str | None) -> str:
    """How a channel is named in the list: a ~link when it has one."""
    if name is None:
        return "(a channel that no longer exists or cannot be read)"
    if type_ == "D":
        return "a direct message"
    if type_ == "G":
        return "a group message"
    return f"~{name}"


def subscription_list(rows: list[ListRow], *, everyone: bool, total: int) -> str:
    if not rows:
        return none_listed(everyone=everyone)
    if everyone:
        lines = [
            "#### Meeting subscriptions (all)",
            "| Meeting ID | Channel | Subscribed by |",
            "| --- | --- | --- |",
            *(f"| {r.meeting_id} | {r.channel} | {r.created_by} |" for r in rows),
        ]
    else:
        lines = [
            "#### Your meeting subscriptions",
            "| Meeting ID | Channel |",
            "| --- | --- |",
            *(f"| {r.meeting_id} | {r.channel} |" for r in rows),
        ]
    if total > len(rows):
        lines.append(f"\n…and {total - len(rows)} more.")
    return "\n".join(lines)
