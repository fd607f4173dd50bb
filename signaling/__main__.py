"""Command line: `python -m signaling serve | user add | catalog import | queue import`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from .config import Settings


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="SQLAlchemy URL (env VW_DATABASE_URL; default SQLite under ./var/)")

    parser = argparse.ArgumentParser(prog="virtual-window", description="Virtual Window signaling and media server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
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
    if args.database_url:
        settings.database_url = args.database_url
    return settings


async def _with_store(settings: Settings, action):
    from .store import Store

    store = Store(settings.database_url)
    await store.open()
    try:
        return await action(store)
    finally:
        await store.close()


def _serve(args: argparse.Namespace) -> int:
    from .app import make_app

    settings = _settings(args)
    settings.host, settings.port, settings.demo = args.host, args.port, args.demo
    if args.recordings_dir:
        settings.recordings_dir = args.recordings_dir
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    asyncio.run(_run(make_app(settings), settings))
    return 0


async def _run(app, settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT; then drain the calls (app.py) while every socket is still
    open, and only then let aiohttp stop listening and close the connections."""
    import signal

    from aiohttp import web

    from .app import DRAIN

    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=10)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        logging.getLogger(__name__).warning("stopping: draining calls for up to %.0f s", settings.drain_s)
        await app[DRAIN](app)
    finally:
        await runner.cleanup()


def _user_add(args: argparse.Namespace) -> int:
    skills = [s.strip() for s in args.skills.split(",") if s.strip()] if args.skills is not None else None

    async def action(store):
        return await store.upsert_account(
            args.username, args.role, args.password, display_name=args.display_name, skills=skills
        )

    from .store import StoreError

    try:
        account = asyncio.run(_with_store(_settings(args), action))
    except StoreError as exc:
        print(f"{exc.message} (nothing was saved)", file=sys.stderr)
        return 1
    print(f"account {account['username']} ({account['role']}) saved, id {account['id']}")
    return 0


def _catalog_import(args: argparse.Namespace) -> int:
    from .store import CatalogError
    from .store.catalog import load_catalog_file

    try:
        items = load_catalog_file(args.file)
        count = asyncio.run(_with_store(_settings(args), lambda store: store.import_service_items(items)))
    except CatalogError as exc:
        print(f"{args.file}: {exc} (nothing was imported)", file=sys.stderr)
        return 1
    print(f"imported {count} service items from {args.file}")
    return 0


def _queue_import(args: argparse.Namespace) -> int:
    from .routing import QueueSettings
    from .store.queues import QueueError, load_queue_file, save_queues

    settings = _settings(args)
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
    if args.command == "serve":
        return _serve(args)
    if args.command == "user":
        return _user_add(args)
    if args.command == "queue":
        return _queue_import(args)
    return _catalog_import(args)


if __name__ == "__main__":
    sys.exit(main())
