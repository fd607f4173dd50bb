"""Queue settings and skills: the rules an operator configures, checked in one place.

Pure data and validation (no I/O): the store keeps these as rows, the CLI and
the HTTP API read them from files and JSON bodies, and the router applies them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable, Mapping

STRATEGIES = ("longest_idle", "fewest_calls", "least_talk_time", "round_robin", "ring_all")
SCOPES = ("item", "category")
DEFAULT_PROFICIENCY = 3
MAX_PRIORITY = 100
MAX_SECONDS = 86_400.0
CODE_MAX_LEN = 32

# The fields an operator may set, in the order of the CSV header.
FIELDS = (
    "service_item", "strategy", "priority", "offer_timeout_s", "wrap_up_s", "max_wait_s",
    "max_wait_no_agent_s", "overflow_to", "min_proficiency", "scope", "rona_offers", "escalation",
    "shared_queue",
)
STEP_KEYS = ("after_s", "min_proficiency", "scope", "priority", "overflow_to")
# What a queue as read back (GET /api/queues, a queue file) carries besides its settings: ignored on input.
META_KEYS = frozenset(("configured", "updated_at", "_line"))


class SettingsError(ValueError):
    """A bad queue setting or skill; `message` is for humans, `field` names what was wrong."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class EscalationStep:
    """After `after_s` seconds in the queue: lower the proficiency needed, widen to the
    whole category, raise the priority, and/or overflow to another queue."""

    after_s: float
    min_proficiency: int | None = None
    scope: str | None = None
    priority: int | None = None
    overflow_to: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class QueueSettings:
    """How sessions for one service item are distributed. Times in seconds; None = no limit."""

    service_item: str = ""
    strategy: str = "longest_idle"
    priority: int = 0
    offer_timeout_s: float = 15.0
    wrap_up_s: float = 120.0
    max_wait_s: float | None = None
    max_wait_no_agent_s: float | None = None
    overflow_to: str | None = None
    min_proficiency: int = 1
    scope: str = "category"  # "item": only the item's own skill; "category": also category:NAME
    rona_offers: int = 3  # offers in a row left to time out before the specialist is set away; 0 = never
    escalation: tuple[EscalationStep, ...] = field(default_factory=tuple)
    # Sessions for this item wait in another item's queue (one queue for several items),
    # under that queue's settings and answered by that item's specialists. None: its own.
    shared_queue: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["escalation"] = [s.as_dict() for s in self.escalation]
        return d

    def with_default_limits(self, defaults: QueueSettings) -> QueueSettings:
        """The maximum waits left unset (None) take the center's defaults: no wait is endless
        unless the center's default says so (docs/routing.md)."""
        return replace(
            self,
            max_wait_s=defaults.max_wait_s if self.max_wait_s is None else self.max_wait_s,
            max_wait_no_agent_s=defaults.max_wait_no_agent_s if self.max_wait_no_agent_s is None else self.max_wait_no_agent_s,
        )


