"""Whose Zoom account a Mattermost user's meeting goes to, and whose token opens it.

With a user-level app (the default) every user connects their own account. With
an account-level app one system admin connects once; each user is then found in
Zoom by the email of their Mattermost account.
"""

from __future__ import annotations

from dataclasses import dataclass

from mattermost_zoom.clients.zoom import ZoomError
from mattermost_zoom.core.models import Actor, Connection
from mattermost_zoom.workflows.services import Services

# The connection row holding an account-level app's token.
ACCOUNT_CONNECTION = "__account__"


@dataclass(frozen=True)
class ZoomIdentity:
    token_owner: str  # key of the stored connection whose token is used
    zoom_user: str  # "me", or the Zoom user ID the account token acts for
    pmi: str | None
    connection: Connection | None = None  # as just read, when it is the user's own


@dataclass(frozen=True)
class UnknownEmail:
    """Account-level app: Zoom has no user with this Mattermost email."""

    email: str


def connection_key(svc: Services, mm_user_id: str) -> str:
    """Under which key a connection made by ``mm_user_id`` is stored."""
    return ACCOUNT_CONNECTION if svc.settings.account_level_app else mm_user_id


async def resolve(
    svc: Services, actor: Actor, stored: Connection | None
) -> ZoomIdentity | UnknownEmail | None:
    """None when nothing is connected (the user, or the account). ``stored`` is the
    connection stored under ``connection_key(svc, actor.user_id)``, as just read."""
    if stored is None:
        return None
    if not svc.settings.account_level_app:
        return ZoomIdentity(actor.user_id, "me", stored.pmi, stored)
    user = await svc.mattermost.get_user(actor.user_id)
    try:
        zoom_user = await svc.tokens.call(
            ACCOUNT_CONNECTION, lambda token: svc.zoom_api.get_user(token, user.email)
        )
    except ZoomError as exc:
        if exc.status == 404:
            return UnknownEmail(user.email)
        raise
    return ZoomIdentity(ACCOUNT_CONNECTION, zoom_user.id, zoom_user.pmi)


async def is_system_admin(svc: Services, actor: Actor) -> bool:
    if actor.roles:
        return actor.is_system_admin
    return "system_admin" in (await svc.mattermost.get_user(actor.user_id)).roles
