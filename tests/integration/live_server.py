"""A real server on 127.0.0.1 (in this process), with demo data, and connected clients, for integration tests.

A module of its own, not conftest.py: `from conftest import` finds whichever conftest.py
(unit, integration, browser) pytest imported first when several folders run together."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from aiohttp import web

from signaling import keys
from signaling.app import make_app
from signaling.client import Caller, Specialist
from signaling.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CaughtUpStore:
    """Reads of the session log wait for the writer first (transitions are written a moment after
    they happen); everything else is the store itself."""

    READS = frozenset(("get_session", "list_sessions", "iter_sessions_csv", "metrics", "scores", "recording_path"))

    def __init__(self, app: web.Application):
        self._app = app

    def __getattr__(self, name: str):
        attr = getattr(self._app[keys.STORE], name)
        if name not in self.READS:
            return attr

        async def read(*args, **kwargs):
            await self._app[keys.ENGINE].writer.applied(timeout=10)
            return await attr(*args, **kwargs)

        return read


@dataclass
class Server:
    url: str
    app: web.Application

    @property
    def store(self):
        """The store as an administrator reads it: once the session writer has caught up."""
        return CaughtUpStore(self.app)

    @property
    def engine(self):
        return self.app[keys.ENGINE]

    async def token(self, username: str, password: str) -> str:
        account = await self.store.authenticate(username, password)
        return self.app[keys.TOKENS].issue(account)


async def start_server(tmp_path, **overrides) -> tuple[Server, web.AppRunner]:
    port = free_port()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'vw.db'}",
        host="127.0.0.1",
        port=port,
        recordings_dir=tmp_path / "recordings",
        secret_key="test-secret",
        ice_servers=[],
        media_addresses=["127.0.0.1"],
        demo=True,
        var_dir=tmp_path / "var",
    )
    for name, value in overrides.items():
        setattr(settings, name, value)
    app = make_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return Server(url=f"http://127.0.0.1:{port}", app=app), runner


async def specialist(server, username: str = "demo", *, ready: bool = True, auto_answer: bool | None = None) -> Specialist:
    """A specialist signed in and connected, without a media leg; ready unless told otherwise."""
    s = Specialist(server.url, username=username, password="demo123", media_addresses=["127.0.0.1"])
    await s.login()
    await s.connect()
    if ready:
        assert (await s.set_state("ready", auto_answer=auto_answer))["ok"]
    return s


async def caller(server, resume: str | None = None) -> Caller:
    """A caller connected to /caller (resuming `resume`, a call token), without a media leg."""
    c = Caller(server.url, media_addresses=["127.0.0.1"])
    await c.connect(resume)
    return c
