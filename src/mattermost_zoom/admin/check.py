"""`mattermost-zoom check`: diagnose a deployment, one line per check.

This module gathers the facts (Mattermost, the bot, each team's ``/zoom``, the
public URL, Zoom, the database, the webhooks); ``core.diagnosis`` turns them into
lines, each failure with its fix. Exit 1 when anything failed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from mattermost_zoom.admin import EXIT_FAILED, EXIT_OK, AdminCommand, add_config_argument
from mattermost_zoom.admin import settings_from as load_settings_from_args
from mattermost_zoom.clients.mattermost import MattermostError
from mattermost_zoom.clients.mattermost_admin import MattermostAdmin
from mattermost_zoom.clients.zoom import OAuthGrantError, ZoomOAuth
from mattermost_zoom.clock import utcnow
from mattermost_zoom.config import Settings
from mattermost_zoom.core.diagnosis import (
    Answer,
    BotFacts,
    CommandFacts,
    DatabaseFacts,
    Facts,
    Status,
    TeamFacts,
    WebhookFacts,
    ZoomCredentialFacts,
    diagnose,
    failed,
)
from mattermost_zoom.crypto import constant_time_in
from mattermost_zoom.store import migrations
from mattermost_zoom.store.repository import Store
from mattermost_zoom.store.urls import sync_url

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DATABASE_TIMEOUT = 20.0
# Zoom answers a refresh with a refresh token it never issued with invalid_grant
# when the client ID and secret are right, and with invalid_client when they are
# not: the only way to test a user-managed app's credentials without a user.
PROBE_REFRESH_TOKEN = "mattermost-zoom-check-this-is-not-a-refresh-token"  # noqa: S105


def _arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--team",
        action="append",
        default=[],
        metavar="NAME",
        help="check the /zoom command of this team only (repeatable; default: every team)",
    )


def _run(args: argparse.Namespace) -> int:
    settings = load_settings_from_args(args)
    # Alembic reports at INFO how it reads the schema version; only the lines matter.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    facts = asyncio.run(gather(settings, tuple(args.team)))
    results = diagnose(facts)
    for result in results:
        print(result.line())
    problems = sum(r.status is Status.FAIL for r in results)
    warnings = sum(r.status is Status.WARN for r in results)
    if failed(results):
        print(f"check: {problems} problem(s), {warnings} warning(s)")
        return EXIT_FAILED
    print("check: everything works" + (f" ({warnings} warning(s))" if warnings else ""))
    return EXIT_OK


COMMAND = AdminCommand(
    "check",
    "diagnose a deployment: one line per check, with the fix for each failure",
    _arguments,
    _run,
)


# --- gathering the facts -------------------------------------------------------------


async def gather(settings: Settings, teams: Sequence[str] = ()) -> Facts:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        mm = MattermostAdmin(settings.mattermost_url, settings.bot_token.get_secret_value(), http)
        ping = await _ping(mm)
        bot = await _bot(mm) if ping.status is not None else None
        team_facts: tuple[TeamFacts, ...] | None = None
        teams_listing: Answer | None = None
        unknown: tuple[str, ...] = ()
        if bot is not None and bot.answer.status == 200:
            try:
                team_facts, unknown = await _teams(mm, settings, teams)
            except MattermostError as exc:
                teams_listing = Answer(exc.status, exc.error_id)
            except httpx.HTTPError as exc:
                teams_listing = Answer(None, describe(exc))
        health = await _status(http, f"{settings.public_url}/healthz")
        zoom = await zoom_credentials(
            http,
            zoom_url=settings.zoom_url,
            client_id=settings.oauth_client_id,
            client_secret=settings.oauth_client_secret.get_secret_value(),
            redirect_url=settings.oauth_redirect_url,
        )
    database, webhooks = await _database(settings)
    return Facts(
        now=utcnow(),
        mattermost_url=settings.mattermost_url,
        public_url=settings.public_url,
        zoom_url=settings.zoom_url,
        ping=ping,
        bot=bot,
        teams=team_facts,
        teams_listing=teams_listing,
        unknown_teams=unknown,
        health=health,
        zoom=zoom,
        database=database,
        webhooks=webhooks,
        zoom_webhook_secret_set=bool(
            settings.zoom_webhook_secret and settings.zoom_webhook_secret.get_secret_value().strip()
        ),
    )


def describe(exc: BaseException) -> str:
    """A connection problem in words, never with a URL's query (secrets)."""
    names = {
        httpx.ConnectError: "connection refused or host unknown",
        httpx.ConnectTimeout: "connection timed out",
        httpx.ReadTimeout: "no answer in time",
    }
    for kind, text in names.items():
        if isinstance(exc, kind):
            return text
    return type(exc).__name__


async def _ping(mm: MattermostAdmin) -> Answer:
    try:
        return Answer(await mm.ping())
    except httpx.HTTPError as exc:
        return Answer(None, describe(exc))


