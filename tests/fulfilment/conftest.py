from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import Db
from tests.orders.support import staff


@pytest.fixture
async def technician(server: str, db: Db) -> AsyncIterator[httpx.AsyncClient]:
    async with staff(server, db, "technician") as client:
        yield client


@pytest.fixture
async def pharmacy_admin(server: str, db: Db) -> AsyncIterator[httpx.AsyncClient]:
    async with staff(server, db, "pharmacy_admin") as client:
        yield client
