"""The session writer's local journal: an append-only file of records, synced in groups.

A record is durable once its line is in the file and the file is synced. The
writer applies records to the database later, in order; records already
applied are skipped on replay by the checkpoint kept in the database in the
same transaction (store/writer.py). The file is emptied whenever everything in
it has been applied.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class Journal:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # 0600: it holds callers' names and phone numbers until they are in the database.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "r+b", buffering=0)

    @property
    def key(self) -> str:
        """The name its checkpoint is kept under in the database."""
        return self.path.stem[:64]

    def read(self) -> list[dict]:
        """Every whole record in the file, in order (a torn last line from a crash is dropped)."""
        self._file.seek(0)
        records = []
        for number, line in enumerate(self._file.read().splitlines(), 1):
            try:
                records.append(json.loads(line))
            except ValueError:
                log.warning("journal %s: line %d is incomplete (torn by a crash); dropped", self.path, number)
        return records

    def append(self, records: list[dict]) -> None:
        """Write and sync a group of records (blocking: run it off the event loop)."""
        data = b"".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for r in records)
        self._file.write(data)
        os.fsync(self._file.fileno())

    def size(self) -> int:
        return os.fstat(self._file.fileno()).st_size

    def clear(self) -> None:
        self._file.truncate(0)
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()
