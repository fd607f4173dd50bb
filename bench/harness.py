"""What the wire-level benchmarks share: a real server subprocess, its database, and timed clients.

Everything here talks to the server only through the wire contract (socket.io,
HTTP, the command line), so the same benchmark runs against any server core.
The database is prepared before the server starts, with the store code of the
tree being measured (`REPO`): run a benchmark from the checkout whose server
you want to measure.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import socketio

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from report import write_section  # noqa: E402  (bench/report.py)
from signaling.client import Caller, Specialist  # noqa: E402
from signaling.store import Store  # noqa: E402
from signaling.store.demo import load_demo  # noqa: E402

ADDRESSES = ["127.0.0.1"]
SERVICE_ITEM = "SI-001"  # category social_insurance: what the bench specialists handle
BENCH_SKILLS = ["category:social_insurance"]
BENCH_PASSWORD = "bench123"
ADMIN = ("admin", "admin123")  # the demo administrator
# One signing key for every server a benchmark process starts, so a specialist's login token from
# one server is accepted by the next (each is prepared the same way, so account ids match): the
# argon2 password check (about a second each on this machine) is paid once per specialist.
SECRET_KEY = secrets.token_urlsafe(32)
_tokens: dict[str, str] = {}
# PostgreSQL server the benchmarks create their own databases on (trust auth).
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


_started = time.monotonic()


def progress(message: str) -> None:
    """A line on stderr with the seconds since the benchmark started (the figures go to stdout)."""
    print(f"[{time.monotonic() - _started:6.1f} s] {message}", file=sys.stderr, flush=True)


# -- figures --------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None, "within_2s": None}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
        "within_2s": sum(v <= 2000 for v in values) / len(values),
    }


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def counts(counter: collections.Counter) -> str:
    """`ok 98, internal_error 2` (most frequent first)."""
    return ", ".join(f"{k} {v}" for k, v in counter.most_common()) or "–"


# -- accounts and databases --------------------------------------------------------


def bench_accounts(n: int, skills: list[str] = BENCH_SKILLS, prefix: str = "bench") -> dict[str, list[str]]:
    return {f"{prefix}{i}": skills for i in range(n)}


class _HashOnce:
    """A password hasher that hashes each password once: every bench account has the same password,
    and argon2 takes about a second here, so 100 accounts would otherwise take minutes."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._hashes: dict[str, str] = {}

    def hash(self, password: str) -> str:
        if password not in self._hashes:
            self._hashes[password] = self._real.hash(password)
        return self._hashes[password]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


async def prepare_database(url: str, accounts: dict[str, list[str]]) -> None:
    """The demo catalog and administrator, plus one specialist per `accounts` entry (username -> skills)."""
    from signaling.store import store as store_module  # the hasher is the store module's (not the wire's)

    if hasattr(store_module, "_hasher") and not isinstance(store_module._hasher, _HashOnce):
        store_module._hasher = _HashOnce(store_module._hasher)
    store = Store(url)
    await store.open()
    await load_demo(store)
    for username, skills in accounts.items():
        await store.upsert_account(username, "specialist", BENCH_PASSWORD, display_name=username, skills=skills)
    await store.close()


def pg_url(database: str, host: str = PG_HOST, port: int = PG_PORT) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{host}:{port}/{database}"


_databases = itertools.count()


