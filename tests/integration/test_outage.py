"""The real server while its database fails on command: calls go on, nothing is lost, nobody is stuck."""

from __future__ import annotations


import aiohttp
from sqlalchemy.exc import OperationalError

from signaling import keys

from test_calls import SI, caller, specialist


class DatabaseOutage:
    """Every pool of the store refuses connections while `on` (what a stopped PostgreSQL looks like)."""

    def __init__(self, store):
        self.on = False
        for name in ("writer_db", "_db", "_report"):
            real = getattr(store, name)
            setattr(store, name, self._failing(real))

    def _failing(self, real):
        def db():
            if self.on:
                raise OperationalError("connect", None, ConnectionRefusedError("connection refused"))
            return real()

        return db


async def _health(server) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/healthz") as response:
        return response.status, await response.json()


async def test_calls_connect_during_an_outage_and_are_logged_after_it(server):
    outage = DatabaseOutage(server.app[keys.STORE])
    spec = await specialist(server, auto_answer=True)
    acks = []
    try:
        outage.on = True
        for n in range(3):
            c = await caller(server)
            ack = await c.request(SI, f"停电{n}")
            assert ack["ok"], ack  # durable in the journal, although the database is down
            acks.append(ack)
            await c.wait_for("call:connected")
            await c.wait_media(5, 5)
            assert (await c.hangup())["ok"]
            await spec.wait_for("call:ended", predicate=lambda m, cid=ack["call_id"]: m["call_id"] == cid)
            assert (await spec.wrapup(ack["call_id"], notes=f"n{n}"))["ok"]
            await c.close()
        status, body = await _health(server)
        assert (status, body) == (503, {"status": "degraded", "database": "unavailable"})
        metrics = server.app[keys.TELEMETRY].registry
        assert metrics.get_sample_value("vw_database_available") == 0
        assert metrics.get_sample_value("vw_store_backlog_records") > 0

        outage.on = False
        await server.engine.writer.applied(timeout=10)
        assert (await _health(server))[0] == 200
        for ack in acks:
            row = await server.store.get_session(ack["call_id"])
            assert row["status"] == "ended" and row["outcome"] == "answered"
            assert row["created_at"] and row["answered_at"] and row["media_at"] and row["ended_at"]
            assert row["notes"]
        assert server.engine.router.specialist_state(spec.user["id"]) == "ready"
        assert metrics.get_sample_value("vw_database_outages_total") == 1
    finally:
        outage.on = False
        await spec.close()


async def test_beyond_the_bound_new_calls_are_refused_and_nothing_is_half_written(server):
    outage = DatabaseOutage(server.app[keys.STORE])
    server.engine.writer.max_backlog = 1
    c = await caller(server, leg=False)
    try:
        outage.on = True
        first = await c.request(SI, "第一")
        assert first["ok"]
        assert (await c.hangup())["ok"]
        refused = await c.request(SI, "第二")
        assert refused == {"ok": False, "error": {"code": "service_unavailable", "message": refused["error"]["message"]}}
        outage.on = False
        await server.engine.writer.applied(timeout=10)
        items, total = await server.store.list_sessions()
        assert total == 1 and items[0]["id"] == first["call_id"] and items[0]["outcome"] == "abandoned"
    finally:
        outage.on = False
        await c.close()
