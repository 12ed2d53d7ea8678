"""Admin commands of the ``mattermost-zoom`` CLI, one module each.

Exit codes scripts can trust: 0 done (or every check passed), 1 the operation
or a check failed, 2 the command line or the configuration is wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mattermost_zoom.config import ConfigError, Settings, load_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class AdminCommand:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class SettingsUnavailable(Exception):
    """The configuration has problems; already printed."""


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML file with settings (environment wins)")


def settings_from(args: argparse.Namespace) -> Settings:
    """Load the settings, or print one line per problem and raise."""
    try:
        return load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        print("mattermost-zoom: the configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SettingsUnavailable() from None