@contextlib.asynccontextmanager
async def database(kind: str, tmp: Path) -> AsyncIterator[str]:
    """An empty database for one run: an SQLite file under `tmp`, or `vw_bench_<pid>_<n>` on PostgreSQL
    (dropped afterwards, even if the server still holds connections)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'vw.db'}"
        return
    import asyncpg

    name = f"vw_bench_{os.getpid()}_{next(_databases)}"
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield pg_url(name)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


# -- the server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


class Server:
    """`python -m signaling serve` on 127.0.0.1 with its own var/ and recordings dir under `tmp`.

    Its output goes to `tmp/server.log`, so a run can report what the server logged.
    """

    def __init__(self, database_url: str, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "server.log"
        self.env = {
            **os.environ,
            "VW_DATABASE_URL": database_url,
            "VW_VAR_DIR": str(tmp),
            "VW_MEDIA_ADDRESSES": "127.0.0.1",
            "VW_RECORDINGS_DIR": str(tmp / "recordings"),
            "VW_SECRET_KEY": SECRET_KEY,
            # Every bench client comes from 127.0.0.1: lift the per-address limits a server may
            # have (they are for many real addresses, not for one load generator).
            "VW_MAX_SOCKETS_PER_ADDRESS": "100000",
            "VW_MAX_CALLS_PER_ADDRESS": "100000",
            "VW_LOGIN_ADDRESS_LIMITS": "100000/minute",
            "VW_DRAIN_S": "2",  # a graceful stop need not wait for the bench's calls to end
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None
        self.stopped_at_byte: int | None = None  # how much it had logged when told to stop (None: all)

    def start_process(self) -> subprocess.Popen:
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "signaling", "serve", "--port", str(self.port)],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        finally:
            log.close()  # the child has its own descriptor
        return self.process

    async def start(self) -> None:
        self.start_process()
        await wait_healthy(self.url)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stopped_at_byte = self.log_path.stat().st_size if self.log_path.exists() else 0
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def logged(self) -> collections.Counter:
        """ERROR and WARNING lines the server wrote while measured, by logger and message (numbers blanked)."""
        found: collections.Counter = collections.Counter()
        if not self.log_path.exists():
            return found
        line_re = re.compile(r"^\S+ \S+ (ERROR|WARNING|CRITICAL) (\S+): (.*)$")
        with self.log_path.open("rb") as f:  # up to the stop the bench asked for (not the shutdown)
            text = f.read(self.stopped_at_byte).decode(errors="replace")
        for line in text.splitlines():
            m = line_re.match(line)
            if m:
                message = re.sub(r"[0-9a-f]{32}|\d+", "N", m.group(3))[:120]
                found[f"{m.group(1)} {m.group(2)}: {message}"] += 1
        return found


@contextlib.asynccontextmanager
async def running_server(kind: str, accounts: dict[str, list[str]], env: dict[str, str] | None = None,
                         url_of: Callable[[str], str] | None = None) -> AsyncIterator[Server]:
    """A fresh database of `kind` with `accounts`, and a server on it (stopped and dropped afterwards).

    `url_of` rewrites the database URL the server is given (the outage bench routes it through a proxy).
    """
    tmp = Path(tempfile.mkdtemp(prefix="vw-bench-"))
    async with database(kind, tmp) as url:
        await prepare_database(url, accounts)
        progress(f"{kind} database ready ({len(accounts)} specialists)")
        server = Server(url_of(url) if url_of else url, tmp, env)
        try:
            await server.start()
            progress(f"server up at {server.url}")
            yield server
        finally:
            server.stop()
            progress("server stopped")


def print_logged(server: Server, limit: int = 12) -> collections.Counter:
    logged = server.logged()
    if logged:
        print(f"server logged ({server.log_path}):")
        for line, n in logged.most_common(limit):
            print(f"  {n:5d} × {line}")
    return logged


def logged_lines(logged: collections.Counter, limit: int = 6, prefix: str = "") -> list[str]:
    """What the server logged, as Markdown bullets for a section (nothing if it logged nothing)."""
    if not logged:
        return []
    return [f"- {prefix}the server logged {sum(logged.values())} warnings/errors:"] + [
        f"  - {n} × `{line}`" for line, n in logged.most_common(limit)]


# -- command line -----------------------------------------------------------------


def cli(doc: str, *, database: str | None = None) -> argparse.ArgumentParser:
    """A benchmark's parser with what they all take: --label, --write (and --database, defaulting to `database`)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if database:
        parser.add_argument("--database", choices=("sqlite", "postgres"), default=database)
    parser.add_argument("--label", default="this checkout",
                        help="which server core is measured (in the section's title, e.g. \"v1 center\")")
    parser.add_argument("--write", type=Path, help="record the figures in this Markdown file (docs/benchmarks.md)")
    return parser