def validate_settings(raw: Any, base: QueueSettings) -> QueueSettings:
    """Apply the given keys on top of `base` (defaults or the current row); raise SettingsError."""
    if not isinstance(raw, Mapping):
        raise SettingsError("expected an object with keys " + ",".join(FIELDS))
    unknown = sorted(set(raw) - set(FIELDS) - META_KEYS)
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]!r}", unknown[0])
    values: dict[str, Any] = {}
    for key in FIELDS:
        if key not in raw:
            continue
        value = raw[key]
        if key == "service_item":
            values[key] = _code(value, key, required=True)
        elif key == "strategy":
            values[key] = _choice(value, key, STRATEGIES, aliases={"ring-all": "ring_all", "longest-idle": "longest_idle",
                                                                  "fewest-calls": "fewest_calls", "round-robin": "round_robin",
                                                                  "least-talk-time": "least_talk_time",
                                                                  "fewest_calls_today": "fewest_calls",
                                                                  "fewest-calls-today": "fewest_calls"})
        elif key == "scope":
            values[key] = _choice(value, key, SCOPES)
        elif key == "priority":
            values[key] = _int(value, key, 0, MAX_PRIORITY)
        elif key == "min_proficiency":
            values[key] = _int(value, key, 1, 5)
        elif key == "rona_offers":
            values[key] = _int(value, key, 0, 100)
        elif key == "offer_timeout_s":
            values[key] = _seconds(value, key, lo=1.0, nullable=False)
        elif key == "wrap_up_s":
            values[key] = _seconds(value, key, lo=0.0, nullable=False)
        elif key in ("max_wait_s", "max_wait_no_agent_s"):
            values[key] = _seconds(value, key, lo=1.0, nullable=True)
        elif key in ("overflow_to", "shared_queue"):
            values[key] = _code(value, key, required=False)
        elif key == "escalation":
            values[key] = _steps(value)
    settings = replace(base, **values)
    if not settings.service_item:
        raise SettingsError("service_item is required", "service_item")
    if settings.overflow_to == settings.service_item:
        raise SettingsError("overflow_to must be another service item", "overflow_to")
    if settings.shared_queue == settings.service_item:
        raise SettingsError("shared_queue must be another service item (leave it empty for its own queue)", "shared_queue")
    for i, step in enumerate(settings.escalation, start=1):
        if step.overflow_to == settings.service_item:
            raise SettingsError(f"escalation step {i}: overflow_to must be another service item", "escalation")
    return settings


def check_change(raw: Any) -> None:
    """A change to one queue names at least one setting: an empty form is a mistake, not a save
    (saving it would give the queue settings of its own, the defaults, without anyone choosing them)."""
    if not isinstance(raw, Mapping):
        raise SettingsError("expected an object with keys " + ",".join(FIELDS))
    if not set(raw) - META_KEYS - {"service_item"}:  # unknown keys: validate_settings says which
        raise SettingsError("no setting given: send at least one of " + ", ".join(FIELDS[1:]))


def overflow_targets(settings: QueueSettings) -> set[str]:
    targets = {s.overflow_to for s in settings.escalation if s.overflow_to}
    if settings.overflow_to:
        targets.add(settings.overflow_to)
    return targets


def parse_escalation_text(text: str) -> list[dict]:
    """CSV form: `30:min_proficiency=1;60:scope=category;120:overflow_to=SI-004`."""
    steps: list[dict] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        after, sep, rest = part.partition(":")
        if not sep:
            raise SettingsError(f"escalation step {part!r} must look like AFTER_S:key=value[,key=value]", "escalation")
        step: dict[str, Any] = {"after_s": _number_text(after.strip(), "escalation after_s")}
        for pair in (p.strip() for p in rest.split(",") if p.strip()):
            key, eq, value = pair.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or key not in STEP_KEYS[1:]:
                raise SettingsError(f"escalation step {part!r}: unknown setting {key!r}", "escalation")
            step[key] = int(value) if key in ("min_proficiency", "priority") and value.lstrip("-").isdecimal() else value
        steps.append(step)
    return steps


def format_escalation_text(steps: Iterable[EscalationStep]) -> str:
    parts = []
    for step in steps:
        d = step.as_dict()
        after = d.pop("after_s")
        parts.append(f"{after:g}:" + ",".join(f"{k}={v}" for k, v in d.items()))
    return ";".join(parts)


# ---- skills ---------------------------------------------------------------


def parse_skill(text: str) -> tuple[str, int]:
    """`SI-001@4` → ("SI-001", 4); `category:tax` → ("category:tax", 3)."""
    text = (text or "").strip()
    target, at, level = text.rpartition("@") if "@" in text else (text, "", "")
    target = target.strip()
    if not target:
        raise SettingsError(f"skill {text!r} names no service item or category", "skills")
    if len(target) > 100:
        raise SettingsError(f"skill {target[:20]!r}... is longer than 100 characters", "skills")
    if not at:
        return target, DEFAULT_PROFICIENCY
    level = level.strip()
    if not level.isdecimal() or not 1 <= int(level) <= 5:
        raise SettingsError(f"skill {text!r}: proficiency after @ must be 1-5", "skills")
    return target, int(level)


