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


def _include_object(
    item: Any, name: str | None, kind: str, reflected: bool, compare_to: Any
) -> bool:
    """Leaves to migrations 0012 and 0013 what the search keeps in the database alone,
    outside the models: the FTS5 tables (and their shadow tables) on SQLite, and the generated
    `search_text` and `search_codes` columns with their trigram indexes on PostgreSQL."""
    if kind == "table" and name is not None and name.startswith("search_"):
        return False
    if kind == "column" and name in ("search_text", "search_codes"):
        return False
    return not (kind == "index" and name is not None and name.endswith("_search"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        include_object=_include_object,
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