def publish(args: argparse.Namespace, title: str, text: str) -> int:
    """Print the figures; with --write, make them the section `title (label)` of that file."""
    print(text)
    if args.write:
        write_section(args.write, f"{title} ({args.label})", text)
        print(f"written to {args.write}")
    return 0


# -- administrator's HTTP ------------------------------------------------------------


class AdminHttp:
    """The demo administrator over HTTP: the session log, and timed probes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.headers: dict[str, str] = {}

    async def login(self) -> float:
        """POST /api/login as the administrator; the latency in ms (raises unless 200)."""
        started = time.monotonic()
        async with self.http.post(self.url + "/api/login", json={"username": ADMIN[0], "password": ADMIN[1]}) as r:
            body = await r.json(content_type=None)
            if r.status != 200:
                raise RuntimeError(f"admin login answered {r.status}: {body}")
        self.headers = {"Authorization": f"Bearer {body['token']}"}
        return (time.monotonic() - started) * 1000

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(self.url + path, headers=self.headers) as r:
            return r.status, await r.json(content_type=None)

    async def sessions(self) -> list[dict]:
        """Every session in the log (GET /api/sessions, page by page)."""
        items: list[dict] = []
        while True:
            status, body = await self.get(f"/api/sessions?limit=1000&offset={len(items)}")
            if status != 200:
                raise RuntimeError(f"GET /api/sessions answered {status}: {body}")
            items += body["items"]
            if not body["items"] or len(items) >= body["total"]:
                return items

    async def session(self, call_id: str) -> dict | None:
        status, body = await self.get(f"/api/sessions/{call_id}")
        return body if status == 200 else None

    async def close(self) -> None:
        await self.http.close()


async def session_log(url: str) -> dict[str, dict]:
    """Every session in the log by id, as the demo administrator sees it."""
    admin = AdminHttp(url)
    try:
        await admin.login()
        return {s["id"]: s for s in await admin.sessions()}
    finally:
        await admin.close()


async def probe(measure: Callable[[], Awaitable[Any]]) -> tuple[float | None, str]:
    """(latency ms, "ok" or what went wrong) of one HTTP probe."""
    started = time.monotonic()
    try:
        await measure()
    except (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError) as exc:
        return None, type(exc).__name__
    return (time.monotonic() - started) * 1000, "ok"


# -- participants --------------------------------------------------------------------


class Stamped:
    """Mixin for the headless clients: when each S→C event arrived (first per event and call_id)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen_at: dict[tuple[str, str | None], float] = {}
        self.state: str | None = None  # the last S→C agent:state

    async def _on_event(self, event: str, data: Any = None) -> None:
        call_id = data.get("call_id") if isinstance(data, dict) else None
        self.seen_at.setdefault((event, call_id), time.monotonic())
        if event == "agent:state" and isinstance(data, dict):
            self.state = data.get("state")
        await super()._on_event(event, data)


class BenchCaller(Stamped, Caller):
    pass


class BenchSpecialist(Stamped, Specialist):
    pass


def ack_code(ack: Any) -> str:
    if isinstance(ack, dict) and ack.get("ok"):
        return "ok"
    if isinstance(ack, dict) and isinstance(ack.get("error"), dict):
        return str(ack["error"].get("code"))
    return "bad_ack"


async def timed_call(call: Callable[[], Awaitable[Any]]) -> tuple[float, dict]:
    """(ms from emit to ack, the ack); no ack in time or a dropped socket is an ack of its own code."""
    started = time.monotonic()
    try:
        ack = await call()
    except socketio.exceptions.TimeoutError:
        ack = {"ok": False, "error": {"code": "no_ack"}}
    except socketio.exceptions.SocketIOError as exc:
        ack = {"ok": False, "error": {"code": "disconnected", "message": str(exc)}}
    return (time.monotonic() - started) * 1000, ack


