"""The notifier webhook: tells the center's own systems (an SMS gateway, a CRM) that a caller needs
to be reached, without ever making the engine wait.

`Notifier.send(event, payload)` only appends to a bounded in-memory queue; one background task
POSTs each notice as JSON to `VW_NOTIFY_WEBHOOK_URL`, retrying a few times with backoff, and logs
a notice it finally could not deliver once. Each request is signed (docs/operations.md):

    X-VW-Event: callback_due
    X-VW-Delivery: <uuid>                       the same across retries of one notice
    X-VW-Timestamp: 1764662400                  Unix seconds when this attempt was sent
    X-VW-Signature: sha256=<hex>                HMAC-SHA256(secret, timestamp + "." + raw body)

The receiver recomputes the signature over the raw body and refuses a timestamp older than a few
minutes (a replay). Without `VW_NOTIFY_WEBHOOK_SECRET` notices are sent unsigned (a warning at
start-up).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

MAX_QUEUE = 1000
ATTEMPTS = 4  # the first and three retries
BACKOFF_S = 0.5  # doubled after each failed attempt: 0.5, 1, 2 s
TIMEOUT_S = 5.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of `timestamp.body` with the shared secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, *, max_age_s: float = 300,
           now: float | None = None) -> bool:
    """What a receiver checks (and the tests do): the signature, and that the notice is fresh."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except ValueError:
        return False
    return abs(age) <= max_age_s and hmac.compare_digest(signature(secret, timestamp, body), header)


class Notifier:
    def __init__(self, url: str | None, secret: str | None, *, attempts: int = ATTEMPTS,
                 backoff_s: float = BACKOFF_S, timeout_s: float = TIMEOUT_S):
        self.url = url
        self.secret = secret
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._queue: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue(MAX_QUEUE)
        self._task: asyncio.Task | None = None
        self.delivered = 0
        self.failed = 0

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def start(self) -> None:
        if self.enabled and self._task is None:
            if not self.secret:
                log.warning("VW_NOTIFY_WEBHOOK_URL is set without VW_NOTIFY_WEBHOOK_SECRET: notices are not signed")
            self._task = asyncio.create_task(self._run(), name="notifier")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def send(self, event: str, payload: dict[str, Any]) -> None:
        """Queue a notice (never blocks; a full queue drops it with a log line)."""
        if not self.enabled:
            return
        delivery = uuid.uuid4().hex
        sent_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = json.dumps({"event": event, "delivery": delivery, "sent_at": sent_at, **payload},
                          ensure_ascii=False, separators=(",", ":")).encode()
        try:
            self._queue.put_nowait((event, delivery, body))
        except asyncio.QueueFull:
            self.failed += 1
            log.warning("notifier queue full: %s notice dropped", event)

    async def idle(self, timeout: float = 10) -> None:
        """Until every queued notice has been delivered or given up on (tests)."""
        await asyncio.wait_for(self._queue.join(), timeout)

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                event, delivery, body = await self._queue.get()
                try:
                    await self._deliver(http, event, delivery, body)
                finally:
                    self._queue.task_done()

    async def _deliver(self, http: aiohttp.ClientSession, event: str, delivery: str, body: bytes) -> None:
        problem = ""
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-VW-Event": event, "X-VW-Delivery": delivery,
                       "X-VW-Timestamp": timestamp}
            if self.secret:
                headers["X-VW-Signature"] = signature(self.secret, timestamp, body)
            try:
                async with http.post(self.url, data=body, headers=headers) as response:
                    if 200 <= response.status < 300:
                        self.delivered += 1
                        return
                    problem = f"HTTP {response.status}"
                    if 400 <= response.status < 500 and response.status not in (408, 429):
                        break  # the receiver refuses this notice: retrying will not help
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection refused, time-out, DNS...
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self.failed += 1
        log.warning("webhook notice %s (%s) not delivered after %d attempts: %s", event, delivery, attempt + 1, problem)