async def _bot(mm: MattermostAdmin) -> BotFacts:
    try:
        me = await mm.me()
    except MattermostError as exc:
        return BotFacts(Answer(exc.status, exc.error_id))
    except httpx.HTTPError as exc:
        return BotFacts(Answer(None, describe(exc)))
    return BotFacts(Answer(200), username=me.username, is_bot=me.is_bot, roles=me.roles)


async def _teams(
    mm: MattermostAdmin, settings: Settings, names: Sequence[str]
) -> tuple[tuple[TeamFacts, ...], tuple[str, ...]]:
    teams = await mm.teams()
    if names:
        by_name = {t.name: t for t in teams}
        chosen = [by_name[n] for n in dict.fromkeys(names) if n in by_name]
        unknown = tuple(n for n in dict.fromkeys(names) if n not in by_name)
    else:
        chosen, unknown = teams, ()
    accepted = settings.slash_command_tokens
    facts = []
    for team in chosen:
        try:
            commands = await mm.commands(team.id)
        except MattermostError as exc:
            facts.append(TeamFacts(team.name, listing=Answer(exc.status, exc.error_id)))
            continue
        facts.append(
            TeamFacts(
                team.name,
                tuple(
                    CommandFacts(
                        trigger=c.trigger,
                        url=c.url,
                        method=c.method,
                        token_accepted=constant_time_in(c.token, accepted),
                    )
                    for c in commands
                ),
            )
        )
    return tuple(facts), unknown


async def _status(http: httpx.AsyncClient, url: str) -> Answer:
    try:
        return Answer((await http.get(url)).status_code)
    except httpx.HTTPError as exc:
        return Answer(None, describe(exc))


async def zoom_credentials(
    http: httpx.AsyncClient,
    *,
    zoom_url: str,
    client_id: str,
    client_secret: str,
    redirect_url: str,
) -> ZoomCredentialFacts:
    """Ask Zoom's token endpoint whether it knows this client ID and secret."""
    oauth = ZoomOAuth(
        zoom_url=zoom_url,
        client_id=client_id,
        client_secret=client_secret,
        redirect_url=redirect_url,
        http=http,
    )
    try:
        await oauth.refresh(PROBE_REFRESH_TOKEN, utcnow())
    except OAuthGrantError as exc:
        return ZoomCredentialFacts(Answer(exc.status), error=exc.error, reason=exc.reason)
    except httpx.HTTPError as exc:
        return ZoomCredentialFacts(Answer(None, describe(exc)))
    return ZoomCredentialFacts(Answer(200), error="", reason="a made-up refresh token worked")


def _migrations() -> Path:
    return Path(migrations.__file__).parent


def _schema_revisions() -> tuple[tuple[str, ...], frozenset[str]]:
    """This version's newest revisions, and every revision it knows."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_migrations()))
    script = ScriptDirectory.from_config(config)
    known = frozenset(r.revision for r in script.walk_revisions())
    return tuple(script.get_heads()), known


def _missing_sqlite_file(database_url: str) -> Path | None:
    url = make_url(sync_url(database_url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(str(url.database))
    return None if path.exists() else path.resolve()


async def _database(settings: Settings) -> tuple[DatabaseFacts, WebhookFacts | None]:
    missing = _missing_sqlite_file(settings.database_url)
    if missing is not None:
        problem = f"no database file at {missing}"
        return DatabaseFacts(reachable=False, problem=problem, missing_file=True), None
    heads, known = _schema_revisions()
    store = Store.open(settings.database_url)
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            return await _read_database(store, heads, known)
    except TimeoutError:
        return DatabaseFacts(reachable=False, problem="no answer in time"), None
    except Exception as exc:  # any driver's connection error
        return DatabaseFacts(reachable=False, problem=_database_problem(exc, settings)), None
    finally:
        await store.close()


def _database_problem(exc: Exception, settings: Settings) -> str:
    """The driver's first line about the failure, without the database password."""
    original = getattr(exc, "orig", None) or exc
    text = (str(original).strip().splitlines() or [""])[0][:200]
    password = make_url(sync_url(settings.database_url)).password
    if password:
        text = text.replace(str(password), "***")
    name = type(original).__name__
    return f"{name}: {text}" if text else name


async def _read_database(
    store: Store, heads: tuple[str, ...], known: frozenset[str]
) -> tuple[DatabaseFacts, WebhookFacts | None]:
    from alembic.runtime.migration import MigrationContext

    async with store.engine.connect() as conn:
        current = await conn.run_sync(
            lambda sync: tuple(MigrationContext.configure(sync).get_current_heads())
        )
    database = DatabaseFacts(
        reachable=True,
        current=current,
        heads=heads,
        known=all(revision in known for revision in current),
    )
    if not current:
        return database, None
    try:
        last = await store.events.last_received()
        rejected = await store.events.last_delivery("rejected")
        stats = await store.events.stats()
    except Exception:  # an old schema without these tables: the schema line says why
        return database, None
    return database, WebhookFacts(
        last_received=last,
        last_rejected=(rejected.at, rejected.detail) if rejected else None,
        failed_events=stats.failed,
    )
