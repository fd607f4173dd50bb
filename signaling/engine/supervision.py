"""Supervision: an administrator's receive-only leg monitoring a live call (media rules in media/monitor.py)."""

from __future__ import annotations

from ..media import MediaError
from .errors import Conflict, NotFound
from .live import LiveSession, Participant
from .sessions import SessionMachine, utcnow


class Supervision:
    def __init__(self, sessions: SessionMachine):
        self.sessions = sessions
        self.presence = sessions.presence
        self.media = sessions.media
        self.writer = sessions.writer
        sessions.on_end.append(self._session_ended)

    def _admin(self, sid: str) -> Participant:
        part = self.presence.get(sid)
        if part is None or part.role != "admin" or part.identity is None:
            raise Conflict("not_connected", "connect to /admin first")
        return part

    async def start(self, sid: str, session_id: str) -> dict:
        """Start feeding the administrator's leg with both parties of a connected call (silent)."""
        part = self._admin(sid)
        session = self.sessions.live.get(session_id)
        if session is None:
            raise NotFound("unknown_call", "no such live call")
        if not session.answered:
            raise Conflict("not_connected", "only a connected call can be monitored")
        if part.leg is None or part.leg.closed or part.leg.state in ("failed", "closed"):
            raise Conflict("no_leg", "open a receive-only leg with rtc:offer first")
        current = self.media.monitor_of(part.leg)
        if part.monitoring == session_id and current is not None and current.session_id == session_id:
            return self.described(session)  # already monitoring it with this leg
        await self.stop_monitor(part, "switched", notify=False)  # the ack says it all
        try:
            self.media.monitor(session.id, part.leg)
        except MediaError as exc:
            raise Conflict(exc.code, exc.message) from exc
        part.monitoring = session.id
        assert part.identity is not None
        self.writer.event(session.id, "monitor_started", utcnow(),
                          {"admin": part.identity.username, "admin_id": part.identity.account_id})
        return self.described(session)

    async def stop(self, sid: str, session_id: str | None) -> dict:
        part = self._admin(sid)
        if part.monitoring is None or (session_id is not None and session_id != part.monitoring):
            raise Conflict("not_monitoring", "this connection is not monitoring that call")
        stopped = part.monitoring
        await self.stop_monitor(part, "stopped", notify=False)
        return {"call_id": stopped}

    def described(self, session: LiveSession) -> dict:
        return {
            "call_id": session.id,
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
        if part.leg is not None:
            self.media.unmonitor(part.leg)
        assert part.identity is not None
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
