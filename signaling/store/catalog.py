"""Service item catalog files (CSV or JSON) and the rules every item must meet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

FIELDS = ("code", "name", "name_en", "category", "department", "level", "difficulty")
# Columns a CSV may add after the seven (in any order), keys a JSON item may carry: left out,
# an existing item keeps its value.
# `keywords`: the search's synonyms and short names (社保, social security), separated by commas,
# semicolons, 、 or spaces (store/search.py); JSON may give them as a list.
OPTIONAL_FIELDS = ("department_en", "keywords")
LEVELS = ("district", "municipal")
# Column widths in models.py: checked here so PostgreSQL and SQLite reject alike.
MAX_LEN = {"code": 32, "name": 200, "name_en": 200, "category": 64, "department": 200, "department_en": 200,
           "keywords": 2000}


class CatalogError(ValueError):
    """A bad catalog item or file; `line` is the file line (CSV) or 1-based index (JSON)."""

    def __init__(self, line: int | None, message: str):
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.message = message


def validate_item(item: Any, line: int | None) -> dict:
    """Return the item with the seven contract keys, stripped (and the optional ones, `recording`
    and `retired` when given); raise CatalogError otherwise."""
    if not isinstance(item, dict):
        raise CatalogError(line, "expected an object with keys " + ",".join(FIELDS))
    missing = [key for key in FIELDS if key not in item]
    if missing:
        raise CatalogError(line, "missing " + ", ".join(missing))
    clean: dict = {}
    for key in FIELDS[:-1]:
        clean[key] = _text("" if item[key] is None else item[key], key, line)
    for key in ("code", "name", "category"):
        if not clean[key]:
            raise CatalogError(line, f"{key} must not be empty")
    if clean["level"] not in LEVELS:
        raise CatalogError(line, "level must be district or municipal")
    difficulty = item["difficulty"]
    if isinstance(difficulty, bool) or not isinstance(difficulty, int) or not 1 <= difficulty <= 5:
        raise CatalogError(line, "difficulty must be an integer 1-5")
    clean["difficulty"] = difficulty
    for key in OPTIONAL_FIELDS:
        if item.get(key) is not None:
            value = item[key]
            if key == "keywords" and isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = ", ".join(v.strip() for v in value if v.strip())
            clean[key] = _text(value, key, line)
    # Extensions: record this item's calls (default yes); retire it (no longer offered to callers).
    for key in ("recording", "retired"):
        if item.get(key) is not None:
            if not isinstance(item[key], bool):
                raise CatalogError(line, f"{key} must be true or false")
            clean[key] = item[key]
    return clean


def _text(value: Any, key: str, line: int | None) -> str:
    if not isinstance(value, str):
        raise CatalogError(line, f"{key} must be text")
    value = value.strip()
    if len(value) > MAX_LEN.get(key, 16):
        raise CatalogError(line, f"{key} is longer than {MAX_LEN.get(key, 16)} characters")
    return value


def validate_category(raw: Any, code: str) -> dict:
    """A category's display names: `name` (Chinese) required, `name_en` optional; the code is the
    one service items carry in `category`."""
    if not isinstance(raw, dict):
        raise CatalogError(None, "expected an object with name and name_en")
    code = _text(code, "category", None)
    if not code:
        raise CatalogError(None, "the category code must not be empty")
    name = _text(raw.get("name", ""), "name", None)
    if not name:
        raise CatalogError(None, "name must not be empty")
    name_en = raw.get("name_en")
    return {"code": code, "name": name, "name_en": "" if name_en is None else _text(name_en, "name_en", None)}


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
                header = _header(row)
                continue
            if not any(cell.strip() for cell in row):
                continue  # blank lines, e.g. at the end of the file
            if len(row) != len(header):
                raise CatalogError(line, f"expected {len(header)} fields, found {len(row)}")
            item: dict[str, Any] = dict(zip(header, row))
            difficulty = item["difficulty"].strip()
            item["difficulty"] = int(difficulty) if difficulty.isdecimal() else difficulty
            items.append({**validate_item(item, line), "_line": line})
    except csv.Error as exc:
        raise CatalogError(reader.line_num, f"malformed CSV: {exc}") from None
    if start == 1:
        raise CatalogError(1, "empty file: header must be " + ",".join(FIELDS))
    return items


def _header(row: list[str]) -> tuple[str, ...]:
    """The seven contract columns in order, then any optional ones (each at most once)."""
    header = tuple(cell.strip() for cell in row)
    extra = header[len(FIELDS):]
    if header[: len(FIELDS)] != FIELDS or any(c not in OPTIONAL_FIELDS for c in extra) or len(set(extra)) < len(extra):
        raise CatalogError(1, "header must be " + ",".join(FIELDS) + " followed by any of " + ",".join(OPTIONAL_FIELDS))
    return header
