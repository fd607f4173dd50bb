"""Engine creation and schema migration (Alembic, run programmatically)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(database_url: str, **engine_kwargs: Any) -> AsyncEngine:
    url = make_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        path = Path(url.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    engine = create_async_engine(url, **engine_kwargs)
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Enforce foreign keys as PostgreSQL does, so both backends behave alike.
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the admin pages read while calls are being written.
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL never corrupts the database; it only syncs at checkpoints,
    # so a commit costs microseconds instead of an fsync on the answer path.
    # (A power cut may lose the last moments; production runs PostgreSQL.)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _upgrade_to_head(sync_connection: Any) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = sync_connection
    # "heads": features may add independent revisions on separate branches.
    command.upgrade(config, "heads")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # Batch migrations copy tables; foreign keys must be off meanwhile
            # (the pragma only takes effect outside a transaction).
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.run_sync(_upgrade_to_head)
        await conn.commit()
        if engine.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
