"""The outbox: what the engine tells participants, sent in decision order, after the lock.

Under the engine's lock only memory is touched. Emitting is not free (JSON, a
websocket frame per message): measured under a burst of 100 requests, the
emits awaited under the lock were what serialised them. So messages are queued
here, in the order the engine decided them, and one task delivers them; the
order decided is the order sent, to everyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Awaitable, Callable

log = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[Any]]  # socketio.AsyncServer.emit(event, data, to=, namespace=)


class Outbox:
    def __init__(self, emit: Emit):
        self._emit = emit
        self._queue: deque[tuple[str, dict, str, str]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task | None = None

    def put(self, event: str, data: dict, to: str, namespace: str) -> None:
        self._queue.append((event, data, to, namespace))
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="engine-outbox")

    async def flushed(self) -> None:
        """Wait until everything put so far has been handed to socket.io."""
        await self._idle.wait()

    async def close(self) -> None:
        await self.flushed()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                event, data, to, namespace = self._queue.popleft()
                try:
                    await self._emit(event, data, to=to, namespace=namespace)
                except Exception:  # one failed send must not silence everyone after it
                    log.exception("sending %s to %s failed", event, to)
                await asyncio.sleep(0)  # an emit never yields by itself: let acks and reads interleave
            self._idle.set()
