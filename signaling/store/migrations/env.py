"""Alembic environment.

The server runs migrations itself (`Store.open()` passes its connection in
`config.attributes["connection"]`). For developers, `alembic -c
signaling/store/alembic.ini -x url=... revision --autogenerate` also works:
without a connection this opens an async engine from the URL.
"""

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from signaling.store.models import Base

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite can only ALTER by copying a table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    asyncio.run(_run_standalone(url))
