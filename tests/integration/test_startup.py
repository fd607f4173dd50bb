"""`serve` as an operator sees it, on real server processes: where it listens, a second server on
the port, bad settings, and what the logs hold after a real call (docs/operations.md)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys

import aiohttp
import pytest

from signaling.client import Caller, Specialist
from test_calls import SI

LISTENING = re.compile(r"^Virtual Window listening on http://127\.0\.0\.1:(\d+) — "
                       r"caller page /, console /console, admin /admin$")
TEXT_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+): ")


class ServerProcess:
    """`python -m signaling serve --port …` on its own database and var dir, stdout and stderr read
    as they come (so a chatty log never fills a pipe)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [asyncio.create_task(self._read(proc.stdout, self.stdout)),
                         asyncio.create_task(self._read(proc.stderr, self.stderr))]

    @staticmethod
    async def _read(stream: asyncio.StreamReader, lines: list[str]) -> None:
        async for raw in stream:
            lines.append(raw.decode().rstrip("\n"))

    async def listening_port(self, timeout: float = 30) -> int:
        """The port of the listen line, once it is printed."""
        async def wait() -> int:
            while True:
                for line in self.stdout:
                    if match := LISTENING.match(line):
                        return int(match.group(1))
                if self.proc.returncode is not None:
                    raise AssertionError(f"the server exited with {self.proc.returncode}: {self.stderr}")
                await asyncio.sleep(0.05)
        return await asyncio.wait_for(wait(), timeout)

    async def finish(self, timeout: float = 30, *, stop: bool = True) -> int:
        """SIGTERM (`stop`) if still running; the exit code once both streams are read to the end."""
        if stop and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.wait_for(asyncio.gather(*self._readers), timeout)
        return code



async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.05)


def _env(tmp_path, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VW_")}
    env.update(VW_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'vw.db'}", VW_VAR_DIR=str(tmp_path / "var"),
               VW_RECORDINGS_DIR=str(tmp_path / "recordings"), VW_SECRET_KEY="test-secret",
               VW_MEDIA_ADDRESSES="127.0.0.1", VW_DRAIN_S="1", **settings)
    return env


async def _start(tmp_path, *args: str, **settings: str) -> ServerProcess:
    tmp_path.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "signaling", "serve", "--host", "127.0.0.1", *args,
        env=_env(tmp_path, **settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    return ServerProcess(proc)


async def _call(port: int) -> None:
    """One real call: a specialist and a caller, each with an aiortc leg, media both ways, hung up."""
    url = f"http://127.0.0.1:{port}"
    spec = Specialist(url, username="demo", password="demo123", media_addresses=["127.0.0.1"])
    caller = Caller(url, media_addresses=["127.0.0.1"])
    try:
        await spec.login()
        await spec.connect()
        await spec.open_leg()
        assert (await spec.set_state("ready", auto_answer=True))["ok"]
        await caller.connect()
        await caller.open_leg()
        call = await caller.request(SI, "日志测试")
        await caller.wait_for("call:connected", timeout=15)
        await caller.wait_media(5, 5, timeout=15)
        await caller.hangup(call["call_id"])
        await spec.wait_for("call:ended", timeout=15)
    finally:
        await caller.close()
        await spec.close()


async def test_serve_says_where_it_listens_and_a_second_server_on_the_port_stops_in_one_line(tmp_path):
    first = await _start(tmp_path / "first", "--demo", "--port", "0")
    try:
        port = await first.listening_port()
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as r:
            assert r.status == 200  # the printed address is the real one
        await asyncio.wait_for(_until(lambda: len(first.stdout) >= 2), 15)
        assert first.stdout[1] == "Demo data loaded. Log in with:"  # the demo logins after the listen line

        second = await _start(tmp_path / "second", "--demo", "--port", str(port))
        code = await second.finish(stop=False)
        assert code == 1
        assert second.stdout == []  # no "Demo data loaded", no listen line
        assert len(second.stderr) == 1, second.stderr
        assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in second.stderr[0]
        assert "Traceback" not in second.stderr[0]
        assert not (tmp_path / "second" / "vw.db").exists()  # it stopped before opening its database
    finally:
        await first.finish()


async def test_after_a_call_the_default_log_has_no_library_chatter(tmp_path):
    server = await _start(tmp_path, "--demo", "--port", "0")
    try:
        await _call(await server.listening_port())
    finally:
        code = await server.finish()
    assert code == 0
    records = [TEXT_RECORD.match(line) for line in server.stderr]
    assert all(records), server.stderr  # every line is a record (no stray traceback or handler)
    chatter = [line for line, record in zip(server.stderr, records)
               if not record.group(2).startswith("signaling") and record.group(1) in ("DEBUG", "INFO")]
    assert chatter == []
    assert not any("aioice" in line for line in server.stderr)
    assert any("stopping: draining calls" in line for line in server.stderr)  # the project's own records stay


async def test_json_log_is_one_object_a_line_libraries_included(tmp_path):
    # Libraries raised to INFO, so there is chatter to format (aioice's ICE checks).
    server = await _start(tmp_path, "--demo", "--port", "0", VW_LOG_FORMAT="json", VW_LIBRARY_LOG_LEVEL="INFO")
    try:
        await _call(await server.listening_port())
    finally:
        code = await server.finish()
    assert code == 0
    records = [json.loads(line) for line in server.stderr]  # every stderr line parses
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    assert any(record["logger"].startswith("aioice") and record["level"] == "INFO" for record in records)
    assert any(record["logger"] == "signaling.serve" and record["level"] == "WARNING" for record in records)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"]) for record in records)


@pytest.mark.parametrize("setting, value, says", [
    ("VW_LOG_LEVEL", "loud", "VW_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'loud'"),
    ("VW_LOG_FORMAT", "xml", "VW_LOG_FORMAT must be one of text, json, not 'xml'"),
    ("VW_LIBRARY_LOG_LEVEL", "chatty", "VW_LIBRARY_LOG_LEVEL must be one of"),
    ("VW_OFFER_TIMEOUT_S", "soon", "VW_OFFER_TIMEOUT_S must be a number, not 'soon'"),
])
async def test_a_bad_setting_is_one_line_and_exit_2(tmp_path, setting, value, says):
    server = await _start(tmp_path, "--demo", "--port", "0", **{setting: value})
    code = await server.finish(stop=False)
    assert code == 2
    assert server.stdout == []
    assert len(server.stderr) == 1 and server.stderr[0].startswith(f"virtual-window: {says}")
    assert not (tmp_path / "vw.db").exists()
