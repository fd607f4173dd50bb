"""The Socket.IO server's gate: every client event passes here before a handler runs.

- Reserved names (`connect`, `disconnect`) and names that are not strings are
  refused: a client must not be able to replay the server's own events.
- Every event is rate-limited per connection (the `limits` library's moving
  window, in memory): over the limit it is answered `too_many_requests` at once,
  without starting a handler.
- Queries that only read (`QUERIES`) are cancelled when their client goes: they
  must not hold a database connection for nobody. Events that change state
  always run to the end, so the engine never stops half-way.
- A packet that cannot be decoded (bad JSON, nesting too deep, an unknown
  type) is answered `bad_packet` when its ack id can be read, and logged at
  most a few times a minute: bad input must not flood the log.
"""

from __future__ import annotations

import asyncio
import logging
import re

import socketio
from limits import parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from socketio import packet

from ..errors import ApiError

log = logging.getLogger(__name__)

# Per connection. `*` applies to every event on top of the event's own limit.
EVENT_LIMITS = {
    "*": "40/second;600/minute",
    "call:request": "3/second;20/minute",
    "call:requeue": "3/second;20/minute",
    "call:keep_place": "3/second;20/minute",
    "call:callback_accept": "3/second;20/minute",
    "rtc:offer": "5/second;60/minute",
    "rtc:candidate": "30/second;300/minute",
    "agent:day": "2/second;30/minute",
    "call:transfer_targets": "4/second;60/minute",
    "chat:message": "5/second;120/minute",
}
QUERIES = frozenset(("agent:day", "call:transfer_targets"))
# The namespace and ack id of an EVENT packet, read without decoding it.
_EVENT_HEAD = re.compile(r"^2(?:(/[^,]{1,64}),)?(\d{1,15})")
_BAD_INPUT_LOG = parse_many("5/minute")


class EventLimits:
    """The asyncio flavour of `limits`: its thread-based memory storage contends for locks with
    the database driver's threads (measured: about 2 ms per event under a burst)."""

    def __init__(self, table: dict[str, str] = EVENT_LIMITS):
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items = {name: parse_many(spec) for name, spec in table.items()}

    async def allow_log(self) -> bool:
        """Room for one more log line about bad input (shared by all connections)."""
        for item in _BAD_INPUT_LOG:
            if not await self._limiter.hit(item, "log"):
                return False
        return True

    async def allow(self, connection: str, event: str) -> bool:
        for name in ("*", event):
            for item in self._items.get(name, ()):
                if not await self._limiter.hit(item, connection, name):
                    return False
        return True


class GuardedServer(socketio.AsyncServer):
    def __init__(self, *args, event_limits: EventLimits | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.event_limits = event_limits or EventLimits()
        self._queries: dict[str, set[asyncio.Task]] = {}  # sid -> its running queries

    async def _handle_event(self, eio_sid, namespace, id, data):
        name = data[0] if data else None
        refusal = None
        if not isinstance(name, str) or name in self.reserved_events:
            refusal = ApiError("unknown_event", "this event name is reserved or not a string", 400)
        elif not await self.event_limits.allow(eio_sid, name):
            refusal = ApiError("too_many_requests", f"too many {name} events on this connection; slow down", 429)
        if refusal is None:
            return await super()._handle_event(eio_sid, namespace, id, data)
        if id is not None:
            await self._send_packet(eio_sid, self.packet_class(
                packet.ACK, namespace=namespace or "/", id=id, data=[refusal.ack()]))

    async def _handle_eio_message(self, eio_sid, data):
        try:
            return await super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            if await self.event_limits.allow_log():
                log.warning("undecodable socket.io packet from %s: %s", eio_sid, type(exc).__name__)
            head = _EVENT_HEAD.match(data) if isinstance(data, str) else None
            if head is not None:
                refusal = ApiError("bad_packet", "the packet could not be decoded", 400)
                await self._send_packet(eio_sid, self.packet_class(
                    packet.ACK, namespace=head[1] or "/", id=int(head[2]), data=[refusal.ack()]))

    async def _handle_event_internal(self, server, sid, eio_sid, data, namespace, id):
        if data[0] not in QUERIES:
            return await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
        task = asyncio.current_task()
        running = self._queries.setdefault(sid, set())
        running.add(task)
        try:
            await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
        except asyncio.CancelledError:
            pass  # its client left: nobody to answer
        finally:
            running.discard(task)
            if not running:
                self._queries.pop(sid, None)

    async def _handle_disconnect(self, eio_sid, namespace, reason=None):
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace or "/")
        for task in self._queries.pop(sid, set()):
            task.cancel()
        await super()._handle_disconnect(eio_sid, namespace, reason)
