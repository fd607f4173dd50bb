"""Service item catalog files (CSV or JSON) and the rules every item must meet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

FIELDS = ("code", "name", "name_en", "category", "department", "level", "difficulty")
LEVELS = ("district", "municipal")
# Column widths in models.py: checked here so PostgreSQL and SQLite reject alike.
MAX_LEN = {"code": 32, "name": 200, "name_en": 200, "category": 64, "department": 200}


class CatalogError(ValueError):
    """A bad catalog item or file; `line` is the file line (CSV) or 1-based index (JSON)."""

    def __init__(self, line: int | None, message: str):
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.message = message


def validate_item(item: Any, line: int | None) -> dict:
    """Return the item with the seven contract keys, stripped (and `recording` when given);
    raise CatalogError otherwise."""
    if not isinstance(item, dict):
        raise CatalogError(line, "expected an object with keys " + ",".join(FIELDS))
    missing = [key for key in FIELDS if key not in item]
    if missing:
        raise CatalogError(line, "missing " + ", ".join(missing))
    clean: dict = {}
    for key in FIELDS[:-1]:
        value = item[key]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise CatalogError(line, f"{key} must be text")
        value = value.strip()
        if len(value) > MAX_LEN.get(key, 16):
            raise CatalogError(line, f"{key} is longer than {MAX_LEN.get(key, 16)} characters")
        clean[key] = value
    for key in ("code", "name", "category"):
        if not clean[key]:
            raise CatalogError(line, f"{key} must not be empty")
    if clean["level"] not in LEVELS:
        raise CatalogError(line, "level must be district or municipal")
    difficulty = item["difficulty"]
    if isinstance(difficulty, bool) or not isinstance(difficulty, int) or not 1 <= difficulty <= 5:
        raise CatalogError(line, "difficulty must be an integer 1-5")
    clean["difficulty"] = difficulty
    if item.get("recording") is not None:  # extension: record this item's calls (default yes)
        if not isinstance(item["recording"], bool):
            raise CatalogError(line, "recording must be true or false")
        clean["recording"] = item["recording"]
    return clean


def load_catalog_file(path: str | Path) -> list[dict]:
    """Read and validate a catalog file; each item carries `_line` for later error reports."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(None, f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CatalogError(line, "not valid UTF-8") from None
    if path.suffix.lower() == ".json" or (path.suffix.lower() != ".csv" and text.lstrip().startswith("[")):
        return _load_json(text)
    return _load_csv(text)


def _load_json(text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(exc.lineno, f"invalid JSON: {exc.msg}") from None
    if not isinstance(data, list):
        raise CatalogError(1, "expected a JSON list of service items")
    return [{**validate_item(item, i), "_line": i} for i, item in enumerate(data, start=1)]


def _load_csv(text: str) -> list[dict]:
    reader = csv.reader(io.StringIO(text, newline=""))
    items: list[dict] = []
    start = 1  # a quoted field may span lines: report the line a record starts on
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if line == 1:
                if tuple(cell.strip() for cell in row) != FIELDS:
                    raise CatalogError(1, "header must be " + ",".join(FIELDS))
                continue
            if not any(cell.strip() for cell in row):
                continue  # blank lines, e.g. at the end of the file
            if len(row) != len(FIELDS):
                raise CatalogError(line, f"expected {len(FIELDS)} fields, found {len(row)}")
            item: dict[str, Any] = dict(zip(FIELDS, row))
            difficulty = item["difficulty"].strip()
            item["difficulty"] = int(difficulty) if difficulty.isdecimal() else difficulty
            items.append({**validate_item(item, line), "_line": line})
    except csv.Error as exc:
        raise CatalogError(reader.line_num, f"malformed CSV: {exc}") from None
    if start == 1:
        raise CatalogError(1, "empty file: header must be " + ",".join(FIELDS))
    return items
