"""The TOML configuration file as the admin commands read and write it.

Keys are the setting names without the ``MMZOOM_`` prefix, in lower case (as
``config.load_settings`` reads them). The file holds secrets, so it is written
readable by its owner only, and never exists with wider permissions, even for a
moment: a new file is created with mode 0600 next to the old one and renamed
over it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mattermost_zoom.config import Settings

PRIVATE_MODE = 0o600
HEADER = (
    "# mattermost-zoom settings (see README, Configuration). Written by `mattermost-zoom setup`;\n"
    "# it holds secrets: keep it readable by the service's user only.\n"
)


class ConfigFileError(Exception):
    """The file cannot be read or written; the message says why (no values)."""


def normalise(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k.lower().removeprefix("mmzoom_"): v for k, v in values.items()}


def read(path: Path) -> dict[str, Any]:
    """The file's settings, or {} when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return normalise(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path} is not valid TOML ({exc})") from None


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string with ASCII escapes is a valid TOML basic string, except
        # for DEL, which TOML wants escaped and JSON leaves alone.
        return json.dumps(value, ensure_ascii=True).replace("\x7f", "\\u007f")
    raise ConfigFileError(f"cannot write setting {key}: only strings, numbers and true/false")


def render(values: Mapping[str, Any]) -> str:
    """The file's text: known settings in the order of the README, then the rest."""
    known = [k for k in Settings.model_fields if k in values]
    rest = sorted(k for k in values if k not in Settings.model_fields)
    lines = [f"{key} = {_value(key, values[key])}" for key in [*known, *rest]]
    return HEADER + "\n".join(lines) + "\n"


def is_private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, mode 0600, atomically."""
    directory = path.parent if str(path.parent) else Path(".")
    temporary = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        old = path.stat()
    except FileNotFoundError:
        old = None
    try:
        # O_EXCL: a file made by someone else at that name is never written into.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except OSError as exc:
        raise ConfigFileError(f"cannot write in {directory}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), PRIVATE_MODE)  # whatever the umask
            if old is not None and os.geteuid() == 0:
                # root updating a service's file leaves it to its owner.
                os.fchown(handle.fileno(), old.st_uid, old.st_gid)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigFileError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
