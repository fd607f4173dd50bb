"""Several people in one call (issue 13): inviting a second specialist, consult, conference,
return, leave and the warm hand-over.

The owner of a session (the specialist who answered it) invites one specialist at a time, by
username or by service item (routing/invites.py chooses). The invitation rings at that specialist
(`ringing` in the router, offered nothing else) until it is accepted, declined, withdrawn, the call
ends, or VW_INVITE_TIMEOUT_S passes. Accepted, the invited specialist is `busy` in the call; the
session stays the owner's: its wrap-up, rating and end. Leaving, it is `ready` again at once.

A hand-over is a transfer that needs no queue: the session ends as `transferred` (the owner goes to
wrap-up) and a new session, linked by `transferred_from` and carrying the chat, documents and note
(as a blind transfer's, incall.py), is answered at once by the invited specialist. Each session
stays one caller's request to one owner, so the log, the metrics and the scores read a hand-over
as they read a transfer; the back office's part before it is in the participants rows.

Every public method runs under the engine's lock.
"""

from __future__ import annotations

import uuid

from ..routing.invites import pick_invitee
from .errors import BadInput, Conflict, Forbidden, NotFound
from .live import Guest, Invite, LiveSession
from .roster import Roster
from .sessions import SessionMachine, utcnow

MODES = ("consult", "conference")


