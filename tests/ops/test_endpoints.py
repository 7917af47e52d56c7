"""Operations: liveness, readiness and the published API description."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pestle.app import create_app
from pestle.config import Settings
from tests.conftest import TEST_SECRET_KEY, Backend, Db, live_server
from tests.postgres import free_port

DOCUMENTED_PATHS = [
    "/api/v1/auth/login",
    "/api/v1/auth/verify",
    "/api/v1/auth/api_keys",
    "/api/v1/users",
    "/api/v1/notifications/events",
    "/healthz",
]


def unreachable_url(backend: Backend, tmp_path: Path) -> str:
    """A database URL of the backend's engine that no connection can be opened to."""
    if backend.name == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'missing-directory' / 'pestle.db'}"
    return f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/pestle"


@pytest.fixture
def unreachable_server(backend: Backend, tmp_path: Path) -> Iterator[str]:
    settings = Settings(database_url=unreachable_url(backend, tmp_path), secret_key=TEST_SECRET_KEY)
    with live_server(create_app(settings)) as base_url:
        yield base_url


class TestProbes:
    @pytest.mark.parametrize(
        ("path", "body"), [("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})]
    )
    async def test_answer_without_a_token(
        self, anon: httpx.AsyncClient, db: Db, path: str, body: dict[str, str]
    ) -> None:
        async with db.writes_nothing():
            response = await anon.get(path)

        assert (response.status_code, response.json()) == (200, body)

    async def test_not_ready_without_its_database(self, unreachable_server: str) -> None:
        async with httpx.AsyncClient(base_url=unreachable_server, timeout=30) as client:
            ready = await client.get("/readyz")
            alive = await client.get("/healthz")

        assert (ready.status_code, ready.json()) == (
            503,
            {"status": "unavailable", "database": "unreachable"},
        )
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})


class TestApiDescription:
    async def test_openapi_lists_the_endpoints_and_bearer_auth(
        self, anon: httpx.AsyncClient
    ) -> None:
        response = await anon.get("/openapi.json")

        assert response.status_code == 200
        schema = response.json()
        assert [path for path in DOCUMENTED_PATHS if path not in schema["paths"]] == []
        assert schema["components"]["securitySchemes"] == {
            "HTTPBearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An access token from /api/v1/auth/login, or an API key (pk_...).",
            }
        }
        assert schema["paths"]["/api/v1/users"]["get"]["security"] == [{"HTTPBearer": []}]

    async def test_docs_are_served_as_html(self, anon: httpx.AsyncClient) -> None:
        response = await anon.get("/docs")

        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "/openapi.json" in response.text
        assert "swagger-ui" in response.text
