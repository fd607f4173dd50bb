"""Recording retention: delete recordings older than the configured number of days.

Indexed recordings are removed from the store and their files deleted; files
in the recordings directory that no row points to (left by a crash) are
deleted by age too. Runs at start-up and then every `interval_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


async def purge_recordings(store: Any, directory: Path, days: float, now: datetime | None = None) -> int:
    """Delete recordings older than `days`; returns how many files were removed."""
    if days <= 0:
        return 0
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=days)
    paths = await store.delete_recordings_before(cutoff)

    def remove() -> int:
        removed = 0
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
                removed += 1
        if directory.is_dir():
            oldest = cutoff.timestamp()
            for entry in directory.glob("*.webm"):
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat().st_mtime < oldest:
                        entry.unlink()
                        removed += 1
        return removed

    removed = await asyncio.get_running_loop().run_in_executor(None, remove)
    if removed:
        logger.info("retention: deleted %d recordings older than %s days", removed, days)
    return removed


class RetentionJob:
    """Runs :func:`purge_recordings` now and every `interval_s` until stopped."""

    def __init__(self, store: Any, directory: Path, days: float, interval_s: float = 3600) -> None:
        self.store, self.directory, self.days, self.interval_s = store, Path(directory), days, interval_s
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    def start(self) -> None:
        if self.days > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="recording-retention")

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await purge_recordings(self.store, self.directory, self.days)
            except Exception:
                logger.exception("recording retention failed")
            self.runs += 1
            await asyncio.sleep(max(self.interval_s - (time.monotonic() - started), 1))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
