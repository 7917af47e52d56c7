"""Helpers for tests of the shared mechanics: serving any app, and proving nothing was written."""

import contextlib
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from pestle import models
from tests.conftest import Db, free_port

# What the server generates when the client sent no usable X-Request-ID.
GENERATED_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def row_counts(db: Db) -> dict[str, int]:
    """The number of rows in every table."""
    async with db.database.sessions() as session:
        return {
            table.name: await session.scalar(select(func.count()).select_from(table)) or 0
            for table in models.Base.metadata.sorted_tables
        }


@contextlib.asynccontextmanager
async def writes_nothing(db: Db) -> AsyncIterator[None]:
    """Asserts that the block leaves every table as it found it."""
    before = await row_counts(db)
    yield
    assert await row_counts(db) == before


async def customer_id(db: Db, name: str) -> uuid.UUID:
    [customer] = await db.all(models.Customer, name=name)
    found: uuid.UUID = customer.id
    return found
