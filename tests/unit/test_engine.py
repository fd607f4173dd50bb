"""The session engine against fakes of its boundaries: an in-memory session log, a fake
media plane, a recording emit and a clock the test moves. No aiortc, no sockets, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from signaling.auth import Identity, Tokens
from signaling.config import Settings
from signaling.engine import Conflict, NotFound, SessionEngine
from signaling.engine.errors import Closed
from signaling.routing.hours import DayOverride, WeeklySchedule
from signaling.store.hours import HoursConfig
from signaling.telemetry import Telemetry

ITEM = {"code": "SI-001", "name": "社保开户", "name_en": "Open accounts", "category": "social_insurance",
        "department": "", "level": "district", "difficulty": 2, "recording": True}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class MemoryLog:
    """The session writer's interface, keeping records in a list (the log as it would be written)."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.accepting = True
        self.database_available = True
        self.backlog = 0
        self.previous_alive_at = None

    def _add(self, **record) -> int:
        self.records.append(record)
        return len(self.records)

    def create(self, **fields) -> int:
        return self._add(op="create", **fields)

    def update(self, id, *, event, at, data=None, **fields) -> int:
        return self._add(op="update", id=id, event=event, data=data, fields=fields)

    def event(self, id, type, at, data=None) -> int:
        return self._add(op="event", id=id, event=type, data=data)

    def recording(self, *args) -> int:
        return self._add(op="recording")

    def participant(self, id, **fields) -> int:
        return self._add(op="participant", id=id, **fields)

    def participant_left(self, id, **fields) -> int:
        return self._add(op="participant_left", id=id, **fields)

    async def durable(self, seq: int) -> None:
        pass

    async def applied(self, seq=None, timeout=5.0) -> None:
        pass

    def events(self, session_id: str) -> list[str]:
        return [r.get("event", r["op"]) for r in self.records
                if r.get("id") == session_id and not r["op"].startswith("participant")]

    def participants(self, session_id: str) -> list[dict]:
        """The session's participant rows as the writer would leave them: joined, and left or still open."""
        rows: list[dict] = []
        for r in self.records:
            if r.get("id") != session_id:
                continue
            if r["op"] == "participant":
                rows.append({**r, "left": False})
            elif r["op"] == "participant_left":
                for row in rows:
                    if not row["left"] and (r["role"] is None or (row["role"], row["account_id"]) == (r["role"], r["account_id"])):
                        row["left"] = True
        return rows

    def last_fields(self, session_id: str) -> dict:
        return [r for r in self.records if r.get("id") == session_id and r["op"] == "update"][-1]["fields"]


class FakeBridge:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class FakeCall:
    """media/call.py's interface: keeps the picture it was last given; every sender on mids of its own."""

    def __init__(self, session_id: str, callbacks: dict) -> None:
        self.session_id = session_id
        self.callbacks = callbacks
        self.parties: dict = {}
        self.receives: dict[str, set[str]] = {}
        self.audio_only: frozenset = frozenset()
        self.closed = False

    def set(self, parties, receives, *, audio_only=frozenset()) -> None:
        self.parties, self.receives, self.audio_only = dict(parties), {k: set(v) for k, v in receives.items()}, audio_only

    def mids(self, receiver: str) -> dict:
        return {sender: {"audio_mid": f"a-{sender}", "video_mid": f"v-{sender}"}
                for sender in sorted(self.receives.get(receiver, ()))}

    async def close(self) -> None:
        self.closed = True


class FakeMedia:
    def __init__(self) -> None:
        self.ended: list[str] = []
        self.calls: dict[str, FakeCall] = {}
        self.monitored: dict = {}  # leg -> session id (today's listen-only monitor)

    def bridge(self, a, b, *, on_media, session_id, record):
        return FakeBridge()

    def call(self, session_id, **callbacks):
        if session_id not in self.calls:
            self.calls[session_id] = FakeCall(session_id, callbacks)
        return self.calls[session_id]

    def monitor(self, session_id, leg):
        self.monitored[leg] = session_id

    def monitor_of(self, leg):
        return None

    def unmonitor(self, leg) -> bool:
        return self.monitored.pop(leg, None) is not None

    def end_session(self, session_id: str) -> None:
        self.ended.append(session_id)

    async def close(self) -> None:
        pass


