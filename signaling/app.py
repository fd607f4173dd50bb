"""The application factory: one aiohttp app serving HTTP, Socket.IO and the pages."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from aiohttp import web

from . import keys
from .api import setup_routes
from .api.middleware import errors, quiet_protocol_errors
from .api.security import setup_security
from .auth import AccountVersions, Tokens
from .engine import SessionEngine
from .engine.presence import NAMESPACE_OF
from .config import Settings
from .media import MediaPlane, use_media_addresses
from .media.repair import repair_recordings
from .media.retention import RetentionJob
from .realtime import attach_socketio
from .store import Store
from .store.journal import Journal
from .store.writer import SessionWriter
from .startup import open_database
from .store.demo import load_demo
from .telemetry import Telemetry

log = logging.getLogger(__name__)

RETENTION = web.AppKey("recording_retention", RetentionJob)
WRITER = web.AppKey("session_writer", SessionWriter)
DEMO_LOADED = web.AppKey("demo_loaded", bool)  # serve --demo filled an empty database
DRAIN = web.AppKey("drain", object)  # the graceful stop (serve calls it on SIGTERM)


def make_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[errors], client_max_size=2 * 1024 * 1024)
    app[keys.SETTINGS] = settings
    app[keys.STORE] = Store(settings.database_url)
    # Staff tokens are checked against the accounts' token versions (revocation, auth.py).
    app[keys.TOKENS] = Tokens(settings.secret_key, settings.token_ttl_s, AccountVersions(app[keys.STORE].token_state))
    app[keys.TELEMETRY] = Telemetry()
    sio = app[keys.SIO] = attach_socketio(app, keys.ENGINE)
    setup_security(app)  # api/security.py: identity, cookie writes, login limits, headers
    quiet_protocol_errors()
    setup_routes(app, settings.static_root)

    async def start(app: web.Application) -> None:
        store = app[keys.STORE]
        await open_database(store)  # a database that cannot be opened: one line for the operator
        # Only fills an empty database; `serve` prints the logins once it listens.
        app[DEMO_LOADED] = settings.demo and await load_demo(store)
        # The session log first: what a crash left in the journal is written before anything else.
        writer = app[WRITER] = SessionWriter(
            store, Journal(settings.journal_path()), max_lag_s=settings.store_max_lag_s,
            max_backlog=settings.store_max_backlog, telemetry=app[keys.TELEMETRY],
        )
        await writer.start()
        settings.recordings_dir.mkdir(parents=True, exist_ok=True)
        use_media_addresses(settings.media_addresses)

        # Recordings left unfinished by a crash are remuxed and indexed (the journal is replayed, so
        # every row is there; the engine closes the open sessions next).
        await repair_recordings(store, writer, settings.recordings_dir)

        async def recorded(session_id: str, party: str, path: str, duration_s: float | None, size: int | None,
                           state: str) -> None:  # indexed when the file starts, and again once finalized
            writer.recording(session_id, party, path, duration_s, size, datetime.now(timezone.utc), state=state)

        media = MediaPlane(
            ice_servers=settings.ice_servers,
            media_addresses=settings.media_addresses,
            relay=settings.relay,
            adaptation=settings.adaptation == "on",
            recordings_dir=settings.recordings_dir,
            on_recorded=recorded,
            udp_ports=settings.udp_ports,
            announced=settings.announced_addresses,
            turn=settings.turn(),
        )
        app[RETENTION] = RetentionJob(store, settings.recordings_dir, settings.recording_retention_days)
        app[RETENTION].start()
        engine = SessionEngine(settings, store, media, app[keys.TOKENS], app[keys.TELEMETRY], sio.emit, writer)
        app[keys.ENGINE] = engine
        await engine.start()

    async def stop(app: web.Application) -> None:
        await app[RETENTION].stop()
        await app[keys.ENGINE].stop()
        await app[WRITER].stop()
        await app[keys.STORE].close()

    drained: list[bool] = []  # once: on SIGTERM by `serve`, else as the on_shutdown hook

    async def drain(app: web.Application) -> None:
        """Finish or end the calls, tell everyone, then close each socket cleanly. `serve` runs this
        on SIGTERM before aiohttp stops anything; as an on_shutdown hook it covers other runners."""
        engine = app.get(keys.ENGINE)
        if engine is None or drained:
            return
        drained.append(True)
        await engine.drain(settings.drain_s)
        await asyncio.sleep(0.2)  # let the `call:ended` packets leave before the disconnects
        for part in list(engine.presence.participants.values()):
            await sio.disconnect(part.sid, namespace=NAMESPACE_OF[part.role])

    # Order matters: the engine exists before Socket.IO binds its namespaces to it.
    app.on_startup.insert(0, start)
    app.on_shutdown.insert(0, drain)
    app[DRAIN] = drain
    app.on_cleanup.append(stop)
    return app
