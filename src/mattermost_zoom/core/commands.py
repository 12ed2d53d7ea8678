"""Parsing ``/zoom ...`` text and describing the commands a user may run."""

from __future__ import annotations

from dataclasses import dataclass

from mattermost_zoom.core import subscriptions

MAX_TOPIC_LENGTH = 200  # Zoom's limit for a meeting topic


@dataclass(frozen=True)
class Start:
    topic: str


@dataclass(frozen=True)
class Connect:
    pass


@dataclass(frozen=True)
class Disconnect:
    pass


@dataclass(frozen=True)
class Settings:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class SubscriptionAdd:
    meeting_id: str


@dataclass(frozen=True)
class SubscriptionRemove:
    meeting_id: str


@dataclass(frozen=True)
class SubscriptionList:
    pass


@dataclass(frozen=True)
class ChannelSettings:
    pass


@dataclass(frozen=True)
class ChannelSettingsList:
    pass


@dataclass(frozen=True)
class Unknown:
    word: str


@dataclass(frozen=True)
class Invalid:
    """A known subcommand used wrongly; ``reason`` tells the user how to fix it."""

    reason: str


Command = (
    Start
    | Connect
    | Disconnect
    | Settings
    | Help
    | SubscriptionAdd
    | SubscriptionRemove
    | SubscriptionList
    | ChannelSettings
    | ChannelSettingsList
    | Unknown
    | Invalid
)


@dataclass(frozen=True)
class HelpEntry:
    usage: str
    description: str


_ENTRIES = {
    "start": HelpEntry("/zoom start [topic]", "Start a Zoom meeting in this channel."),
    "connect": HelpEntry("/zoom connect", "Connect your Zoom account."),
    "disconnect": HelpEntry("/zoom disconnect", "Disconnect your Zoom account."),
    "settings": HelpEntry("/zoom settings", "Choose which meeting ID your meetings use."),
    "subscription add": HelpEntry(
        "/zoom subscription add [meeting ID]",
        "Post a card in this channel each time that meeting starts (meetings you host).",
    ),
    "subscription remove": HelpEntry(
        "/zoom subscription remove [meeting ID]",
        "Stop posting that meeting in this channel.",
    ),
    "subscription list": HelpEntry(
        "/zoom subscription list", "List your meeting subscriptions and their channels."
    ),
    "channel-settings": HelpEntry(
        "/zoom channel-settings", "Allow or restrict Zoom meetings in this channel."
    ),
    "channel-settings list": HelpEntry(
        "/zoom channel-settings list", "List the channels whose meeting policy is not the default."
    ),
    "help": HelpEntry("/zoom help", "Show this help."),
}


def parse(text: str) -> Command:
    words = text.strip().split(maxsplit=1)
    if not words:
        return Help()
    word, rest = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
    if word == "start":
        if len(rest) > MAX_TOPIC_LENGTH:
            return Invalid(
                f"The topic is too long: Zoom accepts at most {MAX_TOPIC_LENGTH} characters."
            )
        return Start(topic=" ".join(rest.split()))
    if word == "subscription":
        return _parse_subscription(rest)
    if word == "channel-settings":
        if not rest:
            return ChannelSettings()
        if rest.lower() == "list":
            return ChannelSettingsList()
        return Invalid("Use `/zoom channel-settings` or `/zoom channel-settings list`.")
    if word in ("connect", "disconnect", "settings", "help") and rest:
        return Invalid(f"`/zoom {word}` takes no arguments.")
    simple: dict[str, Command] = {
        "connect": Connect(),
        "disconnect": Disconnect(),
        "settings": Settings(),
        "help": Help(),
    }
    return simple.get(word, Unknown(word=words[0]))


def _parse_subscription(text: str) -> Command:
    words = text.split(maxsplit=1)
    if not words:
        return Invalid(subscriptions.no_action())
    action, rest = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
    if action == "list":
        return Invalid(subscriptions.list_takes_no_arguments()) if rest else SubscriptionList()
    if action not in ("add", "remove"):
        return Invalid(subscriptions.unknown_action(words[0]))
    if not rest:
        return Invalid(subscriptions.missing_meeting_id(action))
    meeting_id = subscriptions.parse_meeting_id(rest)
    if meeting_id is None:
        return Invalid(subscriptions.invalid_meeting_id(rest))
    return SubscriptionAdd(meeting_id) if action == "add" else SubscriptionRemove(meeting_id)


def allowed_entries(
    *, is_system_admin: bool, account_level_app: bool, can_manage_channel: bool = False
) -> list[HelpEntry]:
    """The commands this user may run, in the order help shows them."""
    names = [
        "start",
        "connect",
        "disconnect",
        "settings",
        "subscription add",
        "subscription remove",
        "subscription list",
        "channel-settings",
        "channel-settings list",
        "help",
    ]
    if not (can_manage_channel or is_system_admin):
        names.remove("channel-settings")
    if not is_system_admin:
        names.remove("channel-settings list")
    if account_level_app and not is_system_admin:
        # With an account-level app only a system admin connects, once, for everyone.
        names = [n for n in names if n not in ("connect", "disconnect")]
    return [_ENTRIES[n] for n in names]
