"""Queue settings in the database, queue files (CSV/JSON), and skill proficiencies.

The rules each setting must meet live in `signaling.routing.settings` (pure);
this module reads and writes them. Every write is all-or-nothing.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from ..routing.settings import (
    FIELDS,
    EscalationStep,
    QueueSettings,
    SettingsError,
    overflow_targets,
    validate_settings,
)
from .models import RoutingQueue, ServiceItem, Skill, iso


class QueueError(ValueError):
    """A bad queue setting; `line` is the file line (CSV), 1-based index (JSON/list) or None."""

    def __init__(self, line: int | None, message: str, code: str = "invalid_queue"):
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.message = message
        self.code = code


# ---- files -------------------------------------------------------------------


def load_queue_file(path: str | Path) -> list[dict]:
    """Read a queue file; each entry carries `_line` for error reports. Checked on import."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise QueueError(None, f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise QueueError(None, "not valid UTF-8") from None
    if path.suffix.lower() == ".json" or (path.suffix.lower() != ".csv" and text.lstrip().startswith(("[", "{"))):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise QueueError(exc.lineno, f"invalid JSON: {exc.msg}") from None
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            data = data["items"]  # what GET /api/queues answers
        if not isinstance(data, list):
            raise QueueError(1, "expected a JSON list of queues")
        out = []
        for i, item in enumerate(data, start=1):
            if not isinstance(item, dict):
                raise QueueError(i, "expected an object")
            out.append({**item, "_line": i})
        return out
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[dict] = []
    header: list[str] | None = None
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if header is None:
                header = [c.strip() for c in row]
                unknown = [c for c in header if c not in FIELDS]
                if unknown or "service_item" not in header:
                    raise QueueError(1, "header must name service_item and any of " + ",".join(FIELDS[1:]))
                continue
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise QueueError(line, f"expected {len(header)} fields, found {len(row)}")
            # An empty cell keeps the current (or default) value, except for the
            # nullable limits where it is how one says "none".
            item = {k: v for k, v in zip(header, row)
                    if v.strip() or k in ("max_wait_s", "max_wait_no_agent_s", "overflow_to", "escalation", "shared_queue")}
            rows.append({**item, "_line": line})
    except csv.Error as exc:
        raise QueueError(reader.line_num, f"malformed CSV: {exc}") from None
    if header is None:
        raise QueueError(1, "empty file: the header must name service_item and its settings")
    return rows


# ---- database ------------------------------------------------------------------


def _settings(row: RoutingQueue) -> QueueSettings:
    return QueueSettings(
        service_item=row.service_item_code,
        strategy=row.strategy,
        priority=row.priority,
        offer_timeout_s=row.offer_timeout_s,
        wrap_up_s=row.wrap_up_s,
        max_wait_s=row.max_wait_s,
        max_wait_no_agent_s=row.max_wait_no_agent_s,
        overflow_to=row.overflow_to,
        min_proficiency=row.min_proficiency,
        scope=row.scope,
        rona_offers=row.rona_offers,
        escalation=tuple(EscalationStep(**s) for s in (row.escalation or [])),
        shared_queue=row.shared_queue,
    )


def queue_dict(settings: QueueSettings, configured: bool, updated_at: datetime | None = None) -> dict:
    return {**settings.as_dict(), "configured": configured, "updated_at": iso(updated_at)}


async def configured_queues(store) -> list[QueueSettings]:
    """The queues with settings of their own (the rest use the defaults)."""
    async with store._db() as db:
        return [_settings(row) for row in (await db.scalars(select(RoutingQueue))).all()]


async def routing_catalog(store) -> dict[str, str]:
    """service item code → category, for overflow between queues."""
    async with store._db() as db:
        return {code: cat for code, cat in await db.execute(select(ServiceItem.code, ServiceItem.category))}


async def list_queues(store, defaults: QueueSettings, code: str | None = None) -> list[dict]:
    """Effective settings of every service item's queue (or one), with `configured`."""
    async with store._db() as db:
        stmt = select(ServiceItem.code, RoutingQueue).outerjoin(
            RoutingQueue, RoutingQueue.service_item_code == ServiceItem.code
        ).order_by(ServiceItem.code)
        if code is not None:
            stmt = stmt.where(ServiceItem.code == code)
        rows = (await db.execute(stmt)).all()
    return [
        queue_dict(_settings(row).with_default_limits(defaults), True, row.updated_at) if row is not None
        else queue_dict(QueueSettings(**{**defaults.as_dict(), "escalation": (), "service_item": item}), False)
        for item, row in rows
    ]


async def save_queues(store, entries: list[Any], defaults: QueueSettings) -> list[QueueSettings]:
    """Validate every entry, then write them all in one transaction (or nothing).

    Keys left out keep the queue's current value (or the default)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    async with store._db() as db, db.begin():
        items = set((await db.scalars(select(ServiceItem.code))).all())
        rows = {row.service_item_code: row for row in (await db.scalars(select(RoutingQueue))).all()}
        clean: list[QueueSettings] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(entries, start=1):
            line = raw.get("_line", index) if isinstance(raw, dict) else index
            code = raw.get("service_item") if isinstance(raw, dict) else None
            # A maximum wait not given is kept unset: it follows the center's default.
            base = _settings(rows[code]) if isinstance(code, str) and code in rows else replace(
                defaults, max_wait_s=None, max_wait_no_agent_s=None)
            try:
                q = validate_settings(raw, base)
            except SettingsError as exc:
                raise QueueError(line, exc.message) from None
            if q.service_item not in items:
                raise QueueError(line, f"no service item {q.service_item!r}", "unknown_service_item")
            for target in overflow_targets(q):
                if target not in items:
                    raise QueueError(line, f"overflow_to: no service item {target!r}", "unknown_service_item")
            if q.shared_queue is not None and q.shared_queue not in items:
                raise QueueError(line, f"shared_queue: no service item {q.shared_queue!r}", "unknown_service_item")
            if q.service_item in seen:
                raise QueueError(line, f"{q.service_item} is listed twice (also on line {seen[q.service_item]})")
            seen[q.service_item] = line
            clean.append(q)
        for q in clean:
            row = rows.get(q.service_item)
            if row is None:
                row = RoutingQueue(service_item_code=q.service_item)
                db.add(row)
            for key, value in q.as_dict().items():
                if key != "service_item":
                    setattr(row, key, value if key != "escalation" else (value or None))
            row.updated_at = now
    return clean


async def delete_queue(store, code: str) -> bool:
    """Back to the defaults; False if the queue had no settings of its own."""
    async with store._db() as db, db.begin():
        result = await db.execute(delete(RoutingQueue).where(RoutingQueue.service_item_code == code))
        return result.rowcount > 0


async def skill_levels(store, account_id: int) -> dict[str, int]:
    """A specialist's skills as target → proficiency (1–5)."""
    async with store._db() as db:
        rows = await db.execute(select(Skill.target, Skill.proficiency).where(Skill.account_id == account_id))
        return {target: level for target, level in rows}
