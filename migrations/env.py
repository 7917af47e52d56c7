"""Alembic environment: async engines, batch mode for SQLite, Pestle's own metadata."""

import asyncio
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from pestle.config import Settings
from pestle.db import create_engine
from pestle.models import Base
from pestle.models.base import UtcDateTime

config = context.config


def _render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | bool:
    """Autogenerate writes Pestle's column types as importable names."""
    if kind == "type" and isinstance(item, UtcDateTime):
        autogen_context.imports.add("from pestle.models.base import UtcDateTime")
        return "UtcDateTime()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    settings = Settings(database_url=url) if url else Settings()
    engine = create_engine(settings)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Pestle migrations run online only: use `pestle db upgrade`.")
asyncio.run(_run_online())
