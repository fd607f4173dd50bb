"""The session writer: every session transition, written in order, in groups, through outages.

The session engine decides in memory and hands each transition here with
`create`, `update`, `event` or `recording`; nothing on the call path waits for
the database. One writer task takes everything pending and commits it in one
transaction (group commit); while the database is unreachable it retries with
backoff and the records wait, in order, in memory and in the local journal
(store/journal.py), so a record is never lost, even by a crash mid-outage:
start-up replays the journal before anything else.

The bound: the writer stops *accepting new sessions* (`accepting` is False, and
the engine refuses `call:request` with `service_unavailable`) once the oldest
unwritten record is older than `max_lag_s` or more than `max_backlog` records
wait. Sessions already accepted keep being recorded whatever the lag.

A record the database refuses on its own (a constraint, bad data) is dropped
with one log line after the rest of its group is written one by one, so one
bad record never jams the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import select, text
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError

from .journal import Journal
from .models import CallSession, JournalCheckpoint, QualitySample, Recording, SessionEvent, SessionParticipant, utc_naive
from .participants import PARTICIPANT_OPS, write_participant
from .store import TIME_FIELDS, Store, StoreError, _check_enum, _recompute, check_transition

log = logging.getLogger(__name__)

MAX_GROUP = 500  # records per transaction
PING_S = 1.0  # how often an idle writer checks that the database answers
PING_TIMEOUT_S = 5.0  # a check that takes longer than this counts as an outage (a busy SQLite is slow, not down)
ALIVE_S = 5.0  # how often an idle writer records that this server is alive (crash recovery's `ended_at`)
BACKOFF_S = (0.05, 2.0)  # first and longest pause between retries while the database is down
_DATETIME_KEYS = frozenset((*TIME_FIELDS, "at", "created_at"))


class StoreUnavailable(Exception):
    """A record could not be made durable (the journal failed) or the writer is stopping."""


class SessionWriter:
    def __init__(
        self,
        store: Store,
        journal: Journal | None,
        *,
        max_lag_s: float = 120.0,
        max_backlog: int = 50_000,
        telemetry: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.journal = journal
        self.max_lag_s = max_lag_s
        self.max_backlog = max_backlog
        self._telemetry = telemetry
        self._clock = clock
        self._pending: deque[tuple[float, dict]] = deque()  # (submitted at, record), oldest first
        self._unjournaled: list[dict] = []
        self._seq = 0
        self._journaled = 0
        self._applied = 0
        self._durable_waiters: list[tuple[int, asyncio.Future]] = []
        self._applied_waiters: list[tuple[int, asyncio.Future]] = []
        self._wake_db = asyncio.Event()
        self._wake_journal = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._journal_failed = False
        self.down_since: float | None = None  # monotonic time the database stopped answering
        self.dropped = 0
        self.previous_alive_at: datetime | None = None  # when the previous run was last known alive
        self._alive_written = 0.0

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> int:
        """Replay what a previous run left in the journal; then start writing. Returns records replayed."""
        replayed = 0
        if self.journal is not None:
            checkpoint, self.previous_alive_at = await self._checkpoint()
            records = self.journal.read()
            self._seq = max([checkpoint, *(r.get("seq", 0) for r in records)])
            todo = [r for r in records if r.get("seq", 0) > checkpoint]
            for start in range(0, len(todo), MAX_GROUP):
                await self._write_group(todo[start:start + MAX_GROUP])
            replayed = len(todo)
            if replayed:
                log.warning("replayed %d session records from the journal %s", replayed, self.journal.path)
            await asyncio.to_thread(self.journal.clear)
        self._journaled = self._applied = self._seq
        self._tasks = [asyncio.create_task(self._db_loop(), name="session-writer")]
        if self.journal is not None:
            self._tasks.append(asyncio.create_task(self._journal_loop(), name="session-journal"))
        return replayed

    async def stop(self, timeout: float = 5.0) -> None:
        """Write what is pending (for at most `timeout`); what is left stays in the journal for the next start."""
        try:
            await self.applied(timeout=timeout)
        except StoreUnavailable:
            log.warning("stopping with %d session records not yet in the database", len(self._pending))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.journal is not None:
            if self._unjournaled:
                self.journal.append(self._unjournaled)
                self._unjournaled = []
            if not self._pending:
                self.journal.clear()
            self.journal.close()
        for _, fut in self._durable_waiters + self._applied_waiters:
            if not fut.done():
                fut.set_exception(StoreUnavailable("the writer stopped"))

    # -- state ---------------------------------------------------------------------

    @property
    def database_available(self) -> bool:
        return self.down_since is None

    @property
    def backlog(self) -> int:
        return len(self._pending)

    def lag_s(self) -> float:
        """Age of the oldest record not yet in the database."""
        return self._clock() - self._pending[0][0] if self._pending else 0.0

    @property
    def accepting(self) -> bool:
        """May a new session be taken? (Within the bound, and its record can be made durable.)"""
        return not self._journal_failed and len(self._pending) < self.max_backlog and self.lag_s() < self.max_lag_s

    # -- records -------------------------------------------------------------------

    def create(self, *, id: str, service_item_code: str, caller: dict, created_at: datetime,
               transferred_from: str | None = None, reference: str | None = None,
               transfer_note: str | None = None) -> int:
        """A new session's row: `reference` is decided by the engine (engine/references.py);
        `transfer_note` says why the session it continues (`transferred_from`) was transferred."""
        return self._submit({"op": "create", "id": id, "service_item_code": service_item_code,
                             "caller": caller, "created_at": created_at, "transferred_from": transferred_from,
                             "reference": reference, "transfer_note": transfer_note})

    def update(self, id: str, *, event: str, at: datetime, data: dict | None = None, **fields: Any) -> int:
        check_transition(fields)
        return self._submit({"op": "update", "id": id, "event": event, "at": at, "data": data, "fields": fields})

    def participant(self, session_id: str, *, role: str, account_id: int | None, display_name: str,
                    mode: str | None, invite_id: str | None, wait_ms: int | None, at: datetime) -> int:
        """One person joins the session's call, in one role and mode (table session_participants)."""
        _check_enum("role", role, SessionParticipant.ROLES)
        return self._submit({"op": "participant", "id": session_id, "role": role, "account_id": account_id,
                             "display_name": display_name, "mode": mode, "invite_id": invite_id,
                             "wait_ms": wait_ms, "at": at})

    def participant_left(self, session_id: str, *, role: str | None, account_id: int | None, at: datetime) -> int:
        """Close the open rows of one person of the session (`role` None: of everyone, the session ended)."""
        return self._submit({"op": "participant_left", "id": session_id, "role": role, "account_id": account_id,
                             "at": at})

    def event(self, id: str, type: str, at: datetime, data: dict | None = None) -> int:
        return self._submit({"op": "event", "id": id, "event": type, "at": at, "data": data})

    def quality_samples(self, session_id: str, samples: list[dict]) -> int:
        """Network quality samples of a session (engine/quality.py), a group at a time: each a
        dict of `QualitySample.COLUMNS` with `party` and `at` (ISO text); other keys are ignored."""
        for sample in samples:
            _check_enum("party", sample.get("party"), QualitySample.PARTIES)
        return self._submit({"op": "quality", "id": session_id, "samples": samples})

    def recording(self, session_id: str, party: str, path: str, duration_s: float | None, size: int | None,
                  at: datetime, state: str = "complete") -> int:
        """Index a party's recording: `recording` when its file starts, then `complete` (or, after a
        crash, `repaired`/`failed`); a later record for the same (session, party) updates the row."""
        if not Recording.party_ok(party):
            raise StoreError("invalid_party", "party must be caller, specialist, back_office or supervisor (then _2, _3, ...)")
        _check_enum("state", state, Recording.STATES)
        return self._submit({"op": "recording", "id": session_id, "party": party, "path": path,
                             "duration_s": duration_s, "bytes": size, "at": at, "state": state})

    async def durable(self, seq: int) -> None:
        """Wait until record `seq` is in the journal (or the database, without a journal)."""
        if seq <= self._journaled:
            return
        if self._journal_failed:
            raise StoreUnavailable("the journal cannot be written")
        fut = asyncio.get_running_loop().create_future()
        self._durable_waiters.append((seq, fut))
        await fut

    async def applied(self, seq: int | None = None, timeout: float = 5.0) -> None:
        """Wait until everything submitted so far (or up to `seq`) is in the database."""
        seq = self._seq if seq is None else seq
        if seq <= self._applied:
            return
        fut = asyncio.get_running_loop().create_future()
        self._applied_waiters.append((seq, fut))
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            self._applied_waiters.remove((seq, fut))  # nobody waits for it any more
            raise StoreUnavailable("the database has not caught up") from None

    def _submit(self, record: dict) -> int:
        self._seq += 1
        record = {"seq": self._seq, **{k: _encode(k, v) for k, v in record.items()}}
        if record.get("fields"):
            record["fields"] = {k: _encode(k, v) for k, v in record["fields"].items()}
        self._pending.append((self._clock(), record))
        if self.journal is not None:  # without one, a record is durable once it is in the database
            self._unjournaled.append(record)
            self._wake_journal.set()
        self._wake_db.set()
        if self._telemetry is not None:
            self._telemetry.store_backlog.set(len(self._pending))
        return self._seq

    # -- the two tasks -------------------------------------------------------------

    async def _journal_loop(self) -> None:
        assert self.journal is not None
        while True:
            await self._wake_journal.wait()
            self._wake_journal.clear()
            group, self._unjournaled = self._unjournaled, []
            if group:
                try:
                    await asyncio.to_thread(self.journal.append, group)
                except OSError as exc:
                    # The records still go to the database; new sessions are refused (`accepting`).
                    log.error("the session journal %s cannot be written: %s", self.journal.path, exc)
                    self._journal_failed = True
                    _release(self._durable_waiters, group[-1]["seq"], StoreUnavailable(str(exc)))
                    continue
                self._journaled = group[-1]["seq"]
                _release(self._durable_waiters, self._journaled)
            if self._applied >= self._journaled and not self._unjournaled and self.journal.size() > 1 << 20:
                await asyncio.to_thread(self.journal.clear)  # everything in it is in the database

    async def _db_loop(self) -> None:
        pause = BACKOFF_S[0]
        while True:
            if not self._pending:
                try:
                    await asyncio.wait_for(self._wake_db.wait(), PING_S)
                except asyncio.TimeoutError:
                    await self._ping()
                    continue
            self._wake_db.clear()
            group = [record for _, record in list(self._pending)[:MAX_GROUP]]
            if not group:
                continue
            try:
                try:
                    await self._write_group(group)
                    self._written(len(group))
                except (IntegrityError, DataError, ProgrammingError, StoreError):
                    await self._write_one_by_one(group)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is unreachable: wait, then retry in order
                self._down(exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, BACKOFF_S[1])
                continue
            pause = BACKOFF_S[0]
            self._up()

    async def _write_one_by_one(self, group: list[dict]) -> None:
        """A group the database refused: write its records alone, dropping those refused on their own."""
        for record in group:
            try:
                try:
                    await self._write_group([record])
                except IntegrityError as exc:
                    if record["op"] != "create" or not record.get("reference"):
                        raise
                    # A reference already taken (two servers on one database without a shared counter):
                    # the session is kept without one, never lost; the page shows its id then.
                    log.error("session %s: reference %s refused (%s); kept without a reference",
                              record["id"], record["reference"], _first_line(exc), extra={"session_id": record["id"]})
                    await self._write_group([{**record, "reference": None}])
            except (IntegrityError, DataError, ProgrammingError, StoreError) as exc:
                self.dropped += 1
                log.error("session record %s (%s of %s) refused by the database, dropped: %s",
                          record["seq"], record["op"], record.get("id"), _first_line(exc),
                          extra={"session_id": record.get("id")})  # a field of its own in JSON logs
                await self._write_group([], upto=record["seq"])
                if self._telemetry is not None:
                    self._telemetry.store_dropped.inc()
            self._written(1)

    def _written(self, count: int) -> None:
        for _ in range(count):
            _, record = self._pending.popleft()
            self._applied = record["seq"]
        _release(self._applied_waiters, self._applied)
        if self.journal is None:
            self._journaled = self._applied
            _release(self._durable_waiters, self._applied)
        self._wake_journal.set()  # it may empty the journal now
        if self._telemetry is not None:
            self._telemetry.store_backlog.set(len(self._pending))
            self._telemetry.store_group_records.observe(count)

    def _down(self, exc: Exception) -> None:
        if self.down_since is None:
            self.down_since = self._clock()
            log.error("the database is unavailable (%s); %d session records wait", _first_line(exc), len(self._pending))
            if self._telemetry is not None:
                self._telemetry.database_outages.inc()
                self._telemetry.database_available.set(0)

    def _up(self) -> None:
        if self.down_since is not None:
            lasted = self._clock() - self.down_since
            self.down_since = None
            log.warning("the database is back after %.1f s; %d session records wait", lasted, len(self._pending))
            if self._telemetry is not None:
                self._telemetry.database_outage_seconds.inc(lasted)
                self._telemetry.database_available.set(1)

    async def _ping(self) -> None:
        try:
            if self.journal is not None and self._clock() - self._alive_written >= ALIVE_S:
                await asyncio.wait_for(self._write_group([], upto=self._applied), PING_TIMEOUT_S)  # records `alive_at`
            else:
                async with self.store.writer_db() as db:
                    await asyncio.wait_for(db.execute(text("SELECT 1")), PING_TIMEOUT_S)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._down(exc)
        else:
            self._up()

    # -- the database side ---------------------------------------------------------

    async def _checkpoint(self) -> tuple[int, datetime | None]:
        assert self.journal is not None
        async with self.store.writer_db() as db:
            row = await db.get(JournalCheckpoint, self.journal.key)
        return (row.seq, row.alive_at) if row is not None else (0, None)

    async def _write_group(self, group: list[dict], upto: int | None = None) -> None:
        """One transaction: the group's records in order, and the journal checkpoint after them."""
        async with self.store.writer_db() as db, db.begin():
            creates = [r for r in group if r["op"] == "create"]
            rows: dict[str, CallSession] = {}
            for r in creates:  # a session's create always comes before its other records
                rows[r["id"]] = row = CallSession(
                    id=r["id"], status="queued", service_item_code=r["service_item_code"],
                    caller_name=r["caller"].get("name") or "",
                    caller_company=r["caller"].get("company") or None,
                    caller_phone=r["caller"].get("phone") or None,
                    caller_credit_code=r["caller"].get("credit_code") or None,
                    transferred_from=r.get("transferred_from"),
                    reference=r.get("reference"),  # absent from journals written before 0012
                    transfer_note=r.get("transfer_note"),
                    created_at=_decode(r["created_at"]),
                )
                db.add(row)
            if creates:
                await db.flush()  # the events' foreign keys need the session rows first
            missing = {r["id"] for r in group if r["op"] == "update"} - rows.keys()
            if missing:
                found = await db.scalars(select(CallSession).where(CallSession.id.in_(missing)).with_for_update())
                rows.update({row.id: row for row in found})
            for r in group:
                op = r["op"]
                if op in PARTICIPANT_OPS:  # several people in one call (store/participants.py)
                    await write_participant(db, r)
                elif op == "create":
                    data = {"transferred_from": r["transferred_from"]} if r.get("transferred_from") else None
                    if data and r.get("transfer_note"):
                        data["note"] = r["transfer_note"]
                    db.add(SessionEvent(session_id=r["id"], at=_decode(r["created_at"]), type="queued", data=data))
                elif op == "update":
                    row = rows.get(r["id"])
                    if row is None:
                        raise StoreError("unknown_session", f"no session {r['id']}")
                    for key, value in r["fields"].items():
                        setattr(row, key, _decode(value) if key in TIME_FIELDS else value)
                    _recompute(row)
                    db.add(SessionEvent(session_id=r["id"], at=_decode(r["at"]), type=r["event"], data=r["data"]))
                elif op == "event":
                    db.add(SessionEvent(session_id=r["id"], at=_decode(r["at"]), type=r["event"], data=r["data"]))
                elif op == "quality":
                    db.add_all(QualitySample(session_id=r["id"], party=q["party"], at=_decode(q["at"]),
                                             **{c: q.get(c) for c in QualitySample.COLUMNS})
                               for q in r["samples"])
                elif op == "recording":  # one row per (session, party): created when the file starts
                    found = await db.scalar(select(Recording).where(Recording.session_id == r["id"],
                                                                    Recording.party == r["party"]))
                    state = r.get("state", "complete")  # a journal written before states existed
                    if found is None:
                        db.add(Recording(session_id=r["id"], party=r["party"], path=r["path"], state=state,
                                         duration_s=r["duration_s"], bytes=r["bytes"], created_at=_decode(r["at"])))
                    else:
                        found.path, found.state = r["path"], state
                        found.duration_s, found.bytes = r["duration_s"], r["bytes"]
            last = upto if upto is not None else (group[-1]["seq"] if group else None)
            if self.journal is not None and last is not None:
                await db.merge(JournalCheckpoint(journal=self.journal.key, seq=last, alive_at=utc_naive(utcnow())))
        self._alive_written = self._clock()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _encode(key: str, value: Any) -> Any:
    if key in _DATETIME_KEYS and isinstance(value, datetime):
        return utc_naive(value).isoformat()
    return value


def _decode(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _release(waiters: list[tuple[int, asyncio.Future]], upto: int, error: Exception | None = None) -> None:
    """Resolve (or fail) every waiter for a record up to `upto`, in place."""
    keep = []
    for seq, fut in waiters:
        if seq > upto:
            keep.append((seq, fut))
        elif not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
    waiters[:] = keep


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
