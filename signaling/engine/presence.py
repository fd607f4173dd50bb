"""Presence: who is connected, on which socket, and how to reach them."""

from __future__ import annotations

from .errors import Conflict, TooMany
from .live import LiveSession, Participant
from .outbox import Emit, Outbox

CALLER_NS, AGENT_NS, ADMIN_NS = "/caller", "/agent", "/admin"
NAMESPACE_OF = {"caller": CALLER_NS, "specialist": AGENT_NS, "admin": ADMIN_NS}  # by participant role


class Presence:
    def __init__(self, emit: Emit):
        self.outbox = Outbox(emit)  # sent after the lock, in order (outbox.py)
        self.participants: dict[str, Participant] = {}
        self.specialist_sids: dict[int, str] = {}  # specialist id -> its active console
        # Accounts of specialists seen since start (display names; a console that reconnects
        # while the database is down is still let in with what was known).
        self.accounts: dict[int, dict] = {}
        self.skills: dict[int, dict[str, int]] = {}
        # Specialists whose console dropped during a call or wrap-up: id -> when (they may come back).
        self.gone: dict[int, float] = {}
        self.caller_addresses: dict[str, str] = {}  # a caller's sid -> the client address it came from

    def admit_caller(self, sid: str, address: str, max_sockets: int) -> None:
        """Callers are anonymous: cap the sockets one client address may hold (an office behind one
        NAT shares an address, so the cap is generous)."""
        if sum(1 for a in self.caller_addresses.values() if a == address) >= max_sockets:
            raise TooMany("too_many_connections", "too many connections from this address; close some and retry")
        self.caller_addresses[sid] = address

    def callers_at(self, address: str | None) -> set[str]:
        return {sid for sid, a in self.caller_addresses.items() if a == address}

    def get(self, sid: str) -> Participant | None:
        return self.participants.get(sid)

    def specialist_id(self, sid: str) -> int:
        """The specialist of the active console `sid`."""
        part = self.participants.get(sid)
        if part is None or part.identity is None or part.role != "specialist":
            raise Conflict("not_logged_in", "this console is not the active one")
        return part.identity.account_id

    def specialist(self, specialist_id: int | None) -> Participant | None:
        sid = self.specialist_sids.get(specialist_id) if specialist_id is not None else None
        return self.participants.get(sid) if sid else None

    def account(self, specialist_id: int | None) -> dict:
        return self.accounts.get(specialist_id, {}) if specialist_id is not None else {}

    def signed_in(self, specialist_id: int) -> bool:
        return specialist_id in self.specialist_sids

    # -- reaching people -------------------------------------------------------

    # These queue the message and return at once (they stay coroutines for the callers' sake).

    async def to_sid(self, sid: str, event: str, data: dict) -> None:
        part = self.participants.get(sid)
        self.outbox.put(event, data, sid, NAMESPACE_OF[part.role] if part else CALLER_NS)

    async def to_caller(self, session: LiveSession, event: str, data: dict) -> None:
        if session.caller_sid is not None:
            self.outbox.put(event, data, session.caller_sid, CALLER_NS)

    async def to_specialist(self, specialist_id: int | None, event: str, data: dict) -> None:
        sid = self.specialist_sids.get(specialist_id) if specialist_id is not None else None
        if sid is not None:
            self.outbox.put(event, data, sid, AGENT_NS)

    async def to_admin(self, sid: str, event: str, data: dict) -> None:
        self.outbox.put(event, data, sid, ADMIN_NS)
