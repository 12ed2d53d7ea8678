"""``mattermost-zoom``: serve, migrate, demo, and the admin commands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mattermost_zoom.admin import (
    EXIT_OK,
    EXIT_USAGE,
    AdminCommand,
    SettingsUnavailable,
    add_config_argument,
    check,
    import_plugin,
    rotate_key,
    settings_from,
    setup,
)
from mattermost_zoom.observability import configure_logging

ADMIN_COMMANDS: tuple[AdminCommand, ...] = (
    setup.COMMAND,
    check.COMMAND,
    rotate_key.COMMAND,
    import_plugin.COMMAND,
)


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
    serve.add_argument("--port", type=int, default=9065, help="port (default 9065)")
    add_config_argument(serve)
    serve.set_defaults(run=_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date, then exit")
    add_config_argument(migrate)
    migrate.set_defaults(run=_migrate)

    demo = sub.add_parser("demo", help="play one user's story against built-in simulators")
    demo.set_defaults(run=_demo)

    for command in ADMIN_COMMANDS:
        admin = sub.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(admin)
        admin.set_defaults(run=command.run)

    args = parser.parse_args(argv)
    # Readable lines until `serve` knows the configured format; the demo prints
    # its story, so only problems should interrupt it.
    configure_logging(logging.WARNING if args.command == "demo" else logging.INFO, "text")
    try:
        return int(args.run(args))
    except SettingsUnavailable:
        return EXIT_USAGE


def _demo(args: argparse.Namespace) -> int:
    from mattermost_zoom.demo import run_demo

    return run_demo()


def _migrate(args: argparse.Namespace) -> int:
    from mattermost_zoom.store.migrate import migrate

    settings = settings_from(args)
    migrate(settings.database_url)
    print("database schema is up to date")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mattermost_zoom.store.migrate import migrate
    from mattermost_zoom.web.app import create_app

    settings = settings_from(args)
    configure_logging(logging.INFO, settings.log_format)
    migrate(settings.database_url)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        access_log=False,  # our AccessLog never writes query strings (secrets)
        log_config=None,
        proxy_headers=True,
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
