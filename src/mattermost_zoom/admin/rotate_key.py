"""`mattermost-zoom rotate-key`: re-encrypt every stored secret with the first key.

``MMZOOM_ENCRYPTION_KEY`` may list several keys: the first encrypts, all decrypt. To
retire a key, put the new key first (``NEW,OLD``), restart every `serve`, run
``rotate-key``, then drop ``OLD`` and restart again. Nobody reconnects.

Rows are read in batches and each is rewritten in its own short transaction, only
if it still holds what was read: a token a running service refreshes meanwhile is
never overwritten. Running it again re-encrypts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from mattermost_zoom.admin import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    AdminCommand,
    add_config_argument,
    settings_from,
)
from mattermost_zoom.admin.db_errors import describe
from mattermost_zoom.clock import utcnow
from mattermost_zoom.crypto import DecryptionError, TokenCipher
from mattermost_zoom.store import rotation
from mattermost_zoom.store.migrate import migrate
from mattermost_zoom.store.repository import Store
from mattermost_zoom.store.rotation import ENCRYPTED_TABLES, EncryptedRow, EncryptedTable

DEFAULT_BATCH = 100
# A row that changes under us this many times in a row is left for the next run.
ATTEMPTS = 5


class Outcome(Enum):
    ROTATED = "rotated"
    CURRENT = "current"  # already encrypted with the first key
    GONE = "gone"  # deleted meanwhile (a disconnect, a used OAuth state)
    UNREADABLE = "unreadable"
    BUSY = "busy"


@dataclass
class RotationReport:
    total: int = 0
    checked: int = 0
    outcomes: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    unreadable: dict[str, int] = field(default_factory=dict)  # table -> rows

    @property
    def rotated(self) -> int:
        return self.outcomes[Outcome.ROTATED]

    def add(self, table: str, outcome: Outcome) -> None:
        self.checked += 1
        self.outcomes[outcome] += 1
        if outcome is Outcome.UNREADABLE:
            self.unreadable[table] = self.unreadable.get(table, 0) + 1


class KeyRotation:
    def __init__(self, engine: AsyncEngine, keys: Sequence[str]) -> None:
        self._engine = engine
        self._every = TokenCipher(keys)
        self._first = TokenCipher(keys[:1])

    async def run(
        self, *, batch_size: int, progress: Callable[[RotationReport], None]
    ) -> RotationReport:
        now = utcnow()
        report = RotationReport()
        for spec in ENCRYPTED_TABLES:
            report.total += await rotation.count_rows(self._engine, spec, now)
        for spec in ENCRYPTED_TABLES:
            after: str | None = None
            while True:
                batch = await rotation.read_batch(
                    self._engine, spec, after=after, limit=batch_size, now=now
                )
                if not batch:
                    break
                for row in batch:
                    report.add(spec.name, await self.rotate_row(spec, row))
                after = batch[-1].key
                progress(report)
        return report

    async def rotate_row(self, spec: EncryptedTable, row: EncryptedRow) -> Outcome:
        for _ in range(ATTEMPTS):
            if self._is_current(row):
                return Outcome.CURRENT
            try:
                new_values = {name: self._every.rotate(v) for name, v in row.values.items()}
            except DecryptionError:
                return Outcome.UNREADABLE
            if await rotation.replace_if_unchanged(self._engine, spec, row, new_values):
                return Outcome.ROTATED
            # Changed meanwhile (a refresh, a reconnect): look again at what is there now.
            fresh = await rotation.read_row(self._engine, spec, row.key)
            if fresh is None:
                return Outcome.GONE
            row = fresh
        return Outcome.BUSY

    def _is_current(self, row: EncryptedRow) -> bool:
        try:
            for value in row.values.values():
                self._first.decrypt(value)
        except DecryptionError:
            return False
        return True


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "To retire a key: set MMZOOM_ENCRYPTION_KEY=NEW,OLD and restart every serve; run "
        "rotate-key (as often as you like: a second run changes nothing); then set "
        "MMZOOM_ENCRYPTION_KEY=NEW and restart again. Users stay connected. Exit code 1 "
        "when some rows cannot be decrypted with any configured key (they are counted, "
        "per table, and left unchanged)."
    )
    add_config_argument(parser)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH,
        help=f"rows read at a time (default {DEFAULT_BATCH}); each row is its own transaction",
    )


def _run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.batch_size < 1:
        print("mattermost-zoom rotate-key: --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    logging.getLogger("alembic").setLevel(logging.WARNING)
    keys = settings.encryption_keys
    print(
        f"re-encrypting stored secrets with the first of {len(keys)} configured "
        f"key{'s' if len(keys) != 1 else ''}"
    )

    async def rotate() -> RotationReport:
        store = Store.open(settings.database_url)
        try:
            return await KeyRotation(store.engine, keys).run(
                batch_size=args.batch_size, progress=_print_progress
            )
        finally:
            await store.close()

    try:
        migrate(settings.database_url)
        report = asyncio.run(rotate())
    except SQLAlchemyError as exc:
        print(f"mattermost-zoom rotate-key: database error: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILED
    return _summarise(report, several_keys=len(keys) > 1)


def _print_progress(report: RotationReport) -> None:
    print(
        f"re-encrypted {report.rotated} of {report.total} rows ({report.checked} checked)",
        flush=True,
    )


def _summarise(report: RotationReport, *, several_keys: bool) -> int:
    o = report.outcomes
    print(
        f"done: {o[Outcome.ROTATED]} re-encrypted, {o[Outcome.CURRENT]} already used the "
        f"first key, {o[Outcome.GONE]} removed meanwhile"
    )
    failed = False
    if report.unreadable:
        failed = True
        tables = ", ".join(f"{name}: {n}" for name, n in sorted(report.unreadable.items()))
        print(
            f"{o[Outcome.UNREADABLE]} rows cannot be decrypted with any configured key "
            f"({tables}) and were left unchanged. Put the key they were encrypted with back "
            "into MMZOOM_ENCRYPTION_KEY (after the first one) and run rotate-key again; "
            "otherwise those users have to connect Zoom again.",
            file=sys.stderr,
        )
    if o[Outcome.BUSY]:
        failed = True
        print(
            f"{o[Outcome.BUSY]} rows kept changing while being re-encrypted; run rotate-key again.",
            file=sys.stderr,
        )
    if failed:
        return EXIT_FAILED
    if several_keys:
        print(
            "every stored secret now uses the first key: once every running service uses "
            "this setting, the other keys can be removed from MMZOOM_ENCRYPTION_KEY"
        )
    return EXIT_OK


COMMAND = AdminCommand(
    "rotate-key",
    "re-encrypt stored Zoom tokens with the first key of MMZOOM_ENCRYPTION_KEY, "
    "so that older keys can be removed",
    _arguments,
    _run,
)
