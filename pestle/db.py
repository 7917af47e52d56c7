"""Engines, sessions, and the per-request unit of work.

A request gets one session; it commits once when the endpoint has returned and rolls back on
any error. Services never commit. The few writes that must outlive a failed request (a failed
login, an idempotency claim) use a short transaction of their own through ``Database.transaction``.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from pestle.config import Settings

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    # hide_parameters: a failing statement's message would otherwise carry patient data.
    # pre_ping on PostgreSQL only: a server restart must not fail the next requests, while an
    # SQLite file cannot go away underneath a connection.
    engine = create_async_engine(
        settings.database_url, hide_parameters=True, pool_pre_ping=not settings.is_sqlite
    )
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends and rolls back if it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    async def is_reachable(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def request_session(
    database: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commit once after the endpoint, roll back on any error."""
    async with database.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


DatabaseDep = Annotated[Database, Depends(get_database)]
# scope="function": the commit happens before the response is sent, so a failed commit is
# reported to the client instead of being hidden behind a 2xx.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
