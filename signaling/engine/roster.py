"""Who is in a call, who receives whom, and what each is told of the others (issue 13).

A plain call (a caller and the specialist who answered it) is a bridge, as always. From the moment
a session needs more — an invited specialist joined, or a supervisor speaks (whisper, barge) — its
media is a several-party call of the media plane (media/call.py), declared here as a whole: the
parties (their legs) and, per party, whose media it receives. The media plane reconciles the legs,
asks for more transceivers (`rtc:renegotiate`) and says which of a receiver's transceivers carries
whom, which goes out as `call:participants`.

The audience rules (docs/contract.md, "Several people in one call"):
- everyone receives everyone, except that
- in a consult, or while the owner holds the call, the caller receives nobody and nobody receives it
  (a supervisor still does);
- a supervisor receives everyone; only the specialists receive it in `whisper` (audio only), everyone
  in `barge`; nobody in `listen`.

It also keeps the session log's participant rows (table `session_participants`) through the writer.
"""

from __future__ import annotations

from datetime import datetime

from .live import LiveSession, Participant
from .presence import NAMESPACE_OF
from .sessions import SessionMachine, utcnow

CALLER = "caller"
HEARD_BY = {"listen": (), "whisper": ("specialist",), "barge": ("specialist", "caller")}


def specialist_party(specialist_id: int) -> str:
    return f"specialist:{specialist_id}"


def supervisor_party(account_id: int) -> str:
    return f"supervisor:{account_id}"


