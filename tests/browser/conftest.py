"""Fixtures for the browser tests: a real server and headless Chromium.

The server runs as a subprocess (`python -m signaling serve --demo`) on a
free loopback port with its own database and var directory. Chromium is the
distribution's `/usr/bin/chromium` (never `playwright install`), with fake
camera and microphone. Without Chromium the tests are skipped, except under
CI (env CI set), where that is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("VW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _require_chromium() -> None:
    if os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return
    message = f"{CHROMIUM} is missing: install Chromium (apt-get install chromium) to run the browser tests"
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base_url: str, process: subprocess.Popen, log_path: Path):
        self.base_url = base_url
        self.process = process
        self.log_path = log_path

    def get_json(self, path: str, token: str | None = None):
        request = urllib.request.Request(self.base_url + path, headers={"Accept": "application/json"})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def login(self, username: str, password: str) -> str:
        body = json.dumps({"username": username, "password": password}).encode()
        request = urllib.request.Request(
            self.base_url + "/api/login", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["token"]

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""


@contextlib.contextmanager
def serve(tmp: Path, **settings: str) -> Iterator[Server]:
    """`python -m signaling serve --demo` on a free port, with these VW_ settings; waits for /healthz."""
    port = _free_port()
    env = dict(os.environ)
    env.update(
        VW_MEDIA_ADDRESSES="127.0.0.1",
        VW_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'vw.db'}",
        VW_VAR_DIR=str(tmp),
        PYTHONUNBUFFERED="1",
    )
    env.pop("VW_ICE_SERVERS", None)
    env.update(settings)
    log_path = tmp / "server.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "signaling", "serve", "--demo",
            "--host", "127.0.0.1", "--port", str(port),
            "--recordings-dir", str(tmp / "recordings"),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    srv = Server(base_url, process, log_path)
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{srv.log()}")
            try:
                with urllib.request.urlopen(base_url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer /healthz within 30 s:\n{srv.log()}")
            time.sleep(0.1)
        yield srv
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The server every browser test shares (one per pytest run)."""
    _require_chromium()  # no point starting a server nobody will drive
    with serve(tmp_path_factory.mktemp("vw-browser")) as srv:
        yield srv


@pytest.fixture
def own_server(tmp_path):
    """For a test that needs settings the shared server has not: `with own_server(VW_X="...") as srv:`
    starts a server of its own (imported as a fixture: `from conftest import` may find another
    folder's conftest.py when several run together)."""

    def make(**settings: str):
        folder = tmp_path / "own-server"
        folder.mkdir(exist_ok=True)
        return serve(folder, **settings)

    return make


@pytest.fixture
async def browser():
    """Headless Chromium with fake media devices (one per test)."""
    _require_chromium()
    try:
        import playwright.async_api as playwright_api
    except ImportError:
        message = "the Python package playwright is missing: pip install -e '.[test]'"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    async with playwright_api.async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
def new_page(browser, server):
    """Factory: a page in a fresh browser context (English, camera and mic allowed)."""
    contexts = []

    async def make(path: str = "/", *, viewport: dict | None = None, init_script: str | None = None):
        """`init_script`: run in the page before its own scripts (e.g. a test's camera)."""
        context = await browser.new_context(
            base_url=server.base_url,
            locale="en-US",
            permissions=["camera", "microphone"],
            viewport=viewport or {"width": 1280, "height": 900},
        )
        # The pages default to navigator.language; make English explicit.
        await context.add_init_script("try { localStorage.setItem('vw.lang', 'en'); } catch (e) {}")
        if init_script:
            await context.add_init_script(init_script)
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: print(f"[{path}] page error: {exc}"))
        page.on("console", lambda msg: print(f"[{path}] console.{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None)
        await page.goto(path)
        return page

    yield make
    # Contexts close with the browser; nothing else to release.

