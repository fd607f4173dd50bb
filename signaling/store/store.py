"""The store: catalog, accounts, sessions with their events, ratings.

Every public method opens its own short transaction and returns plain
dicts shaped like the wire contract, so callers never hold ORM objects.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import datetime, timezone
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from ..routing.settings import SettingsError, parse_skills
from .catalog import validate_item
from .db import make_engine, migrate
from .metrics import compute_metrics, compute_scores_report
from .outcomes import outcome
from .participants import participants_of
from .search import CatalogIndex
from .queues import configured_queues, skill_levels
from .hours import load_hours
from .models import (
    Account,
    CallSession,
    Category,
    QualitySample,
    Rating,
    Recording,
    ServiceItem,
    SessionEvent,
    Skill,
    iso,
    utc_naive,
)

ROLES = ("specialist", "admin")
STATUSES = ("queued", "offered", "connected", "ended")
OUTCOMES = ("answered", "abandoned", "missed", "failed", "transferred")
ENDED_BY = ("caller", "specialist", "system")
TIME_FIELDS = ("offered_at", "answered_at", "media_at", "ended_at")
UPDATABLE = {
    "status", "outcome", "specialist_id", "end_reason", "ended_by", "notes",
    "disposition", "difficulty", *TIME_FIELDS,
    "quality", "quality_level",  # 0015: the network quality summary, written with the session's end
}
CSV_COLUMNS = (
    "id", "status", "outcome", "service_item_code", "service_item_name",
    "caller_name", "caller_company", "caller_phone",
    "specialist_id", "specialist_username", "specialist_display_name",
    "created_at", "offered_at", "answered_at", "media_at", "ended_at",
    "wait_ms", "connect_ms", "talk_s", "end_reason", "ended_by",
    "satisfaction", "difficulty", "disposition", "notes",
    "reference",  # migration 0012; last, so existing column positions stay
)


class StoreError(Exception):
    """A store rule was broken; `code` is the snake_case code for the wire error."""

    def __init__(self, code: str, message: str | None = None):
        super().__init__(message or code)
        self.code = code
        self.message = message or code


# Per pool: connections, extra ones, seconds to wait for one, and PostgreSQL time-outs.
POOLS = {
    "writer": {"size": 2, "overflow": 0, "timeout_s": 5, "statement_timeout_ms": 10_000, "connect_timeout_s": 3},
    "interactive": {"size": 5, "overflow": 5, "timeout_s": 5, "statement_timeout_ms": 10_000, "connect_timeout_s": 3},
    "reports": {"size": 4, "overflow": 2, "timeout_s": 3, "statement_timeout_ms": 15_000, "connect_timeout_s": 3},
}

_hasher = PasswordHasher()
_dummy_hash: str | None = None
# Each argon2 hash takes 64 MiB and a core for ~0.1 s: this many at once, the rest wait their turn.
HASH_CONCURRENCY = 2
# New staff passwords (admin API, command line); the demo accounts' are shorter and load anyway.
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 200  # argon2 takes any length; nothing longer is ever needed


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _ms(later: datetime | None, earlier: datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() * 1000)


def _recompute(row: CallSession) -> None:
    """Derived durations, always from the timestamps (the contract's definitions)."""
    row.wait_ms = _ms(row.answered_at, row.created_at)
    row.connect_ms = _ms(row.media_at, row.created_at)
    start = row.media_at or row.answered_at
    talk_ms = _ms(row.ended_at, start)
    row.talk_s = None if talk_ms is None else round(talk_ms / 1000, 1)


def check_transition(fields: dict) -> None:
    """The fields of a session transition are ones a session has, with allowed values."""
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise TypeError(f"a session has no fields {', '.join(sorted(unknown))}")
    _check_enum("status", fields.get("status"), STATUSES)
    _check_enum("outcome", fields.get("outcome"), OUTCOMES)
    _check_enum("ended_by", fields.get("ended_by"), ENDED_BY)
    if fields.get("difficulty") is not None and fields["difficulty"] not in range(1, 6):
        raise StoreError("invalid_difficulty", "difficulty must be an integer 1-5")


def _check_enum(name: str, value: Any, allowed: tuple) -> None:
    if value is not None and value not in allowed:
        raise StoreError(f"invalid_{name}", f"{name} must be one of {', '.join(allowed)}")


_PHONE_LIKE = re.compile(r"^\+?[\d\s()-]+$")


def _csv_safe(value: Any) -> Any:
    """Stop spreadsheets from running caller-supplied text as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        if not _PHONE_LIKE.match(value):
            return "'" + value
    return value


class Store:
    """Three connection pools, so no kind of work can take another's connections:

    - the writer's (store/writer.py): the session log, one group at a time;
    - interactive: logins, accounts, catalog, documents, settings;
    - reports: session lists, metrics, scores, My day, the wallboard's figures.

    Each has a short pool time-out, and on PostgreSQL a statement time-out, so a
    flood of reports or a database outage fails fast instead of queueing for 30 s.
    """

    def __init__(self, database_url: str, engine_kwargs: dict | None = None):
        self.database_url = database_url
        self._engine_kwargs = engine_kwargs or {}
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._engines: list[AsyncEngine] = []
        self._reports: async_sessionmaker[AsyncSession] | None = None
        self._writes: async_sessionmaker[AsyncSession] | None = None
        self._hash_slots = asyncio.Semaphore(HASH_CONCURRENCY)
        self._search = CatalogIndex()  # the catalog search (store/search.py)
        self._search_lock = asyncio.Lock()
        self._catalog_version = 0  # bumped by each commit that changed the catalog (_watch_catalog)

    async def open(self) -> None:
        self._engine = self._make_engine(POOLS["interactive"])
        await migrate(self._engine)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False,
                                            sync_session_class=_watch_catalog(self._catalog_changed))
        reports, writes = self._make_engine(POOLS["reports"]), self._make_engine(POOLS["writer"])
        self._engines = [self._engine, reports, writes]
        self._reports = async_sessionmaker(reports, expire_on_commit=False)
        self._writes = async_sessionmaker(writes, expire_on_commit=False)

    def _make_engine(self, pool: dict) -> AsyncEngine:
        kwargs = dict(self._engine_kwargs)
        if self.database_url.startswith("postgresql"):
            connect_args = dict(kwargs.get("connect_args") or {})
            server_settings = {"statement_timeout": str(pool["statement_timeout_ms"]),
                               **(connect_args.get("server_settings") or {})}
            connect_args.update(server_settings=server_settings, timeout=pool["connect_timeout_s"])
            kwargs["connect_args"] = connect_args
        kwargs.setdefault("pool_size", pool["size"])
        kwargs.setdefault("max_overflow", pool["overflow"])
        kwargs.setdefault("pool_timeout", pool["timeout_s"])
        kwargs.setdefault("pool_pre_ping", True)  # a connection the outage killed is replaced, not used
        return make_engine(self.database_url, **kwargs)

    async def close(self) -> None:
        for engine in self._engines:
            await engine.dispose()
        self._engines = []
        self._engine = self._sessions = self._reports = self._writes = None

    def _db(self) -> AsyncSession:
        if self._sessions is None:
            raise RuntimeError("Store.open() has not been called")
        return self._sessions()

    def _report(self) -> AsyncSession:
        if self._reports is None:
            raise RuntimeError("Store.open() has not been called")
        return self._reports()

    def writer_db(self) -> AsyncSession:
        """The session writer's own pool (store/writer.py); nothing else uses it."""
        if self._writes is None:
            raise RuntimeError("Store.open() has not been called")
        return self._writes()

    # ---- catalog -------------------------------------------------------

    async def search_service_items(self, q: str | None = None, limit: int = 500,
                                   include_retired: bool = False) -> list[dict]:
        """The items matching `q` by relevance, each with `score` and `matched` (store/search.py);
        without `q`, the catalog by category and code. Retired items are left out unless
        `include_retired` (the administrators' catalog). Answered from memory."""
        if self._search.version != self._catalog_version:
            await self.all_service_items()
        return self._search.search(q, limit=limit, include_retired=include_retired)

    async def all_service_items(self) -> list[dict]:
        """The whole catalog, retired items too (the session engine keeps it in memory). The
        search index follows what is read here: this process's edits bump the catalog version
        (_watch_catalog); another's, such as `catalog import`, reach it with the engine's
        periodic reload, which reads here."""
        version = self._catalog_version
        async with self._db() as db:
            items = [_item_dict(*row) for row in (await db.execute(_catalog_query())).all()]
        async with self._search_lock:  # built in a thread: a large catalog's pinyin takes a while
            await asyncio.to_thread(self._search.refresh, items, version)
        return items

    def _catalog_changed(self) -> None:
        self._catalog_version += 1

    async def get_service_item(self, code: str) -> dict | None:
        async with self._db() as db:
            row = (await db.execute(_catalog_query().where(ServiceItem.code == code))).first()
            return _item_dict(*row) if row else None

    async def import_service_items(self, items: list[dict]) -> int:
        # Validate everything before writing anything: a bad row imports nothing.
        clean = [validate_item(item, _line_of(item, i)) for i, item in enumerate(items)]
        async with self._db() as db, db.begin():
            existing = {
                item.code: item
                for item in (await db.scalars(select(ServiceItem))).all()
            }
            for values in clean:
                item = existing.get(values["code"])
                if item is None:
                    item = existing[values["code"]] = ServiceItem(**values)
                    db.add(item)
                else:
                    for key, value in values.items():
                        setattr(item, key, value)
        return len(clean)

    async def count_service_items(self) -> int:
        async with self._db() as db:
            return await db.scalar(select(func.count()).select_from(ServiceItem))

    # ---- accounts ------------------------------------------------------

    async def upsert_account(
        self,
        username: str,
        role: str,
        password: str | None,
        display_name: str | None = None,
        skills: list[str] | None = None,
        *,
        disabled: bool | None = None,
        check_password: bool = True,
    ) -> dict:
        """Create or update an account. A new role, a new password or a change of `disabled`
        bumps its token version, which revokes the tokens issued before (auth.py).
        `check_password=False` lets the demo loader keep its short, published passwords."""
        username = (username or "").strip()
        if not username or len(username) > 64:
            raise StoreError("invalid_username", "username must be 1-64 characters")
        _check_enum("role", role, ROLES)
        if password is not None and not password:
            raise StoreError("invalid_password", "password must not be empty")
        if password and check_password and len(password) < MIN_PASSWORD_LENGTH:
            raise StoreError("password_too_short", f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        if password and len(password) > MAX_PASSWORD_LENGTH:
            raise StoreError("password_too_long", f"a password may have at most {MAX_PASSWORD_LENGTH} characters")
        try:  # `CODE@N`: a skill with proficiency N (1-5, default 3)
            levels = parse_skills(skills) if skills is not None else None
        except SettingsError as exc:
            raise StoreError("invalid_skill", exc.message) from None
        password_hash = await self._hash(password) if password else None
        async with self._db() as db, db.begin():
            account = await db.scalar(select(Account).where(Account.username == username))
            if account is None:
                if password_hash is None:
                    raise StoreError("password_required", "a new account needs a password")
                account = Account(
                    username=username, display_name=display_name or username, role=role,
                    password_hash=password_hash, created_at=_utcnow(), token_version=0,
                    disabled=bool(disabled),
                )
                db.add(account)
                await db.flush()
            else:
                if role != account.role or password_hash or (disabled is not None and disabled != account.disabled):
                    account.token_version += 1
                account.role = role
                if display_name:
                    account.display_name = display_name
                if password_hash:
                    account.password_hash = password_hash
                if disabled is not None:
                    account.disabled = disabled
            if skills is not None:
                await db.execute(delete(Skill).where(Skill.account_id == account.id))
                db.add_all(Skill(account_id=account.id, target=t, proficiency=p) for t, p in sorted(levels.items()))
            account_id = account.id
        return await self.get_account(account_id)

    async def authenticate(self, username: str, password: str) -> dict | None:
        """The account (with its `token_version`) if the password is right, else None.
        A disabled account is returned too (`disabled: true`): the caller refuses it."""
        async with self._db() as db:
            account = await db.scalar(select(Account).where(Account.username == username))
        if account is None:
            await self._verify(_dummy(), password)  # same cost as a real check
            return None
        if not await self._verify(account.password_hash, password):
            return None
        if _hasher.check_needs_rehash(account.password_hash):
            new_hash = await self._hash(password)  # the same password: no token is revoked
            async with self._db() as db, db.begin():
                await db.execute(update(Account).where(Account.id == account.id).values(password_hash=new_hash))
        found = await self.get_account(account.id)
        return {**found, "token_version": account.token_version} if found else None

    async def _hash(self, password: str) -> str:
        async with self._hash_slots:
            return await asyncio.to_thread(_hasher.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        async with self._hash_slots:
            return await asyncio.to_thread(_verify, password_hash, password)

    async def token_state(self, account_id: int) -> tuple[int, bool] | None:
        """(token_version, disabled) of an account, None if it does not exist (auth.py's check)."""
        async with self._db() as db:
            row = (await db.execute(
                select(Account.token_version, Account.disabled).where(Account.id == account_id)
            )).first()
        return (row[0], row[1]) if row else None

    async def revoke_tokens(self, account_id: int) -> tuple[int, bool] | None:
        """Bump the account's token version (a logout): every token issued so far is refused."""
        async with self._db() as db, db.begin():
            await db.execute(
                update(Account).where(Account.id == account_id).values(token_version=Account.token_version + 1)
            )
        return await self.token_state(account_id)

    async def skill_levels(self, account_id: int) -> dict[str, int]:
        """Skill target -> proficiency (store/queues.py)."""
        return await skill_levels(self, account_id)

    async def queue_settings(self) -> list:
        """The configured queues as the router takes them (store/queues.py)."""
        return await configured_queues(self)

    async def opening_hours(self):
        """Schedules and calendar overrides as the engine takes them (store/hours.py)."""
        return await load_hours(self)

    async def get_account(self, account_id: int) -> dict | None:
        accounts = await self._accounts(Account.id == account_id)
        return accounts[0] if accounts else None

    async def list_accounts(self, role: str | None = None) -> list[dict]:
        return await self._accounts(Account.role == role) if role else await self._accounts()

    async def count_accounts(self) -> int:
        async with self._db() as db:
            return await db.scalar(select(func.count()).select_from(Account))

    async def _accounts(self, *where: Any) -> list[dict]:
        async with self._db() as db:
            accounts = (await db.scalars(select(Account).where(*where).order_by(Account.id))).all()
            skills: dict[int, list[str]] = {}
            if accounts:
                rows = await db.execute(
                    select(Skill.account_id, Skill.target)
                    .where(Skill.account_id.in_([a.id for a in accounts]))
                    .order_by(Skill.target)
                )
                for account_id, target in rows:
                    skills.setdefault(account_id, []).append(target)
        return [
            {"id": a.id, "username": a.username, "display_name": a.display_name,
             "role": a.role, "skills": skills.get(a.id, []), "disabled": a.disabled}
            for a in accounts
        ]

    # ---- sessions ------------------------------------------------------

    async def create_session(
        self, *, id: str, service_item_code: str, caller: dict, created_at: datetime,
        transferred_from: str | None = None, reference: str | None = None, transfer_note: str | None = None,
    ) -> dict:
        created_at = utc_naive(created_at)
        try:
            async with self._db() as db, db.begin():
                if await db.get(ServiceItem, service_item_code) is None:
                    raise StoreError("unknown_service_item", f"no service item {service_item_code!r}")
                db.add(CallSession(
                    id=id, status="queued", service_item_code=service_item_code,
                    caller_name=caller.get("name") or "",
                    caller_company=caller.get("company") or None,
                    caller_phone=caller.get("phone") or None,
                    caller_credit_code=caller.get("credit_code") or None,
                    transferred_from=transferred_from,
                    reference=reference,
                    transfer_note=transfer_note,
                    created_at=created_at,
                ))
                await db.flush()  # the event's foreign key needs the session row first
                db.add(SessionEvent(session_id=id, at=created_at, type="queued",
                                    data={"transferred_from": transferred_from} if transferred_from else None))
        except IntegrityError:
            raise StoreError("duplicate_session", f"session {id} already exists") from None
        return await self.get_session(id, with_events=False)

    async def last_reference_number(self, pattern: str) -> int:
        """The highest day counter among the references starting with `pattern` (`XH-20261202-`),
        0 when there are none (engine/references.py seeds its counter with it at start-up)."""
        async with self._db() as db:
            rows = await db.scalars(
                select(CallSession.reference)
                .where(CallSession.reference.like(_escape_like(pattern) + "%", escape="\\"))
                .order_by(func.length(CallSession.reference).desc(), CallSession.reference.desc())
                .limit(1)
            )
            found = rows.first()
        tail = found[len(pattern):] if found else ""
        return int(tail) if tail.isdigit() else 0

    async def update_session(
        self, id: str, *, event: str, at: datetime, data: dict | None = None, brief: bool = False, **fields: Any
    ) -> dict:
        """Apply a transition and its event in one transaction; return the Session.

        `brief=True` (the answer path) skips reading the whole Session back and
        returns only `id`, `status` and the derived durations.
        """
        check_transition(fields)
        async with self._db() as db, db.begin():
            row = await db.get(CallSession, id, with_for_update=True)
            if row is None:
                raise StoreError("unknown_session", f"no session {id}")
            for key, value in fields.items():
                setattr(row, key, utc_naive(value) if key in TIME_FIELDS else value)
            _recompute(row)
            db.add(SessionEvent(session_id=id, at=utc_naive(at), type=event, data=data))
            summary = {"id": row.id, "status": row.status, "wait_ms": row.wait_ms,
                       "connect_ms": row.connect_ms, "talk_s": row.talk_s}
        return summary if brief else await self.get_session(id, with_events=False)

    async def add_event(self, id: str, type: str, at: datetime, data: dict | None = None) -> None:
        async with self._db() as db, db.begin():
            if await db.get(CallSession, id) is None:
                raise StoreError("unknown_session", f"no session {id}")
            db.add(SessionEvent(session_id=id, at=utc_naive(at), type=type, data=data))

    async def add_recording(
        self, session_id: str, party: str, path: str, duration_s: float | None, size: int | None, at: datetime,
        state: str = "complete",
    ) -> None:
        """Index a recording (one per party per session; a later one updates it, keeping when it started).
        The server itself indexes through the session writer (store/writer.py), in the same way."""
        if not Recording.party_ok(party):
            raise StoreError("invalid_party", "party must be caller, specialist, back_office or supervisor (then _2, _3, ...)")
        _check_enum("state", state, Recording.STATES)
        async with self._db() as db, db.begin():
            row = await db.scalar(select(Recording).where(Recording.session_id == session_id, Recording.party == party))
            if row is None:
                db.add(Recording(session_id=session_id, party=party, path=path, duration_s=duration_s,
                                 bytes=size, state=state, created_at=utc_naive(at)))
            else:
                row.path, row.duration_s, row.bytes, row.state = path, duration_s, size, state

    async def unfinished_recordings(self) -> list[dict]:
        """Recordings still in state `recording` (at start-up: what a crash left; media/repair.py)."""
        async with self._db() as db:
            rows = await db.scalars(select(Recording).where(Recording.state == "recording").order_by(Recording.id))
            return [{"session_id": r.session_id, "party": r.party, "path": r.path, "started_at": iso(r.created_at)}
                    for r in rows]

    async def recording_path(self, session_id: str, party: str) -> str | None:
        async with self._db() as db:
            return await db.scalar(
                select(Recording.path).where(Recording.session_id == session_id, Recording.party == party)
            )

    async def set_service_item_recording(self, code: str, enabled: bool) -> None:
        async with self._db() as db, db.begin():
            item = await db.get(ServiceItem, code)
            if item is None:
                raise StoreError("unknown_service_item", f"no service item {code}")
            item.recording = bool(enabled)

    async def delete_recordings_before(self, cutoff: datetime) -> list[str]:
        """Forget recordings made before `cutoff`; returns their paths (to delete the files)."""
        async with self._db() as db, db.begin():
            rows = (await db.execute(
                select(Recording.id, Recording.path).where(Recording.created_at < utc_naive(cutoff))
            )).all()
            if rows:
                await db.execute(delete(Recording).where(Recording.id.in_([r.id for r in rows])))
            return [r.path for r in rows]

    async def rate_session(self, id: str, satisfaction: int, comment: str | None, at: datetime) -> None:
        if isinstance(satisfaction, bool) or satisfaction not in range(1, 6):
            raise StoreError("invalid_satisfaction", "satisfaction must be an integer 1-5")
        try:
            async with self._db() as db, db.begin():
                if await db.get(CallSession, id) is None:
                    raise StoreError("unknown_session", f"no session {id}")
                if await db.get(Rating, id) is not None:
                    raise StoreError("already_rated", "this session has already been rated")
                db.add(Rating(session_id=id, satisfaction=satisfaction, comment=comment, at=utc_naive(at)))
                db.add(SessionEvent(session_id=id, at=utc_naive(at), type="rated",
                                    data={"satisfaction": satisfaction}))
        except IntegrityError:  # two ratings racing: the primary key decides
            raise StoreError("already_rated", "this session has already been rated") from None

    async def close_open_sessions(self, now: datetime, alive_at: datetime | None = None) -> int:
        """Start-up recovery: end what a crash left open, saying why (reason `server_restart`).

        `ended_at` is the last activity known, not the restart time: the later of the
        session's newest event and `alive_at`, when the previous run was last known alive
        (store/writer.py). The outcome follows the one rule of store/outcomes.py."""
        now, alive_at = utc_naive(now), utc_naive(alive_at)
        async with self._db() as db, db.begin():
            rows = (await db.scalars(select(CallSession).where(CallSession.ended_at.is_(None)))).all()
            last_seen = dict((await db.execute(
                select(SessionEvent.session_id, func.max(SessionEvent.at))
                .where(SessionEvent.session_id.in_([row.id for row in rows]))
                .group_by(SessionEvent.session_id)
            )).all()) if rows else {}
            for row in rows:
                row.outcome = outcome(reason="server_restart", ended_by="system",
                                      answered=row.answered_at is not None, media_flowed=row.media_at is not None)
                ended_at = max(filter(None, (last_seen.get(row.id), row.created_at, row.answered_at, row.media_at,
                                             alive_at)))
                row.status, row.ended_at = "ended", min(ended_at, now)
                row.end_reason, row.ended_by = "server_restart", "system"
                _recompute(row)
                db.add(SessionEvent(session_id=row.id, at=row.ended_at, type="ended",
                                    data={"reason": "server_restart", "ended_by": "system", "recovered_at": iso(now)}))
        return len(rows)

    async def get_session(self, id: str, with_events: bool = True) -> dict | None:
        async with self._report() as db:
            rows = await self._session_rows(db, _session_query().where(CallSession.id == id))
            if not rows:
                return None
            session = rows[0]
            if with_events:
                events = await db.execute(
                    select(SessionEvent.at, SessionEvent.type, SessionEvent.data)
                    .where(SessionEvent.session_id == id)
                    .order_by(SessionEvent.at, SessionEvent.id)
                )
                session.update(events=[{"at": iso(at), "type": t, "data": d} for at, t, d in events],
                               participants=await participants_of(db, id))  # several people in one call (0016)
            return session

    async def quality_samples(self, session_id: str) -> list[dict] | None:
        """A session's network quality samples, oldest first (None: no such session)."""
        async with self._report() as db:
            if await db.scalar(select(CallSession.id).where(CallSession.id == session_id)) is None:
                return None
            rows = await db.scalars(select(QualitySample).where(QualitySample.session_id == session_id)
                                    .order_by(QualitySample.at, QualitySample.id))
            return [{"at": iso(r.at), "party": r.party, **{c: getattr(r, c) for c in QualitySample.COLUMNS}}
                    for r in rows]

    async def list_sessions(
        self,
        *,
        service_item: str | None = None,
        specialist: int | str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
        category: str | None = None,
        company: str | None = None,
        sort: str | None = None,
        q: str | None = None,
    ) -> tuple[list[dict], int]:
        where = _session_filters(service_item, specialist, outcome, since, until, category, company, q)
        async with self._report() as db:
            total = await db.scalar(select(func.count()).select_from(CallSession).where(*where))
            order = _session_order(sort, self._engine.dialect.name)
            # Pick the page's ids first (from an index alone), then load those rows only.
            page = select(CallSession.id).where(*where).order_by(*order).limit(max(0, limit)).offset(max(0, offset))
            stmt = _session_query().where(CallSession.id.in_(page.scalar_subquery())).order_by(*order)
            return await self._session_rows(db, stmt), total

    async def iter_sessions_csv(
        self,
        *,
        service_item: str | None = None,
        specialist: int | str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
        category: str | None = None,
        company: str | None = None,
        sort: str | None = None,
        q: str | None = None,
    ) -> str:
        """All matching sessions (newest first, or by `sort`) as CSV text with a header row."""
        where = _session_filters(service_item, specialist, outcome, since, until, category, company, q)
        stmt = _session_query().where(*where).order_by(
            *_session_order(sort, self._engine.dialect.name)
        ).offset(max(0, offset))
        if limit is not None:
            stmt = stmt.limit(max(0, limit))
        async with self._report() as db:
            sessions = await self._session_rows(db, stmt, links=False)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for s in sessions:
            flat = {
                **s,
                "service_item_code": s["service_item"]["code"],
                "service_item_name": s["service_item"]["name"],
                "caller_name": s["caller"]["name"],
                "caller_company": s["caller"]["company"],
                "caller_phone": s["caller"]["phone"],
                "specialist_id": (s["specialist"] or {}).get("id"),
                "specialist_username": (s["specialist"] or {}).get("username"),
                "specialist_display_name": (s["specialist"] or {}).get("display_name"),
            }
            writer.writerow(["" if flat[c] is None else _csv_safe(flat[c]) for c in CSV_COLUMNS])
        return out.getvalue()

    async def metrics(
        self, *, since: datetime | None, until: datetime | None, threshold_s: float = 2.0, **options: Any
    ) -> dict:
        """`options`: tz_offset_min (hour of day), detail (see store/metrics.py)."""
        async with self._report() as db:
            return await compute_metrics(db, utc_naive(since), utc_naive(until), threshold_s,
                                         sessions=self._report, **options)

    async def scores(self, *, since: datetime | None, until: datetime | None, threshold_s: float = 2.0) -> list[dict]:
        """The specialist leaderboard with each one's breakdown (store/scores.py)."""
        async with self._report() as db:
            return await compute_scores_report(db, utc_naive(since), utc_naive(until), threshold_s, self._report)

    async def _session_rows(self, db: AsyncSession, stmt: Any, links: bool = True) -> list[dict]:
        """`links`: add the transfer links (`transferred_to`, the linked references); not for the CSV."""
        rows = (await db.execute(stmt)).all()
        recordings: dict[str, list[dict]] = {}
        if rows:
            found = await db.scalars(
                select(Recording)
                .where(Recording.session_id.in_([r[0].id for r in rows]))
                .order_by(Recording.party)
            )
            for rec in found:
                recordings.setdefault(rec.session_id, []).append({
                    "party": rec.party, "url": f"/api/recordings/{rec.session_id}/{rec.party}",
                    "duration_s": rec.duration_s, "bytes": rec.bytes, "state": rec.state,
                })
        sessions = [_session_dict(*row, recordings.get(row[0].id, [])) for row in rows]
        if sessions and links:
            await _link_transfers(db, sessions)
        return sessions


# ---- helpers ----------------------------------------------------------


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not a real password")
    return _dummy_hash


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _line_of(item: Any, index: int) -> int:
    line = item.get("_line") if isinstance(item, dict) else None
    return line if isinstance(line, int) else index + 1


def _catalog_query() -> Any:
    """Service items with their category's display names (none when the category has no row)."""
    return select(ServiceItem, Category.name, Category.name_en).outerjoin(Category, Category.code == ServiceItem.category)


def _item_dict(item: ServiceItem, category_name: str | None = None, category_name_en: str | None = None) -> dict:
    return {
        "code": item.code, "name": item.name, "name_en": item.name_en,
        "category": item.category, "department": item.department,
        "level": item.level, "difficulty": item.difficulty,
        "recording": item.recording,  # extension: calls of this item are recorded
        # issue 12: display names in both languages; a retired item is no longer offered to callers
        "department_en": item.department_en,
        "category_name": category_name or item.category, "category_name_en": category_name_en or category_name or item.category,
        "retired": item.retired,
        "keywords": item.keywords,  # the search's synonyms (store/search.py)
    }


def _watch_catalog(changed) -> type[Session]:
    """A session class that calls `changed()` after each commit that wrote service items or
    categories, whichever function wrote them, so the search index is rebuilt before the next search."""

    class CatalogWatch(Session):
        pass

    def touches(objects) -> bool:
        return any(isinstance(o, (ServiceItem, Category)) for o in objects)

    @event.listens_for(CatalogWatch, "after_flush")
    def _flushed(session, _context) -> None:
        if touches(session.new) or touches(session.dirty) or touches(session.deleted):
            session.info["catalog_changed"] = True

    @event.listens_for(CatalogWatch, "do_orm_execute")
    def _statement(state) -> None:  # update(ServiceItem)... bypasses the unit of work
        if (state.is_insert or state.is_update or state.is_delete) and any(
                m.class_ in (ServiceItem, Category) for m in state.all_mappers):
            state.session.info["catalog_changed"] = True

    @event.listens_for(CatalogWatch, "after_commit")
    def _committed(session) -> None:
        if session.info.pop("catalog_changed", False):
            changed()

    @event.listens_for(CatalogWatch, "after_rollback")
    def _rolled_back(session) -> None:
        session.info.pop("catalog_changed", None)

    return CatalogWatch


def _session_query() -> Any:
    return (
        select(CallSession, ServiceItem.name, Account.username, Account.display_name,
               Rating.satisfaction)
        .outerjoin(ServiceItem, ServiceItem.code == CallSession.service_item_code)
        .outerjoin(Account, Account.id == CallSession.specialist_id)
        .outerjoin(Rating, Rating.session_id == CallSession.id)
    )


SESSION_SORTS = ("created_at", "wait_ms", "connect_ms", "talk_s", "service_item", "outcome")


def _session_order(sort: str | None, dialect: str) -> list:
    """`sort` is a SESSION_SORTS name, `-` first for descending; ties (and the default) newest first."""
    newest = [CallSession.created_at.desc(), CallSession.id.desc()]
    name = (sort or "-created_at").lstrip("-")
    if name not in SESSION_SORTS:
        raise StoreError("invalid_sort", f"sort must be one of {', '.join(SESSION_SORTS)} (prefix - for descending)")
    column = getattr(CallSession, "service_item_code" if name == "service_item" else name)
    descending = (sort or "-").startswith("-")
    if name == "created_at":
        return newest if descending else [CallSession.created_at.asc(), CallSession.id.asc()]
    order = column.desc() if descending else column.asc()
    if not (dialect == "sqlite" and descending):  # empty values last (SQLite's own order for DESC)
        order = order.nulls_last()
    return [order, *newest]


def _session_filters(service_item, specialist, outcome, since, until, category=None, company=None, q=None) -> list:
    """Shared by the list, its count and the CSV; the time range is [since, until)."""
    where = []
    if q and q.strip():
        where.append(_search(q.strip()))
    if service_item:
        where.append(CallSession.service_item_code == service_item)
    if category:
        where.append(CallSession.service_item_code.in_(
            select(ServiceItem.code).where(ServiceItem.category == category)
        ))
    if company and company.strip():
        pattern = "%" + _escape_like(company.strip().lower()) + "%"
        where.append(func.lower(CallSession.caller_company).like(pattern, escape="\\"))
    if specialist is not None and specialist != "":
        text = str(specialist).strip()
        by_name = Account.username == text  # a subquery: the count needs no join
        if text.isdecimal() and len(text) < 10:
            by_name = or_(Account.id == int(text), by_name)
        where.append(CallSession.specialist_id.in_(select(Account.id).where(by_name)))
    if outcome:
        where.append(CallSession.outcome == outcome)
    if since is not None:
        where.append(CallSession.created_at >= utc_naive(since))
    if until is not None:
        where.append(CallSession.created_at < utc_naive(until))
    return where


_WHOLE_REFERENCE = re.compile(r"[A-Za-z0-9]{1,5}-\d{8}-\d{4,5}")


async def _link_transfers(db: AsyncSession, sessions: list[dict]) -> None:
    """Each session's transfer links both ways, with the other session's reference (the admin log links them)."""
    ids = [s["id"] for s in sessions]
    earlier = {s["transferred_from"] for s in sessions if s["transferred_from"]}
    # From the `transferred` event (indexed by session), not sessions.transferred_from (no index).
    later = {session_id: (data or {}).get("to_session") for session_id, data in (await db.execute(
        select(SessionEvent.session_id, SessionEvent.data)
        .where(SessionEvent.session_id.in_(ids), SessionEvent.type == "transferred")
    )).all()}
    wanted = earlier | {to for to in later.values() if to}
    references = dict((await db.execute(
        select(CallSession.id, CallSession.reference).where(CallSession.id.in_(wanted))
    )).all()) if wanted else {}
    for s in sessions:
        s["transferred_to"] = later.get(s["id"])
        s["transferred_from_reference"] = references.get(s["transferred_from"])
        s["transferred_to_reference"] = references.get(s["transferred_to"])


def _search(q: str) -> Any:
    """The log's search box: a reference by its start (`XH-20261202-0042`, `xh-20261202`), a session
    id by its start (sessions from before references), or the caller's name or company by a part."""
    if _WHOLE_REFERENCE.fullmatch(q):
        return CallSession.reference == q.upper()  # by the unique index alone
    start = _escape_like(q) + "%"
    part = "%" + _escape_like(q.lower()) + "%"
    return or_(
        CallSession.reference.like(start.upper(), escape="\\"),
        CallSession.id.like(start.lower(), escape="\\"),
        func.lower(CallSession.caller_name).like(part, escape="\\"),
        func.lower(CallSession.caller_company).like(part, escape="\\"),
    )


def _session_dict(s: CallSession, item_name, username, display_name, satisfaction, recordings) -> dict:
    return {
        "id": s.id,
        "reference": s.reference,  # None for sessions from before migration 0012: show the id
        "status": s.status,
        "outcome": s.outcome,
        "service_item": {"code": s.service_item_code, "name": item_name},
        "caller": {"name": s.caller_name, "company": s.caller_company, "phone": s.caller_phone,
                   **({"credit_code": s.caller_credit_code} if s.caller_credit_code else {})},
        "transferred_from": s.transferred_from,
        "transfer_note": s.transfer_note,
        "specialist": (
            {"id": s.specialist_id, "username": username, "display_name": display_name}
            if s.specialist_id is not None else None
        ),
        "created_at": iso(s.created_at),
        "offered_at": iso(s.offered_at),
        "answered_at": iso(s.answered_at),
        "media_at": iso(s.media_at),
        "ended_at": iso(s.ended_at),
        "wait_ms": s.wait_ms,
        "connect_ms": s.connect_ms,
        "talk_s": s.talk_s,
        "end_reason": s.end_reason,
        "ended_by": s.ended_by,
        "satisfaction": satisfaction,
        "difficulty": s.difficulty,
        "disposition": s.disposition,
        "notes": s.notes,
        "recordings": recordings,
        "quality": s.quality,  # {caller, specialist} summaries (media/quality.py), None before an ended call with media
        "quality_level": s.quality_level,
    }
