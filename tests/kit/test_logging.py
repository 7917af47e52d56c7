"""The access log: one JSON object per request, and never a body or a query string."""

import asyncio
import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pestle.kit.logging import JsonFormatter, configure_logging
from tests.conftest import Db

MARKER = "Zanzibar7f3a"
LOG_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# The test's own HTTP client logs the URLs it requests; only the server's records count.
CLIENT_LOGGERS = ("httpx", "httpcore")


async def access_records(caplog: pytest.LogCaptureFixture, count: int) -> list[logging.LogRecord]:
    """The access records, once ``count`` have arrived: each is written after its response."""
    deadline = time.monotonic() + 10
    while True:
        records = [record for record in caplog.records if record.name == "pestle.access"]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.01)


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captures pestle.access at INFO, formatted as JSON as it is written, on the server."""
    caplog.set_level(logging.INFO, logger="pestle.access")
    caplog.handler.setFormatter(JsonFormatter())
    return caplog


@pytest.fixture(params=["INFO", "DEBUG"])
def production_logging(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[pytest.LogCaptureFixture]:
    """Logging set up as ``pestle serve`` does it, at each level, with caplog still listening."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "aiosqlite")
    saved = [
        (logger, logger.handlers[:], logger.propagate, logger.disabled, logger.level)
        for logger in map(logging.getLogger, names)
    ]
    configure_logging(request.param)
    logging.getLogger().addHandler(caplog.handler)
    yield caplog
    for logger, handlers, propagate, disabled, level in saved:
        logger.handlers[:] = handlers
        logger.propagate, logger.disabled = propagate, disabled
        logger.setLevel(level)


class TestAccessLog:
    @pytest.mark.parametrize(
        ("method", "url", "path", "status"),
        [
            ("GET", "/healthz", "/healthz", 200),
            ("GET", "/api/v1/users?page=2&page_size=10", "/api/v1/users", 401),
            ("POST", "/api/v1/no-such-thing?x=1", "/api/v1/no-such-thing", 404),
        ],
    )
    async def test_one_json_record_per_request(
        self,
        anon: httpx.AsyncClient,
        access_log: pytest.LogCaptureFixture,
        method: str,
        url: str,
        path: str,
        status: int,
    ) -> None:
        response = await anon.request(method, url)

        [record] = await access_records(access_log, 1)
        [line] = access_log.text.splitlines()
        entry: dict[str, Any] = json.loads(line)
        assert LOG_TIME.fullmatch(entry.pop("time"))
        duration_ms = entry.pop("duration_ms")
        assert isinstance(duration_ms, float | int)
        assert 0 <= duration_ms < 10_000
        assert entry == {
            "level": "INFO",
            "logger": "pestle.access",
            "message": "request",
            "request_id": response.headers["X-Request-ID"],
            "method": method,
            "path": path,
            "status": status,
        }
        assert (record.method, record.path, record.status) == (method, path, status)

    async def test_each_request_has_its_own_record(
        self, anon: httpx.AsyncClient, access_log: pytest.LogCaptureFixture
    ) -> None:
        sent = [f"request-{number}" for number in range(3)]
        for request_id in sent:
            await anon.get("/healthz", headers={"X-Request-ID": request_id})

        await access_records(access_log, len(sent))
        logged = [json.loads(line)["request_id"] for line in access_log.text.splitlines()]
        assert sorted(logged) == sent


class TestNothingPrivateIsLogged:
    async def test_bodies_and_query_strings_never_reach_the_log(
        self, anon: httpx.AsyncClient, db: Db, production_logging: pytest.LogCaptureFixture
    ) -> None:
        caplog = production_logging
        requests: list[tuple[str, dict[str, Any]]] = [
            (
                f"/api/v1/auth/login?last_name={MARKER}",
                {"email": f"{MARKER}@clinic-a.pestle.dev", "password": MARKER},
            ),
            (f"/api/v1/auth/login?last_name={MARKER}", {"email": MARKER, "password": 5}),
        ]
        statuses = [(await anon.post(url, json=body)).status_code for url, body in requests]

        await access_records(caplog, len(requests))
        assert statuses == [401, 422]
        formatter = JsonFormatter()
        logged = [
            formatter.format(record)
            for record in caplog.records
            if not record.name.startswith(CLIENT_LOGGERS)
        ]
        assert len(logged) >= len(requests)
        assert [line for line in logged if MARKER.lower() in line.lower()] == []
