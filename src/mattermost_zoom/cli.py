"""``mattermost-zoom``: serve, migrate, demo."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from mattermost_zoom.config import ConfigError, Settings, load_settings

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_FAILED = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mattermost-zoom",
        description="Start Zoom meetings from Mattermost.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web service (migrates the database first)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8065 + 1000, help="port (default 9065)")
    serve.add_argument("--config", type=Path, help="TOML file with settings (environment wins)")
    serve.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date, then exit")
    migrate.add_argument("--config", type=Path, help="TOML file with settings (environment wins)")

    sub.add_parser("demo", help="play one user's story against built-in simulators")

    args = parser.parse_args(argv)
    # The demo prints the story; only problems should interrupt it.
    _configure_logging(logging.WARNING if args.command == "demo" else logging.INFO)
    if args.command == "demo":
        from mattermost_zoom.demo import run_demo

        return int(run_demo())
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print("mattermost-zoom: the configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "migrate":
        return _migrate(settings)
    return _serve(settings, args.host, args.port)


def _migrate(settings: Settings) -> int:
    from mattermost_zoom.store.migrate import migrate

    migrate(settings.database_url)
    print("database schema is up to date")
    return EXIT_OK


def _serve(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from mattermost_zoom.store.migrate import migrate
    from mattermost_zoom.web.app import create_app

    migrate(settings.database_url)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        access_log=False,  # our AccessLog never writes query strings (secrets)
        log_config=None,
        proxy_headers=True,
    )
    return EXIT_OK


def _configure_logging(level: int) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request URL at INFO; URLs never carry secrets here, but the
    # noise hides what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