class FakeStore:
    """Just what the engine reads at start-up and sign-in."""

    def __init__(self) -> None:
        self.accounts = {i: {"id": i, "username": f"s{i}", "display_name": f"S{i}", "role": "specialist"}
                         for i in range(1, 40)}

    async def close_open_sessions(self, now, alive_at=None) -> int:
        return 0

    async def last_reference_number(self, pattern: str) -> int:
        return 41  # the log already holds today's 41 references

    async def all_service_items(self) -> list[dict]:
        return [ITEM]

    async def queue_settings(self) -> list:
        return []

    async def get_account(self, account_id: int) -> dict | None:
        return self.accounts.get(account_id)

    async def skill_levels(self, account_id: int) -> dict[str, int]:
        return {"category:social_insurance": 3}


@dataclass
class World:
    engine: SessionEngine
    log: MemoryLog
    clock: Clock
    emitted: list[tuple[str, dict, str]] = field(default_factory=list)

    async def to(self, sid: str, event: str) -> list[dict]:
        """What `sid` was sent of `event`, once the engine's outbox has delivered it."""
        await self.engine.presence.outbox.flushed()
        return [data for name, data, to in self.emitted if to == sid and name == event]

    async def specialist(self, n: int, *, auto_answer: bool = False, ready: bool = True) -> str:
        sid = f"spec{n}"
        await self.engine.specialist_connected(sid, Identity(account_id=n, username=f"s{n}", role="specialist"))
        if ready:
            await self.engine.set_state(sid, "ready", auto_answer)
        return sid

    async def caller(self, n: int) -> str:
        sid = f"caller{n}"
        await self.engine.caller_connected(sid, None)
        return sid

    async def tick(self, seconds: float = 0.0) -> None:
        self.clock.now += seconds
        async with self.engine.lock:
            await self.engine._tick()


@pytest.fixture
async def world() -> World:
    clock, log = Clock(), MemoryLog()
    emitted: list = []

    async def emit(event, data, to=None, namespace=None):
        emitted.append((event, data, to))

    settings = Settings(database_url="sqlite+aiosqlite://", secret_key="k", ice_servers=[], media_addresses=[],
                        offer_timeout_s=15, wrap_up_s=60, reconnect_grace_s=15, media_timeout_s=20)
    engine = SessionEngine(settings, FakeStore(), FakeMedia(), Tokens("k", 3600), Telemetry(), emit, log, clock=clock)
    engine.catalog = {ITEM["code"]: ITEM}
    return World(engine, log, clock, emitted)


async def test_a_burst_is_offered_in_arrival_order(world):
    for n in range(1, 11):
        await world.specialist(n, auto_answer=True)
    callers = [await world.caller(n) for n in range(10)]
    acks = [await world.engine.request(sid, "SI-001", {"name": sid}) for sid in callers]
    answered = [r["id"] for r in world.log.records if r.get("event") == "answered"]
    assert answered == [a["call_id"] for a in acks]
    for ack in acks:  # each session's records in order: created, offered, answered
        assert world.log.events(ack["call_id"]) == ["create", "offered", "answered"]


async def test_a_caller_who_drops_while_queued_keeps_its_place_but_is_not_offered(world):
    first, second = await world.caller(1), await world.caller(2)
    a = await world.engine.request(first, "SI-001", {"name": "a"})
    b = await world.engine.request(second, "SI-001", {"name": "b"})
    await world.engine.caller_disconnected(first)
    spec = await world.specialist(1)
    [offer] = await world.to(spec, "call:offered")
    assert offer["call_id"] == b["call_id"]  # the absent caller is skipped, not dropped
    await world.engine.decline(spec, b["call_id"])
    await world.engine.caller_connected("caller1-again", a["call_token"])
    offers = await world.to(spec, "call:offered")
    assert offers[-1]["call_id"] == a["call_id"]  # back, and first in line again