def parse_skills(skills: Iterable[str] | Mapping[str, int] | None) -> dict[str, int]:
    """Skills as target → proficiency (1–5). Accepts `CODE@N` strings or a mapping."""
    if skills is None:
        return {}
    if isinstance(skills, Mapping):
        out = {}
        for target, level in skills.items():
            t, _ = parse_skill(str(target))
            if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
                raise SettingsError(f"skill {t!r}: proficiency must be 1-5", "skills")
            out[t] = level
        return out
    out: dict[str, int] = {}
    for s in skills:
        if s and str(s).strip():
            target, level = parse_skill(str(s))
            out[target] = level
    return out


# ---- field checks -----------------------------------------------------------


def _code(value: Any, key: str, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise SettingsError(f"{key} must not be empty", key)
        return None
    if not isinstance(value, str):
        raise SettingsError(f"{key} must be text", key)
    value = value.strip()
    if len(value) > CODE_MAX_LEN:
        raise SettingsError(f"{key} is longer than {CODE_MAX_LEN} characters", key)
    return value


def _choice(value: Any, key: str, allowed: tuple, aliases: dict | None = None) -> str:
    if isinstance(value, str):
        value = value.strip()
        value = (aliases or {}).get(value, value)
    if value not in allowed:
        raise SettingsError(f"{key} must be one of {', '.join(allowed)}", key)
    return value


def _int(value: Any, key: str, lo: int, hi: int) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise SettingsError(f"{key} must be an integer {lo}-{hi}", key)
    return value


def _number_text(text: str, key: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SettingsError(f"{key} must be a number of seconds", key) from None


def _seconds(value: Any, key: str, *, lo: float, nullable: bool) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if nullable:
            return None
        raise SettingsError(f"{key} is required", key)
    if isinstance(value, str):
        value = _number_text(value.strip(), key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SettingsError(f"{key} must be a number of seconds", key)
    if not lo <= value <= MAX_SECONDS:
        raise SettingsError(f"{key} must be between {lo:g} and {MAX_SECONDS:g} seconds", key)
    return float(value)


def _steps(value: Any) -> tuple[EscalationStep, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = parse_escalation_text(value)
    if not isinstance(value, list):
        raise SettingsError("escalation must be a list of steps", "escalation")
    if len(value) > 10:
        raise SettingsError("escalation has at most 10 steps", "escalation")
    steps: list[EscalationStep] = []
    for i, raw in enumerate(value, start=1):
        where = f"escalation step {i}"
        if not isinstance(raw, Mapping):
            raise SettingsError(f"{where} must be an object", "escalation")
        unknown = sorted(set(raw) - set(STEP_KEYS))
        if unknown:
            raise SettingsError(f"{where}: unknown setting {unknown[0]!r}", "escalation")
        if "after_s" not in raw:
            raise SettingsError(f"{where}: after_s is required", "escalation")
        try:
            step = EscalationStep(
                after_s=_seconds(raw["after_s"], "after_s", lo=0.0, nullable=False),
                min_proficiency=None if raw.get("min_proficiency") is None else _int(raw["min_proficiency"], "min_proficiency", 1, 5),
                scope=None if raw.get("scope") is None else _choice(raw["scope"], "scope", SCOPES),
                priority=None if raw.get("priority") is None else _int(raw["priority"], "priority", 0, MAX_PRIORITY),
                overflow_to=_code(raw.get("overflow_to"), "overflow_to", required=False),
            )
        except SettingsError as exc:
            raise SettingsError(f"{where}: {exc.message}", "escalation") from None
        if step.min_proficiency is None and step.scope is None and step.priority is None and step.overflow_to is None:
            raise SettingsError(f"{where} changes nothing (set min_proficiency, scope, priority or overflow_to)", "escalation")
        if steps and step.after_s <= steps[-1].after_s:
            raise SettingsError(f"{where}: after_s must be later than the step before", "escalation")
        steps.append(step)
    return tuple(steps)
