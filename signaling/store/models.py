"""Tables of the store, and the UTC time helpers every row goes through.

All datetimes are stored as naive UTC (portable between SQLite and
PostgreSQL) and leave the store as ISO 8601 UTC with milliseconds and `Z`.
Keep this file and migrations/versions/ in step: a test compares them.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names, so later migrations can address them by name.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A 64-bit autoincrement key that SQLite still treats as its rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ServiceItem(Base):
    __tablename__ = "service_items"
    __table_args__ = (
        CheckConstraint("level IN ('district', 'municipal')", name="level"),
        CheckConstraint("difficulty BETWEEN 1 AND 5", name="difficulty"),
        Index(None, "category"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(200), default="")
    level: Mapped[str] = mapped_column(String(16))
    difficulty: Mapped[int] = mapped_column(Integer)
    # Record bridged sessions of this item (migration 0003).
    recording: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # migration 0012: search synonyms, the department in English, and retiring an
    # item without deleting what the log refers to.
    keywords: Mapped[str] = mapped_column(Text, default="", server_default="")
    department_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Category(Base):
    """Display names of a catalog category code (migration 0012)."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="", server_default="")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("role IN ('specialist', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime())
    # Carried in staff tokens; a bump revokes the older ones (migration 0010, auth.py).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Skill(Base):
    """A specialist's skill: a service item code or `category:NAME`."""

    __tablename__ = "skills"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    target: Mapped[str] = mapped_column(String(100), primary_key=True)
    # 1 (novice) .. 5 (expert); routing may ask for a minimum (migration 0002).
    proficiency: Mapped[int] = mapped_column(Integer, default=3, server_default="3")


class RoutingQueue(Base):
    """Routing settings of one service item's queue (migration 0002); no row = defaults."""

    __tablename__ = "queues"
    __table_args__ = (
        CheckConstraint(
            "strategy IN ('longest_idle', 'fewest_calls', 'least_talk_time', 'round_robin', 'ring_all')",
            name="strategy",
        ),
        CheckConstraint("scope IN ('item', 'category')", name="scope"),
        CheckConstraint("min_proficiency BETWEEN 1 AND 5", name="min_proficiency"),
    )

    service_item_code: Mapped[str] = mapped_column(
        ForeignKey("service_items.code", ondelete="CASCADE"), primary_key=True
    )
    strategy: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer)
    offer_timeout_s: Mapped[float] = mapped_column(Float)
    wrap_up_s: Mapped[float] = mapped_column(Float)
    max_wait_s: Mapped[float | None] = mapped_column(Float)
    max_wait_no_agent_s: Mapped[float | None] = mapped_column(Float)
    overflow_to: Mapped[str | None] = mapped_column(String(32))
    shared_queue: Mapped[str | None] = mapped_column(String(32))  # migration 0008
    min_proficiency: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(16))
    rona_offers: Mapped[int] = mapped_column(Integer)
    escalation: Mapped[list | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime())


class OpeningHours(Base):
    """A weekly schedule (migration 0013): the center's default (`service_item_code` '') or one
    service item's own. No row at all: always open (routing/hours.py)."""

    __tablename__ = "opening_hours"

    service_item_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    weekly: Mapped[dict] = mapped_column(JSON)  # {mon: [["09:00", "17:00"]], ..., sun: []}
    updated_at: Mapped[datetime] = mapped_column(DateTime())


