"""Logging for operators: where records go, at which level, in which format (docs/operations.md).

The project's loggers (`signaling.*`) log at VW_LOG_LEVEL (INFO). Libraries stay at WARNING
unless VW_LIBRARY_LOG_LEVEL says otherwise: aioice alone logs every ICE check at INFO, which was
nine log lines in ten. Records go to standard error as text, or with VW_LOG_FORMAT=json as one
JSON object a line (the standard library's json is enough: no dependency).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

PROJECT = "signaling"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Quieter than the others by default: with logger=False python-socketio and python-engineio keep
# ERROR, and at WARNING they would report every refused connection (a wrong token, a cap).
LIBRARY_DEFAULTS = {"socketio": "ERROR", "engineio": "ERROR"}
# What every LogRecord has; anything else on a record was passed as `extra=` and is kept in JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ms), level, logger, message, the record's extras
    (`session_id` and such) and, when there is one, the traceback as `exc`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", fmt: str = "text", library_level: str | None = None) -> None:
    """Replace the root logger's handlers with one on standard error. Call it before the app is
    made: python-socketio and python-engineio add a handler of their own to a logger left unset."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(library_level or "WARNING")  # every library not named below
    for name, default in LIBRARY_DEFAULTS.items():
        logging.getLogger(name).setLevel(library_level or default)
    logging.getLogger(PROJECT).setLevel(level)
    logging.captureWarnings(True)  # warnings.warn too, so that a JSON log stays JSON
