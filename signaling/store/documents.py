"""Documents sent during a session, and a specialist's "My day" figures.

Both read and write through the :class:`~signaling.store.store.Store`'s
engine with short transactions and return plain dicts, like the rest of the
store. The rules for what may be uploaded (types, sizes, how many) live here,
so the HTTP adapter only streams bytes in and out.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime, timezone

from sqlalchemy import func, select

from .models import CallSession, Document, Rating, SessionEvent, iso, utc_naive

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS_PER_SESSION = 30

# extension -> content type; what a government counter accepts as evidence.
ALLOWED_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ofd": "application/ofd",
    ".txt": "text/plain",
}

# Leading bytes a file of that type must start with (checked when known).
_MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
    "application/ofd": (b"PK\x03\x04",),
    "application/msword": (b"\xd0\xcf\x11\xe0",),
    "application/vnd.ms-excel": (b"\xd0\xcf\x11\xe0",),
}


class DocumentRefused(Exception):
    """An upload that breaks a rule; `status` is the HTTP status to answer with."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def clean_filename(name: str | None) -> str:
    """A display-safe file name: no path, no control characters, at most 120 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name:
        name = "document"
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 120 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:120]
    return name


def content_type_for(filename: str) -> str:
    """The content type an allowed file name maps to, or DocumentRefused(415)."""
    ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    content_type = ALLOWED_TYPES.get(ext)
    if content_type is None:
        allowed = ", ".join(sorted({e.lstrip(".") for e in ALLOWED_TYPES}))
        raise DocumentRefused("unsupported_type", f"this file type is not accepted (allowed: {allowed})", 415)
    return content_type


def check_content(content_type: str, head: bytes) -> None:
    magic = _MAGIC.get(content_type)
    if magic and not any(head.startswith(m) for m in magic):
        raise DocumentRefused("content_mismatch", "the file's content does not match its type", 415)
    if content_type == "image/webp" and head[8:12] != b"WEBP":
        raise DocumentRefused("content_mismatch", "the file's content does not match its type", 415)


def _doc_dict(d: Document) -> dict:
    return {
        "id": d.id,
        "session_id": d.session_id,
        "from": d.sender,
        "name": d.filename,
        "content_type": d.content_type,
        "size": d.size,
        "at": iso(d.created_at),
        "url": f"/api/documents/{d.id}",
    }


class Documents:
    """Documents of sessions, stored in the database with the session they belong to."""

    def __init__(self, store) -> None:
        self._store = store

    async def add(self, session_id: str, sender: str, filename: str, content: bytes, at: datetime) -> dict:
        if sender not in ("caller", "specialist"):
            raise ValueError("sender must be caller or specialist")
        filename = clean_filename(filename)
        content_type = content_type_for(filename)
        if not content:
            raise DocumentRefused("empty_file", "the file is empty", 400)
        if len(content) > MAX_DOCUMENT_BYTES:
            raise DocumentRefused("too_large", f"a document may be at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB", 413)
        check_content(content_type, content[:16])
        at = utc_naive(at)
        async with self._store._db() as db, db.begin():
            if await db.get(CallSession, session_id) is None:
                raise DocumentRefused("not_found", "no session with this id", 404)
            count = await db.scalar(select(func.count()).select_from(Document).where(Document.session_id == session_id))
            if count >= MAX_DOCUMENTS_PER_SESSION:
                raise DocumentRefused("too_many_documents", f"at most {MAX_DOCUMENTS_PER_SESSION} documents per session", 429)
            doc = Document(id=uuid.uuid4().hex, session_id=session_id, sender=sender, filename=filename,
                           content_type=content_type, size=len(content), content=content, created_at=at)
            db.add(doc)
            db.add(SessionEvent(session_id=session_id, at=at, type="document",
                                data={"id": doc.id, "from": sender, "name": filename, "size": len(content)}))
            return _doc_dict(doc)

    async def list(self, session_ids: str | list[str]) -> list[dict]:
        """The documents of one session, or of several (a session and those it continues), oldest first."""
        ids = [session_ids] if isinstance(session_ids, str) else session_ids
        async with self._store._db() as db:
            rows = await db.execute(
                select(Document.id, Document.session_id, Document.sender, Document.filename,
                       Document.content_type, Document.size, Document.created_at)
                .where(Document.session_id.in_(ids))
                .order_by(Document.created_at, Document.id)
            )
            return [_doc_dict(Document(id=i, session_id=s, sender=f, filename=n, content_type=c, size=z, created_at=a))
                    for i, s, f, n, c, z, a in rows]

    async def get(self, document_id: str) -> tuple[dict, bytes] | None:
        async with self._store._db() as db:
            doc = await db.get(Document, document_id)
            return (_doc_dict(doc), doc.content) if doc else None

    async def session_owner(self, session_id: str) -> dict | None:
        """{status, specialist_id} of a session, for authorisation; None if unknown."""
        async with self._store._db() as db:
            row = await db.get(CallSession, session_id)
            return {"status": row.status, "specialist_id": row.specialist_id} if row else None

    async def chat_history(self, session_id: str) -> list[dict]:
        """The chat lines of a session in order, shaped like S→C chat:message."""
        async with self._store._db() as db:
            rows = await db.execute(
                select(SessionEvent.at, SessionEvent.data)
                .where(SessionEvent.session_id == session_id, SessionEvent.type == "chat")
                .order_by(SessionEvent.at, SessionEvent.id)
            )
            return [{"call_id": session_id, "from": (d or {}).get("from"), "text": (d or {}).get("text"), "at": iso(a)}
                    for a, d in rows]


async def specialist_day(store, specialist_id: int, since: datetime, answer_target_s: float = 2.0) -> dict:
    """A specialist's figures since `since` (the console's "My day").

    - `answered`: sessions this specialist answered (outcome answered or transferred);
    - `avg_answer_ms`: mean time from the offer to the answer (how fast they pick up);
    - `avg_satisfaction`: mean caller rating (1-5) of those sessions;
    - `avg_difficulty`: mean difficulty they recorded in wrap-up;
    - `score` (0-100): the specialist's score on today's leaderboard, the
      administrators' formula (store/scores.py, docs/administration.md); None
      before the first answered call.
    """
    since = utc_naive(since)
    S = CallSession  # durations are computed in Python: date arithmetic is not portable SQL
    handled = S.answered_at.is_not(None)
    async with store._report() as db:
        rows = (await db.execute(
            select(S.offered_at, S.answered_at, S.difficulty, Rating.satisfaction)
            .outerjoin(Rating, Rating.session_id == S.id)
            .where(S.specialist_id == specialist_id, S.created_at >= since, handled)
        )).all()
    answered = len(rows)
    picks = [(a - o).total_seconds() * 1000 for o, a, _, _ in rows if o is not None and a is not None]
    sats = [s for _, _, _, s in rows if s is not None]
    diffs = [d for _, _, d, _ in rows if d is not None]
    avg = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    avg_answer_ms, avg_sat, avg_diff = avg(picks), avg(sats), avg(diffs)
    score = None
    if answered:
        board = await store.scores(since=since, until=None, threshold_s=answer_target_s)
        score = next((row["score"] for row in board if row["id"] == specialist_id), None)
    return {
        "since": iso(since.replace(tzinfo=timezone.utc)),
        "answered": answered,
        "avg_answer_ms": None if avg_answer_ms is None else round(avg_answer_ms),
        "avg_satisfaction": None if avg_sat is None else round(avg_sat, 2),
        "avg_difficulty": None if avg_diff is None else round(avg_diff, 2),
        "rated": len(sats),
        "score": score,
    }