class CalendarDay(Base):
    """An administrator's override of one date (migration 0013): closed, open with periods, or a
    make-up working day; it wins over the official calendar and the weekly schedule."""

    __tablename__ = "calendar_days"
    __table_args__ = (CheckConstraint("kind IN ('closed', 'open', 'makeup')", name="kind"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    periods: Mapped[list | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime())


class Appointment(Base):
    """A booked slot for a service item (migration 0014, store/appointments.py): `booked` →
    `arrived` (the caller came: `session_id`) → `kept` (answered), or `no_show`, or `cancelled`."""

    __tablename__ = "appointments"
    STATUSES = ("booked", "arrived", "kept", "no_show", "cancelled")
    __table_args__ = (
        CheckConstraint("status IN ('booked', 'arrived', 'kept', 'no_show', 'cancelled')", name="status"),
        Index("uq_appointments_token", "token", unique=True),
        Index("uq_appointments_reference", "reference", unique=True),
        Index("ix_appointments_slot", "slot_start", "service_item_code", "status"),
        Index(None, "session_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(64))  # the manage link's secret
    service_item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"))
    slot_start: Mapped[datetime] = mapped_column(DateTime())
    slot_end: Mapped[datetime] = mapped_column(DateTime())
    status: Mapped[str] = mapped_column(String(16))
    caller_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    caller_company: Mapped[str | None] = mapped_column(String(200))
    caller_phone: Mapped[str | None] = mapped_column(String(64))
    specialist_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    session_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime())
    updated_at: Mapped[datetime] = mapped_column(DateTime())
    arrived_at: Mapped[datetime | None] = mapped_column(DateTime())


class CallSession(Base):
    """One caller's request for one service item (named to avoid clashing with ORM Session)."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index(None, "created_at"),
        Index(None, "service_item_code"),
        Index(None, "specialist_id"),
        Index(None, "outcome"),
        Index(None, "ended_at"),  # start-up recovery looks for ended_at IS NULL
        # Administration (migration 0005): a covering index for metrics and scores,
        # and (filter, created_at) pairs for the newest-first session log.
        Index("ix_sessions_report", "created_at", "outcome", "service_item_code", "specialist_id",
              "wait_ms", "connect_ms", "talk_s", "difficulty", "ended_at", "caller_company", "id"),
        Index("ix_sessions_item_created", "service_item_code", "created_at"),
        Index("ix_sessions_specialist_created", "specialist_id", "created_at"),
        Index("ix_sessions_outcome_created", "outcome", "created_at"),
        # migration 0006: (specialist, item) first, so the reports group without sorting
        Index("ix_sessions_group", "specialist_id", "service_item_code", "created_at", "outcome",
              "wait_ms", "connect_ms", "talk_s", "difficulty", "ended_at", "id"),
        Index("uq_sessions_reference", "reference", unique=True),  # migration 0012
        # migration 0015: the poor-call metrics read the range's quality levels from the index alone
        Index("ix_sessions_quality", "created_at", "quality_level", "service_item_code"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16))
    service_item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"))
    caller_name: Mapped[str] = mapped_column(String(200), default="")
    caller_company: Mapped[str | None] = mapped_column(String(200))
    caller_phone: Mapped[str | None] = mapped_column(String(64))
    specialist_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime())
    offered_at: Mapped[datetime | None] = mapped_column(DateTime())
    answered_at: Mapped[datetime | None] = mapped_column(DateTime())
    media_at: Mapped[datetime | None] = mapped_column(DateTime())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime())
    wait_ms: Mapped[int | None] = mapped_column(Integer)
    connect_ms: Mapped[int | None] = mapped_column(Integer)
    talk_s: Mapped[float | None] = mapped_column(Float)
    end_reason: Mapped[str | None] = mapped_column(String(64))
    ended_by: Mapped[str | None] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    disposition: Mapped[str | None] = mapped_column(String(64))
    difficulty: Mapped[int | None] = mapped_column(Integer)
    # 0004: the unified social credit code the caller gave, and the session this
    # one continues after a transfer.
    caller_credit_code: Mapped[str | None] = mapped_column(String(18))
    transferred_from: Mapped[str | None] = mapped_column(String(32))
    # 0012: the short human reference (unique), and the transferring specialist's note.
    reference: Mapped[str | None] = mapped_column(String(20))
    transfer_note: Mapped[str | None] = mapped_column(Text)
    # 0015: the per-party network quality summary of the call (media/quality.py).
    quality: Mapped[dict | None] = mapped_column(JSON)
    quality_level: Mapped[str | None] = mapped_column(String(8))  # the worse party's level: poor calls


class QualitySample(Base):
    """One party's network quality over one sampling period of a call (0015), for the session page's chart."""

    PARTIES = ("caller", "specialist", "back_office")  # back_office: the invited specialist's link

    __tablename__ = "quality_samples"
    __table_args__ = (Index(None, "session_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    party: Mapped[str] = mapped_column(String(16))  # caller | specialist | back_office
    at: Mapped[datetime] = mapped_column(DateTime())
    level: Mapped[str] = mapped_column(String(8))  # good | fair | poor
    direction: Mapped[str | None] = mapped_column(String(4))  # in | out: the weak direction (None when good)
    rtt_ms: Mapped[int | None] = mapped_column(Integer)
    loss_pct: Mapped[float | None] = mapped_column(Float)  # the worse direction's
    loss_in_pct: Mapped[float | None] = mapped_column(Float)  # party -> server
    loss_out_pct: Mapped[float | None] = mapped_column(Float)  # server -> party (its receiver reports)
    jitter_ms: Mapped[float | None] = mapped_column(Float)
    kbps_in: Mapped[int | None] = mapped_column(Integer)  # what the server received from the party
    kbps_out: Mapped[int | None] = mapped_column(Integer)  # what the server sent to the party
    fps: Mapped[float | None] = mapped_column(Float)  # camera frames received from the party per second
    fps_out: Mapped[float | None] = mapped_column(Float)  # camera frames sent to the party per second
    frozen_s: Mapped[float | None] = mapped_column(Float)  # seconds of the period its camera video stopped
    COLUMNS = ("level", "direction", "rtt_ms", "loss_pct", "loss_in_pct", "loss_out_pct", "jitter_ms",
               "kbps_in", "kbps_out", "fps", "fps_out", "frozen_s")


class SessionParticipant(Base):
    """One person's time in a session's call (0016): caller, front desk, back office or supervisor."""

    __tablename__ = "session_participants"
    __table_args__ = (
        CheckConstraint("role IN ('caller', 'front_desk', 'back_office', 'supervisor')", name="role"),
        Index(None, "session_id", "joined_at"),
        Index(None, "account_id"),
    )
    ROLES = ("caller", "front_desk", "back_office", "supervisor")

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    display_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    mode: Mapped[str | None] = mapped_column(String(16))  # consult | conference | listen | whisper | barge
    invite_id: Mapped[str | None] = mapped_column(String(32))  # the invitation that brought a back office
    wait_ms: Mapped[int | None] = mapped_column(Integer)  # a back office's: from the invitation to its acceptance
    joined_at: Mapped[datetime] = mapped_column(DateTime())
    left_at: Mapped[datetime | None] = mapped_column(DateTime())


class SessionEvent(Base):
    __tablename__ = "session_events"
    __table_args__ = (Index(None, "session_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime())
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict | None] = mapped_column(JSON)


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction"),
        Index("ix_ratings_session_satisfaction", "session_id", "satisfaction"),  # migration 0006
    )

    # The primary key makes "rated once" a database rule, not only a check.
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    satisfaction: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime())


class Document(Base):
    """A file a participant sent during a session (0004); the bytes live in the row."""

    __tablename__ = "documents"
    __table_args__ = (Index(None, "session_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(16))  # caller | specialist
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime())


class Recording(Base):
    """One party's recording of a session. `state`: `recording` from the moment its file exists
    (served as far as it is on disk), then `complete` once finalized; a file a crash left
    unfinished is remuxed at start-up and becomes `repaired`, or `failed` if nothing decodable
    remained (media/repair.py, migration 0011)."""

    __tablename__ = "recordings"
    __table_args__ = (UniqueConstraint("session_id", "party"),)
    STATES = ("recording", "complete", "repaired", "failed")  # docs/media.md, "Recording states"
    # Whose media: the first of each role, then numbered (back_office_2, ...), as media/call.py names them.
    PARTIES = ("caller", "specialist", "back_office", "supervisor")

    @classmethod
    def party_ok(cls, party: object) -> bool:
        if not isinstance(party, str) or len(party) > 16:
            return False
        base, _, n = party.rpartition("_")
        return party in cls.PARTIES or (base in cls.PARTIES and n.isdigit() and n[0] != "0")

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    party: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(500))
    duration_s: Mapped[float | None] = mapped_column(Float)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime())  # when the recording started
    state: Mapped[str] = mapped_column(String(16), default="complete", server_default="complete")


class JournalCheckpoint(Base):
    """How far a session writer's local journal has been applied (store/writer.py).

    Written in the same transaction as the records it covers, so a journal
    replayed after a crash applies each record exactly once."""

    __tablename__ = "journal_checkpoints"

    journal: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    # When the writer last wrote or checked in: after a crash, the last moment the server was known alive.
    alive_at: Mapped[datetime | None] = mapped_column(DateTime())


def utc_naive(dt: datetime | None) -> datetime | None:
    """Naive UTC for the database; a naive input is taken to be UTC already."""
    if dt is None or dt.tzinfo is None:
        return dt
    return dt.astimezone(timezone.utc).replace(tzinfo=None)


def iso(dt: datetime | None) -> str | None:
    """`2026-11-26T08:00:00.123Z` (the contract's timestamp form)."""
    if dt is None:
        return None
    dt = utc_naive(dt)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
