"""The call center at run time: applies routing decisions, records them, drives media.

The adapters (realtime/, api/) call one method here per event. The rules of
who gets which call live in routing/; what is kept lives in store/; every
byte of media lives in media/. This module only sequences them: each event is
handled under one lock so that the router, the session log and what the
participants are told never disagree.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from .auth import Identity, Tokens
from .config import Settings
from .errors import ApiError
from .media import MediaError, MediaPlane
from .routing import Answered, Decision, Offer, OfferEnded, Position, Router, RoutingError, StateChanged
from .store import Store, StoreError
from .telemetry import Telemetry

log = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[Any]]  # socketio.AsyncServer.emit(event, data, to=, namespace=)

CALLER_NS, AGENT_NS, ADMIN_NS = "/caller", "/agent", "/admin"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Call:
    """A live session: who is in it and the media joining them."""

    id: str
    token: str
    service_item: dict
    caller: dict
    caller_sid: str | None
    created_mono: float
    specialist_id: int | None = None
    answered: bool = False
    media_flowing: bool = False
    bridge: Any = None
    # monotonic deadlines
    media_deadline: float | None = None
    caller_gone_since: float | None = None


@dataclass
class Participant:
    sid: str
    role: str  # "caller" | "specialist"
    identity: Identity | None = None
    call_id: str | None = None
    leg: Any = None


class Center:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        media: MediaPlane,
        tokens: Tokens,
        telemetry: Telemetry,
        emit: Emit,
    ):
        self.settings = settings
        self.store = store
        self.media = media
        self.tokens = tokens
        self.telemetry = telemetry
        self._emit = emit
        self.router = Router(offer_timeout_s=settings.offer_timeout_s)
        self._lock = asyncio.Lock()
        self._calls: dict[str, Call] = {}
        self._participants: dict[str, Participant] = {}
        self._specialist_sids: dict[int, str] = {}
        self._accounts: dict[int, dict] = {}
        self._wrap_up_deadlines: dict[int, tuple[str, float]] = {}
        self._ticker: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        closed = await self.store.close_open_sessions(utcnow())
        if closed:
            log.warning("closed %d sessions left open by a previous run", closed)
        self._ticker = asyncio.create_task(self._tick_loop(), name="center-tick")

    async def stop(self) -> None:
        if self._ticker:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        async with self._lock:
            for call in list(self._calls.values()):
                await self._end_call(call, reason="server_shutdown", ended_by="system")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for part in list(self._participants.values()):
            if part.leg is not None:
                await part.leg.close()
        await self.media.close()

    # -- specialists ---------------------------------------------------------

    async def specialist_connected(self, sid: str, identity: Identity) -> None:
        account = await self.store.get_account(identity.account_id)
        if account is None:
            raise ApiError("unknown_account", "this account no longer exists", 401)
        async with self._lock:
            old_sid = self._specialist_sids.get(identity.account_id)
            if old_sid is not None and old_sid in self._participants:
                # One console per specialist: the newest connection takes over.
                self._participants[old_sid].identity = None
                await self._emit("session:replaced", {}, to=old_sid, namespace=AGENT_NS)
            self._accounts[identity.account_id] = account
            self._participants[sid] = Participant(sid=sid, role="specialist", identity=identity)
            self._specialist_sids[identity.account_id] = sid
            await self._apply(self.router.login(identity.account_id, account["skills"], self._mono()))

    async def specialist_disconnected(self, sid: str) -> None:
        async with self._lock:
            part = self._participants.pop(sid, None)
            if part is None:
                return
            if part.identity is not None and self._specialist_sids.get(part.identity.account_id) == sid:
                spec_id = part.identity.account_id
                call_id = self.router.specialist_call(spec_id)
                if self.router.specialist_state(spec_id) == "busy" and call_id in self._calls:
                    await self._end_call(
                        self._calls[call_id], reason="specialist_disconnected", ended_by="specialist"
                    )
                self._wrap_up_deadlines.pop(spec_id, None)
                del self._specialist_sids[spec_id]
                await self._apply(self.router.logout(spec_id, self._mono()))
        await self._close_leg(part)

    async def set_state(self, sid: str, state: str, auto_answer: bool | None) -> str:
        async with self._lock:
            spec_id = self._specialist(sid)
            if self.router.specialist_state(spec_id) == "wrap_up":
                self._wrap_up_deadlines.pop(spec_id, None)
                await self._apply(self.router.wrap_up_done(spec_id, self._mono()))
            await self._apply(self.router.set_state(spec_id, state, self._mono(), auto_answer))
            return self.router.specialist_state(spec_id)

    async def accept(self, sid: str, call_id: str) -> None:
        async with self._lock:
            await self._apply(self.router.accept(self._specialist(sid), call_id, self._mono()))

    async def decline(self, sid: str, call_id: str) -> None:
        async with self._lock:
            await self._apply(self.router.decline(self._specialist(sid), call_id, self._mono()))

    async def wrapup(
        self, sid: str, call_id: str, notes: str | None, disposition: str | None, difficulty: int | None
    ) -> None:
        async with self._lock:
            spec_id = self._specialist(sid)
            deadline = self._wrap_up_deadlines.get(spec_id)
            if deadline is None or deadline[0] != call_id:
                raise ApiError("not_in_wrap_up", "there is no wrap-up for this call", 409)
            fields = {"notes": notes, "disposition": disposition, "difficulty": difficulty}
            fields = {k: v for k, v in fields.items() if v is not None}
            await self.store.update_session(call_id, event="wrap_up", at=utcnow(), data=fields, **fields)
            del self._wrap_up_deadlines[spec_id]
            await self._apply(self.router.wrap_up_done(spec_id, self._mono()))

    # -- callers -----------------------------------------------------------------

    async def caller_connected(self, sid: str, resume_token: str | None) -> dict | None:
        """Register a caller; with a valid call token, reattach it to its live session."""
        async with self._lock:
            part = Participant(sid=sid, role="caller")
            self._participants[sid] = part
            if resume_token is None:
                return None
            call_id = self.tokens.verify_call_token(resume_token)
            call = self._calls.get(call_id) if call_id else None
            if call is None:
                raise ApiError("unknown_call", "this call has ended or the token is invalid", 404)
            old = self._participants.get(call.caller_sid) if call.caller_sid else None
            if old is not None and old.sid != sid:
                old.call_id = None
            call.caller_sid, call.caller_gone_since = sid, None
            part.call_id = call.id
            await self.store.add_event(call.id, "resumed", utcnow())
            return {"call_id": call.id, "status": "connected" if call.answered else "queued"}

    async def after_resume(self, sid: str) -> None:
        """Repeat to a resumed caller what it would otherwise have missed."""
        async with self._lock:
            part = self._participants.get(sid)
            call = self._calls.get(part.call_id) if part and part.call_id else None
            if call is None:
                return
            if call.answered and call.specialist_id is not None:
                await self._emit_caller(call, "call:connected", self._connected_for_caller(call))
            else:
                await self._apply(self.router.refresh_position(call.id))

    async def caller_disconnected(self, sid: str) -> None:
        async with self._lock:
            part = self._participants.pop(sid, None)
            if part is None:
                return
            call = self._calls.get(part.call_id) if part.call_id else None
            if call is not None and call.caller_sid == sid:
                call.caller_sid = None
                if call.answered:
                    # A reload or network blip: keep the session for the grace period.
                    call.caller_gone_since = self._mono()
                    await self.store.add_event(call.id, "caller_disconnected", utcnow())
                    if call.bridge is not None:
                        await call.bridge.close()
                        call.bridge = None
                else:
                    await self._end_call(call, reason="caller_left", ended_by="caller")
        await self._close_leg(part)

    async def request(self, sid: str, service_item: str, caller: dict) -> dict:
        item = await self.store.get_service_item(service_item)
        if item is None:
            raise ApiError("unknown_service_item", f"no service item with code {service_item!r}", 404)
        async with self._lock:
            part = self._participants.get(sid)
            if part is None:
                raise ApiError("not_connected", "connect first", 409)
            if part.call_id in self._calls:
                raise ApiError("already_in_call", "this connection already has a call", 409)
            call_id = uuid.uuid4().hex
            call = Call(
                id=call_id,
                token=self.tokens.call_token(call_id),
                service_item={"code": item["code"], "name": item["name"], "name_en": item["name_en"]},
                caller=caller,
                caller_sid=sid,
                created_mono=self._mono(),
            )
            await self.store.create_session(
                id=call_id, service_item_code=item["code"], caller=caller, created_at=utcnow()
            )
            self._calls[call_id] = call
            part.call_id = call_id
            await self._apply(self.router.request(call_id, item["code"], item["category"], self._mono()))
            return {"call_id": call_id, "call_token": call.token}

    async def hangup(self, sid: str, call_id: str) -> None:
        async with self._lock:
            part = self._participants.get(sid)
            call = self._calls.get(call_id)
            if part is None or call is None:
                raise ApiError("unknown_call", "no such live call", 404)
            if part.role == "caller":
                if call.caller_sid != sid:
                    raise ApiError("not_your_call", "this call is not yours", 403)
                await self._end_call(call, reason="hangup", ended_by="caller")
            else:
                if call.specialist_id != self._specialist(sid) or not call.answered:
                    raise ApiError("not_your_call", "this call is not connected to you", 403)
                await self._end_call(call, reason="hangup", ended_by="specialist")

    async def rate(self, sid: str, call_id: str, satisfaction: int, comment: str | None) -> None:
        part = self._participants.get(sid)
        if part is None or part.call_id != call_id:
            raise ApiError("not_your_call", "rate the session you were in", 403)
        session = await self.store.get_session(call_id, with_events=False)
        if session is None or session["status"] != "ended":
            raise ApiError("not_ended", "a session can be rated once it has ended", 409)
        try:
            await self.store.rate_session(call_id, satisfaction, comment, utcnow())
        except StoreError as exc:
            raise ApiError("already_rated", "this session has already been rated", 409) from exc

    async def chat(self, sid: str, call_id: str, text: str) -> dict:
        async with self._lock:
            part = self._participants.get(sid)
            call = self._calls.get(call_id)
            if part is None or call is None or not call.answered:
                raise ApiError("unknown_call", "chat needs a connected call", 404)
            if part.role == "caller" and call.caller_sid != sid:
                raise ApiError("not_your_call", "this call is not yours", 403)
            if part.role == "specialist" and call.specialist_id != self._specialist(sid):
                raise ApiError("not_your_call", "this call is not yours", 403)
            at = utcnow()
            message = {"call_id": call_id, "from": part.role, "text": text, "at": iso(at)}
            await self.store.add_event(call_id, "chat", at, {"from": part.role, "text": text})
            await self._emit_caller(call, "chat:message", message)
            await self._emit_specialist(call.specialist_id, "chat:message", message)
            return message

    # -- media legs --------------------------------------------------------------

    async def rtc_offer(self, sid: str, sdp: str) -> str:
        part = self._participants.get(sid)
        if part is None:
            raise ApiError("not_connected", "connect first", 409)
        if part.leg is None:
            part.leg = await self.media.open_leg(f"{part.role}:{sid}")
            self.telemetry.legs.inc()
            part.leg.on_state(lambda state, sid=sid: self._spawn(self._leg_state(sid, state)))
        try:
            answer = await part.leg.handle_offer(sdp)
        except MediaError as exc:
            raise ApiError(exc.code, str(exc), 400) from exc
        async with self._lock:
            call = self._calls.get(part.call_id) if part.call_id else None
            if part.role == "specialist" and part.identity is not None:
                call = self._calls.get(self.router.specialist_call(part.identity.account_id) or "")
            if call is not None:
                await self._bridge_if_ready(call)
        return answer

    async def rtc_candidate(self, sid: str, payload: dict) -> None:
        part = self._participants.get(sid)
        if part is None or part.leg is None:
            raise ApiError("no_leg", "send rtc:offer before candidates", 409)
        try:
            await part.leg.add_candidate(payload)
        except MediaError as exc:
            raise ApiError(exc.code, str(exc), 400) from exc

    # -- administration ------------------------------------------------------------

    def live_stats(self) -> dict:
        now = self._mono()
        return {"queues": self.router.queues(now), "specialists": self.router.counts_by_state()}

    # -- internals -----------------------------------------------------------------

    def _mono(self) -> float:
        return time.monotonic()

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _specialist(self, sid: str) -> int:
        part = self._participants.get(sid)
        if part is None or part.identity is None:
            raise ApiError("not_logged_in", "this console is not the active one", 409)
        return part.identity.account_id

    async def _apply(self, decisions: list[Decision]) -> None:
        """Record and announce what the router decided, in order."""
        for d in decisions:
            if isinstance(d, Offer):
                await self._offered(d)
            elif isinstance(d, Answered):
                await self._answered(d)
            elif isinstance(d, OfferEnded):
                await self._offer_ended(d)
            elif isinstance(d, Position):
                call = self._calls.get(d.call_id)
                if call is not None:
                    await self._emit_caller(
                        call,
                        "call:queued",
                        {"call_id": d.call_id, "position": d.position, "estimated_wait_s": d.estimated_wait_s},
                    )
            elif isinstance(d, StateChanged):
                await self._state_changed(d)

    async def _offered(self, d: Offer) -> None:
        call = self._calls[d.call_id]
        account = self._accounts[d.specialist_id]
        await self.store.update_session(
            d.call_id,
            event="offered",
            at=utcnow(),
            data={"specialist_id": d.specialist_id, "username": account["username"]},
            status="offered",
            offered_at=utcnow(),
            specialist_id=d.specialist_id,
        )
        await self._emit_specialist(
            d.specialist_id,
            "call:offered",
            {
                "call_id": d.call_id,
                "service_item": call.service_item,
                "caller": call.caller,
                "queued_ms": round((self._mono() - call.created_mono) * 1000),
                "timeout_s": d.timeout_s,
            },
        )

    async def _answered(self, d: Answered) -> None:
        call = self._calls[d.call_id]
        call.answered, call.specialist_id = True, d.specialist_id
        call.media_deadline = self._mono() + self.settings.media_timeout_s
        now = utcnow()
        await self.store.update_session(
            d.call_id,
            event="answered",
            at=now,
            data={"specialist_id": d.specialist_id},
            status="connected",
            answered_at=now,
            specialist_id=d.specialist_id,
        )
        await self._emit_specialist(
            d.specialist_id,
            "call:connected",
            {"call_id": call.id, "service_item": call.service_item, "caller": call.caller},
        )
        await self._emit_caller(call, "call:connected", self._connected_for_caller(call))
        await self._bridge_if_ready(call)

    def _connected_for_caller(self, call: Call) -> dict:
        account = self._accounts.get(call.specialist_id or -1, {})
        return {"call_id": call.id, "specialist": {"display_name": account.get("display_name")}}

    async def _offer_ended(self, d: OfferEnded) -> None:
        event = {"declined": "declined", "timeout": "offer_timeout", "withdrawn": "offer_withdrawn"}[d.reason]
        if d.call_id in self._calls and d.reason != "withdrawn":
            await self.store.update_session(
                d.call_id,
                event=event,
                at=utcnow(),
                data={"specialist_id": d.specialist_id},
                status="queued",
                specialist_id=None,
            )
        await self._emit_specialist(d.specialist_id, "call:offer_ended", {"call_id": d.call_id, "reason": d.reason})

    async def _state_changed(self, d: StateChanged) -> None:
        payload: dict = {"state": d.state}
        if d.call_id:
            payload["call_id"] = d.call_id
        if d.state == "wrap_up" and d.call_id:
            self._wrap_up_deadlines[d.specialist_id] = (d.call_id, self._mono() + self.settings.wrap_up_s)
        for state, count in self.router.counts_by_state().items():
            self.telemetry.specialists.labels(state).set(count)
        await self._emit_specialist(d.specialist_id, "agent:state", payload)

    async def _bridge_if_ready(self, call: Call) -> None:
        if not call.answered or call.bridge is not None or call.specialist_id is None:
            return
        caller = self._participants.get(call.caller_sid) if call.caller_sid else None
        spec_sid = self._specialist_sids.get(call.specialist_id)
        spec = self._participants.get(spec_sid) if spec_sid else None
        if caller is None or spec is None or caller.leg is None or spec.leg is None:
            return
        call.bridge = self.media.bridge(
            caller.leg, spec.leg, on_media=lambda call_id=call.id: self._spawn(self._media_flowing(call_id))
        )

    async def _media_flowing(self, call_id: str) -> None:
        async with self._lock:
            call = self._calls.get(call_id)
            if call is None or call.media_flowing:
                return
            call.media_flowing, call.media_deadline = True, None
            now = utcnow()
            session = await self.store.update_session(call_id, event="media", at=now, media_at=now)
            if session.get("connect_ms") is not None:
                self.telemetry.connect_seconds.observe(session["connect_ms"] / 1000)

    async def _leg_state(self, sid: str, state: str) -> None:
        await self._emit("rtc:state", {"state": state}, to=sid, namespace=self._namespace(sid))

    def _namespace(self, sid: str) -> str:
        part = self._participants.get(sid)
        return AGENT_NS if part and part.role == "specialist" else CALLER_NS

    async def _end_call(self, call: Call, *, reason: str, ended_by: str) -> None:
        """End a live session: one terminal outcome, recorded, told to both sides."""
        if self._calls.pop(call.id, None) is None:
            return
        if call.bridge is not None:
            await call.bridge.close()
            call.bridge = None
        if call.answered:
            outcome = "answered" if call.media_flowing else "failed"
        elif ended_by == "caller":
            outcome = "abandoned"
        else:
            outcome = "missed"
        now = utcnow()
        await self.store.update_session(
            call.id,
            event="ended",
            at=now,
            data={"reason": reason, "ended_by": ended_by},
            status="ended",
            outcome=outcome,
            ended_at=now,
            end_reason=reason,
            ended_by=ended_by,
        )
        self.telemetry.sessions.labels(outcome).inc()
        ended = {"call_id": call.id, "reason": reason, "ended_by": ended_by}
        await self._emit_caller(call, "call:ended", ended)
        if call.answered and call.specialist_id is not None:
            await self._emit_specialist(call.specialist_id, "call:ended", ended)
        await self._apply(self.router.hangup(call.id, self._mono()))

    async def _emit_caller(self, call: Call, event: str, data: dict) -> None:
        if call.caller_sid is not None:
            await self._emit(event, data, to=call.caller_sid, namespace=CALLER_NS)

    async def _emit_specialist(self, specialist_id: int | None, event: str, data: dict) -> None:
        sid = self._specialist_sids.get(specialist_id) if specialist_id is not None else None
        if sid is not None:
            await self._emit(event, data, to=sid, namespace=AGENT_NS)

    async def _close_leg(self, part: Participant) -> None:
        if part.leg is not None:
            leg, part.leg = part.leg, None
            await leg.close()
            self.telemetry.legs.dec()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            try:
                await self._tick()
            except Exception:  # keep ticking: one bad event must not stop offers timing out
                log.exception("tick failed")

    async def _tick(self) -> None:
        async with self._lock:
            now = self._mono()
            await self._apply(self.router.tick(now))
            for call in list(self._calls.values()):
                if call.media_deadline is not None and now >= call.media_deadline:
                    await self._end_call(call, reason="media_timeout", ended_by="system")
                elif (
                    call.caller_gone_since is not None
                    and now - call.caller_gone_since >= self.settings.reconnect_grace_s
                ):
                    await self._end_call(call, reason="caller_disconnected", ended_by="caller")
            for spec_id, (call_id, deadline) in list(self._wrap_up_deadlines.items()):
                if now >= deadline:
                    del self._wrap_up_deadlines[spec_id]
                    await self.store.add_event(call_id, "wrap_up_expired", utcnow())
                    await self._apply(self.router.wrap_up_done(spec_id, now))
            self.telemetry.waiting.set(sum(q["waiting"] for q in self.router.queues(now)))


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