class Roster:
    def __init__(self, sessions: SessionMachine):
        self.sessions = sessions
        self.presence = sessions.presence
        self.media = sessions.media
        self.writer = sessions.writer
        sessions.on_answered.append(self._answered)
        sessions.syncers.append(self.sync)

    # -- who -------------------------------------------------------------------------

    def supervisors(self, session: LiveSession) -> list[Participant]:
        return [p for p in self.presence.participants.values()
                if p.role == "admin" and p.monitoring == session.id and p.identity is not None]

    def members(self, session: LiveSession) -> dict[str, Participant | None]:
        """Party id -> the participant (None while its console or page is away), in a stable order."""
        out: dict[str, Participant | None] = {
            CALLER: self.presence.get(session.caller_sid) if session.caller_sid else None}
        for spec_id in session.specialists():
            out[specialist_party(spec_id)] = self.presence.specialist(spec_id)
        for sup in self.supervisors(session):
            assert sup.identity is not None
            out[supervisor_party(sup.identity.account_id)] = sup
        return out

    def receives(self, session: LiveSession, parties: list[str]) -> tuple[dict[str, set[str]], frozenset[str]]:
        """Per party, whose media it receives; and the senders whose video goes to nobody."""
        caller_apart = session.mode == "consult" or session.held
        people = [p for p in parties if not p.startswith("supervisor:")]
        out: dict[str, set[str]] = {}
        for p in people:
            out[p] = set() if p == CALLER and caller_apart else {
                q for q in people if q != p and not (q == CALLER and caller_apart)}
        audio_only = set()
        for sup in self.supervisors(session):
            assert sup.identity is not None
            sid = supervisor_party(sup.identity.account_id)
            if sid not in parties:
                continue
            out[sid] = set(people)
            heard_by = HEARD_BY.get(sup.monitor_mode, ())
            for p in people:
                if ("caller" if p == CALLER else "specialist") in heard_by and not (p == CALLER and caller_apart):
                    out[p].add(sid)
            if sup.monitor_mode == "whisper":
                audio_only.add(sid)
        return out, frozenset(audio_only)

    def needs_call(self, session: LiveSession) -> bool:
        return session.call is not None or session.guest is not None or any(
            s.monitor_mode != "listen" for s in self.supervisors(session))

    # -- media -----------------------------------------------------------------------

    def sync(self, session: LiveSession) -> bool:
        """Declare the session's picture to its several-party call, if it needs one (False: a bridge will do)."""
        if not session.answered or session.id not in self.sessions.live or not self.needs_call(session):
            return False
        if session.call is None:
            session.bridge = None  # the call takes the legs over from the bridge (it detaches it)
            session.call = self.media.call(
                session.id, record=session.record,
                on_media=lambda party, session_id=session.id: self.sessions.media_flowing(session_id, utcnow()),
                on_renegotiate=lambda party, counts, session_id=session.id: self._renegotiate(session_id, party, counts),
                on_layout=lambda party, session_id=session.id: self._layout_changed(session_id, party),
            )
        legs = {pid: part.leg for pid, part in self.members(session).items()
                if part is not None and part.leg is not None and not part.leg.closed}
        receives, audio_only = self.receives(session, list(legs))
        session.call.set(legs, receives, audio_only=audio_only)
        picture = (session.mode, tuple(self.members(session)), tuple(sorted((k, tuple(sorted(v))) for k, v in receives.items())))
        if picture != session.picture:  # who is in it or who receives whom changed: everyone is told
            session.picture = picture
            for pid, part in self.members(session).items():
                if part is not None:
                    self.presence.outbox.put("call:participants", self.participants_for(session, pid), part.sid,
                                             _namespace(part))
        return True

    def _renegotiate(self, session_id: str, party: str, counts: dict) -> None:
        session = self.sessions.live.get(session_id)
        part = self.members(session).get(party) if session is not None else None
        if part is not None:  # called by media/ outside any await: queue it, the outbox sends in order
            self.presence.outbox.put("rtc:renegotiate", {"audio": counts.get("audio", 0), "video": counts.get("video", 0)},
                                     part.sid, _namespace(part))

    def _layout_changed(self, session_id: str, party: str) -> None:
        session = self.sessions.live.get(session_id)
        if session is not None:
            part = self.members(session).get(party)
            if part is not None:
                self.presence.outbox.put("call:participants", self.participants_for(session, party), part.sid,
                                         _namespace(part))

    # -- telling -----------------------------------------------------------------------

    def participants_for(self, session: LiveSession, receiver: str) -> dict:
        """S→C `call:participants` for one receiver: the others whose media its leg carries, with their mids."""
        mids = session.call.mids(receiver) if session.call is not None else {}
        members = self.members(session)
        receives, _ = self.receives(session, list(members))
        listed = []
        for pid in members:
            if pid == receiver or pid not in receives.get(receiver, ()):
                continue
            listed.append({"id": pid, "role": pid.split(":")[0], "display_name": self.display_name(session, pid),
                           **mids.get(pid, {})})
        return {"call_id": session.id, "mode": session.mode, "participants": listed}

    def display_name(self, session: LiveSession, party: str) -> str | None:
        if party == CALLER:
            return session.caller.get("name")
        account = self.presence.account(int(party.partition(":")[2]))
        return account.get("display_name") or account.get("username")

    # -- the log: session_participants -----------------------------------------------------

    def joined(self, session_id: str, role: str, account_id: int | None, display_name: str | None, *,
               mode: str | None = None, invite_id: str | None = None, wait_ms: int | None = None,
               at: datetime | None = None) -> None:
        self.writer.participant(session_id, role=role, account_id=account_id, display_name=display_name or "",
                                mode=mode, invite_id=invite_id, wait_ms=wait_ms, at=at or utcnow())

    def left(self, session_id: str, role: str | None = None, account_id: int | None = None,
             at: datetime | None = None) -> None:
        """Close the open rows of one person in the session (role None: everyone's, the session ended)."""
        self.writer.participant_left(session_id, role=role, account_id=account_id, at=at or utcnow())

    def _answered(self, session: LiveSession) -> None:
        self.caller_and_owner_joined(session, "front_desk")

    def caller_and_owner_joined(self, session: LiveSession, role: str, mode: str | None = None) -> None:
        now = utcnow()
        self.joined(session.id, "caller", None, session.caller.get("name"), at=now)
        account = self.presence.account(session.specialist_id)
        self.joined(session.id, role, session.specialist_id, account.get("display_name"), mode=mode, at=now)


def _namespace(part: Participant) -> str:
    return NAMESPACE_OF[part.role]


__all__ = ["Roster", "specialist_party", "supervisor_party", "CALLER"]
