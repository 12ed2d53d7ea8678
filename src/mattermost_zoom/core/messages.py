"""Every sentence a user reads, in one place. Pure functions of plain values."""

from __future__ import annotations

from mattermost_zoom.core.commands import HelpEntry
from mattermost_zoom.core.models import MeetingIdChoice

REFUSALS = {
    "not_member": "You can only start a Zoom meeting in a channel you are a member of.",
    "public_channel_restricted": (
        "Starting Zoom meetings in public channels is turned off on this server. "
        "Start it in a private channel, a group message or a direct message instead."
    ),
    "channel_restricted": (
        "Zoom meetings are turned off in this channel by its admins. "
        "Ask a channel admin, or start it somewhere else."
    ),
    "not_admin_connect": (
        "Zoom is connected for the whole organization here: only a system admin can "
        "connect or disconnect it."
    ),
}

CHOICE_LABELS = {
    MeetingIdChoice.PERSONAL: "Use Personal Meeting ID",
    MeetingIdChoice.UNIQUE: "Use a Unique Meeting ID",
    MeetingIdChoice.ASK: "Ask each time",
}


def help_text(entries: list[HelpEntry]) -> str:
    lines = ["#### Zoom commands", *(f"* `{e.usage}`: {e.description}" for e in entries)]
    return "\n".join(lines)


def unknown_command(word: str) -> str:
    return f"`/zoom {word}` is not a Zoom command."


def connect_prompt(link: str, for_start: bool) -> str:
    if for_start:
        return (
            f"To start a meeting, first [connect your Zoom account]({link}). "
            "The meeting starts as soon as you are done; the link works for 10 minutes."
        )
    return f"[Connect your Zoom account]({link}). The link works for 10 minutes."


def already_connected(email: str) -> str:
    return (
        f"Your Zoom account ({email}) is already connected. "
        "Use `/zoom disconnect` first to switch accounts."
    )


def connected(email: str) -> str:
    return f"You are connected to Zoom as {email}."


def disconnected() -> str:
    return "Your Zoom account is disconnected. Use `/zoom connect` to connect it again."


def not_connected() -> str:
    return "Your Zoom account is not connected. Use `/zoom connect` to connect it."


def reconnect_needed() -> str:
    return (
        "Zoom no longer accepts the connection to your account (it was revoked, or it "
        "expired). Run `/zoom connect` to connect again."
    )


def account_not_connected() -> str:
    return "Zoom is not connected for this server yet. Ask a system admin to run `/zoom connect`."


def email_unknown_to_zoom(email: str) -> str:
    return (
        f"Zoom has no user with the email of your Mattermost account ({email}). "
        "Make sure you sign in to Zoom with that email, or ask an admin to add you "
        "to the organization's Zoom account."
    )


def connection_unreadable() -> str:
    return (
        "Your stored Zoom connection cannot be read on this server (its encryption key "
        "changed). Tell your admin, or run `/zoom disconnect` and then `/zoom connect`."
    )


def zoom_unavailable() -> str:
    return (
        "Zoom did not answer as expected, so no meeting was started. Please try again in a minute."
    )


def mattermost_unavailable() -> str:
    return "The meeting could not be posted to this channel. Please try again in a minute."


def something_went_wrong() -> str:
    return (
        "Something went wrong on our side. "
        "Please try again; if it keeps happening, tell your admin."
    )


def recent_meeting(topic: str) -> str:
    return (
        f"A meeting (“{topic}”) was started in this channel a few seconds ago. "
        "Join it, or create a new one?"
    )


def ask_meeting_id() -> str:
    return "Which meeting ID should this meeting use?"


def settings_prompt(current: MeetingIdChoice | None) -> str:
    now = CHOICE_LABELS[current or MeetingIdChoice.ASK]
    return f"#### Zoom settings\nMeeting ID for your meetings (now: **{now}**):"


def settings_saved(choice: MeetingIdChoice) -> str:
    return f"Saved: your meetings will **{CHOICE_LABELS[choice].lower()}**."


def joining_meeting() -> str:
    return "Opening the meeting in Zoom…"


def starting() -> str:
    return "Starting your meeting…"


def stale_button() -> str:
    return "This button has expired. Run the command again."


def meeting_started_text(username: str) -> str:
    return f"@{username} started a Zoom meeting."


OAUTH_DONE = ("Zoom account connected", "You can close this page and return to Mattermost.")
OAUTH_DONE_MEETING = (
    "Zoom account connected",
    "Your meeting is being posted in Mattermost. You can close this page.",
)
OAUTH_EXPIRED = (
    "This link has expired",
    "Connect links work once, for a few minutes. Run /zoom connect in Mattermost for a new one.",
)
OAUTH_DENIED = (
    "Zoom was not connected",
    "Access was not granted in Zoom. Run /zoom connect in Mattermost to try again.",
)
OAUTH_FAILED = (
    "Zoom could not be connected",
    "Zoom did not accept the sign-in. Run /zoom connect in Mattermost to try again.",
)
