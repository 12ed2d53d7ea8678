"""``POST /command``: the custom slash command, exactly as Mattermost sends it.

Verified here, answered at once; starting a meeting (which talks to Zoom and
Mattermost) runs after the answer and reports back with an ephemeral post.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mattermost_zoom.core import commands, messages
from mattermost_zoom.core.cards import Button, Prompt
from mattermost_zoom.core.models import Actor, MeetingIdChoice, StartRequest
from mattermost_zoom.crypto import constant_time_in
from mattermost_zoom.web.delivery import deliver_safely, prompt_response
from mattermost_zoom.workflows import channel_settings, connect, subscriptions
from mattermost_zoom.workflows.identity import is_system_admin
from mattermost_zoom.workflows.services import Services
from mattermost_zoom.workflows.start import start_meeting

_REQUIRED = ("user_id", "channel_id", "user_name")


async def slash_command(request: Request) -> Response:
    svc: Services = request.app.state.services
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return JSONResponse({"error": "expected a form-encoded slash command request"}, 415)
    form = await request.form()
    token = str(form.get("token") or "") or request.headers.get("authorization", "").removeprefix(
        "Token "
    )
    if not token or not constant_time_in(token, svc.settings.slash_command_tokens):
        return JSONResponse({"error": "invalid slash command token"}, 401)
    missing = [name for name in _REQUIRED if not form.get(name)]
    if missing:
        return JSONResponse({"error": f"missing fields: {', '.join(missing)}"}, 400)
    actor = Actor(user_id=str(form["user_id"]), username=str(form["user_name"]))
    channel_id = str(form["channel_id"])
    # Not every Mattermost version says which thread a command was typed in.
    root_id = str(form.get("root_id") or "")
    trigger_id = str(form.get("trigger_id") or "")
    command = commands.parse(str(form.get("text") or ""))
    return await _dispatch(svc, actor, channel_id, root_id, trigger_id, command)


async def _dispatch(
    svc: Services,
    actor: Actor,
    channel_id: str,
    root_id: str,
    trigger_id: str,
    command: commands.Command,
) -> Response:
    match command:
        case commands.ChannelSettings():
            refusal = await channel_settings.open_dialog(svc, actor, channel_id, trigger_id)
            return prompt_response(svc, actor.user_id, refusal) if refusal else JSONResponse({})
        case commands.ChannelSettingsList():
            prompt = await channel_settings.list_preferences(svc, actor)
            return prompt_response(svc, actor.user_id, prompt)
        case commands.Start(topic):
            task = BackgroundTask(
                _start_in_background,
                svc,
                actor,
                StartRequest(channel_id=channel_id, topic=topic, root_id=root_id),
            )
            return JSONResponse({}, background=task)
        case commands.Connect():
            prompt = await connect.connect_command(svc, actor, channel_id)
            return prompt_response(svc, actor.user_id, prompt)
        case commands.Disconnect():
            prompt = await connect.disconnect_command(svc, actor)
            return prompt_response(svc, actor.user_id, prompt)
        case commands.Settings():
            return prompt_response(svc, actor.user_id, await _settings(svc, actor))
        case commands.SubscriptionAdd(meeting_id):
            return _in_background(
                svc,
                actor,
                channel_id,
                lambda: subscriptions.add(svc, actor, channel_id, meeting_id),
            )
        case commands.SubscriptionRemove(meeting_id):
            return _in_background(
                svc,
                actor,
                channel_id,
                lambda: subscriptions.remove(svc, actor, channel_id, meeting_id),
            )
        case commands.SubscriptionList():
            return _in_background(
                svc, actor, channel_id, lambda: subscriptions.list_subscriptions(svc, actor)
            )
        case commands.Help():
            return prompt_response(svc, actor.user_id, Prompt(await _help(svc, actor, channel_id)))
        case commands.Unknown(word):
            text = f"{messages.unknown_command(word)}\n\n{await _help(svc, actor, channel_id)}"
            return prompt_response(svc, actor.user_id, Prompt(text))
        case commands.Invalid(reason):
            return prompt_response(svc, actor.user_id, Prompt(reason))


def _in_background(
    svc: Services, actor: Actor, channel_id: str, work: Callable[[], Awaitable[Prompt | None]]
) -> Response:
    """Answer Mattermost now; ``work`` (which talks to Zoom or Mattermost) reports
    back with an ephemeral post."""

    async def run() -> None:
        async with deliver_safely(svc, actor.user_id, channel_id) as deliver:
            await deliver(await work())

    return JSONResponse({}, background=BackgroundTask(run))


async def _start_in_background(svc: Services, actor: Actor, request: StartRequest) -> None:
    async with deliver_safely(svc, actor.user_id, request.channel_id) as deliver:
        await deliver(await start_meeting(svc, actor, request))


async def _settings(svc: Services, actor: Actor) -> Prompt:
    current = await svc.store.get_meeting_id_choice(actor.user_id)
    buttons = tuple(
        Button(
            messages.CHOICE_LABELS[choice],
            "settings",
            {"choice": choice.value},
            "primary" if choice == (current or MeetingIdChoice.ASK) else "default",
        )
        for choice in MeetingIdChoice
    )
    return Prompt(messages.settings_prompt(current), buttons)


async def _help(svc: Services, actor: Actor, channel_id: str) -> str:
    """Only what this user may run: that depends on their system and channel roles."""
    admin, channel_roles = await asyncio.gather(
        is_system_admin(svc, actor), svc.mattermost.channel_member_roles(channel_id, actor.user_id)
    )
    entries = commands.allowed_entries(
        is_system_admin=admin,
        account_level_app=svc.settings.account_level_app,
        can_manage_channel="channel_admin" in (channel_roles or frozenset()),
    )
    return messages.help_text(entries)
