"""``/zoom channel-settings``: a channel's meeting policy, set through a dialog."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mattermost_zoom.clients.mattermost import MattermostError
from mattermost_zoom.clock import utcnow
from mattermost_zoom.core import channel_policy
from mattermost_zoom.core.cards import Prompt
from mattermost_zoom.core.channel_policy import PREFERENCE_LABELS, ChannelPreference
from mattermost_zoom.core.models import Actor, ChannelType
from mattermost_zoom.crypto import SignatureError
from mattermost_zoom.workflows.identity import is_system_admin
from mattermost_zoom.workflows.services import Services

DIALOG_MAX_AGE = timedelta(hours=1)
DIALOG_PATH = "/dialogs/channel-settings"


@dataclass(frozen=True)
class DialogSubmission:
    user_id: str
    channel_id: str
    state: str
    submission: dict[str, Any]


class ForbiddenSubmission(Exception):
    """The dialog's state is forged, expired, or belongs to another user or channel."""


async def open_dialog(
    svc: Services, actor: Actor, channel_id: str, trigger_id: str
) -> Prompt | None:
    """Open the dialog for a user allowed to change the policy; else say why not."""
    refusal, channel_name = await _refusal(svc, actor.user_id, channel_id)
    if refusal:
        return Prompt(refusal)
    current = await svc.store.channel_preferences.get(channel_id) or ChannelPreference.DEFAULT
    state = svc.keys.dialogs.sign({"u": actor.user_id, "c": channel_id})
    server_default = channel_policy.describe_default(svc.settings.restrict_meeting_creation)
    dialog = {
        "callback_id": "channel-settings",
        "title": "Zoom meetings in this channel",
        "introduction_text": f"Who may start Zoom meetings in ~{channel_name}. {server_default}",
        "elements": [
            {
                "display_name": "Meetings",
                "name": "preference",
                "type": "radio",
                "default": current.value,
                "options": [
                    {"text": PREFERENCE_LABELS[p], "value": p.value} for p in ChannelPreference
                ],
            }
        ],
        "submit_label": "Save",
        "notify_on_cancel": False,
        "state": state,
    }
    try:
        await svc.mattermost.open_dialog(trigger_id, svc.settings.public_url + DIALOG_PATH, dialog)
    except MattermostError:
        return Prompt("The settings dialog could not be opened. Please run the command again.")
    return None


async def save(svc: Services, submitted: DialogSubmission) -> dict[str, Any]:
    """Apply a dialog submission; returns the dialog response body."""
    try:
        state = svc.keys.dialogs.verify(submitted.state, int(DIALOG_MAX_AGE.total_seconds()))
    except SignatureError:
        raise ForbiddenSubmission("bad or expired dialog state") from None
    if state.get("u") != submitted.user_id or state.get("c") != submitted.channel_id:
        raise ForbiddenSubmission("dialog state belongs to another user or channel")
    # Roles may have changed since the dialog opened.
    refusal, _ = await _refusal(svc, submitted.user_id, submitted.channel_id)
    if refusal:
        return {"error": refusal}
    value = submitted.submission.get("preference")
    try:
        preference = ChannelPreference(str(value))
    except ValueError:
        return {"errors": {"preference": "Choose one of the options."}}
    await svc.store.channel_preferences.set(
        submitted.channel_id, preference, submitted.user_id, utcnow()
    )
    await svc.mattermost.send_ephemeral(
        submitted.user_id,
        submitted.channel_id,
        f"Zoom meetings in this channel: **{PREFERENCE_LABELS[preference]}**.",
    )
    return {}


async def list_preferences(svc: Services, actor: Actor) -> Prompt:
    if not await is_system_admin(svc, actor):
        return Prompt("Only system admins can list the channels' meeting policies.")
    rows = await svc.store.channel_preferences.all()
    lines = [
        "#### Zoom meeting policies",
        channel_policy.describe_default(svc.settings.restrict_meeting_creation),
    ]
    if not rows:
        return Prompt("\n".join([*lines, "", "Every channel follows the server default."]))
    names = await asyncio.gather(*(_channel_name(svc, channel_id) for channel_id, _ in rows))
    lines += ["", "| Channel | Channel ID | Meetings |", "| --- | --- | --- |"]
    lines += [
        f"| {name} | {channel_id} | {PREFERENCE_LABELS[preference]} |"
        for (channel_id, preference), name in zip(rows, names, strict=True)
    ]
    return Prompt("\n".join(lines))


async def _channel_name(svc: Services, channel_id: str) -> str:
    try:
        return f"~{(await svc.mattermost.get_channel(channel_id)).name}"
    except MattermostError:
        return "(channel not found)"


async def _refusal(svc: Services, user_id: str, channel_id: str) -> tuple[str | None, str]:
    channel, roles, user = await asyncio.gather(
        svc.mattermost.get_channel(channel_id),
        svc.mattermost.channel_member_roles(channel_id, user_id),
        svc.mattermost.get_user(user_id),
    )
    refusal = channel_policy.settings_refusal(
        ChannelType(channel.type),
        is_member=roles is not None,
        member_roles=roles or frozenset(),
        is_admin="system_admin" in user.roles,
    )
    return refusal, channel.name
