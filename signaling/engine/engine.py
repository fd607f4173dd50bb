"""The session engine: one facade over presence, the session state machine, in-call
features, supervision and the read models.

Each adapter call takes the engine's lock, runs one part, and returns. Under
the lock nothing waits for the database or the sockets: transitions go to the
session writer (store/writer.py), which records them in order, and messages to
the outbox (outbox.py), which sends them in order. A `call:request` is
acknowledged after the lock is released, once its own record is durable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any, Callable

from ..auth import Identity, Tokens
from ..config import Settings
from ..media import MediaError
from ..notify import Notifier
from ..routing import Router
from ..store import Store
from ..store.writer import SessionWriter, StoreUnavailable
from ..telemetry import Telemetry
from .appointments import Appointments
from .callbacks import Callbacks
from .errors import BadInput, Conflict, NotFound, Unauthorized, Unavailable
from .hours import OpeningHours
from .incall import InCall
from .invitations import Invitations
from .roster import Roster
from .live import LiveSession, Participant
from .presence import Emit, Presence
from .video import video_changed
from .readmodels import ReadModels
from .sessions import SessionMachine, utcnow
from .supervision import Supervision
from .quality import QualityWatch

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT_S = 10.0  # a database read at connect or request time gives up after this (then the cache)
TICK_S = 0.1
# The catalog and queue settings are read again this often, so that edits made outside the
# admin API (the command line, another node) reach a running engine.
RELOAD_S = 60.0


class SessionEngine:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        media: Any,
        tokens: Tokens,
        telemetry: Telemetry,
        emit: Emit,
        writer: SessionWriter,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.store = store
        self.media = media
        self.tokens = tokens
        self.telemetry = telemetry
        self.writer = writer
        self.clock = clock
        self.lock = asyncio.Lock()
        # What a waiting caller may do besides waiting and leaving: keep its place, book an appointment.
        options = ("wait", "leave") + (("keep_place",) if settings.callbacks else ()) + (
            ("book",) if settings.appointments else ())
        self.router = Router(offer_timeout_s=settings.offer_timeout_s, wrap_up_s=settings.wrap_up_s,
                             max_wait_s=settings.max_wait_s or None,
                             max_wait_no_agent_s=settings.max_wait_no_agent_s or None,
                             callback_accept_s=settings.callback_accept_s, waiting_options=options)
        self.presence = Presence(emit)
        self.sessions = SessionMachine(settings, self.router, self.presence, writer, media, tokens, telemetry, clock)
        self.incall = InCall(self.sessions, store)
        self.roster = Roster(self.sessions)  # several people in one call: who receives whom, the participants log
        self.invitations = Invitations(self.sessions, self.roster, settings.invite_timeout_s)
        self.supervision = Supervision(self.sessions, self.roster)
        self.read = ReadModels(self.sessions, self.supervision, store)
        self.catalog: dict[str, dict] = {}  # service item code -> item, for requests without a database read
        self.opening = OpeningHours()  # when calls are taken (engine/hours.py)
        self.notifier = Notifier(settings.notify_webhook_url, settings.notify_webhook_secret)  # notify.py
        self.callbacks = Callbacks(self.sessions, self.notifier, settings.base_url(), settings.callbacks)
        self.appointments = Appointments(store, settings, self.notifier, self.spawn)
        self.sessions.on_answered.append(self.appointments.answered)
        # Network quality of live calls (engine/quality.py): call:quality, samples, the summary at the end.
        self.quality = QualityWatch(self.sessions, self.lock, settings.quality_interval_s, telemetry)
        self.stopping = False
        self._day = datetime.now().date()
        self._ticker: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        closed = await self.store.close_open_sessions(utcnow(), alive_at=self.writer.previous_alive_at)
        if closed:
            log.warning("closed %d sessions left open by a previous run", closed)
        # The journal is replayed by now: every reference handed out before is in the database.
        await self.sessions.references.seed(utcnow(), self.store.last_reference_number)
        await self.reload_catalog()
        await self.reload_hours()
        await self.appointments.reload()
        self.notifier.start()
        self._ticker = asyncio.create_task(self._tick_loop(), name="engine-tick")
        self.spawn(self._reload_loop())
        if self.quality.enabled:
            self.spawn(self.quality.run())

    async def reload_catalog(self) -> None:
        """Hand the queue settings and the catalog to the router (start-up, and after every edit)."""
        items = await self.store.all_service_items()
        queues = await self.store.queue_settings()
        async with self.lock:
            self.catalog = {item["code"]: item for item in items}
            categories = {code: item["category"] for code, item in self.catalog.items()}
            await self.sessions.apply(self.router.configure(queues, categories, self.clock()))

    async def reload_hours(self) -> None:
        """Take the opening hours and calendar overrides (start-up, after every edit, every minute)."""
        config = await self.store.opening_hours()
        async with self.lock:
            self.opening.configure(config)

    async def drain(self, seconds: float) -> None:
        """A graceful stop: refuse new requests at once and route nothing more (sessions not yet
        answered end now); let answered calls finish for up to `seconds`; then end the rest.
        Every participant gets `call:ended` with `server_shutdown` while its socket is still open."""
        self.stopping = True
        async with self.lock:
            for session in list(self.sessions.live.values()):
                if not session.answered:
                    await self.sessions.end(session, reason="server_shutdown", ended_by="system")
        deadline = self.clock() + seconds
        while self.sessions.live and self.clock() < deadline:
            await asyncio.sleep(0.2)
        async with self.lock:
            await self.sessions.end_all("server_shutdown")
        await self.presence.outbox.flushed()

    async def stop(self) -> None:
        """Stop routing at once; end every live session with `server_shutdown`; close the media."""
        self.stopping = True
        if self._ticker:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        async with self.lock:
            await self.sessions.end_all("server_shutdown")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.presence.outbox.close()
        await self.notifier.close()
        for part in list(self.presence.participants.values()):
            await self._close_leg(part)
        await self.media.close()

    def spawn(self, coro) -> None:
        """Run `coro` as a task the engine keeps track of (cancelled at stop)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- specialists -----------------------------------------------------------------

    async def specialist_connected(self, sid: str, identity: Identity) -> bool:
        """Register a specialist's console; True when it comes back to a call or wrap-up it dropped out of."""
        account, skills = await self._specialist_record(identity.account_id)
        async with self.lock:
            presence = self.presence
            old_sid = presence.specialist_sids.get(identity.account_id)
            if old_sid is not None and old_sid in presence.participants:
                # One console per specialist: the newest connection takes over.
                presence.participants[old_sid].identity = None
                await presence.to_sid(old_sid, "session:replaced", {})
            presence.accounts[identity.account_id], presence.skills[identity.account_id] = account, skills
            presence.participants[sid] = Participant(sid=sid, role="specialist", identity=identity)
            presence.specialist_sids[identity.account_id] = sid
            await self.sessions.apply(self.router.login(identity.account_id, skills, self.clock()))
            return presence.gone.pop(identity.account_id, None) is not None

    async def _specialist_record(self, account_id: int) -> tuple[dict, dict[str, int]]:
        """The account and skills, from the database, or as last known while it does not answer."""
        try:
            account = await asyncio.wait_for(self.store.get_account(account_id), LOOKUP_TIMEOUT_S)
            skills = await asyncio.wait_for(self.store.skill_levels(account_id), LOOKUP_TIMEOUT_S)
        except Exception as exc:  # the database is down: what this node knew is good enough to answer calls
            if account_id in self.presence.accounts:
                return self.presence.accounts[account_id], self.presence.skills[account_id]
            log.warning("specialist %s cannot be signed in: the database does not answer (%s)", account_id, exc)
            raise Unavailable("service_unavailable", "sign-in is unavailable for a moment; try again") from None
        if account is None:
            raise Unauthorized("unknown_account", "this account no longer exists")
        return account, skills

    async def specialist_disconnected(self, sid: str) -> None:
        async with self.lock:
            part = self.presence.participants.pop(sid, None)
            if part is None:
                return
            spec_id = part.identity.account_id if part.identity is not None else None
            if spec_id is not None and self.presence.specialist_sids.get(spec_id) == sid:
                del self.presence.specialist_sids[spec_id]
                await self.invitations.guest_disconnected(spec_id)  # invited into a call: out of it at once
                state = self.router.specialist_state(spec_id)  # an invited one is ready or away by now
                if state in ("busy", "wrap_up"):
                    # A reload or network blip: the call and the wrap-up wait for the console for the grace.
                    self.presence.gone[spec_id] = self.clock()
                    await self.sessions.apply(self.router.specialist_gone(spec_id, self.clock()))
                    session = self.sessions.live.get(self.router.specialist_call(spec_id) or "")
                    if state == "busy" and session is not None:
                        self.writer.event(session.id, "specialist_disconnected", utcnow())
                        await self.sessions.unbridge(session)
                        await self.presence.to_caller(session, "call:media", {
                            "call_id": session.id, "party": "specialist", "state": "lost",
                            "reason": "specialist_disconnected",
                        })
                else:
                    await self._logout(spec_id)
        await self._close_leg(part)

    async def _logout(self, spec_id: int) -> None:
        self.sessions.wrapping_up.pop(spec_id, None)
        self.presence.gone.pop(spec_id, None)
        await self.sessions.apply(self.router.logout(spec_id, self.clock()))

    async def set_state(self, sid: str, state: str, auto_answer: bool | None) -> str:
        async with self.lock:
            spec_id = self.presence.specialist_id(sid)
            invite_call = self.router.specialist_call(spec_id) or ""
            if state != "ready" and self.invitations.invite_of(spec_id, invite_call):
                await self.invitations.decline(spec_id, invite_call)  # going away declines an invitation
            return await self.sessions.set_state(spec_id, state, auto_answer)

    async def accept(self, sid: str, session_id: str) -> None:
        async with self.lock:
            spec_id = self.presence.specialist_id(sid)  # a session's offer or an invitation: told apart by what rings
            if self.invitations.invite_of(spec_id, session_id):
                await self.invitations.accept(spec_id, session_id)
            else:
                await self.sessions.accept(spec_id, session_id)

    async def decline(self, sid: str, session_id: str) -> None:
        async with self.lock:
            spec_id = self.presence.specialist_id(sid)
            if self.invitations.invite_of(spec_id, session_id):
                await self.invitations.decline(spec_id, session_id)
            else:
                await self.sessions.decline(spec_id, session_id)

    async def wrapup(self, sid: str, session_id: str, **fields: Any) -> None:
        async with self.lock:
            await self.sessions.wrapup(self.presence.specialist_id(sid), session_id, fields)

    async def my_day(self, sid: str) -> dict:
        return await self.read.my_day(self.presence.specialist_id(sid))

    def transfer_targets(self, sid: str) -> list[dict]:
        return self.incall.transfer_targets(sid)

    # -- callers -----------------------------------------------------------------------

    async def caller_connected(self, sid: str, resume_token: str | None, address: str = "") -> dict | None:
        """Register a caller; with a valid call token, reattach it to its live session."""
        async with self.lock:
            session = None
            if resume_token is not None:  # checked first: a refused connection must leave nothing behind
                session_id = self.tokens.verify_call_token(resume_token)
                session = self.sessions.live.get(session_id) if session_id else None
                if session is None:
                    raise NotFound("unknown_call", "this call has ended or the token is invalid")
            self.presence.admit_caller(sid, address, self.settings.max_sockets_per_address)
            part = Participant(sid=sid, role="caller")
            self.presence.participants[sid] = part
            if session is None:
                return None
            old = self.presence.get(session.caller_sid) if session.caller_sid else None
            if old is not None and old.sid != sid:
                old.session_id = None
                await self.presence.to_sid(old.sid, "session:replaced", {})
            session.caller_sid, session.caller_gone_since = sid, None
            part.session_id = session.id
            self.writer.event(session.id, "resumed", utcnow())
            await self.sessions.apply(self.router.caller_back(session.id, self.clock()))
            return {"call_id": session.id, "status": "connected" if session.answered else "queued"}

    async def caller_disconnected(self, sid: str) -> None:
        async with self.lock:
            self.presence.caller_addresses.pop(sid, None)
            part = self.presence.participants.pop(sid, None)
            if part is None:
                return
            session = self.sessions.live.get(part.session_id) if part.session_id else None
            if session is not None and session.caller_sid == sid:
                # A reload or network blip, queued or answered: keep the session for the
                # grace period; a queued one keeps its place but is offered to nobody meanwhile.
                session.caller_sid = None
                session.caller_gone_since = self.clock()
                self.writer.event(session.id, "caller_disconnected", utcnow())
                await self.sessions.unbridge(session)
                if session.answered:
                    await self.presence.to_specialist(session.specialist_id, "call:media", {
                        "call_id": session.id, "party": "caller", "state": "lost", "reason": "caller_disconnected",
                    })
                else:
                    await self.sessions.apply(self.router.caller_gone(session.id, self.clock()))
        await self._close_leg(part)

    async def after_resume(self, sid: str) -> None:
        """Repeat to a resumed caller or specialist what it would otherwise have missed.

        Its new leg (`rtc:offer`) is bridged as soon as it is up."""
        async with self.lock:
            part = self.presence.get(sid)
            if part is None:
                return
            if part.role == "specialist" and part.identity is not None:
                ended = self.sessions.wrap_up_of(part.identity.account_id)
                if ended is not None:  # the console came back in wrap-up: show the form again
                    await self.presence.to_sid(sid, "call:ended", ended)
                    return
            session = self.sessions.of(part)
            if session is None:
                return
            if not session.answered or session.specialist_id is None:
                if part.role == "caller":
                    await self.sessions.apply(self.router.refresh_position(session.id, self.clock()))
                return
            history = {"call_id": session.id, "messages": list(session.messages)}
            restored = {"call_id": session.id, "party": part.role, "state": "restored"}
            if part.role == "specialist":
                self.writer.event(session.id, "specialist_reconnected", utcnow())
                await self.presence.to_sid(sid, "call:connected", self.sessions.connected_for_specialist(session))
                await self.presence.to_sid(sid, "chat:history", history)
                await self.presence.to_caller(session, "call:media", restored)
            else:
                await self.presence.to_caller(session, "call:connected", self.sessions.connected_for_caller(session))
                await self.presence.to_caller(session, "chat:history", history)
                if session.held or session.mode == "consult":  # a consult holds the caller too
                    await self.presence.to_caller(session, "call:held", {
                        "call_id": session.id, "held": True, **({"reason": "consult"} if not session.held else {})})
                await self.presence.to_specialist(session.specialist_id, "call:media", restored)

    async def request(self, sid: str, service_item: str | None, caller: dict, appointment: str | None = None) -> dict:
        """A caller asks for a service item; acknowledged once its session row is durable.

        With an appointment token: the caller comes for its booked slot (engine/appointments.py),
        is routed first, and is let in early even before the center opens."""
        received_at = utcnow()  # the session's clock starts when the caller asked
        booked = None
        if appointment is not None:
            booked = await self.appointments.arrival(appointment, service_item, received_at)
            service_item = booked["service_item"]
            caller = {**{k: v for k, v in booked["caller"].items() if v}, **{k: v for k, v in caller.items() if v}}
        if service_item is None:
            raise BadInput("missing_field", "service_item is required")
        item = await self.service_item(service_item)
        if self.stopping:
            raise Unavailable("service_unavailable", "the service is stopping; please call again in a moment")
        if not self.writer.accepting:
            raise Unavailable("service_unavailable", "the service cannot take new calls right now; please try again shortly")
        if booked is None:
            self.opening.check_request(item["code"], received_at)  # Closed, with the next opening
        async with self.lock:
            session = await self.sessions.request(sid, item, caller, received_at, appointment=booked,
                                                  prefer_s=self.appointments.prefer_s)
            if booked is not None:
                self.appointments.arrived(session)
        return await self._acknowledged(session)

    async def keep_place(self, sid: str, session_id: str) -> dict:
        async with self.lock:
            return await self.callbacks.keep_place(sid, session_id)

    async def callback_accept(self, sid: str, session_id: str) -> dict:
        async with self.lock:
            return await self.callbacks.accept(sid, session_id)

    async def requeue(self, sid: str, session_id: str) -> dict:
        """The caller waits again, first in its queue, after its call ended because the specialist's
        console did not come back (who may: engine/requeue.py); acknowledged as a request is."""
        if self.stopping or not self.writer.accepting:
            raise Unavailable("service_unavailable", "the service cannot take calls right now; please try again shortly")
        async with self.lock:
            session = await self.sessions.requeue(sid, session_id, utcnow())
        return await self._acknowledged(session)

    async def _acknowledged(self, session: LiveSession) -> dict:
        """The ack of a new session, once its own record is durable (else it ends at once)."""
        try:
            await self.writer.durable(session.created_seq)
        except StoreUnavailable:
            async with self.lock:
                await self.sessions.end(session, reason="store_unavailable", ended_by="system")
            raise Unavailable("service_unavailable", "the call could not be recorded; please try again") from None
        return {"call_id": session.id, "call_token": session.token, "reference": session.reference}

    async def service_item(self, code: str) -> dict:
        """The catalog's item `code`, offered to callers (NotFound; Conflict when retired)."""
        item = self.catalog.get(code)
        if item is None:  # added since the last reload (e.g. by the command line)
            try:
                item = await asyncio.wait_for(self.store.get_service_item(code), LOOKUP_TIMEOUT_S)
            except Exception:
                item = None
            if item is not None:
                self.catalog[code] = item
        if item is None:
            raise NotFound("unknown_service_item", f"no service item with code {code!r}")
        if item.get("retired"):  # kept for the log, no longer offered (issue 12)
            raise Conflict("service_item_retired", f"{code} is no longer offered; please choose another service item")
        return item

    async def hangup(self, sid: str, session_id: str) -> None:
        async with self.lock:
            part = self.presence.get(sid)
            if part is not None and part.role == "specialist" and part.identity is not None and \
                    self.invitations.is_guest(part.identity.account_id, session_id):
                await self.invitations.leave(sid, session_id)  # an invited specialist's hang-up is a leave
            else:
                await self.sessions.hangup(sid, session_id)

    async def rate(self, sid: str, session_id: str, satisfaction: int, comment: str | None) -> None:
        await self.incall.rate(sid, session_id, satisfaction, comment)

    # -- in a call ---------------------------------------------------------------------

    async def chat(self, sid: str, session_id: str, text: str) -> dict:
        async with self.lock:
            return await self.incall.chat(sid, session_id, text)

    async def hold(self, sid: str, session_id: str, held: bool) -> bool:
        async with self.lock:
            return await self.incall.hold(sid, session_id, held)

    async def screen(self, sid: str, session_id: str, sharing: bool) -> None:
        async with self.lock:
            await self.incall.screen(sid, session_id, sharing)

    async def transfer(self, sid: str, session_id: str, service_item: str | None, specialist: str | None,
                       note: str | None = None) -> dict:
        if self.stopping:
            raise Unavailable("service_unavailable", "the service is stopping; a transfer cannot be started")
        item = await self.service_item(service_item) if service_item is not None else None
        async with self.lock:
            return await self.incall.transfer(sid, session_id, item, specialist, note)

    async def log_caught_up(self, timeout: float = 1.0) -> None:
        """Wait briefly until the session log holds every transition made so far, so that an
        administrator reads what the engine has done (during an outage: what the database has)."""
        try:
            await self.writer.applied(timeout=timeout)
        except StoreUnavailable:
            pass

    async def share_document(self, session_id: str, sender: str, filename: str, content: bytes) -> dict:
        return await self.incall.share_document(session_id, sender, filename, content)

    # -- several people in one call (engine/invitations.py) --------------------------------

    async def invite(self, sid: str, session_id: str, specialist: str | None, service_item: str | None,
                     mode: str, note: str | None = None) -> dict:
        item = await self.service_item(service_item) if service_item is not None else None
        live = self.incall.continuing(session_id)
        documents: list[dict] = []
        if live is not None and live.id == session_id:  # read before the lock: the chat's documents come along
            try:
                documents = await asyncio.wait_for(self.incall.documents_of(session_id), LOOKUP_TIMEOUT_S / 2)
            except Exception as exc:  # the database is down: the invitation goes without them
                log.warning("documents of %s not read for an invitation: %s", session_id, exc)
        async with self.lock:
            return await self.invitations.invite(sid, session_id, specialist, item, mode, note, documents)

    async def invite_cancel(self, sid: str, session_id: str) -> dict:
        async with self.lock:
            return await self.invitations.cancel(sid, session_id)

    async def conference(self, sid: str, session_id: str) -> dict:
        async with self.lock:
            return await self.invitations.conference(sid, session_id)

    async def back_to_caller(self, sid: str, session_id: str) -> dict:
        async with self.lock:
            return await self.invitations.back_to_caller(sid, session_id)

    async def handover(self, sid: str, session_id: str) -> dict:
        async with self.lock:
            return await self.invitations.handover(sid, session_id)

    async def leave(self, sid: str, session_id: str) -> dict:
        async with self.lock:
            return await self.invitations.leave(sid, session_id)

    async def _supervisor_account(self, sid: str) -> dict | None:
        """The account of the administrator on `sid`: its name is what the parties see when it speaks
        to them (whisper, barge). Read once, before the engine's lock."""
        part = self.presence.get(sid)
        identity = part.identity if part is not None else None
        if identity is None or identity.account_id in self.presence.accounts:
            return None
        try:
            account = await asyncio.wait_for(self.store.get_account(identity.account_id), LOOKUP_TIMEOUT_S)
        except Exception:  # the database is down: its username will do
            account = None
        return account or {"id": identity.account_id, "username": identity.username, "display_name": identity.username}

    # -- administrators (supervisors) ------------------------------------------------------

    async def admin_connected(self, sid: str, identity: Identity) -> None:
        async with self.lock:
            self.presence.participants[sid] = Participant(sid=sid, role="admin", identity=identity)

    async def admin_disconnected(self, sid: str) -> None:
        async with self.lock:
            part = self.presence.participants.pop(sid, None)
            if part is None:
                return
            await self.supervision.stop_monitor(part, "admin_disconnected", notify=False)
        await self._close_leg(part)

    async def monitor_start(self, sid: str, session_id: str, mode: str = "listen") -> dict:
        account = await self._supervisor_account(sid)
        async with self.lock:
            return await self.supervision.start(sid, session_id, mode, account)

    async def monitor_stop(self, sid: str, session_id: str | None) -> dict:
        async with self.lock:
            return await self.supervision.stop(sid, session_id)

    # -- media legs ------------------------------------------------------------------------

    async def rtc_offer(self, sid: str, sdp: str) -> str:
        part = self.presence.get(sid)
        if part is None:
            raise Conflict("not_connected", "connect first")
        if part.leg is not None and part.leg.state in ("failed", "closed"):
            await self._close_leg(part)  # a failed leg is replaced: reconnecting is a new offer
        if part.leg is None:
            part.leg = leg = await self.media.open_leg(f"{part.role}:{sid}")
            self.telemetry.legs.inc()
            leg.on_state(lambda state, sid=sid, leg=leg: self.spawn(self._leg_state(sid, state, leg)))  # rtc:state
            leg.on_video(lambda slot, state, source, sid=sid: self.spawn(video_changed(self, sid, state, source)))
        try:
            answer = await part.leg.handle_offer(sdp)
        except MediaError as exc:
            raise BadInput(exc.code, str(exc)) from exc
        async with self.lock:
            session = self.sessions.of(part) or self.sessions.live.get(part.monitoring or "")
            if session is not None:  # a supervisor's leg too: a several-party call takes its new transceivers
                self.sessions.bridge_if_ready(session)
        return answer

    async def rtc_candidate(self, sid: str, payload: dict) -> None:
        part = self.presence.get(sid)
        if part is None or part.leg is None:
            raise Conflict("no_leg", "send rtc:offer before candidates")
        try:
            await part.leg.add_candidate(payload)
        except MediaError as exc:
            raise BadInput(exc.code, str(exc)) from exc

    async def _leg_state(self, sid: str, state: str, leg: Any) -> None:
        await self.presence.to_sid(sid, "rtc:state", {"state": state})
        if state not in ("failed", "closed"):
            return
        async with self.lock:
            part = self.presence.get(sid)
            if part is not None:
                await self.sessions.leg_failed(part, leg)

    async def _close_leg(self, part: Participant) -> None:
        if part.leg is not None:
            leg, part.leg = part.leg, None
            await leg.close()
            self.telemetry.legs.dec()

    # -- time --------------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                async with self.lock:
                    await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep ticking: one bad event must not stop offers timing out
                log.exception("tick failed")

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_S)
            try:
                await asyncio.wait_for(self.reload_catalog(), LOOKUP_TIMEOUT_S * 3)
                await asyncio.wait_for(self.reload_hours(), LOOKUP_TIMEOUT_S)
                await asyncio.wait_for(self.appointments.reload(), LOOKUP_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down: keep what is known
                log.warning("catalog reload failed: %s", exc)

    async def _tick(self) -> None:
        await self.sessions.tick()  # the router's timers, media deadlines, graces
        await self.invitations.tick()  # invitations that rang too long
        now = self.clock()
        for session in self.opening.left_waiting(list(self.sessions.live.values()), self.router, utcnow(), now):
            await self.sessions.end(session, reason="closed", ended_by="system")  # closed, nobody staffed
        self.appointments.sweep(utcnow(), now)  # reminders and no-shows (writes in the background)
        for spec_id, since in list(self.presence.gone.items()):
            if now - since >= self.settings.reconnect_grace_s and not self.presence.signed_in(spec_id):
                session = self.sessions.live.get(self.router.specialist_call(spec_id) or "")
                if session is not None and self.router.specialist_state(spec_id) == "busy":
                    if session.guest is not None and session.specialist_id == spec_id:
                        # whoever stays last with the caller owns the session: the invited specialist
                        await self.invitations.hand_over(session, ended_by="system")
                    else:
                        await self.sessions.end(session, reason="specialist_disconnected", ended_by="specialist")
                await self._logout(spec_id)
        if datetime.now().date() != self._day:  # fewest_calls and least_talk_time count per day
            self._day = datetime.now().date()
            self.router.new_day()
        self.telemetry.waiting.set(self.router.waiting_count())
        self.telemetry.store_backlog.set(self.writer.backlog)


__all__ = ["SessionEngine", "LiveSession"]
