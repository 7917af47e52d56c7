"""The real app over real HTTP, on SQLite and on an ephemeral PostgreSQL cluster.

Every test that takes ``server`` (directly or through a client fixture) runs once per backend:
its id ends in ``[sqlite]`` or ``[postgresql]``.
"""

import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from pestle import migrate, models
from pestle.app import create_app
from pestle.config import Settings
from pestle.db import Database
from pestle.users.service import user_service
from tests.postgres import Cluster, PostgresUnavailable, free_port, running_cluster

BACKENDS = ["sqlite", "postgresql"]
TEST_SECRET_KEY = "test-signing-key-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "Correct-Horse-Battery-9"


@dataclass(frozen=True)
class Backend:
    name: str
    settings: Settings


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    with contextlib.ExitStack() as stack:
        try:
            cluster = stack.enter_context(running_cluster())
        except PostgresUnavailable as error:
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI must test on PostgreSQL, but: {error}")
            pytest.skip(f"PostgreSQL half skipped: {error}")
        yield cluster


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'pestle.db'}"
    else:
        url = request.getfixturevalue("pg_cluster").url("postgres")
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET_KEY,
        allow_private_webhooks=True,
        run_worker_in_process=False,  # tests start their workers themselves
    )
    migrate.upgrade(settings)
    return Backend(request.param, settings)


@contextlib.contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
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


@pytest.fixture(scope="session")
def server(backend: Backend) -> Iterator[str]:
    with live_server(create_app(backend.settings)) as base_url:
        yield base_url


class Db:
    """The test's own view of the database, for setting up and for checking what was written."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def count(self, model: type[Any], **filters: Any) -> int:
        statement = select(func.count()).select_from(model).filter_by(**filters)
        async with self.database.sessions() as session:
            return (await session.scalar(statement)) or 0

    async def all(self, model: type[Any], **filters: Any) -> list[Any]:
        async with self.database.sessions() as session:
            return list(await session.scalars(select(model).filter_by(**filters)))

    async def create_user(
        self, email: str, role: str, customer: str | None = None, password: str = PASSWORD
    ) -> models.User:
        async with self.database.transaction() as session:
            return await user_service.create(
                session,
                email=email,
                password=password,
                role=role,
                customer_name=customer,
                first_name="Test",
                last_name=role.title(),
            )

    async def deactivate(self, email: str) -> None:
        async with self.database.transaction() as session:
            user = await user_service.find_by_email(session, email)
            assert user is not None
            user.is_active = False

    async def row_counts(self) -> dict[str, int]:
        """The number of rows in every table."""
        async with self.database.sessions() as session:
            return {
                table.name: await session.scalar(select(func.count()).select_from(table)) or 0
                for table in models.Base.metadata.sorted_tables
            }

    @contextlib.asynccontextmanager
    async def writes_nothing(self) -> AsyncIterator[None]:
        """Asserts that the block leaves every table as it found it."""
        before = await self.row_counts()
        yield
        assert await self.row_counts() == before

    async def clear(self) -> None:
        """Empties every table but the vocabulary's, which `migrate.upgrade` seeded once."""
        async with self.database.transaction() as session:
            for table in reversed(models.Base.metadata.sorted_tables):
                if table.name not in ("risk_factor_concept", "risk_factor_concept_name"):
                    await session.execute(table.delete())


@pytest.fixture(scope="session")
async def session_db(backend: Backend) -> AsyncIterator[Db]:
    database = Database(backend.settings)
    yield Db(database)
    await database.dispose()


@pytest.fixture
async def db(session_db: Db) -> AsyncIterator[Db]:
    yield session_db
    await session_db.clear()


@pytest.fixture
async def anon(server: str, db: Db) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@contextlib.asynccontextmanager
async def user_client(
    server: str, db: Db, email: str, role: str, customer: str | None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client logged in as a new user with ``role``."""
    await db.create_user(email, role, customer)
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        tokens = await login(client, email)
        client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        yield client


@pytest.fixture
async def clinic_a(server: str, db: Db) -> AsyncIterator[httpx.AsyncClient]:
    """The admin of customer "Clinic A"."""
    async with user_client(server, db, "admin@clinic-a.pestle.dev", "admin", "Clinic A") as client:
        yield client


@pytest.fixture
async def clinic_b(server: str, db: Db) -> AsyncIterator[httpx.AsyncClient]:
    """The admin of customer "Clinic B"."""
    async with user_client(server, db, "admin@clinic-b.pestle.dev", "admin", "Clinic B") as client:
        yield client


@pytest.fixture
async def pharmacist(server: str, db: Db) -> AsyncIterator[httpx.AsyncClient]:
    async with user_client(server, db, "rph@pharmacy.pestle.dev", "pharmacist", None) as client:
        yield client


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Shows that the suite ran on both engines: outcomes counted per backend."""
    counts: Counter[tuple[str, str]] = Counter()
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if outcome == "passed" and report.when != "call":
                continue
            parameters = report.nodeid.rpartition("[")[2].rstrip("]").split("-")
            for name in BACKENDS:
                if name in parameters:
                    counts[(name, outcome)] += 1
    for name in BACKENDS:
        summary = ", ".join(
            f"{counts[(name, outcome)]} {outcome}"
            for outcome in ("passed", "failed", "error", "skipped")
            if counts[(name, outcome)]
        )
        terminalreporter.write_line(f"backend {name}: {summary or 'no tests'}")
