"""The application factory: one aiohttp app serving HTTP, Socket.IO and the pages."""

from __future__ import annotations

import logging

from aiohttp import web

from . import keys
from .api import setup_routes
from .api.middleware import errors
from .auth import Tokens
from .center import Center
from .config import Settings
from .media import MediaPlane, use_media_addresses
from .realtime import attach_socketio
from .store import Store
from .store.demo import DEMO_LOGIN_HINT, load_demo
from .telemetry import Telemetry

log = logging.getLogger(__name__)


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
        media = MediaPlane(ice_servers=settings.ice_servers, media_addresses=settings.media_addresses)
        center = Center(settings, store, media, app[keys.TOKENS], app[keys.TELEMETRY], sio.emit)
        app[keys.CENTER] = center
        await center.start()

    async def stop(app: web.Application) -> None:
        await app[keys.CENTER].stop()
        await app[keys.STORE].close()

    # Order matters: the center exists before Socket.IO binds its namespaces to it.
    app.on_startup.insert(0, start)
    app.on_cleanup.append(stop)
    return app
