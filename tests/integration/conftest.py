"""A real server on 127.0.0.1 (in this process), with demo data, for integration tests."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest
from aiohttp import web

from signaling import keys
from signaling.app import make_app
from signaling.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    app: web.Application

    @property
    def store(self):
        return self.app[keys.STORE]

    @property
    def center(self):
        return self.app[keys.CENTER]

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
    )
    for name, value in overrides.items():
        setattr(settings, name, value)
    app = make_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return Server(url=f"http://127.0.0.1:{port}", app=app), runner


@pytest.fixture
async def server(tmp_path, request):
    overrides = getattr(request, "param", {}) or {}
    srv, runner = await start_server(tmp_path, **overrides)
    yield srv
    await runner.cleanup()