async def test_an_offer_to_a_caller_who_left_is_withdrawn_and_is_not_rona(world):
    spec = await world.specialist(1)
    for n in range(4):  # more than the RONA limit of 3 offers in a row
        sid = await world.caller(n)
        await world.engine.request(sid, "SI-001", {"name": sid})
        await world.engine.caller_disconnected(sid)
        assert (await world.to(spec, "call:offer_ended"))[-1]["reason"] == "caller_left"
    assert world.engine.router.specialist_state(1) == "ready"


async def test_an_offer_to_a_specialist_whose_console_drops_is_withdrawn_logged_and_reoffered(world):
    first = await world.specialist(1)
    sid = await world.caller(1)
    ack = await world.engine.request(sid, "SI-001", {"name": "a"})
    assert await world.to(first, "call:offered")
    await world.engine.specialist_disconnected(first)
    assert world.log.events(ack["call_id"])[-1] == "offer_withdrawn"
    assert world.log.last_fields(ack["call_id"]) == {"status": "queued", "specialist_id": None}
    second = await world.specialist(2)
    assert (await world.to(second, "call:offered"))[0]["call_id"] == ack["call_id"]
    await world.engine.hangup(sid, ack["call_id"])
    ended = world.log.last_fields(ack["call_id"])
    assert ended["outcome"] == "abandoned"
    assert world.engine.router.specialist_state(1) == "offline"  # nothing credited to the one who left


async def test_wrap_up_survives_a_console_reload(world):
    spec = await world.specialist(1, auto_answer=True)
    sid = await world.caller(1)
    ack = await world.engine.request(sid, "SI-001", {"name": "a"})
    await world.engine.hangup(sid, ack["call_id"])
    assert world.engine.router.specialist_state(1) == "wrap_up"
    await world.engine.specialist_disconnected(spec)
    await world.tick(5)
    again = "spec1-again"
    assert await world.engine.specialist_connected(again, Identity(account_id=1, username="s1", role="specialist"))
    await world.engine.after_resume(again)
    assert (await world.to(again, "call:ended"))[0]["call_id"] == ack["call_id"]  # the form comes back
    await world.engine.wrapup(again, ack["call_id"], notes="done", disposition="resolved", difficulty=2)
    assert world.log.last_fields(ack["call_id"]) == {"notes": "done", "disposition": "resolved", "difficulty": 2}
    assert world.engine.router.specialist_state(1) == "ready"


async def test_a_console_gone_in_wrap_up_is_offered_nothing(world):
    spec = await world.specialist(1, auto_answer=True)
    sid = await world.caller(1)
    ack = await world.engine.request(sid, "SI-001", {"name": "a"})
    await world.engine.hangup(sid, ack["call_id"])
    await world.engine.specialist_disconnected(spec)
    other = await world.caller(2)
    await world.engine.request(other, "SI-001", {"name": "b"})
    await world.tick(61)  # wrap-up expires while the console is away
    assert world.engine.router.specialist_state(1) in ("away", "offline")
    assert not [r for r in world.log.records if r.get("event") == "offered" and r["id"] != ack["call_id"]]


async def test_the_servers_own_stop_is_never_the_callers_abandonment(world):
    sid = await world.caller(1)
    ack = await world.engine.request(sid, "SI-001", {"name": "a"})
    await world.engine.stop()
    fields = world.log.last_fields(ack["call_id"])
    assert (fields["outcome"], fields["end_reason"], fields["ended_by"]) == ("failed", "server_shutdown", "system")
    assert (await world.to(sid, "call:ended"))[0]["reason"] == "server_shutdown"


async def test_a_dropped_console_is_told_to_the_caller_at_once(world):
    spec = await world.specialist(1, auto_answer=True)
    sid = await world.caller(1)
    ack = await world.engine.request(sid, "SI-001", {"name": "a"})
    await world.engine.specialist_disconnected(spec)
    [media] = await world.to(sid, "call:media")
    assert media == {"call_id": ack["call_id"], "party": "specialist", "state": "lost",
                     "reason": "specialist_disconnected"}
    await world.tick(16)  # the grace ends: the session ends, by the specialist's side
    assert world.log.last_fields(ack["call_id"])["end_reason"] == "specialist_disconnected"


