"""What the engine holds in memory about a live session and a connected participant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..auth import Identity


@dataclass
class Invite:
    """An invitation into a call, ringing at one specialist (engine/invitations.py)."""

    id: str
    specialist_id: int
    mode: str  # "consult" | "conference"
    note: str | None
    by: str  # how it was addressed: "specialist" (a username) or "service_item"
    inviter_id: int
    invited_mono: float
    deadline: float


@dataclass
class Guest:
    """The invited specialist in the call (the back office), once it accepted."""

    specialist_id: int
    invite_id: str
    note: str | None
    inviter_id: int


@dataclass
class LiveSession:
    """A session from request to end: who is in it and the media joining them.

    Its id is the wire's `call_id`. Monotonic times (`*_mono`, deadlines) drive
    the engine's timers; `created_at` is the wall clock the log keeps."""

    id: str
    token: str
    service_item: dict  # {code, name, name_en}
    category: str
    caller: dict
    caller_sid: str | None
    created_at: datetime
    created_mono: float
    record: bool = True  # record the bridged media (settings and the service item allow it)
    reference: str | None = None  # the short human reference (engine/references.py)
    # After a transfer: the sessions this one continues, oldest first (their documents come along),
    # who transferred it and why (`transfer` in call:offered / call:connected), and when the caller
    # first asked (monotonic; the whole journey's start).
    lineage: list[str] = field(default_factory=list)
    transfer: dict | None = None
    journey_mono: float | None = None
    # The appointment this session keeps ({id, reference, slot_start, specialist_id}; engine/appointments.py).
    appointment: dict | None = None
    # Network quality (engine/quality.py): the per-party summary and the call's level, set as the
    # session ends and written with its `ended` transition.
    quality: dict | None = None
    quality_level: str | None = None
    created_seq: int = 0  # the session writer's record of its row
    specialist_id: int | None = None
    answered: bool = False
    answered_mono: float | None = None
    media_flowing: bool = False
    bridge: Any = None
    held: bool = False  # the specialist put the caller on hold: unbridged until resumed
    media_deadline: float | None = None  # answered, but media must flow by then
    caller_gone_since: float | None = None  # the caller dropped out and may resume until the grace ends
    media_lost_since: float | None = None  # a leg failed mid-call; a new one may come within the grace
    messages: list[dict] = field(default_factory=list)  # the chat so far, for a page that resumes
    # Several people in one call (issue 13): the invitation ringing, the invited specialist who joined,
    # the call's shape (None: caller and owner; "consult": the caller is held while the specialists
    # talk; "conference": everyone), and the media plane's several-party call while one is needed.
    invite: Invite | None = None
    guest: Guest | None = None
    mode: str | None = None
    call: Any = None
    picture: Any = None  # what `call:participants` last told (roster.py): told again when it changes
    ended: dict | None = None  # {reason, ended_by} once it ends (read by the end hooks)
    # Per party: (frames received on its leg, when that count last changed), and who is stalled now.
    media_seen: dict[str, tuple[int, float]] = field(default_factory=dict)
    stalled: set[str] = field(default_factory=set)

    def specialists(self) -> list[int]:
        """The specialists in the call: the owner, then the invited one once it joined."""
        ids = [self.specialist_id] if self.specialist_id is not None else []
        return ids + ([self.guest.specialist_id] if self.guest is not None else [])

    def has_specialist(self, specialist_id: int) -> bool:
        """In the call or invited into it (its documents are shared with them)."""
        invited = self.invite is not None and self.invite.specialist_id == specialist_id
        return invited or (self.answered and specialist_id in self.specialists())


@dataclass
class Participant:
    """One socket: a caller, a specialist's console or an administrator's page."""

    sid: str
    role: str  # "caller" | "specialist" | "admin"
    identity: Identity | None = None  # staff only; None once a newer console took over
    session_id: str | None = None  # a caller's session (kept after it ends, for the rating)
    leg: Any = None
    monitoring: str | None = None  # an administrator: the session its leg monitors
    monitor_mode: str = "listen"  # and how: listen, whisper (to the specialists) or barge (to everyone)
