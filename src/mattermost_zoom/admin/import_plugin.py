"""`mattermost-zoom import-plugin-data`: take over the Go Zoom plugin's connected
users and their meeting ID settings, so nobody has to reconnect.

Reads Mattermost's database (PostgreSQL) without writing to it, and adds here what
is not here yet: a user already connected here, or with a setting chosen here,
keeps it. Running it again imports nothing twice.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy.exc import SQLAlchemyError

from mattermost_zoom.admin import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    AdminCommand,
    add_config_argument,
    settings_from,
)
from mattermost_zoom.admin.db_errors import describe
from mattermost_zoom.clients.zoom import ZoomAPI, ZoomOAuth
from mattermost_zoom.clock import utcnow
from mattermost_zoom.config import Settings
from mattermost_zoom.core.models import MeetingIdChoice
from mattermost_zoom.core.plugin_records import (
    PREFERENCE_KEY_PREFIX,
    USER_KEY_PREFIX,
    UnreadableRecord,
    parse_preference_record,
    parse_user_record,
    plugin_key,
    preference_choice,
)
from mattermost_zoom.crypto import TokenCipher
from mattermost_zoom.store import imports
from mattermost_zoom.store.migrate import migrate
from mattermost_zoom.store.plugin_kv import (
    NotMattermostDatabase,
    PluginData,
    UnsupportedDatabase,
    postgres_url,
    read_plugin_data,
)
from mattermost_zoom.store.repository import Store
from mattermost_zoom.workflows.plugin_import import Importer, UserOutcome

PROGRESS_EVERY = 25
HTTP_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@dataclass
class ImportReport:
    users_found: int = 0
    users: dict[UserOutcome, int] = field(default_factory=lambda: dict.fromkeys(UserOutcome, 0))
    unreadable: int = 0
    preferences_imported: int = 0
    preferences_kept: int = 0  # a setting chosen here already
    preferences_unreadable: int = 0
    # Mattermost user ID and what went wrong; never a value.
    problems: list[str] = field(default_factory=list)

    @property
    def users_done(self) -> int:
        return sum(self.users.values()) + self.unreadable

    @property
    def needs_attention(self) -> bool:
        """Something an admin can fix, or retry, went wrong."""
        return bool(
            self.unreadable
            or self.preferences_unreadable
            or self.users[UserOutcome.ZOOM_UNAVAILABLE]
            or self.everyone_refused
        )

    @property
    def everyone_refused(self) -> bool:
        """Zoom refused every token: more likely the wrong Zoom app than revocations."""
        connected = sum(
            self.users[o]
            for o in (
                UserOutcome.IMPORTED,
                UserOutcome.IMPORTED_WITHOUT_PMI,
                UserOutcome.ALREADY_HERE,
            )
        )
        return self.users[UserOutcome.REFUSED] > 0 and connected == 0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Before: disable the Zoom plugin, and set MMZOOM_OAUTH_CLIENT_ID and "
        "MMZOOM_OAUTH_CLIENT_SECRET to the Zoom app the plugin used (tokens only refresh "
        "with the app that issued them). Each user's Zoom profile is fetched once, for "
        "their personal meeting ID, refreshing expired tokens: from then on the plugin's "
        "copies no longer work, so keep the plugin disabled. Running it again imports "
        "nothing twice. Exit code 1 when records cannot be read or Zoom could not be "
        "reached (run it again); users whose Zoom authorization was revoked are counted "
        "and connect again when they next use /zoom."
    )
    add_config_argument(parser)
    parser.add_argument(
        "--mattermost-db",
        required=True,
        metavar="URL",
        help="Mattermost's PostgreSQL database, e.g. postgres://mmuser@db/mattermost "
        "(read only; put the password in ~/.pgpass or PGPASSWORD rather than in the URL)",
    )
    parser.add_argument(
        "--plugin-encryption-key",
        required=True,
        metavar="KEY",
        help="the Zoom plugin's At Rest Token Encryption Key (System Console > Plugins > "
        "Zoom); '-' reads it from standard input, which keeps it out of the process list",
    )


def _run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.account_level_app:
        print(
            "mattermost-zoom import-plugin-data: MMZOOM_ACCOUNT_LEVEL_APP is on, where one "
            "admin connects Zoom for everyone: there are no per-user connections to import. "
            "Run /zoom connect as a system admin instead.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    raw_key: str = args.plugin_encryption_key
    if raw_key == "-":
        raw_key = sys.stdin.readline().rstrip("\r\n")
    try:
        key = plugin_key(raw_key)
    except ValueError as exc:
        print(f"mattermost-zoom import-plugin-data: --plugin-encryption-key {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        postgres_url(args.mattermost_db)
    except UnsupportedDatabase as exc:
        print(
            f"mattermost-zoom import-plugin-data: --mattermost-db: {exc}; "
            "only PostgreSQL (postgres://...) is supported",
            file=sys.stderr,
        )
        return EXIT_USAGE

    try:
        data = read_plugin_data(args.mattermost_db, utcnow())
    except NotMattermostDatabase:
        print(
            "mattermost-zoom import-plugin-data: that database has no plugin key-value "
            "table (PluginKeyValueStore): is it Mattermost's?",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except SQLAlchemyError as exc:
        print(
            f"mattermost-zoom import-plugin-data: cannot read Mattermost's database: "
            f"{describe(exc)}",
            file=sys.stderr,
        )
        return EXIT_FAILED

    print(
        f"found {len(data.users)} users connected to Zoom and "
        f"{len(_preference_users(data))} meeting ID settings in the Zoom plugin's data",
        flush=True,
    )
    try:
        migrate(settings.database_url)
        report = asyncio.run(_import(settings, data, key, _print_progress))
    except SQLAlchemyError as exc:
        print(
            f"mattermost-zoom import-plugin-data: database error: {describe(exc)}", file=sys.stderr
        )
        return EXIT_FAILED
    return _summarise(report)


def _preference_users(data: PluginData) -> set[str]:
    return set(data.preferences) | set(data.legacy_preferences)


async def _import(
    settings: Settings,
    data: PluginData,
    key: bytes,
    progress: Callable[[ImportReport], None],
) -> ImportReport:
    report = ImportReport(users_found=len(data.users))
    store = Store.open(settings.database_url)
    http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False)
    try:
        importer = Importer(
            engine=store.engine,
            cipher=TokenCipher(settings.encryption_keys),
            oauth=ZoomOAuth(
                zoom_url=settings.zoom_url,
                client_id=settings.oauth_client_id,
                client_secret=settings.oauth_client_secret.get_secret_value(),
                redirect_url=settings.oauth_redirect_url,
                http=http,
            ),
            zoom_api=ZoomAPI(settings.zoom_api_url, http),
        )
        for mm_user_id in sorted(data.users):
            try:
                user = parse_user_record(mm_user_id, data.users[mm_user_id], key)
            except UnreadableRecord as exc:
                if await imports.is_connected(store.engine, mm_user_id):
                    report.users[UserOutcome.ALREADY_HERE] += 1
                else:
                    report.unreadable += 1
                    report.problems.append(f"{USER_KEY_PREFIX}{mm_user_id}: {exc}")
            else:
                outcome = await importer.import_user(user)
                report.users[outcome] += 1
                if outcome not in (UserOutcome.IMPORTED, UserOutcome.ALREADY_HERE):
                    report.problems.append(f"user {mm_user_id}: {outcome.value}")
            if report.users_done % PROGRESS_EVERY == 0 or report.users_done == len(data.users):
                progress(report)
        await _import_preferences(store, data, report)
    finally:
        await http.aclose()
        await store.close()
    return report


async def _import_preferences(store: Store, data: PluginData, report: ImportReport) -> None:
    now = utcnow()
    for mm_user_id in sorted(_preference_users(data)):
        choice: MeetingIdChoice | None
        if mm_user_id in data.preferences:
            try:
                choice = parse_preference_record(data.preferences[mm_user_id])
            except UnreadableRecord as exc:
                report.preferences_unreadable += 1
                report.problems.append(f"{PREFERENCE_KEY_PREFIX}{mm_user_id}: {exc}")
                continue
        else:
            choice = preference_choice(data.legacy_preferences[mm_user_id])
        if choice is None:
            continue
        if await imports.add_preference_if_absent(store.engine, mm_user_id, choice, now):
            report.preferences_imported += 1
        else:
            report.preferences_kept += 1


def _print_progress(report: ImportReport) -> None:
    print(f"users: {report.users_done} of {report.users_found} done", flush=True)


def _summarise(report: ImportReport) -> int:
    u = report.users
    print(f"users imported: {u[UserOutcome.IMPORTED] + u[UserOutcome.IMPORTED_WITHOUT_PMI]}")
    print(f"users already connected here: {u[UserOutcome.ALREADY_HERE]}")
    print(f"users unreadable: {report.unreadable}")
    if u[UserOutcome.REFUSED]:
        print(
            f"users refused by Zoom: {u[UserOutcome.REFUSED]} (their authorization was "
            "revoked; they will be asked to connect when they next use /zoom)"
        )
    if u[UserOutcome.ZOOM_UNAVAILABLE]:
        print(f"users not imported, Zoom unavailable: {u[UserOutcome.ZOOM_UNAVAILABLE]}")
    if u[UserOutcome.IMPORTED_WITHOUT_PMI]:
        print(
            f"users imported without their personal meeting ID: "
            f"{u[UserOutcome.IMPORTED_WITHOUT_PMI]} (Zoom did not answer; they get unique "
            "meeting IDs until they reconnect)"
        )
    print(
        f"meeting ID settings: {report.preferences_imported} imported, "
        f"{report.preferences_kept} already set here, "
        f"{report.preferences_unreadable} unreadable"
    )
    for problem in report.problems:
        print(f"  - {problem}", file=sys.stderr)
    if not report.needs_attention:
        if u[UserOutcome.IMPORTED] + u[UserOutcome.IMPORTED_WITHOUT_PMI]:
            print(
                "imported tokens have been used here: keep the Zoom plugin disabled, its "
                "copies may no longer work"
            )
        return EXIT_OK
    if report.unreadable:
        print(
            "some records cannot be read: check --plugin-encryption-key (the plugin's At "
            "Rest Token Encryption Key); those users can also simply connect again",
            file=sys.stderr,
        )
    if u[UserOutcome.ZOOM_UNAVAILABLE]:
        print("Zoom could not be reached for some users: run the command again", file=sys.stderr)
    if report.everyone_refused:
        print(
            "Zoom refused every user's token: MMZOOM_OAUTH_CLIENT_ID and "
            "MMZOOM_OAUTH_CLIENT_SECRET must be those of the Zoom app the plugin used",
            file=sys.stderr,
        )
    return EXIT_FAILED


COMMAND = AdminCommand(
    "import-plugin-data",
    "import the Zoom plugin's connected users and settings from Mattermost's database, "
    "so nobody has to reconnect",
    _arguments,
    _run,
)