async def test_refusals_are_domain_errors_with_codes(world):
    sid = await world.caller(1)
    with pytest.raises(NotFound) as unknown:
        await world.engine.request(sid, "NOPE", {"name": "a"})
    assert unknown.value.code == "unknown_service_item"
    await world.engine.request(sid, "SI-001", {"name": "a"})
    with pytest.raises(Conflict) as twice:
        await world.engine.request(sid, "SI-001", {"name": "a"})
    assert (twice.value.code, twice.value.kind) == ("already_in_call", "conflict")


async def test_requests_are_refused_beyond_the_logs_bound(world):
    world.log.accepting = False
    sid = await world.caller(1)
    with pytest.raises(Exception) as refused:
        await world.engine.request(sid, "SI-001", {"name": "a"})
    assert (refused.value.code, refused.value.kind) == ("service_unavailable", "unavailable")
    assert world.log.records == []  # nothing half-written


async def test_a_session_gets_the_next_reference_of_the_day_in_its_ack_record_offer_and_answer(world):
    await world.engine.sessions.references.seed(datetime.now(timezone.utc), world.engine.store.last_reference_number)
    spec = await world.specialist(1, auto_answer=True)
    sid = await world.caller(1)
    ack = await world.engine.request(sid, "SI-001", {"name": "a"})
    prefix = f"XH-{world.engine.sessions.references.day_of(datetime.now(timezone.utc)):%Y%m%d}-"
    assert ack["reference"] == prefix + "0042"  # after the 41 the log holds
    [create] = [r for r in world.log.records if r["op"] == "create"]
    assert create["reference"] == ack["reference"]
    assert (await world.to(spec, "call:offered"))[0]["reference"] == ack["reference"]
    assert (await world.to(spec, "call:connected"))[0]["reference"] == ack["reference"]
    assert (await world.to(sid, "call:connected"))[0]["reference"] == ack["reference"]
    other = await world.engine.request(await world.caller(2), "SI-001", {"name": "b"})
    assert other["reference"] == prefix + "0043"


# ---- opening hours (engine/hours.py) ----------------------------------------------------------


def _closed_until_tomorrow_nine() -> tuple[HoursConfig, datetime]:
    """A week with no hours, and tomorrow (Beijing time) open 09:00–10:00: closed now, whatever
    the date (an override wins over the official calendar)."""
    tz = ZoneInfo("Asia/Shanghai")
    tomorrow = datetime.now(tz).date() + timedelta(days=1)
    opening = DayOverride(tomorrow, "open", ((540, 600),))
    config = HoursConfig(center=WeeklySchedule(), overrides={tomorrow: opening})
    return config, datetime.combine(tomorrow, time(9), tzinfo=tz).astimezone(timezone.utc)


async def test_a_request_while_closed_is_refused_with_the_next_opening(world):
    config, nine = _closed_until_tomorrow_nine()
    world.engine.opening.configure(config)
    sid = await world.caller(1)
    with pytest.raises(Closed) as refused:
        await world.engine.request(sid, "SI-001", {"name": "a"})
    assert (refused.value.code, refused.value.kind) == ("closed", "conflict")
    assert refused.value.fields == {"next_open_at": nine.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    assert world.log.records == []  # nothing written for a refused request
    world.engine.opening.configure(HoursConfig())  # no schedule: always open again
    assert (await world.engine.request(sid, "SI-001", {"name": "a"}))["call_id"]


async def test_after_closing_those_waiting_are_served_while_someone_is_staffed(world):
    spec = await world.specialist(1)
    waiting = [await world.engine.request(await world.caller(n), "SI-001", {"name": str(n)}) for n in (1, 2)]
    world.engine.opening.configure(_closed_until_tomorrow_nine()[0])
    await world.tick(2)
    assert set(world.engine.sessions.live) == {a["call_id"] for a in waiting}  # a specialist is still there
    await world.engine.set_state(spec, "away", None)  # the last specialist leaves: nobody to answer
    await world.tick(2)
    assert world.engine.sessions.live == {}
    for ack, n in zip(waiting, (1, 2)):
        assert world.log.last_fields(ack["call_id"])["outcome"] == "missed"
        assert world.log.last_fields(ack["call_id"])["end_reason"] == "closed"
        assert (await world.to(f"caller{n}", "call:ended"))[-1]["reason"] == "closed"
