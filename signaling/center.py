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
from .routing import (
    Answered, Decision, Escalated, Missed, Offer, OfferEnded, Overflowed, Position, Rona, Router, StateChanged, WrapUpEnded,
)
from .store.models import iso
from .store.queues import configured_queues, routing_catalog, skill_levels
from .store import Store, StoreError
from .store.documents import Documents, DocumentRefused, specialist_day
from .telemetry import Telemetry

log = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[Any]]  # socketio.AsyncServer.emit(event, data, to=, namespace=)

CALLER_NS, AGENT_NS, ADMIN_NS = "/caller", "/agent", "/admin"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def local_midnight() -> datetime:
    """The start of the center's "today": midnight in the server's local time zone."""
    return datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)


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
    held: bool = False  # the specialist put the caller on hold: unbridged until resumed
    record: bool = True  # record the bridged media (settings and the service item allow it)
    media_lost_since: float | None = None  # a leg failed mid-call; a new one may come within the grace
    answered_mono: float | None = None


@dataclass
class Participant:
    sid: str
    role: str  # "caller" | "specialist" | "admin"
    identity: Identity | None = None
    call_id: str | None = None
    leg: Any = None
    monitoring: str | None = None  # an administrator: the call its leg monitors (see monitor_start)


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
        self.router = Router(offer_timeout_s=settings.offer_timeout_s, wrap_up_s=settings.wrap_up_s)
        self._day = datetime.now().date()
        self._lock = asyncio.Lock()
        self._calls: dict[str, Call] = {}
        self._participants: dict[str, Participant] = {}
        self._specialist_sids: dict[int, str] = {}
        self._accounts: dict[int, dict] = {}
        self._wrapping_up: dict[int, str] = {}  # specialist id -> the call in wrap-up
        # Specialists whose console dropped during a call: id -> when (they may come back).
        self._specialist_gone: dict[int, float] = {}
        self._ticker: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self.documents = Documents(store)

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        closed = await self.store.close_open_sessions(utcnow())
        if closed:
            log.warning("closed %d sessions left open by a previous run", closed)
        await self.reload_queues()
        self._ticker = asyncio.create_task(self._tick_loop(), name="center-tick")

    async def reload_queues(self) -> None:
        """Hand the queue settings and the catalog's categories to the router (start-up, edits)."""
        queues, categories = await configured_queues(self.store), await routing_catalog(self.store)
        async with self._lock:
            await self._apply(self.router.configure(queues, categories, self._mono()))

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

    async def specialist_connected(self, sid: str, identity: Identity) -> bool:
        """Register a specialist's console; True when it comes back to a call it dropped out of."""
        account = await self.store.get_account(identity.account_id)
        if account is None:
            raise ApiError("unknown_account", "this account no longer exists", 401)
        skills = await skill_levels(self.store, identity.account_id)  # target -> proficiency
        async with self._lock:
            old_sid = self._specialist_sids.get(identity.account_id)
            if old_sid is not None and old_sid in self._participants:
                # One console per specialist: the newest connection takes over.
                self._participants[old_sid].identity = None
                await self._emit("session:replaced", {}, to=old_sid, namespace=AGENT_NS)
            self._accounts[identity.account_id] = account
            self._participants[sid] = Participant(sid=sid, role="specialist", identity=identity)
            self._specialist_sids[identity.account_id] = sid
            await self._apply(self.router.login(identity.account_id, skills, self._mono()))
            return self._specialist_gone.pop(identity.account_id, None) is not None

    async def specialist_disconnected(self, sid: str) -> None:
        async with self._lock:
            part = self._participants.pop(sid, None)
            if part is None:
                return
            if part.identity is not None and self._specialist_sids.get(part.identity.account_id) == sid:
                spec_id = part.identity.account_id
                call_id = self.router.specialist_call(spec_id)
                del self._specialist_sids[spec_id]
                if self.router.specialist_state(spec_id) == "busy" and call_id in self._calls:
                    # A reload or network blip: the call waits for the console for the grace period.
                    call = self._calls[call_id]
                    self._specialist_gone[spec_id] = self._mono()
                    await self.store.add_event(call.id, "specialist_disconnected", utcnow())
                    if call.bridge is not None:
                        await call.bridge.close()
                        call.bridge = None
                else:
                    await self._logout(spec_id)
        await self._close_leg(part)

    async def _logout(self, spec_id: int) -> None:
        self._wrapping_up.pop(spec_id, None)
        self._specialist_gone.pop(spec_id, None)
        await self._apply(self.router.logout(spec_id, self._mono()))

    async def set_state(self, sid: str, state: str, auto_answer: bool | None) -> str:
        async with self._lock:
            spec_id = self._specialist(sid)
            if self.router.specialist_state(spec_id) == "wrap_up":
                self._wrapping_up.pop(spec_id, None)
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
            if self._wrapping_up.get(spec_id) != call_id:
                raise ApiError("not_in_wrap_up", "there is no wrap-up for this call", 409)
            fields = {"notes": notes, "disposition": disposition, "difficulty": difficulty}
            fields = {k: v for k, v in fields.items() if v is not None}
            await self.store.update_session(call_id, event="wrap_up", at=utcnow(), data=fields, brief=True, **fields)
            del self._wrapping_up[spec_id]
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
        """Repeat to a resumed caller or specialist what it would otherwise have missed.

        Its new leg (`rtc:offer`) is bridged as soon as it is up.
        """
        async with self._lock:
            part = self._participants.get(sid)
            call = self._call_of(part) if part is not None else None
            if call is None:
                return
            if not call.answered or call.specialist_id is None:
                if part.role == "caller":
                    await self._apply(self.router.refresh_position(call.id))
                return
            history = {"call_id": call.id, "messages": await self.documents.chat_history(call.id)}
            if part.role == "specialist":
                await self.store.add_event(call.id, "specialist_reconnected", utcnow())
                await self._emit_specialist(
                    call.specialist_id, "call:connected",
                    {"call_id": call.id, "service_item": call.service_item, "caller": call.caller},
                )
                await self._emit_specialist(call.specialist_id, "chat:history", history)
            else:
                await self._emit_caller(call, "call:connected", self._connected_for_caller(call))
                await self._emit_caller(call, "chat:history", history)
                if call.held:
                    await self._emit_caller(call, "call:held", {"call_id": call.id, "held": True})

    async def caller_disconnected(self, sid: str) -> None:
        async with self._lock:
            part = self._participants.pop(sid, None)
            if part is None:
                return
            call = self._calls.get(part.call_id) if part.call_id else None
            if call is not None and call.caller_sid == sid:
                call.caller_sid = None
                # A reload or network blip, queued or answered: keep the session for
                # the grace period (a queued one keeps its place in the queue).
                call.caller_gone_since = self._mono()
                await self.store.add_event(call.id, "caller_disconnected", utcnow())
                if call.bridge is not None:
                    await call.bridge.close()
                    call.bridge = None
        await self._close_leg(part)

    async def request(self, sid: str, service_item: str, caller: dict) -> dict:
        received_at = utcnow()  # the session's clock starts when the caller asked, not when it got the lock
        item = await self.store.get_service_item(service_item)
        if item is None:
            raise ApiError("unknown_service_item", f"no service item with code {service_item!r}", 404)
        record = self.settings.recording and item["recording"]
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
                record=record,
            )
            await self.store.create_session(
                id=call_id, service_item_code=item["code"], caller=caller, created_at=received_at
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

    # -- in-call features: hold, screen share, documents, transfer, My day ------------

    def _live_call_of(self, sid: str, call_id: str, *, answered: bool = True) -> tuple[Participant, Call]:
        """The live call `call_id` if the participant `sid` is in it (403/404 otherwise)."""
        part = self._participants.get(sid)
        call = self._calls.get(call_id)
        if part is None or call is None or (answered and not call.answered):
            raise ApiError("unknown_call", "no such connected call", 404)
        if part.role == "caller" and call.caller_sid != sid:
            raise ApiError("not_your_call", "this call is not yours", 403)
        if part.role == "specialist" and call.specialist_id != self._specialist(sid):
            raise ApiError("not_your_call", "this call is not yours", 403)
        return part, call

    async def hold(self, sid: str, call_id: str, held: bool) -> bool:
        """Put the caller on hold (unbridge: no media either way) or take them off it."""
        async with self._lock:
            part, call = self._live_call_of(sid, call_id)
            if part.role != "specialist":
                raise ApiError("forbidden", "only the specialist can hold a call", 403)
            if call.held == held:
                return held
            call.held = held
            if held and call.bridge is not None:
                await call.bridge.close()
                call.bridge = None
            await self.store.add_event(call.id, "hold" if held else "resume", utcnow())
            payload = {"call_id": call.id, "held": held}
            await self._emit_caller(call, "call:held", payload)
            await self._emit_specialist(call.specialist_id, "call:held", payload)
            if not held:
                await self._bridge_if_ready(call)
            return held

    async def screen(self, sid: str, call_id: str, sharing: bool) -> None:
        """A participant started or stopped sharing its screen (the 3rd m-line): tell the other."""
        async with self._lock:
            part, call = self._live_call_of(sid, call_id)
            await self.store.add_event(call.id, "screen_share", utcnow(), {"from": part.role, "sharing": sharing})
            payload = {"call_id": call.id, "from": part.role, "sharing": sharing}
            if part.role == "caller":
                await self._emit_specialist(call.specialist_id, "call:screen", payload)
            else:
                await self._emit_caller(call, "call:screen", payload)

    async def share_document(self, call_id: str, sender: str, filename: str, content: bytes) -> dict:
        """Keep a document sent during a live session and tell both participants."""
        call = self._calls.get(call_id)
        if call is None:
            raise ApiError("not_live", "documents can be sent only while the session is live", 409)
        try:
            doc = await self.documents.add(call_id, sender, filename, content, utcnow())
        except DocumentRefused as exc:
            raise ApiError(exc.code, exc.message, exc.status) from exc
        event = {"call_id": call_id, "document": doc}
        await self._emit_caller(call, "document:shared", event)
        if call.answered or sender == "specialist":
            await self._emit_specialist(call.specialist_id, "document:shared", event)
        return doc

    def transfer_targets(self, sid: str) -> list[dict]:
        """Specialists signed in now, other than the asking one, with their state."""
        me = self._specialist(sid)
        return [
            {"id": spec_id, "username": account["username"], "display_name": account["display_name"],
             "state": self.router.specialist_state(spec_id)}
            for spec_id, account in sorted(self._accounts.items())
            if spec_id != me and spec_id in self._specialist_sids
        ]

    async def transfer(self, sid: str, call_id: str, service_item: str | None, specialist: str | None) -> dict:
        """Transfer a connected call: this session ends as `transferred`; a new one,
        linked by `transferred_from`, is queued for another service item or offered to
        a named specialist. The caller keeps its connection and leg and is told with
        S→C `call:transferred` (new call id and call token)."""
        item = None
        if service_item is not None:
            item = await self.store.get_service_item(service_item)
            if item is None:
                raise ApiError("unknown_service_item", f"no service item with code {service_item!r}", 404)
        async with self._lock:
            part, call = self._live_call_of(sid, call_id)
            if part.role != "specialist":
                raise ApiError("forbidden", "only the specialist can transfer a call", 403)
            if item is None:
                item = await self.store.get_service_item(call.service_item["code"])
            target = None
            if specialist is not None:
                target = next(
                    (t for t in self.transfer_targets(sid) if specialist in (t["username"], str(t["id"]))), None
                )
                if target is None:
                    raise ApiError("specialist_unavailable", "that specialist is not signed in", 409)
                if not self.router.has_skill(target["id"], item["code"], item["category"]):
                    raise ApiError("not_qualified", "that specialist does not handle this service item", 409)
            new_id = uuid.uuid4().hex
            new_call = Call(
                id=new_id,
                token=self.tokens.call_token(new_id),
                service_item={"code": item["code"], "name": item["name"], "name_en": item["name_en"]},
                caller=call.caller,
                caller_sid=call.caller_sid,
                created_mono=self._mono(),
                caller_gone_since=call.caller_gone_since,
                record=call.record,
            )
            await self.store.create_session(
                id=new_id, service_item_code=item["code"], caller=call.caller, created_at=utcnow(),
                transferred_from=call.id,
            )
            await self.store.add_event(
                call.id, "transferred", utcnow(),
                {"to_session": new_id, "service_item": item["code"],
                 "specialist": target["username"] if target else None},
            )
            caller_sid, call.caller_sid = call.caller_sid, None  # the caller is told below, not "ended"
            self._calls[new_id] = new_call
            caller_part = self._participants.get(caller_sid) if caller_sid else None
            if caller_part is not None:
                caller_part.call_id = new_id
            await self._end_call(call, reason="transferred", ended_by="specialist")
            await self._emit_caller(new_call, "call:transferred", {
                "call_id": call.id,
                "new_call_id": new_id,
                "call_token": new_call.token,
                "service_item": new_call.service_item,
                "specialist": {"display_name": target["display_name"]} if target else None,
            })
            extra = {"only_specialist": target["id"]} if target else {}
            await self._apply(self.router.request(new_id, item["code"], item["category"], self._mono(), **extra))
            return {"new_call_id": new_id}

    async def my_day(self, sid: str) -> dict:
        spec_id = self._specialist(sid)
        return await specialist_day(self.store, spec_id, local_midnight(), self.settings.answer_target_s)

    # -- media legs --------------------------------------------------------------

    async def rtc_offer(self, sid: str, sdp: str) -> str:
        part = self._participants.get(sid)
        if part is None:
            raise ApiError("not_connected", "connect first", 409)
        if part.leg is not None and part.leg.state in ("failed", "closed"):
            await self._close_leg(part)  # a failed leg is replaced: reconnecting is a new offer
        if part.leg is None:
            part.leg = leg = await self.media.open_leg(f"{part.role}:{sid}")
            self.telemetry.legs.inc()
            leg.on_state(lambda state, sid=sid, leg=leg: self.spawn(self._leg_state(sid, state, leg)))
        try:
            answer = await part.leg.handle_offer(sdp)
        except MediaError as exc:
            raise ApiError(exc.code, str(exc), 400) from exc
        async with self._lock:
            call = self._call_of(part)
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

    def queue_live(self, service_item: str) -> dict:
        """One queue right now: waiting, longest wait, staffing, average handle time."""
        return self.router.queue_live(service_item, self._mono())

    async def wallboard(self) -> dict:
        """The `/admin` `stats` payload: queues, specialists, calls now, and today's figures."""
        m = await self.store.metrics(
            since=local_midnight(), until=None, threshold_s=self.settings.answer_target_s, detail=False
        )
        today = {k: m[k] for k in ("offered", "answered", "abandoned", "service_level",
                                   "missed", "service_level_abandons", "asa_ms", "threshold_s")}
        return {"queues": self.router.queues(self._mono()), "specialists": self.router.counts_by_state(),
                "calls": self.live_calls(), "today": today}

    def live_calls(self) -> list[dict]:
        """Answered calls not ended yet, oldest first (the wallboard's "Monitor" list)."""
        now = self._mono()
        watchers: dict[str, list[str]] = {}
        for part in self._participants.values():
            if part.role == "admin" and part.monitoring and part.identity is not None:
                watchers.setdefault(part.monitoring, []).append(part.identity.username)
        calls = []
        for call in self._calls.values():
            if not call.answered:
                continue
            account = self._accounts.get(call.specialist_id or -1, {})
            started = call.answered_mono if call.answered_mono is not None else now
            calls.append({
                "call_id": call.id,
                "service_item": call.service_item,
                "caller": {"name": call.caller.get("name"), "company": call.caller.get("company")},
                "specialist": {"id": call.specialist_id, "username": account.get("username"),
                               "display_name": account.get("display_name")},
                "talk_s": round(max(0.0, now - started)),
                "media": call.media_flowing,
                "held": call.held,
                "monitored_by": sorted(watchers.get(call.id, [])),
            })
        return sorted(calls, key=lambda c: -c["talk_s"])

    # -- supervisor monitor (an administrator's receive-only leg; media rules in media/monitor.py) --

    async def admin_connected(self, sid: str, identity: Identity) -> None:
        async with self._lock:
            self._participants[sid] = Participant(sid=sid, role="admin", identity=identity)

    async def admin_disconnected(self, sid: str) -> None:
        async with self._lock:
            part = self._participants.pop(sid, None)
            if part is None:
                return
            await self._stop_monitor(part, "admin_disconnected", notify=False)
        await self._close_leg(part)

    def _admin(self, sid: str) -> Participant:
        part = self._participants.get(sid)
        if part is None or part.role != "admin" or part.identity is None:
            raise ApiError("not_connected", "connect to /admin first", 409)
        return part

    async def monitor_start(self, sid: str, call_id: str) -> dict:
        """Start feeding the administrator's leg with both parties of a connected call (silent)."""
        async with self._lock:
            part = self._admin(sid)
            call = self._calls.get(call_id)
            if call is None:
                raise ApiError("unknown_call", "no such live call", 404)
            if not call.answered:
                raise ApiError("not_connected", "only a connected call can be monitored", 409)
            if part.leg is None or part.leg.closed or part.leg.state in ("failed", "closed"):
                raise ApiError("no_leg", "open a receive-only leg with rtc:offer first", 409)
            current = self.media.monitor_of(part.leg)
            if part.monitoring == call_id and current is not None and current.session_id == call_id:
                return self._monitored(call)  # already monitoring it with this leg
            await self._stop_monitor(part, "switched", notify=False)  # the ack says it all
            try:
                self.media.monitor(call.id, part.leg)
            except MediaError as exc:
                raise ApiError(exc.code, exc.message, 409) from exc
            part.monitoring = call.id
            assert part.identity is not None
            await self.store.add_event(
                call.id, "monitor_started", utcnow(),
                {"admin": part.identity.username, "admin_id": part.identity.account_id},
            )
            return self._monitored(call)

    async def monitor_stop(self, sid: str, call_id: str | None) -> dict:
        async with self._lock:
            part = self._admin(sid)
            if part.monitoring is None or (call_id is not None and call_id != part.monitoring):
                raise ApiError("not_monitoring", "this connection is not monitoring that call", 409)
            stopped = part.monitoring
            await self._stop_monitor(part, "stopped", notify=False)
            return {"call_id": stopped}

    def _monitored(self, call: Call) -> dict:
        account = self._accounts.get(call.specialist_id or -1, {})
        return {
            "call_id": call.id,
            "service_item": call.service_item,
            "caller": {"name": call.caller.get("name"), "company": call.caller.get("company")},
            "specialist": {"id": call.specialist_id, "display_name": account.get("display_name")},
        }

    async def _stop_monitor(self, part: Participant, reason: str, *, notify: bool = True) -> None:
        """Detach `part`'s monitor (if any), log it, and tell the administrator with `monitor:ended`."""
        call_id, part.monitoring = part.monitoring, None
        if call_id is None:
            return
        if part.leg is not None:
            self.media.unmonitor(part.leg)
        assert part.identity is not None
        await self.store.add_event(
            call_id, "monitor_stopped", utcnow(),
            {"admin": part.identity.username, "admin_id": part.identity.account_id, "reason": reason},
        )
        if notify:
            await self._emit("monitor:ended", {"call_id": call_id, "reason": reason}, to=part.sid, namespace=ADMIN_NS)

    async def _end_monitors(self, call_id: str, reason: str) -> None:
        for part in list(self._participants.values()):
            if part.role == "admin" and part.monitoring == call_id:
                await self._stop_monitor(part, reason)

    # -- internals -----------------------------------------------------------------

    def _mono(self) -> float:
        return time.monotonic()

    def _call_of(self, part: Participant) -> Call | None:
        """The live call a caller or specialist is in (a specialist's, as the router holds it)."""
        if part.role == "specialist":
            if part.identity is None:
                return None
            return self._calls.get(self.router.specialist_call(part.identity.account_id) or "")
        return self._calls.get(part.call_id) if part.call_id else None

    def spawn(self, coro) -> None:
        """Run `coro` as a task the center keeps track of (cancelled at stop)."""
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
            else:
                await self._routed(d)

    async def _routed(self, d: Decision) -> None:
        """Queue rules the router applied on its own: record them; end what it gave up on."""
        if isinstance(d, Missed):
            call = self._calls.get(d.call_id)
            if call is not None:
                await self._end_call(call, reason=d.reason, ended_by="system")
        elif isinstance(d, Overflowed):
            data = {"from": d.from_queue, "to": d.to_queue, "reason": d.reason}
            await self.store.add_event(d.call_id, "overflowed", utcnow(), data)
        elif isinstance(d, Escalated):
            data = {"queue": d.queue, "step": d.step, "min_proficiency": d.min_proficiency,
                    "scope": d.scope, "priority": d.priority}
            await self.store.add_event(d.call_id, "escalated", utcnow(), data)
        elif isinstance(d, Rona):
            username = self._accounts.get(d.specialist_id, {}).get("username")
            log.warning("specialist %s let %d offers in a row time out: set away", username, d.offers)
            data = {"specialist_id": d.specialist_id, "username": username, "offers": d.offers}
            await self.store.add_event(d.call_id, "rona", utcnow(), data)
        elif isinstance(d, WrapUpEnded):
            self._wrapping_up.pop(d.specialist_id, None)
            await self.store.add_event(d.call_id, "wrap_up_expired", utcnow())

    async def _offered(self, d: Offer) -> None:
        call = self._calls[d.call_id]
        account = self._accounts[d.specialist_id]
        await self.store.update_session(
            d.call_id,
            brief=True,
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
        call.answered_mono = self._mono()
        call.media_deadline = self._mono() + self.settings.media_timeout_s
        now = utcnow()
        # Switch the media first: the pre-opened legs start flowing while the
        # answer is committed (media_at is recorded after it, under the lock).
        await self._bridge_if_ready(call)
        await self.store.update_session(
            d.call_id,
            brief=True,
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

    def _connected_for_caller(self, call: Call) -> dict:
        account = self._accounts.get(call.specialist_id or -1, {})
        return {"call_id": call.id, "specialist": {"display_name": account.get("display_name")}}

    async def _offer_ended(self, d: OfferEnded) -> None:
        event = {"declined": "declined", "timeout": "offer_timeout", "withdrawn": "offer_withdrawn"}[d.reason]
        if d.call_id in self._calls and d.reason != "withdrawn":
            await self.store.update_session(
                d.call_id,
                brief=True,
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
        if d.reason:
            payload["reason"] = d.reason  # e.g. "rona": set away after offers in a row timed out
        if d.state == "wrap_up" and d.call_id:
            # The router ends wrap-up when the queue's wrap_up_s runs out (WrapUpEnded).
            self._wrapping_up[d.specialist_id] = d.call_id
        for state, count in self.router.counts_by_state().items():
            self.telemetry.specialists.labels(state).set(count)
        await self._emit_specialist(d.specialist_id, "agent:state", payload)

    async def _bridge_if_ready(self, call: Call) -> None:
        if call.bridge is not None and call.bridge.closed:
            call.bridge = None  # one of its legs was closed (replaced after a failure)
        if not call.answered or call.bridge is not None or call.specialist_id is None or call.held:
            return
        caller = self._participants.get(call.caller_sid) if call.caller_sid else None
        spec_sid = self._specialist_sids.get(call.specialist_id)
        spec = self._participants.get(spec_sid) if spec_sid else None
        if caller is None or spec is None or caller.leg is None or spec.leg is None:
            return
        call.bridge = self.media.bridge(
            caller.leg,
            spec.leg,
            # Stamp media_at when the media flows, not when the lock is free to record it.
            on_media=lambda call_id=call.id: self.spawn(self._media_flowing(call_id, utcnow())),
            session_id=call.id,
            record=call.record,
        )

    async def _media_flowing(self, call_id: str, at: datetime) -> None:
        async with self._lock:
            call = self._calls.get(call_id)
            if call is not None and call.media_lost_since is not None:
                call.media_lost_since = None  # a replaced leg is bridged and flowing again
                await self.store.add_event(call_id, "media_restored", utcnow())
            if call is None or call.media_flowing:
                return
            call.media_flowing, call.media_deadline = True, None
            session = await self.store.update_session(call_id, event="media", at=at, media_at=at, brief=True)
            if session.get("connect_ms") is not None:
                self.telemetry.connect_seconds.observe(session["connect_ms"] / 1000)

    async def _leg_state(self, sid: str, state: str, leg: Any = None) -> None:
        await self._emit("rtc:state", {"state": state}, to=sid, namespace=self._namespace(sid))
        if state not in ("failed", "closed"):
            return
        async with self._lock:  # the leg died under a live call: wait for a new one (media grace)
            part = self._participants.get(sid)
            if part is None or leg is None or part.leg is not leg:
                return  # the participant left, or the leg was already replaced
            call = self._call_of(part)
            if call is None or not call.answered or call.media_lost_since is not None:
                return
            call.media_lost_since = self._mono()
            if call.bridge is not None:
                await call.bridge.close()
                call.bridge = None
            await self.store.add_event(call.id, "media_lost", utcnow(), {"party": part.role})

    def _namespace(self, sid: str) -> str:
        part = self._participants.get(sid)
        if part and part.role == "admin":
            return ADMIN_NS
        return AGENT_NS if part and part.role == "specialist" else CALLER_NS

    async def _end_call(self, call: Call, *, reason: str, ended_by: str) -> None:
        """End a live session: one terminal outcome, recorded, told to both sides."""
        if self._calls.pop(call.id, None) is None:
            return
        if call.bridge is not None:
            await call.bridge.close()
            call.bridge = None
        self.media.end_session(call.id)  # finalizes the recordings; detaches monitors
        await self._end_monitors(call.id, "call_ended")
        if reason == "transferred":
            outcome = "transferred"
        elif call.answered:
            outcome = "answered" if call.media_flowing else "failed"
        elif ended_by == "caller":
            outcome = "abandoned"
        else:
            outcome = "missed"
        now = utcnow()
        await self.store.update_session(
            call.id,
            brief=True,
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
            await self._emit_specialist(
                call.specialist_id, "call:ended",
                {**ended, "wrap_up_s": self.router.settings_for(self.router.session_queue(call.id) or "").wrap_up_s},
            )
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
                    reason = "caller_disconnected" if call.answered else "caller_left"
                    await self._end_call(call, reason=reason, ended_by="caller")
                elif (
                    call.media_lost_since is not None
                    and now - call.media_lost_since >= self.settings.media_grace_s
                ):
                    await self._end_call(call, reason="media_failed", ended_by="system")
            for spec_id, since in list(self._specialist_gone.items()):
                if now - since >= self.settings.reconnect_grace_s and spec_id not in self._specialist_sids:
                    call = self._calls.get(self.router.specialist_call(spec_id) or "")
                    if call is not None and self.router.specialist_state(spec_id) == "busy":
                        await self._end_call(call, reason="specialist_disconnected", ended_by="specialist")
                    await self._logout(spec_id)
            if datetime.now().date() != self._day:  # fewest_calls and least_talk_time count per day
                self._day = datetime.now().date()
                self.router.new_day()
            self.telemetry.waiting.set(self.router.waiting_count())
