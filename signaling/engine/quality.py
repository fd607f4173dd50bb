"""Network quality of live calls: every leg sampled while its call has media (media/quality.py),
`call:quality` to both parties, samples to the session log, the summary with the session's end.

Its own loop, every `VW_QUALITY_INTERVAL_S`, one call at a time under the engine's lock (a call's
legs are read in one go: aiortc's getStats never waits, and reading a leg costs a fraction of a
millisecond), other work running between calls.
Samples go to the session writer in groups (one record per session every FLUSH_S and at the
end), the per-party summary in the session's `ended` transition itself (sessions.py), so a
session is never logged ended without its summary.

Sampled per leg: a party is whoever holds the leg (caller, specialist, and back_office while an
invited specialist is in the call); a leg replaced after a failure starts a new meter, and a
transferred caller's new session starts its own. `call:quality` of the caller and the owner goes
to both of them (the pages show those two); the invited specialist's goes to nobody but is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..media.quality import (
    POOR, LegMeter, LevelTracker, call_level, quality_message, sample_record, summarize,
)
from ..store.models import utc_naive
from .live import LiveSession, Participant

log = logging.getLogger(__name__)

FLUSH_S = 10.0  # samples are handed to the session writer at least this often per session
PARTIES = ("caller", "specialist")  # always in the summary (null when not measured)
BACK_OFFICE = "back_office"  # in the summary only when an invited specialist's leg was measured


@dataclass
class PartyQuality:
    """One party of one session: its leg's meter, the level with hysteresis, its samples so far."""

    meter: LegMeter
    tracker: LevelTracker = field(default_factory=LevelTracker)
    samples: list[dict] = field(default_factory=list)


@dataclass
class SessionQuality:
    parties: dict[str, PartyQuality] = field(default_factory=dict)
    unwritten: list[dict] = field(default_factory=list)
    flushed_at: float = 0.0


class QualityWatch:
    """Samples the legs of every live call with media; one instance per engine."""

    def __init__(self, sessions: Any, lock: asyncio.Lock, interval_s: float, telemetry: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sessions = sessions  # the SessionMachine: live sessions, presence, writer
        self.lock = lock
        self.interval_s = interval_s
        self.telemetry = telemetry
        self.clock = clock
        self.calls: dict[str, SessionQuality] = {}
        self.cost_s = 0.0  # CPU time spent sampling, and the legs sampled (bench/media_capacity.py)
        self.legs_sampled = 0
        sessions.on_end.append(self.ended)

    @property
    def enabled(self) -> bool:
        return self.interval_s > 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sample_all()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep sampling: one odd leg must not stop the others' figures
                log.exception("quality sampling failed")

    def _legs(self, session: LiveSession) -> list[tuple[str, Participant | None]]:
        presence = self.sessions.presence
        legs = [("caller", presence.get(session.caller_sid) if session.caller_sid else None),
                ("specialist", presence.specialist(session.specialist_id))]
        if session.guest is not None:
            legs.append((BACK_OFFICE, presence.specialist(session.guest.specialist_id)))
        return legs

    async def sample_all(self) -> None:
        """One round: each live call under the engine's lock in turn, letting other work run between
        calls (a round of hundreds of legs would otherwise hold the event loop for tens of ms)."""
        now = self.clock()
        at = datetime.now(timezone.utc)
        for session_id in list(self.sessions.live):
            async with self.lock:
                session = self.sessions.live.get(session_id)
                if session is not None:
                    started = time.thread_time()  # the event loop's thread only: not the decoders' or recorders'
                    await self._sample_session(session, now, at)
                    self.cost_s += time.thread_time() - started
            await asyncio.sleep(0)

    async def _sample_session(self, session: LiveSession, now: float, at: datetime) -> None:
        """Each leg of a call whose media flows (not on hold, not unbridged)."""
        call = self.calls.get(session.id)
        # Joined by a bridge, or by the media plane's call of several parties (engine/roster.py).
        joined = session.bridge is not None or session.call is not None
        if not session.media_flowing or not joined or session.held:
            if call is not None:  # on hold or unbridged: the next sample starts afresh, not across the gap
                self._restart(call, call.parties)
            return
        if call is None:
            call = self.calls[session.id] = SessionQuality(flushed_at=now)
        for party, part in self._legs(session):
            leg = part.leg if part is not None else None
            if leg is None or leg.closed or leg.state != "connected":
                self._restart(call, [party])
                continue
            await self._sample(session, call, party, leg, at)
        if now - call.flushed_at >= FLUSH_S:
            self._flush(session.id, call, now)

    @staticmethod
    def _restart(call: SessionQuality, parties) -> None:
        for party in parties:
            if party in call.parties:
                call.parties[party].meter.restart()

    async def _sample(self, session: LiveSession, call: SessionQuality, party: str, leg: Any, at: datetime) -> None:
        mine = call.parties.get(party)
        if mine is None or mine.meter.leg is not leg:  # first sample, or a new leg after a failure
            if mine is not None:
                mine.meter.close()
            mine = call.parties[party] = PartyQuality(LegMeter(leg), samples=mine.samples if mine else [])
        measured = await mine.meter.sample()
        self.legs_sampled += 1
        if measured is None:
            return  # the first read only takes the starting counters
        sample, freezes = measured
        level, direction = mine.tracker.update(sample)
        record = sample_record(utc_naive(at).isoformat(), party, sample, level, direction, freezes)
        mine.samples.append(record)
        call.unwritten.append(record)
        self._observe(record)
        if party == BACK_OFFICE:
            return
        message = quality_message(session.id, party, sample, level, direction)
        presence = self.sessions.presence
        await presence.to_caller(session, "call:quality", message)
        await presence.to_specialist(session.specialist_id, "call:quality", message)

    def _observe(self, record: dict) -> None:
        t = self.telemetry
        if t is None:
            return
        t.quality_samples.labels(record["level"]).inc()
        if record["rtt_ms"] is not None:
            t.quality_rtt_seconds.observe(record["rtt_ms"] / 1000)
        for direction in ("in", "out"):
            loss = record[f"loss_{direction}_pct"]
            if loss is not None:
                t.quality_loss_ratio.labels(direction).observe(loss / 100)
            kbps = record[f"kbps_{direction}"]
            if kbps is not None:
                t.quality_kbps.labels(direction).observe(kbps)

    def _flush(self, session_id: str, call: SessionQuality, now: float) -> None:
        call.flushed_at = now
        if call.unwritten:
            records, call.unwritten = call.unwritten, []
            self.sessions.writer.quality_samples(session_id, records)

    async def ended(self, session: LiveSession) -> None:
        """The session ends (an `on_end` hook, before its `ended` transition is written): the last
        samples go to the writer, and the summary onto the session for that transition."""
        call = self.calls.pop(session.id, None)
        if call is None:
            return
        for mine in call.parties.values():
            mine.meter.close()
        self._flush(session.id, call, self.clock())
        summary = {party: summarize(call.parties[party].samples) if party in call.parties else None
                   for party in PARTIES}
        if BACK_OFFICE in call.parties:
            summary[BACK_OFFICE] = summarize(call.parties[BACK_OFFICE].samples)
        level = call_level(summary.values())
        if level is None:
            return
        session.quality, session.quality_level = summary, level
        if level == POOR and self.telemetry is not None:
            self.telemetry.quality_poor_calls.inc()

    def cost_per_leg_ms(self) -> float | None:
        """Mean CPU time per leg sampled so far (printed by bench/media_capacity.py)."""
        return 1000 * self.cost_s / self.legs_sampled if self.legs_sampled else None
