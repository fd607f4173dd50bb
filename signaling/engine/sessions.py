"""The session state machine: requests, offers, answers and ends, applied in memory.

The router (routing/) decides who gets which session; this applies its
decisions: it tells the participants at once, joins the media, and hands each
transition to the session writer (store/writer.py), which records them in
order, in groups. Nothing here waits for the database, except a request's
acknowledgement, which waits for its own record to be durable.

Every public method runs under the engine's lock (taken by the caller of this
class: the engine facade or its other parts), so the router, the log and what
the participants are told never disagree.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from ..auth import Tokens
from ..config import Settings
from ..routing import (
    Answered, Decision, Escalated, Missed, Offer, OfferEnded, Overflowed, Position, Rona, Router, StateChanged,
    WrapUpEnded,
)
from ..store.outcomes import outcome
from ..store.writer import SessionWriter
from ..telemetry import Telemetry
from .errors import Conflict, Forbidden, NotFound, TooMany
from .live import LiveSession, Participant
from .presence import Presence
from .requeue import Requeues
from .references import ReferenceSequence, time_zone

log = logging.getLogger(__name__)

# A bridged party whose leg receives nothing for this long is `lost` (network gone, socket open).
MEDIA_STALL_S = 3.0

# What an ended offer is logged as, by the router's reason.
OFFER_END_EVENTS = {"declined": "declined", "timeout": "offer_timeout", "withdrawn": "offer_withdrawn",
                    "caller_left": "offer_withdrawn", "specialist_left": "offer_withdrawn"}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def queued_payload(d: Position) -> dict:
    """S→C `call:queued` (docs/contract.md): where the session stands, how long it may wait, and
    what the caller may do meanwhile (objects, so that an option can carry more later)."""
    return {
        "call_id": d.call_id, "position": d.position, "estimated_wait_s": d.estimated_wait_s,
        "staffed": d.staffed, "offered": d.offered, "ends_in_s": d.ends_in_s, "ends_reason": d.ends_reason,
        "options": [{"id": option} for option in d.options],
        "callback": d.callback,  # keep my place: "held", "alerted" (its turn came), or null
    }


class SessionMachine:
    def __init__(
        self,
        settings: Settings,
        router: Router,
        presence: Presence,
        writer: SessionWriter,
        media: Any,
        tokens: Tokens,
        telemetry: Telemetry,
        clock: Callable[[], float],
    ):
        self.settings = settings
        self.router = router
        self.presence = presence
        self.writer = writer
        self.media = media
        self.tokens = tokens
        self.telemetry = telemetry
        self.clock = clock
        # Seeded at start-up (SessionEngine.start); decided here, in memory, with each new session.
        self.references = ReferenceSequence(settings.reference_prefix, time_zone(settings.time_zone))
        self.live: dict[str, LiveSession] = {}
        # Specialist id -> the `call:ended` it was sent for the session it is wrapping up
        # (sent again to a console that reloads in wrap-up).
        self.wrapping_up: dict[int, dict] = {}
        self.on_end: list[Callable[[LiveSession], Any]] = []  # awaited when a session ends (monitors)
        self.on_routed: list[Callable[[Decision], Any]] = []  # awaited for each queue rule (callbacks.py)
        self.on_answered: list[Callable[[LiveSession], None]] = []  # called when a session is answered
        # Each returns True when it joined the session's media itself: several people in the call (roster.py).
        self.syncers: list[Callable[[LiveSession], bool]] = []
        self.outbox: list[tuple[LiveSession, dict]] = []  # `call:media` notices made by synchronous code
        self.requeues = Requeues(settings.requeue_window_s)  # callers who may wait again at the front

    @staticmethod
    def now() -> datetime:
        return utcnow()

    # -- lookups ---------------------------------------------------------------------

    def of(self, part: Participant) -> LiveSession | None:
        """The live session a caller or specialist is in (a specialist's, as the router holds it)."""
        if part.role == "specialist":
            if part.identity is None:
                return None
            return self.live.get(self.router.specialist_call(part.identity.account_id) or "")
        return self.live.get(part.session_id) if part.session_id else None

    def joined(self, sid: str, session_id: str, *, answered: bool = True) -> tuple[Participant, LiveSession]:
        """The live session `session_id` if the participant `sid` is in it."""
        part = self.presence.get(sid)
        session = self.live.get(session_id)
        if part is None or session is None or (answered and not session.answered):
            raise NotFound("unknown_call", "no such connected call")
        if part.role == "caller" and session.caller_sid != sid:
            raise Forbidden("not_your_call", "this call is not yours")
        if part.role == "specialist" and self.presence.specialist_id(sid) not in session.specialists():
            raise Forbidden("not_your_call", "this call is not yours")
        if part.role == "admin":
            raise Forbidden("not_your_call", "this call is not yours")
        return part, session

    # -- sessions --------------------------------------------------------------------

    async def request(self, sid: str, item: dict, caller: dict, received_at: datetime,
                      appointment: dict | None = None, prefer_s: float = 0.0) -> LiveSession:
        """A caller asks for a service item: its row is handed to the writer, the router decides.

        With an `appointment` (engine/appointments.py) the session goes first in its queue, and
        only to the booked specialist, if one was chosen, for `prefer_s`."""
        part = self.presence.get(sid)
        if part is None or part.role != "caller":
            raise Conflict("not_connected", "connect first")
        if part.session_id in self.live:
            raise Conflict("already_in_call", "this connection already has a call")
        neighbours = self.presence.callers_at(self.presence.caller_addresses.get(sid))
        if sum(1 for s in self.live.values() if s.caller_sid in neighbours) >= self.settings.max_calls_per_address:
            raise TooMany("too_many_calls", "too many calls from this address at once")
        session = self.open_session(item, caller, sid, received_at)
        part.session_id = session.id
        if appointment is None:
            await self.apply(self.router.request(session.id, item["code"], item["category"], self.clock()))
            return session
        session.appointment = appointment
        self.writer.event(session.id, "appointment", received_at,
                          {"appointment_id": appointment["id"], "reference": appointment["reference"],
                           "slot_start": appointment["slot_start"], "specialist_id": appointment.get("specialist_id")})
        await self.apply(self.router.request(session.id, item["code"], item["category"], self.clock(), front=True,
                                             prefer_specialist=appointment.get("specialist_id"), prefer_s=prefer_s))
        return session

    async def requeue(self, sid: str, session_id: str, at: datetime) -> LiveSession:
        """The caller of a session cut off by the specialist's console waits again, first in its
        queue (requeue.py has who may): a new session, linked to the old one in the log."""
        part = self.presence.get(sid)
        if part is None:
            raise Conflict("not_connected", "connect first")
        old = self.requeues.take(part, session_id, self.clock())
        item = {**old.service_item, "category": old.category, "recording": old.record}
        session = self.open_session(item, old.caller, sid, at)
        self.writer.event(old.id, "requeued", at, {"to_session": session.id})
        self.writer.event(session.id, "requeued_from", at, {"from_session": old.id})
        part.session_id = session.id
        await self.apply(self.router.request(session.id, item["code"], item["category"], self.clock(), front=True))
        return session

    def open_session(
        self, item: dict, caller: dict, caller_sid: str | None, at: datetime, transferred_from: str | None = None,
        transfer_note: str | None = None,
    ) -> LiveSession:
        session_id = uuid.uuid4().hex
        session = LiveSession(
            id=session_id,
            token=self.tokens.call_token(session_id),
            service_item={"code": item["code"], "name": item["name"], "name_en": item["name_en"]},
            category=item["category"],
            caller=caller,
            caller_sid=caller_sid,
            created_at=at,
            created_mono=self.clock(),
            record=self.settings.recording and item.get("recording", True),
            reference=self.references.next(at),
        )
        session.created_seq = self.writer.create(
            id=session_id, service_item_code=item["code"], caller=caller, created_at=at,
            transferred_from=transferred_from, reference=session.reference, transfer_note=transfer_note,
        )
        self.live[session_id] = session
        return session

    def continue_session(self, session: LiveSession, item: dict, note: str | None, at: datetime) -> LiveSession:
        """A new session for the same caller that continues `session` (a transfer or a hand-over): linked by
        `transferred_from`, carrying the chat, the lineage, the journey's start and who passed it on, with `note`."""
        new = self.open_session(item, session.caller, session.caller_sid, at,
                                transferred_from=session.id, transfer_note=note)
        new.caller_gone_since = session.caller_gone_since
        new.messages = list(session.messages)
        new.lineage = [*session.lineage, session.id]
        new.journey_mono = session.journey_mono if session.journey_mono is not None else session.created_mono
        new.transfer = {
            "from": {"display_name": self.presence.account(session.specialist_id).get("display_name")},
            "note": note, "from_session": session.id, "from_reference": session.reference,
        }
        return new

    async def hangup(self, sid: str, session_id: str) -> None:
        part = self.presence.get(sid)
        session = self.live.get(session_id)
        if part is None or session is None:
            raise NotFound("unknown_call", "no such live call")
        if part.role == "caller":
            if session.caller_sid != sid:
                raise Forbidden("not_your_call", "this call is not yours")
            await self.end(session, reason="hangup", ended_by="caller")
            return
        if session.specialist_id != self.presence.specialist_id(sid) or not session.answered:
            raise Forbidden("not_your_call", "this call is not connected to you")
        await self.end(session, reason="hangup", ended_by="specialist")

    async def end(self, session: LiveSession, *, reason: str, ended_by: str) -> None:
        """End a live session: one terminal outcome, recorded, told to both sides."""
        if self.live.pop(session.id, None) is None:
            return
        session.ended = {"reason": reason, "ended_by": ended_by}
        if session.bridge is not None:
            await session.bridge.close()
            session.bridge = None
        if session.call is not None:  # several people in the call (engine/roster.py)
            call, session.call = session.call, None
            await call.close()
        self.media.end_session(session.id)  # finalizes the recordings; detaches monitors
        for hook in self.on_end:
            await hook(session)
        result = outcome(reason=reason, ended_by=ended_by, answered=session.answered,
                         media_flowed=session.media_flowing)
        now = utcnow()
        # The quality summary (set by an on_end hook, engine/quality.py) is part of the end itself.
        quality = {"quality": session.quality, "quality_level": session.quality_level} if session.quality else {}
        self.writer.update(
            session.id, event="ended", at=now, data={"reason": reason, "ended_by": ended_by},
            status="ended", outcome=result, ended_at=now, end_reason=reason, ended_by=ended_by, **quality,
        )
        self.telemetry.sessions.labels(result).inc()
        ended = {"call_id": session.id, "reason": reason, "ended_by": ended_by}
        requeue = self.requeues.offer(session, reason, self.clock())
        await self.presence.to_caller(session, "call:ended", {**ended, "requeue": requeue} if requeue else ended)
        spec_id = session.specialist_id
        if session.answered and spec_id is not None:
            queue = self.router.session_queue(session.id) or ""
            for_specialist = {**ended, "wrap_up_s": self.router.settings_for(queue).wrap_up_s}
            if self.router.specialist_call(spec_id) == session.id and self.router.specialist_state(spec_id) == "busy":
                self.wrapping_up[spec_id] = for_specialist  # the router puts it in wrap-up below
            await self.presence.to_specialist(spec_id, "call:ended", for_specialist)
        await self.apply(self.router.hangup(session.id, self.clock()))

    async def end_all(self, reason: str) -> None:
        for session in list(self.live.values()):
            await self.end(session, reason=reason, ended_by="system")

    # -- specialists -------------------------------------------------------------------

    async def set_state(self, specialist_id: int, state: str, auto_answer: bool | None) -> str:
        if self.router.specialist_state(specialist_id) == "wrap_up":
            self.wrapping_up.pop(specialist_id, None)
            await self.apply(self.router.wrap_up_done(specialist_id, self.clock()))
        await self.apply(self.router.set_state(specialist_id, state, self.clock(), auto_answer))
        return self.router.specialist_state(specialist_id)

    async def accept(self, specialist_id: int, session_id: str) -> None:
        await self.apply(self.router.accept(specialist_id, session_id, self.clock()))

    async def decline(self, specialist_id: int, session_id: str) -> None:
        await self.apply(self.router.decline(specialist_id, session_id, self.clock()))

    async def wrapup(self, specialist_id: int, session_id: str, fields: dict) -> None:
        if (self.wrapping_up.get(specialist_id) or {}).get("call_id") != session_id:
            raise Conflict("not_in_wrap_up", "there is no wrap-up for this call")
        fields = {k: v for k, v in fields.items() if v is not None}
        self.writer.update(session_id, event="wrap_up", at=utcnow(), data=fields, **fields)
        del self.wrapping_up[specialist_id]
        await self.apply(self.router.wrap_up_done(specialist_id, self.clock()))

    def wrap_up_of(self, specialist_id: int) -> dict | None:
        """The `call:ended` of the session the specialist is wrapping up, if any."""
        if self.router.specialist_state(specialist_id) != "wrap_up":
            return None
        return self.wrapping_up.get(specialist_id)

    # -- applying the router's decisions --------------------------------------------------

    async def apply(self, decisions: list[Decision]) -> None:
        """Record and announce what the router decided, in order."""
        for d in decisions:
            if isinstance(d, Offer):
                await self._offered(d)
            elif isinstance(d, Answered):
                await self._answered(d)
            elif isinstance(d, OfferEnded):
                await self._offer_ended(d)
            elif isinstance(d, Position):
                session = self.live.get(d.call_id)
                if session is not None:
                    await self.presence.to_caller(session, "call:queued", queued_payload(d))
            elif isinstance(d, StateChanged):
                await self._state_changed(d)
            else:
                await self._routed(d)

    async def _routed(self, d: Decision) -> None:
        """Queue rules the router applied on its own: record them; end what it gave up on."""
        now = utcnow()
        if isinstance(d, Missed):
            session = self.live.get(d.call_id)
            if session is not None:
                if d.reason == "callback_not_taken":  # the caller who kept its place did not come back
                    log.info("callback not taken: %s passes its place on", session.reference or session.id)
                    self.writer.event(session.id, "callback_missed", now)
                await self.end(session, reason=d.reason, ended_by="system")
        elif isinstance(d, Overflowed):
            self.writer.event(d.call_id, "overflowed", now, {"from": d.from_queue, "to": d.to_queue, "reason": d.reason})
        elif isinstance(d, Escalated):
            self.writer.event(d.call_id, "escalated", now, {
                "queue": d.queue, "step": d.step, "min_proficiency": d.min_proficiency,
                "scope": d.scope, "priority": d.priority,
            })
        elif isinstance(d, Rona):
            username = self.presence.account(d.specialist_id).get("username")
            log.warning("specialist %s let %d offers in a row time out: set away", username, d.offers)
            self.writer.event(d.call_id, "rona", now,
                              {"specialist_id": d.specialist_id, "username": username, "offers": d.offers})
        elif isinstance(d, WrapUpEnded):
            self.wrapping_up.pop(d.specialist_id, None)
            self.writer.event(d.call_id, "wrap_up_expired", now)
        for hook in self.on_routed:  # e.g. CallbackDue (callbacks.py)
            await hook(d)

    async def _offered(self, d: Offer) -> None:
        session = self.live[d.call_id]
        now = utcnow()
        self.writer.update(
            d.call_id, event="offered", at=now,
            data={"specialist_id": d.specialist_id, "username": self.presence.account(d.specialist_id).get("username")},
            status="offered", offered_at=now, specialist_id=d.specialist_id,
        )
        await self.presence.to_specialist(d.specialist_id, "call:offered", {
            "call_id": d.call_id,
            "reference": session.reference,
            "service_item": session.service_item,
            "caller": session.caller,
            "queued_ms": round((self.clock() - session.created_mono) * 1000),
            "timeout_s": d.timeout_s,
            **self.transfer_context(session),
        })

    async def _answered(self, d: Answered) -> None:
        session = self.live[d.call_id]
        session.answered, session.specialist_id = True, d.specialist_id
        session.answered_mono = self.clock()
        session.media_deadline = self.clock() + self.settings.media_timeout_s
        now = utcnow()
        # Switch the media first: the pre-opened legs start flowing while the rest is told.
        self.bridge_if_ready(session)
        self.writer.update(
            d.call_id, event="answered", at=now, data={"specialist_id": d.specialist_id},
            status="connected", answered_at=now, specialist_id=d.specialist_id,
        )
        await self.presence.to_specialist(d.specialist_id, "call:connected", self.connected_for_specialist(session))
        if session.messages:  # a transfer's chat so far: the new specialist reads what was said
            await self.presence.to_specialist(d.specialist_id, "chat:history",
                                              {"call_id": session.id, "messages": list(session.messages)})
        await self.presence.to_caller(session, "call:connected", self.connected_for_caller(session))
        for hook in self.on_answered:
            hook(session)

    def connected_for_specialist(self, session: LiveSession) -> dict:
        return {"call_id": session.id, "reference": session.reference, "service_item": session.service_item,
                "caller": session.caller, **self.transfer_context(session)}

    def transfer_context(self, session: LiveSession) -> dict:
        """`transfer` of call:offered / call:connected: who transferred the session and why, and how long
        the caller has been with the center since it first asked (`journey_ms`); {} when not transferred."""
        if session.transfer is None:
            return {}
        journey = self.clock() - (session.journey_mono if session.journey_mono is not None else session.created_mono)
        return {"transfer": {**session.transfer, "journey_ms": round(journey * 1000)}}

    def connected_for_caller(self, session: LiveSession) -> dict:
        return {"call_id": session.id, "reference": session.reference,
                "specialist": {"display_name": self.presence.account(session.specialist_id).get("display_name")}}

    async def _offer_ended(self, d: OfferEnded) -> None:
        # An offer withdrawn because another specialist answered or the session ended
        # leaves the session as it is; any other end puts it back in the queue.
        if d.call_id in self.live and d.reason != "withdrawn":
            self.writer.update(
                d.call_id, event=OFFER_END_EVENTS[d.reason], at=utcnow(),
                data={"specialist_id": d.specialist_id, "reason": d.reason},
                status="queued", specialist_id=None,
            )
        await self.presence.to_specialist(d.specialist_id, "call:offer_ended", {"call_id": d.call_id, "reason": d.reason})

    async def _state_changed(self, d: StateChanged) -> None:
        payload: dict = {"state": d.state}
        if d.call_id:
            payload["call_id"] = d.call_id
        if d.reason:
            payload["reason"] = d.reason  # e.g. "rona": set away after offers in a row timed out
        for state, count in self.router.counts_by_state().items():
            self.telemetry.specialists.labels(state).set(count)
        await self.presence.to_specialist(d.specialist_id, "agent:state", payload)

    # -- media ---------------------------------------------------------------------------

    def bridge_if_ready(self, session: LiveSession) -> None:
        """Join the caller's and the specialist's legs once the session is answered and both are up
        (with several people in the call, the media plane's call joins them all instead)."""
        if any(sync(session) for sync in self.syncers):
            return
        if session.bridge is not None and session.bridge.closed:
            session.bridge = None  # one of its legs was closed (replaced after a failure)
        if not session.answered or session.bridge is not None or session.specialist_id is None or session.held:
            return
        caller = self.presence.get(session.caller_sid) if session.caller_sid else None
        spec = self.presence.specialist(session.specialist_id)
        if caller is None or spec is None or caller.leg is None or spec.leg is None:
            return
        session.bridge = self.media.bridge(
            caller.leg,
            spec.leg,
            # Stamp media_at when the media flows, not when the lock is free to record it.
            on_media=lambda session_id=session.id: self.media_flowing(session_id, utcnow()),
            session_id=session.id,
            record=session.record,
        )

    def media_flowing(self, session_id: str, at: datetime) -> None:
        """Both directions of a bridge carry media (called by media/, synchronously: no lock needed)."""
        session = self.live.get(session_id)
        if session is None:
            return
        if session.media_lost_since is not None:
            session.media_lost_since = None  # a replaced leg is bridged and flowing again
            self.writer.event(session_id, "media_restored", utcnow())
            for party in sorted(session.stalled):
                self._tell_media(session, party, "restored")
            session.stalled.clear()
        if session.media_flowing:
            return
        session.media_flowing, session.media_deadline = True, None
        self.writer.update(session_id, event="media", at=at, media_at=at)
        self.telemetry.connect_seconds.observe(max(0.0, (at - session.created_at).total_seconds()))

    async def unbridge(self, session: LiveSession) -> None:
        """A party's leg or console went: undo the bridge (the legs stay open); a several-party call
        goes on without that party."""
        bridge, session.bridge = session.bridge, None
        if bridge is not None:
            await bridge.close()  # the legs stay open
        elif session.call is not None:
            self.bridge_if_ready(session)

    async def leg_failed(self, part: Participant, leg: Any) -> None:
        """A leg died under a live call: wait for a new one for the media grace."""
        if part.leg is not leg:
            return  # already replaced
        session = self.of(part)
        if session is None or not session.answered or session.media_lost_since is not None:
            return
        session.media_lost_since = self.clock()
        await self.unbridge(session)
        self.writer.event(session.id, "media_lost", utcnow(), {"party": part.role, "reason": "leg_failed"})
        session.stalled.add(part.role)
        self._tell_media(session, part.role, "lost", "leg_failed")

    def _tell_media(self, session: LiveSession, party: str, state: str, reason: str | None = None) -> None:
        """S→C `call:media` to both parties (sent in the background: callers hold the lock)."""
        payload = {"call_id": session.id, "party": party, "state": state, **({"reason": reason} if reason else {})}
        self.outbox.append((session, payload))

    async def flush_media_notices(self) -> None:
        notices, self.outbox = self.outbox, []
        for session, payload in notices:
            await self.presence.to_caller(session, "call:media", payload)
            await self.presence.to_specialist(session.specialist_id, "call:media", payload)

    def _watch_media(self, session: LiveSession, now: float) -> None:
        """A bridged party whose leg stops receiving for MEDIA_STALL_S is lost; when frames come back, restored.

        A stall starts the media grace too: without media for VW_MEDIA_GRACE_S, the session ends."""
        legs = (("caller", self.presence.get(session.caller_sid) if session.caller_sid else None),
                ("specialist", self.presence.specialist(session.specialist_id)))
        for party, part in legs:
            if part is None or part.leg is None:
                continue
            count = part.leg.frames_received()
            seen = session.media_seen.get(party)
            if seen is None or count != seen[0]:
                session.media_seen[party] = (count, now)
                if party in session.stalled and session.bridge is not None:
                    session.stalled.discard(party)
                    if not session.stalled:
                        session.media_lost_since = None
                    self.writer.event(session.id, "media_restored", utcnow(), {"party": party})
                    self._tell_media(session, party, "restored")
            elif now - seen[1] >= MEDIA_STALL_S and party not in session.stalled:
                session.stalled.add(party)
                if session.media_lost_since is None:
                    session.media_lost_since = now
                self.writer.event(session.id, "media_lost", utcnow(), {"party": party, "reason": "no_media"})
                self._tell_media(session, party, "lost", "no_media")

    # -- time ------------------------------------------------------------------------------

    async def tick(self) -> None:
        """What is due: the router's timers, media deadlines, grace periods that ran out."""
        now = self.clock()
        await self.apply(self.router.tick(now))
        for session in list(self.live.values()):
            if session.media_flowing and session.bridge is not None and not session.held:
                self._watch_media(session, now)
            if session.media_deadline is not None and now >= session.media_deadline:
                await self.end(session, reason="media_timeout", ended_by="system")
            elif (session.caller_gone_since is not None and now - session.caller_gone_since >= self.settings.reconnect_grace_s
                  and not self.router.callback_state(session.id)):  # a caller keeping its place may be away
                reason = "caller_disconnected" if session.answered else "caller_left"
                await self.end(session, reason=reason, ended_by="caller")
            elif session.media_lost_since is not None and now - session.media_lost_since >= self.settings.media_grace_s:
                await self.end(session, reason="media_failed", ended_by="system")
        await self.flush_media_notices()
