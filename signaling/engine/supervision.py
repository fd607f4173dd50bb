"""Supervision: an administrator's leg monitoring a live call (media rules in media/monitor.py).

`listen` is silent; in `whisper` the specialists hear the supervisor, in `barge` everyone does
(the call then becomes a several-party call: engine/roster.py). The mode switches live; the parties
who start or stop hearing the supervisor are told with S→C `call:supervisor`."""

from __future__ import annotations

from ..media import MediaError
from .errors import BadInput, Conflict, NotFound
from .live import LiveSession, Participant
from .roster import HEARD_BY, Roster
from .sessions import SessionMachine, utcnow

MONITOR_MODES = tuple(HEARD_BY)  # listen, whisper, barge


class Supervision:
    def __init__(self, sessions: SessionMachine, roster: Roster):
        self.sessions = sessions
        self.roster = roster
        self.presence = sessions.presence
        self.media = sessions.media
        self.writer = sessions.writer
        sessions.on_end.append(self._session_ended)

    def _admin(self, sid: str) -> Participant:
        part = self.presence.get(sid)
        if part is None or part.role != "admin" or part.identity is None:
            raise Conflict("not_connected", "connect to /admin first")
        return part

    async def start(self, sid: str, session_id: str, mode: str = "listen", account: dict | None = None) -> dict:
        """Start feeding the administrator's leg with the parties of a connected call, or switch its mode.
        `account`: the administrator's, read by the caller (its display name is told to the parties)."""
        if mode not in MONITOR_MODES:
            raise BadInput("invalid_value", f"mode must be one of {', '.join(MONITOR_MODES)}")
        part = self._admin(sid)
        if account is not None and part.identity is not None:
            self.presence.accounts.setdefault(part.identity.account_id, account)
        session = self.sessions.live.get(session_id)
        if session is None:
            raise NotFound("unknown_call", "no such live call")
        if not session.answered:
            raise Conflict("not_connected", "only a connected call can be monitored")
        if part.leg is None or part.leg.closed or part.leg.state in ("failed", "closed"):
            raise Conflict("no_leg", "open a receive-only leg with rtc:offer first")
        if mode != "listen" and not part.leg.received_tracks.get("audio"):
            raise Conflict("leg_cannot_send", "to whisper or barge, offer a leg whose first audio (and video) is sendrecv")
        assert part.identity is not None
        if part.monitoring == session_id and self._following(part, session):
            if mode != part.monitor_mode:
                await self._switch(part, session, mode)
            return self.described(session, mode)  # already monitoring it with this leg
        await self.stop_monitor(part, "switched", notify=False)  # the ack says it all
        part.monitoring, part.monitor_mode = session.id, mode
        try:
            if not self.roster.sync(session):  # a plain call and a silent supervisor: today's monitor
                self.media.monitor(session.id, part.leg)
        except MediaError as exc:
            part.monitoring, part.monitor_mode = None, "listen"
            self.roster.sync(session)
            raise Conflict(exc.code, exc.message) from exc
        self.writer.event(session.id, "monitor_started", utcnow(),
                          {"admin": part.identity.username, "admin_id": part.identity.account_id, "mode": mode})
        self.roster.joined(session.id, "supervisor", part.identity.account_id, self._name(part), mode=mode)
        await self._tell(part, session, "listen", mode)
        return self.described(session, mode)

    def _following(self, part: Participant, session: LiveSession) -> bool:
        """The leg is fed this session: by today's monitor, or as a party of its several-party call."""
        current = self.media.monitor_of(part.leg)
        return session.call is not None or (current is not None and current.session_id == session.id)

    async def _switch(self, part: Participant, session: LiveSession, mode: str) -> None:
        assert part.identity is not None
        old, part.monitor_mode = part.monitor_mode, mode
        try:
            if not self.roster.sync(session):
                self.media.monitor(session.id, part.leg)
        except MediaError as exc:
            part.monitor_mode = old
            self.roster.sync(session)
            raise Conflict(exc.code, exc.message) from exc
        self.writer.event(session.id, "monitor_mode", utcnow(),
                          {"admin": part.identity.username, "admin_id": part.identity.account_id, "mode": mode})
        self.roster.left(session.id, "supervisor", part.identity.account_id)
        self.roster.joined(session.id, "supervisor", part.identity.account_id, self._name(part), mode=mode)
        await self._tell(part, session, old, mode)

    def _name(self, part: Participant) -> str | None:
        assert part.identity is not None
        return self.presence.account(part.identity.account_id).get("display_name") or part.identity.username

    def _hearers(self, session: LiveSession, mode: str) -> dict[str, str]:
        """sid -> party ("caller" or "specialist") of everyone who hears a supervisor in `mode`."""
        heard_by = HEARD_BY.get(mode, ())
        out = {}
        if "caller" in heard_by and session.caller_sid and session.mode != "consult" and not session.held:
            out[session.caller_sid] = "caller"
        if "specialist" in heard_by:
            for spec_id in session.specialists():
                spec = self.presence.specialist(spec_id)
                if spec is not None:
                    out[spec.sid] = "specialist"
        return out

    async def _tell(self, part: Participant, session: LiveSession, old: str, new: str) -> None:
        """S→C `call:supervisor` to each party whose hearing of this supervisor changed."""
        before, after = self._hearers(session, old), self._hearers(session, new)
        for sid in {**before, **after}:
            mode = new if sid in after else None
            if mode != (old if sid in before else None):
                await self.presence.to_sid(sid, "call:supervisor", {
                    "call_id": session.id, "mode": mode, "supervisor": {"display_name": self._name(part)}})

    async def stop(self, sid: str, session_id: str | None) -> dict:
        part = self._admin(sid)
        if part.monitoring is None or (session_id is not None and session_id != part.monitoring):
            raise Conflict("not_monitoring", "this connection is not monitoring that call")
        stopped = part.monitoring
        await self.stop_monitor(part, "stopped", notify=False)
        return {"call_id": stopped}

    def described(self, session: LiveSession, mode: str = "listen") -> dict:
        return {
            "call_id": session.id,
            "mode": mode,
            "service_item": session.service_item,
            "caller": {"name": session.caller.get("name"), "company": session.caller.get("company")},
            "specialist": {"id": session.specialist_id,
                           "display_name": self.presence.account(session.specialist_id).get("display_name")},
        }

    async def stop_monitor(self, part: Participant, reason: str, *, notify: bool = True) -> None:
        """Detach `part`'s monitor (if any), log it, and tell the administrator with `monitor:ended`."""
        session_id, part.monitoring = part.monitoring, None
        if session_id is None:
            return
        mode, part.monitor_mode = part.monitor_mode, "listen"
        session = self.sessions.live.get(session_id)
        if part.leg is not None:
            self.media.unmonitor(part.leg)
        assert part.identity is not None
        if session is not None:
            self.roster.sync(session)  # a several-party call goes on without this supervisor
            await self._tell(part, session, mode, "listen")
            self.roster.left(session_id, "supervisor", part.identity.account_id)
        self.writer.event(session_id, "monitor_stopped", utcnow(), {
            "admin": part.identity.username, "admin_id": part.identity.account_id, "reason": reason,
        })
        if notify:
            await self.presence.to_admin(part.sid, "monitor:ended", {"call_id": session_id, "reason": reason})

    async def _session_ended(self, session: LiveSession) -> None:
        for part in list(self.presence.participants.values()):
            if part.role == "admin" and part.monitoring == session.id:
                await self.stop_monitor(part, "call_ended")

    def watchers(self) -> dict[str, list[str]]:
        """Session id -> usernames of the administrators monitoring it."""
        out: dict[str, list[str]] = {}
        for part in self.presence.participants.values():
            if part.role == "admin" and part.monitoring and part.identity is not None:
                out.setdefault(part.monitoring, []).append(part.identity.username)
        return out
