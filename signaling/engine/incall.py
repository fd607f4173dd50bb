"""In a call: hold, screen share, chat, documents, transfer and the caller's rating."""

from __future__ import annotations

from typing import Any

from ..store import Store, StoreError
from ..store.documents import Documents
from ..store.models import iso
from ..store.writer import StoreUnavailable
from .errors import Conflict, Forbidden, NotFound, Unavailable
from .sessions import SessionMachine, utcnow

# How long a document upload or a rating waits for the session's rows to be written.
STORE_WAIT_S = 3.0


class InCall:
    def __init__(self, sessions: SessionMachine, store: Store):
        self.sessions = sessions
        self.presence = sessions.presence
        self.router = sessions.router
        self.writer = sessions.writer
        self.store = store
        self.documents = Documents(store)

    async def hold(self, sid: str, session_id: str, held: bool) -> bool:
        """Put the caller on hold (unbridge: no media either way) or take them off it."""
        part, session = self.sessions.joined(sid, session_id)
        if part.role != "specialist" or session.specialist_id != self.presence.specialist_id(sid):
            raise Forbidden("forbidden", "only the specialist who answered the call can hold it")
        if session.held == held:
            return held
        session.held = held
        if held:
            await self.sessions.unbridge(session)
        self.writer.event(session.id, "hold" if held else "resume", utcnow())
        payload = {"call_id": session.id, "held": held}
        await self.presence.to_caller(session, "call:held", payload)
        await self.presence.to_specialist(session.specialist_id, "call:held", payload)
        self.sessions.bridge_if_ready(session)  # off hold: bridged again; with several people: the caller apart
        return held

    async def screen(self, sid: str, session_id: str, sharing: bool) -> None:
        """A participant started or stopped sharing its screen (the 3rd m-line): tell the other."""
        part, session = self.sessions.joined(sid, session_id)
        self.writer.event(session.id, "screen_share", utcnow(), {"from": part.role, "sharing": sharing})
        payload = {"call_id": session.id, "from": part.role, "sharing": sharing}
        me = self.presence.specialist_id(sid) if part.role == "specialist" else None
        if part.role != "caller":
            await self.presence.to_caller(session, "call:screen", payload)
        for spec_id in session.specialists():  # with an invited specialist, the other specialist too
            if spec_id != me:
                await self.presence.to_specialist(spec_id, "call:screen", payload)

    async def chat(self, sid: str, session_id: str, text: str) -> dict:
        part, session = self.sessions.joined(sid, session_id)
        at = utcnow()
        message = {"call_id": session.id, "from": part.role, "text": text, "at": iso(at)}
        if part.role == "specialist":  # with two specialists in a call, whose line it is
            spec_id = self.presence.specialist_id(sid)
            message["specialist"] = {"id": spec_id, "display_name": self.presence.account(spec_id).get("display_name")}
        session.messages.append(message)
        self.writer.event(session.id, "chat", at, {"from": part.role, "text": text,
                                                   **({"specialist_id": message["specialist"]["id"]}
                                                      if "specialist" in message else {})})
        await self.presence.to_caller(session, "chat:message", message)
        for spec_id in session.specialists():  # the owner and an invited specialist
            await self.presence.to_specialist(spec_id, "chat:message", message)
        return message

    async def share_document(self, session_id: str, sender: str, filename: str, content: bytes) -> dict:
        """Keep a document sent during a live session and tell both participants.

        Runs outside the engine's lock: it writes to the database itself, once the
        session's own row is there."""
        session = self.sessions.live.get(session_id)
        if session is None:
            raise Conflict("not_live", "documents can be sent only while the session is live")
        await self._written(session.created_seq)
        doc = await self.documents.add(session_id, sender, filename, content, utcnow())
        event = {"call_id": session_id, "document": doc}
        await self.presence.to_caller(session, "document:shared", event)
        if session.answered or sender == "specialist":
            for spec_id in session.specialists() or [session.specialist_id]:
                await self.presence.to_specialist(spec_id, "document:shared", event)
        return doc

    def continuing(self, session_id: str):
        """The live session that is `session_id` or continues it after transfers, else None."""
        live = self.sessions.live.get(session_id)
        if live is not None:
            return live
        return next((s for s in self.sessions.live.values() if session_id in s.lineage), None)

    async def documents_of(self, session_id: str) -> list[dict]:
        """A session's documents, oldest first; a live one's include those of the sessions it continues."""
        live = self.sessions.live.get(session_id)
        return await self.documents.list([*live.lineage, session_id] if live is not None else [session_id])

    async def rate(self, sid: str, session_id: str, satisfaction: int, comment: str | None) -> None:
        """The caller rates the session it was in, once it has ended (outside the engine's lock)."""
        part = self.presence.get(sid)
        if part is None or part.session_id != session_id:
            raise Forbidden("not_your_call", "rate the session you were in")
        if session_id in self.sessions.live:
            raise Conflict("not_ended", "a session can be rated once it has ended")
        await self._written()
        try:
            await self.store.rate_session(session_id, satisfaction, comment, utcnow())
        except StoreError as exc:
            if exc.code == "already_rated":
                raise Conflict("already_rated", "this session has already been rated") from exc
            raise NotFound(exc.code, exc.message) from exc

    async def _written(self, seq: int | None = None) -> None:
        try:
            await self.writer.applied(seq, timeout=STORE_WAIT_S)
        except StoreUnavailable:
            raise Unavailable("service_unavailable", "the session log is catching up; try again shortly") from None

    def transfer_targets(self, sid: str) -> list[dict]:
        """Specialists signed in now, other than the asking one, with their state."""
        me = self.presence.specialist_id(sid)
        return [
            {"id": spec_id, "username": account["username"], "display_name": account["display_name"],
             "state": self.router.specialist_state(spec_id)}
            for spec_id, account in sorted(self.presence.accounts.items())
            if spec_id != me and self.presence.signed_in(spec_id)
        ]

    async def transfer(self, sid: str, session_id: str, item: dict | None, specialist: str | None,
                       note: str | None = None) -> dict:
        """Transfer a connected call: this session ends as `transferred`; a new one,
        linked by `transferred_from`, is queued for another service item or offered to
        a named specialist. The caller keeps its connection and leg and is told with
        S→C `call:transferred` (new call id, call token and reference).

        The new session carries the context: the chat so far, the documents of the sessions
        it continues (`lineage`), the note, and who transferred it (`transfer` in its offer)."""
        part, session = self.sessions.joined(sid, session_id)
        if part.role != "specialist" or session.specialist_id != self.presence.specialist_id(sid):
            raise Forbidden("forbidden", "only the specialist who answered the call can transfer it")
        if item is None:
            item = {**session.service_item, "category": session.category, "recording": session.record}
        target = None
        if specialist is not None:
            target = next(
                (t for t in self.transfer_targets(sid) if specialist in (t["username"], str(t["id"]))), None
            )
            if target is None:
                raise Conflict("specialist_unavailable", "that specialist is not signed in")
            if not self.router.has_skill(target["id"], item["code"], item["category"]):
                raise Conflict("not_qualified", "that specialist does not handle this service item")
        new = self.sessions.continue_session(session, item, note, utcnow())
        self.writer.event(session.id, "transferred", utcnow(), {
            "to_session": new.id, "service_item": item["code"], "specialist": target["username"] if target else None,
            **({"note": note} if note else {}),
        })
        session.caller_sid = None  # the caller is told below, not "ended"
        caller = self.presence.get(new.caller_sid) if new.caller_sid else None
        if caller is not None:
            caller.session_id = new.id
        await self.sessions.end(session, reason="transferred", ended_by="specialist")
        await self.presence.to_caller(new, "call:transferred", {
            "call_id": session.id,
            "new_call_id": new.id,
            "call_token": new.token,
            "reference": new.reference,
            "service_item": new.service_item,
            "specialist": {"display_name": target["display_name"]} if target else None,
        })
        extra: dict[str, Any] = {"only_specialist": target["id"]} if target else {}
        await self.sessions.apply(self.router.request(new.id, item["code"], item["category"],
                                                      self.sessions.clock(), **extra))
        return {"new_call_id": new.id}