class Invitations:
    def __init__(self, sessions: SessionMachine, roster: Roster, timeout_s: float):
        self.sessions = sessions
        self.roster = roster
        self.presence = sessions.presence
        self.router = sessions.router
        self.writer = sessions.writer
        self.timeout_s = timeout_s
        sessions.on_end.append(self._session_ended)

    # -- lookups ---------------------------------------------------------------------

    def _owned(self, sid: str, session_id: str) -> LiveSession:
        """The connected call `session_id` if `sid` is its owner's console."""
        part, session = self.sessions.joined(sid, session_id)
        if part.role != "specialist":
            raise Forbidden("forbidden", "only a specialist can do this")
        if session.specialist_id != self.presence.specialist_id(sid):
            raise Forbidden("not_owner", "only the specialist who answered the call can do this")
        return session

    def invite_of(self, specialist_id: int, session_id: str) -> Invite | None:
        """The invitation into `session_id` ringing at this specialist, if any."""
        session = self.sessions.live.get(session_id)
        invite = session.invite if session is not None else None
        return invite if invite is not None and invite.specialist_id == specialist_id else None

    def _target(self, me: int, username: str | None, item: dict | None) -> tuple[int, str]:
        """Whom to invite: a named specialist who is ready, or the best one with the item's skill."""
        if username is not None:
            spec_id = next((i for i, account in self.presence.accounts.items()
                            if username in (account.get("username"), str(i)) and self.presence.signed_in(i)), None)
            if spec_id is None:
                raise NotFound("no_such_specialist", "no specialist of that username is signed in")
            if spec_id == me:
                raise Conflict("cannot_invite_self", "you are already in this call")
            if self.router.specialist_state(spec_id) != "ready":
                raise Conflict("specialist_unavailable", "that specialist is not ready")
            return spec_id, "specialist"
        assert item is not None
        spec_id = pick_invitee(self.router.invite_candidates(item["code"], item["category"]), exclude=(me,))
        if spec_id is None:
            raise Conflict("nobody_with_skill", "nobody with that skill is ready now")
        return spec_id, "service_item"

    # -- the invitation ------------------------------------------------------------------

    async def invite(self, sid: str, session_id: str, username: str | None, item: dict | None, mode: str,
                     note: str | None, documents: list[dict]) -> dict:
        if mode not in MODES:
            raise BadInput("invalid_value", f"mode must be one of {', '.join(MODES)}")
        session = self._owned(sid, session_id)
        if session.invite is not None:
            raise Conflict("already_inviting", "an invitation is already ringing; cancel it first")
        if session.guest is not None:
            raise Conflict("call_full", "an invited specialist is already in this call")
        me = session.specialist_id
        assert me is not None
        spec_id, by = self._target(me, username, item)
        now = self.sessions.clock()
        await self.sessions.apply(self.router.reserve(spec_id, session.id, now))
        invite = Invite(id=uuid.uuid4().hex[:16], specialist_id=spec_id, mode=mode, note=note or None, by=by,
                        inviter_id=me, invited_mono=now, deadline=now + self.timeout_s)
        session.invite = invite
        account = self.presence.account(spec_id)
        self.writer.event(session.id, "invited", utcnow(), {
            "invite_id": invite.id, "mode": mode, "specialist": account.get("username"), "specialist_id": spec_id,
            "by": by, **({"note": invite.note} if invite.note else {})})
        await self.presence.to_specialist(spec_id, "call:offered", {
            "call_id": session.id, "reference": session.reference, "service_item": session.service_item,
            "caller": session.caller, "queued_ms": 0, "timeout_s": self.timeout_s,
            "invite": {**self._described(invite), "messages": list(session.messages), "documents": documents},
        })
        return {"invite_id": invite.id, "specialist": {"display_name": account.get("display_name")},
                "timeout_s": self.timeout_s}

    def _described(self, invite: Invite) -> dict:
        return {"invite_id": invite.id, "mode": invite.mode, "note": invite.note,
                "from": {"display_name": self.presence.account(invite.inviter_id).get("display_name")}}

    async def cancel(self, sid: str, session_id: str) -> dict:
        session = self._owned(sid, session_id)
        if session.invite is None:
            raise Conflict("not_inviting", "no invitation is ringing for this call")
        invite_id = session.invite.id
        await self._end_invite(session, "cancelled")
        return {"invite_id": invite_id}

    async def decline(self, specialist_id: int, session_id: str) -> None:
        session = self.sessions.live[session_id]
        await self._end_invite(session, "declined")

    async def _end_invite(self, session: LiveSession, reason: str) -> None:
        """The invitation ends unanswered: both sides are told; the invited specialist is free again."""
        invite, session.invite = session.invite, None
        if invite is None:
            return
        self.writer.event(session.id, "invite_ended", utcnow(), {"invite_id": invite.id, "reason": reason})
        if reason != "declined":  # who declined knows
            await self.presence.to_specialist(invite.specialist_id, "call:offer_ended",
                                              {"call_id": session.id, "invite_id": invite.id, "reason": reason})
        await self.presence.to_specialist(invite.inviter_id, "call:invite_ended",
                                          {"call_id": session.id, "invite_id": invite.id, "reason": reason})
        await self.sessions.apply(self.router.release(invite.specialist_id, session.id, self.sessions.clock()))

    async def accept(self, specialist_id: int, session_id: str) -> None:
        session = self.sessions.live[session_id]
        invite = session.invite
        assert invite is not None and invite.specialist_id == specialist_id
        now = self.sessions.clock()
        await self.sessions.apply(self.router.join(specialist_id, session.id, now))
        session.invite = None
        session.guest = Guest(specialist_id=specialist_id, invite_id=invite.id, note=invite.note,
                              inviter_id=invite.inviter_id)
        session.mode = invite.mode
        wait_ms = round((now - invite.invited_mono) * 1000)
        account = self.presence.account(specialist_id)
        self.writer.event(session.id, "invite_accepted", utcnow(), {
            "invite_id": invite.id, "mode": invite.mode, "specialist": account.get("username"),
            "specialist_id": specialist_id, "wait_ms": wait_ms})
        self.roster.joined(session.id, "back_office", specialist_id, account.get("display_name"), mode=invite.mode,
                           invite_id=invite.id, wait_ms=wait_ms)
        await self.presence.to_specialist(specialist_id, "call:connected", {
            **self.sessions.connected_for_specialist(session), "invite": self._described(invite), "role": "back_office"})
        await self.presence.to_specialist(specialist_id, "chat:history",
                                          {"call_id": session.id, "messages": list(session.messages)})
        if invite.mode == "consult":
            await self._tell_held(session, True)
        self.sessions.bridge_if_ready(session)

    async def _tell_held(self, session: LiveSession, held: bool) -> None:
        """A consult holds the caller (its page shows the hold screen) and lets it go again."""
        payload = {"call_id": session.id, "held": held, **({"reason": "consult"} if held else {})}
        self.writer.event(session.id, "hold" if held else "resume", utcnow(), {"reason": "consult"})
        await self.presence.to_caller(session, "call:held", payload)
        await self.presence.to_specialist(session.specialist_id, "call:held", payload)

    # -- in the call -----------------------------------------------------------------------

    async def conference(self, sid: str, session_id: str) -> dict:
        """A consult becomes a conference: the caller sees and hears both specialists."""
        session = self._owned(sid, session_id)
        if session.mode != "consult" or session.guest is None:
            raise Conflict("not_consulting", "this call is not a consult")
        session.mode = "conference"
        self.writer.event(session.id, "conference", utcnow())
        guest = session.guest
        self.roster.left(session.id, "back_office", guest.specialist_id)
        self.roster.joined(session.id, "back_office", guest.specialist_id,
                           self.presence.account(guest.specialist_id).get("display_name"), mode="conference",
                           invite_id=guest.invite_id)
        await self._tell_held(session, False)
        self.sessions.bridge_if_ready(session)
        return {"mode": "conference"}

    async def back_to_caller(self, sid: str, session_id: str) -> dict:
        """`call:return`: the owner ends the consult (or conference); the invited specialist leaves."""
        session = self._owned(sid, session_id)
        if session.guest is None:
            raise Conflict("nobody_invited", "no invited specialist is in this call")
        self.writer.event(session.id, "returned", utcnow())
        await self._guest_out(session, "returned", ended_by="specialist")
        return {}

    async def leave(self, sid: str, session_id: str) -> dict:
        """`call:leave` (and the invited specialist's `call:hangup`): it leaves, the call goes on."""
        spec_id = self.presence.specialist_id(sid)
        session = self.sessions.live.get(session_id)
        if session is None or not session.answered or spec_id not in session.specialists():
            raise NotFound("unknown_call", "no such connected call")
        if session.guest is None or session.guest.specialist_id != spec_id:
            raise Conflict("not_invited", "the specialist who answered the call hangs up, returns or hands over")
        await self._guest_out(session, "left", ended_by="specialist")
        return {}

    def is_guest(self, specialist_id: int, session_id: str) -> bool:
        session = self.sessions.live.get(session_id)
        return session is not None and session.guest is not None and session.guest.specialist_id == specialist_id

    async def guest_disconnected(self, specialist_id: int) -> bool:
        """An invited specialist's console dropped: it leaves the call at once (True if it was in one or invited)."""
        call_id = self.router.specialist_call(specialist_id)
        session = self.sessions.live.get(call_id or "")
        if session is None:
            return False
        if session.invite is not None and session.invite.specialist_id == specialist_id:
            await self._end_invite(session, "cancelled")
            return True
        if session.guest is not None and session.guest.specialist_id == specialist_id:
            await self._guest_out(session, "disconnected", ended_by="specialist")
            return True
        return False

    async def _guest_out(self, session: LiveSession, reason: str, *, ended_by: str) -> None:
        """The invited specialist is out of the call, which goes on with the caller and the owner."""
        guest, session.guest = session.guest, None
        assert guest is not None
        was_consult, session.mode = session.mode == "consult", None
        account = self.presence.account(guest.specialist_id)
        self.writer.event(session.id, "participant_left", utcnow(), {
            "specialist": account.get("username"), "specialist_id": guest.specialist_id, "reason": reason})
        self.roster.left(session.id, "back_office", guest.specialist_id)
        await self.presence.to_specialist(guest.specialist_id, "call:ended", {
            "call_id": session.id, "reason": reason, "ended_by": ended_by, "invited": True})
        await self.sessions.apply(self.router.release(guest.specialist_id, session.id, self.sessions.clock()))
        if was_consult and session.id in self.sessions.live:
            await self._tell_held(session, False)
        self.sessions.bridge_if_ready(session)

    async def _session_ended(self, session: LiveSession) -> None:
        """The call ended (hang-up, caller gone, a transfer...): a ringing invitation is withdrawn, and
        the invited specialist is out, ready at once."""
        ended = session.ended or {"reason": "hangup", "ended_by": "system"}
        if session.invite is not None:
            await self._end_invite(session, "cancelled")
        if session.guest is not None:
            guest, session.guest = session.guest, None
            account = self.presence.account(guest.specialist_id)
            self.writer.event(session.id, "participant_left", utcnow(), {
                "specialist": account.get("username"), "specialist_id": guest.specialist_id, "reason": "call_ended"})
            await self.presence.to_specialist(guest.specialist_id, "call:ended",
                                              {"call_id": session.id, **ended, "invited": True})
            await self.sessions.apply(self.router.release(guest.specialist_id, session.id, self.sessions.clock()))
        if session.answered:
            self.roster.left(session.id)  # every open participant row of the session is closed

    # -- the hand-over ------------------------------------------------------------------------

    async def handover(self, sid: str, session_id: str) -> dict:
        session = self._owned(sid, session_id)
        if session.guest is None:
            raise Conflict("nobody_invited", "no invited specialist is in this call")
        return await self.hand_over(session, ended_by="specialist")

    async def hand_over(self, session: LiveSession, *, ended_by: str) -> dict:
        """The invited specialist keeps the caller in a new session linked to this one, which ends
        `transferred` (the owner to wrap-up). Also when the owner's console did not come back (`system`)."""
        guest, session.guest = session.guest, None
        assert guest is not None
        session.mode = None
        now = utcnow()
        item = {**session.service_item, "category": session.category, "recording": session.record}
        new = self.sessions.continue_session(session, item, guest.note, now)
        account = self.presence.account(guest.specialist_id)
        self.writer.event(session.id, "handed_over", now, {
            "to_session": new.id, "specialist": account.get("username"), "specialist_id": guest.specialist_id})
        self.writer.event(session.id, "participant_left", now, {
            "specialist": account.get("username"), "specialist_id": guest.specialist_id, "reason": "handed_over"})
        # The router moves the invited specialist onto the new session first; then the old one ends
        # as a transfer does (its owner to wrap-up), without the caller hearing `call:ended`.
        await self.sessions.apply(self.router.hand_over(session.id, new.id, guest.specialist_id, self.sessions.clock()))
        caller = self.presence.get(new.caller_sid) if new.caller_sid else None
        if caller is not None:
            caller.session_id = new.id
        session.caller_sid = None
        await self.sessions.end(session, reason="transferred", ended_by=ended_by)
        await self._answered_by_guest(new, guest.specialist_id)
        return {"new_call_id": new.id}

    async def _answered_by_guest(self, new: LiveSession, specialist_id: int) -> None:
        """The hand-over's session is answered as it is created: no queue, no offer."""
        clock = self.sessions.clock()
        new.answered, new.specialist_id, new.answered_mono = True, specialist_id, clock
        new.media_deadline = clock + self.sessions.settings.media_timeout_s
        now = utcnow()
        self.writer.update(new.id, event="answered", at=now, data={"specialist_id": specialist_id, "handover": True},
                           status="connected", offered_at=now, answered_at=now, specialist_id=specialist_id)
        self.roster.caller_and_owner_joined(new, "back_office", mode="handover")
        self.sessions.bridge_if_ready(new)
        connected = {**self.sessions.connected_for_specialist(new), "handover": True}
        await self.presence.to_specialist(specialist_id, "call:connected", connected)
        await self.presence.to_specialist(specialist_id, "chat:history",
                                          {"call_id": new.id, "messages": list(new.messages)})
        await self.presence.to_caller(new, "call:transferred", {
            "call_id": new.transfer["from_session"] if new.transfer else None, "new_call_id": new.id,
            "call_token": new.token, "reference": new.reference, "service_item": new.service_item,
            "specialist": {"display_name": self.presence.account(specialist_id).get("display_name")},
            "handover": True,
        })
        await self.presence.to_caller(new, "call:connected", self.sessions.connected_for_caller(new))

    # -- time --------------------------------------------------------------------------------

    async def tick(self) -> None:
        now = self.sessions.clock()
        for session in list(self.sessions.live.values()):
            if session.invite is not None and now >= session.invite.deadline:
                await self._end_invite(session, "timeout")


__all__ = ["Invitations", "MODES"]
