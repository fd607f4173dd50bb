"""Payload checks at the edge: every field named, typed and bounded, or a clear 400."""

from __future__ import annotations

from typing import Any, Iterable

from .errors import bad_input

_MISSING = object()


def obj(payload: Any) -> dict:
    if not isinstance(payload, dict):
        raise bad_input("payload must be a JSON object")
    return payload


def text(p: dict, key: str, *, required: bool = True, max_len: int = 200, allow_empty: bool = False) -> str | None:
    value = p.get(key, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise bad_input(f"{key} is required", "missing_field")
        return None
    if not isinstance(value, str):
        raise bad_input(f"{key} must be a string", "wrong_type")
    value = value.strip()
    if not value and not allow_empty:
        if required:
            raise bad_input(f"{key} must not be empty", "missing_field")
        return None
    if len(value) > max_len:
        raise bad_input(f"{key} is longer than {max_len} characters", "too_long")
    return value


def integer(p: dict, key: str, lo: int, hi: int, *, required: bool = True) -> int | None:
    value = p.get(key, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise bad_input(f"{key} is required", "missing_field")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_input(f"{key} must be an integer", "wrong_type")
    if not lo <= value <= hi:
        raise bad_input(f"{key} must be between {lo} and {hi}", "out_of_range")
    return value


def boolean(p: dict, key: str, *, required: bool = False) -> bool | None:
    value = p.get(key, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise bad_input(f"{key} is required", "missing_field")
        return None
    if not isinstance(value, bool):
        raise bad_input(f"{key} must be true or false", "wrong_type")
    return value


def choice(p: dict, key: str, choices: Iterable[str], *, required: bool = True) -> str | None:
    choices = tuple(choices)
    value = text(p, key, required=required)
    if value is not None and value not in choices:
        raise bad_input(f"{key} must be one of: {', '.join(choices)}", "invalid_value")
    return value
