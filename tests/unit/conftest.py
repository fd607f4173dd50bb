"""Shared by the unit tests: an empty database on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

PG_URL = os.environ.get("VW_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
_pg_ok: bool | None = None


async def _postgres_reachable() -> bool:
    global _pg_ok
    if _pg_ok is None:
        engine = create_async_engine(PG_URL)
        try:
            async with asyncio.timeout(5):
                async with engine.connect():
                    pass
            _pg_ok = True
        except Exception:
            _pg_ok = False
        finally:
            await engine.dispose()
    return _pg_ok


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request, tmp_path):
    """(url, engine_kwargs) of an empty database: a file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'var' / 'test.db'}", {}
        return
    if not await _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL unreachable at {PG_URL} (CI is set)")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}")
    schema = "vw_test_" + uuid.uuid4().hex[:12]
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield PG_URL, {"connect_args": {"server_settings": {"search_path": schema}}}
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


# One service item, for the tests that write sessions through the store (writer, references).
ITEM = {"code": "SI-001", "name": "社保开户", "name_en": "Open accounts", "category": "social_insurance",
        "department": "", "level": "district", "difficulty": 2}


@pytest.fixture
async def empty_store(database):
    """An open Store on `database`, with nothing in it."""
    from signaling.store import Store

    url, kwargs = database
    s = Store(url, engine_kwargs=kwargs)
    await s.open()
    yield s
    await s.close()


@pytest.fixture
async def item_store(empty_store):
    """An open Store on `database` whose catalog holds ITEM."""
    await empty_store.import_service_items([ITEM])
    return empty_store
