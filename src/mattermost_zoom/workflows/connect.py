"""Connecting a Mattermost user to Zoom: OAuth 2 authorization code with PKCE.

The connect link carries a value signed by the service naming the Mattermost
user, so nothing a browser sends decides who gets connected. The OAuth state is
random, stored only as a hash, bound to that user, single-use and short-lived;
the PKCE verifier never leaves the server.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from mattermost_zoom.clients.zoom import OAuthGrantError, ZoomError, new_code_verifier
from mattermost_zoom.clock import utcnow
from mattermost_zoom.core import messages
from mattermost_zoom.core.cards import Prompt
from mattermost_zoom.core.models import Actor, NewConnection, StartRequest
from mattermost_zoom.crypto import DecryptionError, SignatureError, fingerprint
from mattermost_zoom.workflows.identity import connection_key, is_system_admin
from mattermost_zoom.workflows.services import Services

log = logging.getLogger(__name__)

CONNECT_LINK_MAX_AGE = timedelta(minutes=10)
STATE_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class ConnectLink:
    mm_user_id: str
    channel_id: str
    start: StartRequest | None


@dataclass(frozen=True)
class Completed:
    mm_user_id: str
    channel_id: str
    zoom_email: str
    start: StartRequest | None


class ConnectFailed(Exception):
    """The OAuth flow could not finish; ``page`` says what to show the browser."""

    def __init__(self, page: tuple[str, str]) -> None:
        super().__init__(page[0])
        self.page = page


def connect_url(svc: Services, mm_user_id: str, channel_id: str, start: StartRequest | None) -> str:
    token = svc.keys.connect_links.sign(
        {"u": mm_user_id, "c": channel_id, "s": start.to_dict() if start else None}
    )
    return f"{svc.settings.public_url}/oauth2/connect?{urlencode({'t': token})}"


def connect_prompt(svc: Services, mm_user_id: str, start: StartRequest) -> Prompt:
    link = connect_url(svc, mm_user_id, start.channel_id, start)
    return Prompt(messages.connect_prompt(link, for_start=True))


def read_connect_link(svc: Services, token: str) -> ConnectLink:
    try:
        value = svc.keys.connect_links.verify(token, int(CONNECT_LINK_MAX_AGE.total_seconds()))
    except SignatureError:
        raise ConnectFailed(messages.OAUTH_EXPIRED) from None
    start = value.get("s")
    return ConnectLink(
        mm_user_id=str(value["u"]),
        channel_id=str(value["c"]),
        start=StartRequest.from_dict(start) if isinstance(start, dict) else None,
    )


async def begin(svc: Services, link: ConnectLink) -> str:
    """Record a fresh OAuth state for the user; returns Zoom's authorize URL."""
    state = secrets.token_urlsafe(32)
    verifier = new_code_verifier()
    now = utcnow()
    await svc.store.put_oauth_state(
        state_hash=fingerprint(state),
        mm_user_id=link.mm_user_id,
        channel_id=link.channel_id,
        code_verifier_enc=svc.keys.tokens.encrypt(verifier),
        start_request=link.start,
        expires_at=now + STATE_LIFETIME,
        now=now,
    )
    return svc.zoom_oauth.authorize_url(state, verifier)


async def complete(svc: Services, *, state: str, code: str) -> Completed:
    now = utcnow()
    consumed = await svc.store.consume_oauth_state(fingerprint(state), now)
    if consumed is None:
        raise ConnectFailed(messages.OAUTH_EXPIRED)
    try:
        verifier = svc.keys.tokens.decrypt(consumed.code_verifier_enc)
    except DecryptionError:
        # Begun under an encryption key that has since been removed.
        raise ConnectFailed(messages.OAUTH_EXPIRED) from None
    try:
        tokens = await svc.zoom_oauth.exchange_code(code, verifier, now)
        zoom_user = await svc.zoom_api.get_me(tokens.access_token)
    except (OAuthGrantError, ZoomError) as exc:
        log.warning("zoom oauth completion failed", extra={"error": str(exc)})
        raise ConnectFailed(messages.OAUTH_FAILED) from None
    await svc.store.save_connection(
        NewConnection(
            mm_user_id=connection_key(svc, consumed.mm_user_id),
            zoom_user_id=zoom_user.id,
            zoom_email=zoom_user.email,
            pmi=zoom_user.pmi,
            access_token_enc=svc.keys.tokens.encrypt(tokens.access_token),
            refresh_token_enc=svc.keys.tokens.encrypt(tokens.refresh_token),
            access_expires_at=tokens.expires_at,
            connected_at=utcnow(),
        )
    )
    log.info("zoom account connected", extra={"mm_user_id": consumed.mm_user_id})
    return Completed(
        consumed.mm_user_id, consumed.channel_id, zoom_user.email, consumed.start_request
    )


async def connect_command(svc: Services, actor: Actor, channel_id: str) -> Prompt:
    """``/zoom connect``: a link, or why not."""
    if svc.settings.account_level_app and not await is_system_admin(svc, actor):
        return Prompt(messages.REFUSALS["not_admin_connect"])
    existing = await svc.store.get_connection(connection_key(svc, actor.user_id))
    if existing is not None:
        return Prompt(messages.already_connected(existing.zoom_email))
    link = connect_url(svc, actor.user_id, channel_id, None)
    return Prompt(messages.connect_prompt(link, for_start=False))


async def disconnect_command(svc: Services, actor: Actor) -> Prompt:
    """``/zoom disconnect``: forget the tokens (and any OAuth flow under way)."""
    if svc.settings.account_level_app and not await is_system_admin(svc, actor):
        return Prompt(messages.REFUSALS["not_admin_connect"])
    removed = await svc.store.delete_connection(connection_key(svc, actor.user_id))
    await svc.store.delete_oauth_states(actor.user_id)
    return Prompt(messages.disconnected() if removed else messages.not_connected())
