"""Command line: `python -m signaling serve | user add | catalog import | queue import`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from .config import ConfigError, Settings, check_database_url
from .startup import StartupError

log = logging.getLogger("signaling.serve")  # not __name__: that is "__main__" under `python -m`

# Exit codes (docs/operations.md): 0 stopped cleanly, 1 could not start or bad input to a
# command, 2 a bad command line or setting.
START_FAILED, BAD_SETTING = 1, 2
DEMO_NOT_LOADED = "Demo data not loaded: the database already has service items or accounts."


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 65535, not {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="SQLAlchemy URL (env VW_DATABASE_URL; default SQLite under ./var/)")

    parser = argparse.ArgumentParser(prog="virtual-window", description="Virtual Window signaling and media server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8080, help="TCP port (0: any free one, printed at start-up)")
    serve.add_argument("--recordings-dir", type=Path, help="where recordings land (default ./recordings/)")
    serve.add_argument("--demo", action="store_true", help="load a demo catalog and accounts into an empty database")

    user = sub.add_parser("user", help="manage accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", parents=[common], help="create or update an account")
    add.add_argument("username")
    add.add_argument("--role", choices=("specialist", "admin"), required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--display-name")
    add.add_argument("--skills", help="comma-separated service item codes or category:NAME, each with an "
                     "optional @PROFICIENCY 1-5 (default 3), e.g. SI-001@4,category:tax@2")

    catalog = sub.add_parser("catalog", help="manage the service catalog")
    cat_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    imp = cat_sub.add_parser("import", parents=[common], help="load service items from CSV or JSON")
    imp.add_argument("file", type=Path)

    queue = sub.add_parser("queue", help="manage routing queue settings (docs/routing.md)")
    queue_sub = queue.add_subparsers(dest="queue_command", required=True)
    qimp = queue_sub.add_parser("import", parents=[common], help="load queue settings from CSV or JSON")
    qimp.add_argument("file", type=Path)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    settings.database_url = check_database_url(args.database_url or settings.database_url)
    return settings


async def _with_store(settings: Settings, action):
    from .startup import open_database
    from .store import Store

    store = Store(settings.database_url)
    await open_database(store)
    try:
        return await action(store)
    finally:
        await store.close()


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from .logs import configure_logging
    from .startup import bind

    settings.host, settings.port, settings.demo = args.host, args.port, args.demo
    if args.recordings_dir:
        settings.recordings_dir = args.recordings_dir
    configure_logging(settings.log_level, settings.log_format, settings.library_log_level)
    try:
        # The port first: a second server on it stops here, before it loads or prints anything.
        sockets = bind(settings.host, settings.port)
        asyncio.run(_run(sockets, settings))
    except StartupError as exc:
        log.critical("%s", exc)
        return START_FAILED
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were set
        return START_FAILED
    except Exception:
        log.critical("the server failed", exc_info=True)  # a bug: its traceback (one JSON record in JSON)
        return START_FAILED
    return 0


async def _run(sockets, settings: Settings) -> None:
    """Start, say where the server listens, then serve until SIGTERM or SIGINT; then drain the
    calls (app.py) while every socket is still open, and only then let aiohttp stop listening and
    close the connections."""
    import signal

    from aiohttp import web

    from .app import DEMO_LOADED, DRAIN, make_app
    from .startup import listening_line
    from .store.demo import DEMO_LOGIN_HINT

    app = make_app(settings)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=10)
    await runner.setup()  # start-up; if it fails the process ends, the sockets with it
    try:
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        print(listening_line(sockets), flush=True)
        if settings.demo:
            print(DEMO_LOGIN_HINT if app[DEMO_LOADED] else DEMO_NOT_LOADED, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.warning("stopping: draining calls for up to %.0f s", settings.drain_s)
        await app[DRAIN](app)
    finally:
        await runner.cleanup()
        for sock in sockets:
            sock.close()


def _user_add(args: argparse.Namespace, settings: Settings) -> int:
    skills = [s.strip() for s in args.skills.split(",") if s.strip()] if args.skills is not None else None

    async def action(store):
        return await store.upsert_account(
            args.username, args.role, args.password, display_name=args.display_name, skills=skills
        )

    from .store import StoreError

    try:
        account = asyncio.run(_with_store(settings, action))
    except StoreError as exc:
        print(f"{exc.message} (nothing was saved)", file=sys.stderr)
        return 1
    print(f"account {account['username']} ({account['role']}) saved, id {account['id']}")
    return 0


def _catalog_import(args: argparse.Namespace, settings: Settings) -> int:
    from .store import CatalogError
    from .store.catalog import load_catalog_file

    try:
        items = load_catalog_file(args.file)
        count = asyncio.run(_with_store(settings, lambda store: store.import_service_items(items)))
    except CatalogError as exc:
        print(f"{args.file}: {exc} (nothing was imported)", file=sys.stderr)
        return 1
    print(f"imported {count} service items from {args.file}")
    return 0


def _queue_import(args: argparse.Namespace, settings: Settings) -> int:
    from .routing import QueueSettings
    from .store.queues import QueueError, load_queue_file, save_queues

    defaults = QueueSettings(offer_timeout_s=settings.offer_timeout_s, wrap_up_s=settings.wrap_up_s)
    try:
        entries = load_queue_file(args.file)
        saved = asyncio.run(_with_store(settings, lambda store: save_queues(store, entries, defaults)))
    except QueueError as exc:
        print(f"{args.file}: {exc} (nothing was imported)", file=sys.stderr)
        return 1
    print(f"imported settings of {len(saved)} queues from {args.file} (a running server applies them at its next start)")
    return 0


# Files this process creates (the database, the journal, recordings, the secret key) are
# readable by their owner and group only: 0640, directories 0750 (docs/security.md).
UMASK = 0o027


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.umask(UMASK)
    command = {"serve": _serve, "user": _user_add, "queue": _queue_import, "catalog": _catalog_import}[args.command]
    try:
        return command(args, _settings(args))
    except ConfigError as exc:  # a bad VW_* value: one line, before anything starts
        print(f"virtual-window: {exc}", file=sys.stderr)
        return BAD_SETTING
    except StartupError as exc:  # a command's database (serve logs its own)
        print(f"virtual-window: {exc} (nothing was changed)", file=sys.stderr)
        return START_FAILED


if __name__ == "__main__":
    sys.exit(main())
