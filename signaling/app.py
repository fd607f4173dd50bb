"""The application factory: one aiohttp app serving HTTP, Socket.IO and the pages."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from aiohttp import web

from . import keys
from .api import setup_routes
from .api.middleware import errors
from .auth import Tokens
from .center import Center
from .config import Settings
from .media import MediaPlane, use_media_addresses
from .media.retention import RetentionJob
from .realtime import attach_socketio
from .store import Store
from .store.demo import DEMO_LOGIN_HINT, load_demo
from .telemetry import Telemetry

log = logging.getLogger(__name__)

RETENTION = web.AppKey("recording_retention", RetentionJob)


def make_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[errors], client_max_size=2 * 1024 * 1024)
    app[keys.SETTINGS] = settings
    app[keys.STORE] = Store(settings.database_url)
    app[keys.TOKENS] = Tokens(settings.secret_key, settings.token_ttl_s)
    app[keys.TELEMETRY] = Telemetry()
    sio = attach_socketio(app, keys.CENTER)
    setup_routes(app, settings.static_root)

    async def start(app: web.Application) -> None:
        store = app[keys.STORE]
        await store.open()
        if settings.demo:
            await load_demo(store)  # only fills an empty database
            print(DEMO_LOGIN_HINT.format(url=f"http://{settings.host}:{settings.port}"), flush=True)
        settings.recordings_dir.mkdir(parents=True, exist_ok=True)
        use_media_addresses(settings.media_addresses)
        media = MediaPlane(
            ice_servers=settings.ice_servers,
            media_addresses=settings.media_addresses,
            relay=settings.relay,
            recordings_dir=settings.recordings_dir,
            on_recorded=lambda session_id, party, path, duration_s, size: store.add_recording(
                session_id, party, path, duration_s, size, datetime.now(timezone.utc)
            ),
        )
        app[RETENTION] = RetentionJob(store, settings.recordings_dir, settings.recording_retention_days)
        app[RETENTION].start()
        center = Center(settings, store, media, app[keys.TOKENS], app[keys.TELEMETRY], sio.emit)
        app[keys.CENTER] = center
        await center.start()

    async def stop(app: web.Application) -> None:
        await app[RETENTION].stop()
        await app[keys.CENTER].stop()
        await app[keys.STORE].close()

    # Order matters: the center exists before Socket.IO binds its namespaces to it.
    app.on_startup.insert(0, start)
    app.on_cleanup.append(stop)
    return app
