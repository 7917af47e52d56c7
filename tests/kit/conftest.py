"""The real app plus the probe router, served live once per backend."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from pestle.app import create_app
from tests.conftest import Backend, Db, live_server, user_client
from tests.kit import probe


@pytest.fixture(scope="session")
def probe_app(backend: Backend) -> FastAPI:
    app = create_app(backend.settings)
    app.include_router(probe.router)
    app.state.gate = probe.Gate()
    return app


@pytest.fixture(scope="session")
def probe_server(probe_app: FastAPI) -> Iterator[str]:
    with live_server(probe_app) as base_url:
        yield base_url


@pytest.fixture
def gate(probe_app: FastAPI) -> Iterator[probe.Gate]:
    """The probe's gate, closed; opened at the end so that no request is left hanging."""
    gate: probe.Gate = probe_app.state.gate
    gate.reset()
    yield gate
    gate.opened.set()


@pytest.fixture
async def probe_client(probe_server: str, db: Db) -> AsyncIterator[httpx.AsyncClient]:
    """The admin of customer "Clinic A", on the probe server."""
    async with user_client(
        probe_server, db, "admin@clinic-a.pestle.dev", "admin", "Clinic A"
    ) as client:
        yield client


@pytest.fixture
async def colleague_client(probe_server: str, db: Db) -> AsyncIterator[httpx.AsyncClient]:
    """Another user of customer "Clinic A", on the probe server."""
    async with user_client(
        probe_server, db, "member@clinic-a.pestle.dev", "member", "Clinic A"
    ) as client:
        yield client
