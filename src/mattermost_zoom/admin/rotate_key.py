"""`mattermost-zoom rotate-key`: not built yet."""

from __future__ import annotations

import argparse
import sys

from mattermost_zoom.admin import EXIT_FAILED, AdminCommand


def _arguments(parser: argparse.ArgumentParser) -> None:
    pass


def _run(args: argparse.Namespace) -> int:
    print("mattermost-zoom rotate-key: not available yet", file=sys.stderr)
    return EXIT_FAILED


COMMAND = AdminCommand("rotate-key", "(not built yet)", _arguments, _run)
