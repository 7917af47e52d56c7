"""Applies the Alembic migrations in ``migrations/`` beside the package, then seeds the data
every database needs: the built-in risk-factor vocabulary."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from pestle.config import Settings
from pestle.db import Database
from pestle.vocabulary.service import vocabulary_service

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would read a % in a password as a placeholder.
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings) -> None:
    if settings.sqlite_path is not None:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), "head")
    asyncio.run(_seed(settings))


async def _seed(settings: Settings) -> None:
    database = Database(settings)
    try:
        async with database.transaction() as session:
            await vocabulary_service.ensure_builtin(session)
    finally:
        await database.dispose()
