"""Typed keys of the aiohttp application's shared objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import socketio

    from .auth import Tokens
    from .config import Settings
    from .engine import SessionEngine
    from .store import Store
    from .telemetry import Telemetry

SETTINGS: web.AppKey["Settings"] = web.AppKey("settings")
STORE: web.AppKey["Store"] = web.AppKey("store")
TOKENS: web.AppKey["Tokens"] = web.AppKey("tokens")
TELEMETRY: web.AppKey["Telemetry"] = web.AppKey("telemetry")
ENGINE: web.AppKey["SessionEngine"] = web.AppKey("engine")
SIO: web.AppKey["socketio.AsyncServer"] = web.AppKey("socketio")
