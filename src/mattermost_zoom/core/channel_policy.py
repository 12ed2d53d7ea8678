"""Channel meeting policy: may meetings be started here, and who may change that. Pure."""

from __future__ import annotations

import enum

from mattermost_zoom.core.models import ChannelType


class ChannelPreference(enum.StrEnum):
    ALLOW = "allow"
    RESTRICT = "restrict"
    DEFAULT = "default"  # follow MMZOOM_RESTRICT_MEETING_CREATION


PREFERENCE_LABELS = {
    ChannelPreference.ALLOW: "Allow meetings",
    ChannelPreference.RESTRICT: "Restrict meetings",
    ChannelPreference.DEFAULT: "Server default",
}


def meetings_allowed(
    channel_type: ChannelType, preference: ChannelPreference | None, restrict_public: bool
) -> bool:
    """An explicit channel choice wins; otherwise the server-wide switch, which
    only ever concerns public channels."""
    if preference is ChannelPreference.RESTRICT:
        return False
    if preference is ChannelPreference.ALLOW:
        return True
    return not (restrict_public and channel_type is ChannelType.OPEN)


def settings_refusal(
    channel_type: ChannelType, *, is_member: bool, member_roles: frozenset[str], is_admin: bool
) -> str | None:
    """Why this user may not change this channel's policy, or None if they may."""
    if channel_type in (ChannelType.DIRECT, ChannelType.GROUP):
        return (
            "Direct and group messages have no meeting policy: meetings are always allowed there."
        )
    if is_admin or (is_member and "channel_admin" in member_roles):
        return None
    return "Only channel admins and system admins can change this channel's meeting policy."


def describe_default(restrict_public: bool) -> str:
    if restrict_public:
        return (
            "Server default: meetings in private channels and messages only, "
            "not in public channels."
        )
    return "Server default: meetings allowed in every channel and message."
