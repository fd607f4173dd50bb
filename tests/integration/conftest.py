"""The `server` fixture: a real server on 127.0.0.1 with demo data (live_server.py)."""

from __future__ import annotations

import pytest

from live_server import start_server


@pytest.fixture
async def server(tmp_path, request):
    overrides = getattr(request, "param", {}) or {}
    srv, runner = await start_server(tmp_path, **overrides)
    yield srv
    await runner.cleanup()