async def gather_limited(coros: Iterable[Awaitable[Any]], limit: int = 10) -> list[Any]:
    """Like asyncio.gather, at most `limit` at a time (logins hash passwords: do not stampede)."""
    gate = asyncio.Semaphore(limit)

    async def one(coro: Awaitable[Any]) -> Any:
        async with gate:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


async def ready_specialists(url: str, usernames: Iterable[str], *, timeout: float = 10,
                            leg: bool = False) -> list[BenchSpecialist]:
    """Log in, connect, (optionally open a leg), and set ready with auto-answer."""

    async def signed_in(username: str, tries: int = 5) -> BenchSpecialist:
        """Connected on /agent: with the token an earlier server issued, else logging in; a refused
        connection is tried again after a second (as a console reconnects), with a fresh login once."""
        token = _tokens.get(username)
        for attempt in range(tries):
            spec = BenchSpecialist(url, username=username, password=BENCH_PASSWORD, media_addresses=ADDRESSES,
                                   timeout=timeout)
            spec.token = token
            try:
                await spec.connect()
                _tokens[username] = spec.token
                return spec
            except socketio.exceptions.ConnectionError as exc:
                await spec.close()
                if attempt == tries - 1:
                    raise
                progress(f"{username}: /agent refused ({exc}); trying again")
                token = spec.token if token is None else None  # the earlier server's token may be the cause
                await asyncio.sleep(1.0)
        raise AssertionError("unreachable")

    async def one(username: str) -> BenchSpecialist:
        spec = await signed_in(username)
        if leg:
            await spec.open_leg()
        ack = await spec.set_state("ready", auto_answer=True)
        if ack_code(ack) != "ok":
            raise RuntimeError(f"{username}: agent:state refused: {ack}")
        return spec

    # Logins are argon2 checks on the server's 2 cores: more at once only makes each slower.
    return await gather_limited((one(u) for u in usernames), limit=4)


async def connected_callers(url: str, n: int, *, timeout: float = 10) -> list[BenchCaller]:
    async def one() -> BenchCaller:
        caller = BenchCaller(url, media_addresses=ADDRESSES, timeout=timeout)
        await caller.connect()
        return caller

    return await gather_limited((one() for _ in range(n)), limit=20)


async def close_all(participants: Iterable[Any]) -> None:
    await asyncio.gather(*(p.close() for p in participants), return_exceptions=True)


async def insist(call: Callable[[], Awaitable[Any]], *, done: frozenset[str] = frozenset(), tries: int = 120,
                 every_s: float = 1.0) -> list[str]:
    """Send a command again every `every_s` (as a person pressing the button again would) until it is
    acknowledged ok or with a code in `done` (nothing left to do); the codes of all attempts."""
    codes = []
    for _ in range(tries):
        _, ack = await timed_call(call)
        codes.append(ack_code(ack))
        if codes[-1] in ("ok", "disconnected") or codes[-1] in done:
            break  # done, or the socket is gone (no use pressing again)
        await asyncio.sleep(every_s)
    return codes


async def take_calls(spec: BenchSpecialist, talk_s: float, log: collections.Counter) -> None:
    """An auto-answer specialist's day: answered → talk → hang up → call:ended → wrap-up done, forever.

    Hang-up and wrap-up are retried (a console user presses again); what the acks said is counted in `log`.
    """
    while True:
        connected = await spec.wait_for("call:connected", timeout=3600)
        call_id = connected["call_id"]
        await asyncio.sleep(talk_s)
        for code in await insist(lambda: spec.hangup(call_id), done=frozenset({"unknown_call", "not_your_call"})):
            log[f"specialist call:hangup {code}"] += 1
        try:
            await spec.wait_for("call:ended", timeout=15, predicate=lambda m: m.get("call_id") == call_id)
        except TimeoutError:
            log["specialist got no call:ended"] += 1
            continue
        for code in await insist(lambda: spec.wrapup(call_id), done=frozenset({"not_in_wrap_up"})):
            log[f"specialist call:wrapup {code}"] += 1
