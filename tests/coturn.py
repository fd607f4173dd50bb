"""A real TURN server for tests: Debian's coturn (`/usr/bin/turnserver`) on 127.0.0.1.

Started by the test on a free port, with either static long-term credentials
(`lt-cred-mech`) or the TURN REST API's shared secret (`use-auth-secret`), its
own log and database in the test's temporary folder, no TLS, no CLI, and
loopback peers allowed (the server's legs are on 127.0.0.1). Stopped by the
test. Without coturn the tests are skipped, except under CI, where that is a
failure (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from aioice import stun

TURNSERVER = os.environ.get("VW_TURNSERVER", "/usr/bin/turnserver")
REALM = "vw.test"
USER, PASSWORD = "vw", "vw-turn-password"


def require_coturn() -> None:
    if shutil.which(TURNSERVER):
        return
    message = f"{TURNSERVER} is missing: install coturn (apt-get install coturn) to run the TURN tests"
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(message)
    pytest.skip(message)


def _free_udp_port() -> int:
    # coturn listens on the same port over UDP and TCP: take one free for both.
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port


class Coturn:
    """One turnserver process; `secret` switches it to short-term credentials (use-auth-secret)."""

    def __init__(self, tmp: Path, *, secret: str | None = None) -> None:
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.secret = secret
        self.port = _free_udp_port()
        self.log_path = tmp / "turnserver.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def ice_server(self) -> dict:
        """The static-credential entry for VW_ICE_SERVERS / an RTCConfiguration."""
        return {"urls": [self.url], "username": USER, "credential": PASSWORD}

    def start(self) -> Coturn:
        require_coturn()
        auth = (["--use-auth-secret", f"--static-auth-secret={self.secret}"] if self.secret
                else ["--lt-cred-mech", f"--user={USER}:{PASSWORD}"])
        self.process = subprocess.Popen(
            [TURNSERVER, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
             f"--listening-port={self.port}", f"--realm={REALM}", *auth,
             "--verbose", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--no-stdout-log",
             "--simple-log", f"--log-file={self.log_path}", f"--pidfile={self.tmp / 'turnserver.pid'}",
             f"--userdb={self.tmp / 'turndb'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 10) -> None:
        """Until a STUN binding request on the port is answered."""
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    pytest.fail(f"turnserver exited with {self.process.returncode}:\n{self.log()}")
                s.sendto(bytes(request), ("127.0.0.1", self.port))
                try:
                    s.recvfrom(2048)
                    return
                except OSError:
                    continue
        self.stop()
        pytest.fail(f"turnserver did not answer on 127.0.0.1:{self.port} within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
