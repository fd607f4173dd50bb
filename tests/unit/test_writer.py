"""The session writer on real SQLite and PostgreSQL stores, with a switch that makes the database
fail on command."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import OperationalError

from signaling.store import Store
from signaling.store.journal import Journal
from signaling.store.writer import SessionWriter
from signaling.telemetry import Telemetry

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)


class Outage:
    """Makes the store's writer pool refuse connections while `on`, as a stopped PostgreSQL does."""

    def __init__(self, store: Store):
        self.on = False
        self.attempts = 0
        self._real = store.writer_db
        store.writer_db = self._db

    def _db(self):
        self.attempts += 1
        if self.on:
            raise OperationalError("connect", None, ConnectionRefusedError("connection refused"))
        return self._real()


@pytest.fixture
def store(item_store):
    return item_store  # conftest.py: SQLite and PostgreSQL, with one service item


async def _writer(store, tmp_path, **kwargs) -> SessionWriter:
    writer = SessionWriter(store, Journal(tmp_path / "journal" / "sessions-test.jsonl"), **kwargs)
    await writer.start()
    return writer


def _session(writer: SessionWriter, n: int, *, end: bool = True) -> int:
    sid = f"{n:032x}"
    seq = writer.create(id=sid, service_item_code="SI-001", caller={"name": f"c{n}"}, created_at=T0)
    writer.update(sid, event="answered", at=T0 + timedelta(seconds=1), status="connected",
                  answered_at=T0 + timedelta(seconds=1))
    if end:
        writer.update(sid, event="ended", at=T0 + timedelta(seconds=9), status="ended", outcome="answered",
                      ended_at=T0 + timedelta(seconds=9), end_reason="hangup", ended_by="caller")
    return seq


async def test_a_burst_is_written_in_a_few_group_commits(store, tmp_path):
    telemetry = Telemetry()
    writer = await _writer(store, tmp_path, telemetry=telemetry)
    for n in range(100):
        _session(writer, n)
    await writer.applied(timeout=10)
    groups = telemetry.registry.get_sample_value("vw_store_group_records_count")
    assert groups is not None and groups < 20  # 300 records, not 300 transactions
    items, total = await store.list_sessions(limit=200)
    assert total == 100 and all(s["wait_ms"] == 1000 and s["talk_s"] == 8.0 for s in items)
    await writer.stop()


async def test_an_outage_delays_records_in_order_and_loses_none(store, tmp_path):
    outage = Outage(store)
    writer = await _writer(store, tmp_path)
    outage.on = True
    seqs = [_session(writer, n) for n in range(5)]
    await writer.durable(seqs[-1])  # durable in the journal while the database is down
    await asyncio.sleep(0.3)
    assert not writer.database_available and writer.backlog == 15 and outage.attempts >= 2
    outage.on = False
    await writer.applied(timeout=10)
    assert writer.database_available and writer.backlog == 0
    for n in range(5):
        session = await store.get_session(f"{n:032x}")
        assert session["outcome"] == "answered"
        assert [e["type"] for e in session["events"]] == ["queued", "answered", "ended"]
    await writer.stop()


async def test_a_crash_mid_outage_is_replayed_once_from_the_journal(store, tmp_path):
    outage = Outage(store)
    writer = await _writer(store, tmp_path)
    _session(writer, 1)  # written normally
    await writer.applied(timeout=5)
    outage.on = True
    seq = _session(writer, 2)
    await writer.durable(seq)
    await writer.stop(timeout=0.2)  # as good as a crash: the database never saw session 2
    outage.on = False
    assert await store.get_session(f"{2:032x}") is None

    again = await _writer(store, tmp_path)  # start-up replays the journal
    assert (await store.get_session(f"{2:032x}"))["outcome"] == "answered"
    await again.stop()
    third = await _writer(store, tmp_path)  # and never twice
    assert len((await store.get_session(f"{2:032x}"))["events"]) == 3
    assert (await store.list_sessions())[1] == 2
    await third.stop()


async def test_a_record_the_database_refuses_is_dropped_alone(store, tmp_path):
    writer = await _writer(store, tmp_path)
    _session(writer, 1, end=False)
    writer.event("f" * 32, "chat", T0, {"text": "for a session that does not exist"})
    _session(writer, 2)
    await writer.applied(timeout=10)
    assert writer.dropped == 1
    assert (await store.get_session(f"{2:032x}"))["outcome"] == "answered"
    assert (await store.get_session(f"{1:032x}"))["status"] == "connected"
    await writer.stop()


async def test_new_sessions_are_refused_beyond_the_bound(store, tmp_path):
    outage = Outage(store)
    writer = await _writer(store, tmp_path, max_backlog=6)
    outage.on = True
    _session(writer, 1)
    assert writer.accepting  # 3 records wait
    _session(writer, 2)
    assert not writer.accepting  # 6: the bound
    outage.on = False
    await writer.applied(timeout=10)
    assert writer.accepting
    await writer.stop()
