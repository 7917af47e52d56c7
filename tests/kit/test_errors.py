"""Every error is ``{"detail", "error"}``, carries X-Request-ID, and changes nothing."""

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Db
from tests.kit.probe import FAILURE_RESPONSES, PREFIX, Failure, post_event
from tests.kit.support import GENERATED_REQUEST_ID

LIMIT = 1024 * 1024  # PESTLE_MAX_BODY_BYTES by default
CHUNK = 64 * 1024
TOO_LARGE = {
    "detail": "The request body is larger than the limit of 1048576 bytes.",
    "error": "PayloadTooLarge",
}
MALFORMED = {
    "detail": "The request body is not valid JSON: Expecting value.",
    "error": "MalformedBody",
}


async def chunks(size: int) -> AsyncIterator[bytes]:
    """``size`` bytes as a stream, which httpx sends chunked, without Content-Length."""
    for start in range(0, size, CHUNK):
        yield b" " * min(CHUNK, size - start)


def body_of(size: int, *, chunked: bool) -> bytes | AsyncIterator[bytes]:
    return chunks(size) if chunked else b" " * size


def assert_error(response: httpx.Response, status: int, body: dict[str, Any]) -> None:
    assert (response.status_code, response.json()) == (status, body)
    assert GENERATED_REQUEST_ID.fullmatch(response.headers["X-Request-ID"])


class TestBodyLimit:
    """Probe POSTs under an Idempotency-Key: a refused body leaves no event and no claim."""

    async def post(
        self, client: httpx.AsyncClient, content: bytes | AsyncIterator[bytes]
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json", "Idempotency-Key": "too-large"}
        return await client.post(f"{PREFIX}/events", content=content, headers=headers)

    @pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
    async def test_a_body_over_the_limit_is_refused(
        self, probe_client: httpx.AsyncClient, db: Db, chunked: bool
    ) -> None:
        async with db.writes_nothing():
            response = await self.post(probe_client, body_of(LIMIT + 1, chunked=chunked))

        assert_error(response, 413, TOO_LARGE)
        assert ("Content-Length" in response.request.headers) is not chunked

    @pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
    async def test_a_body_at_the_limit_is_read(
        self, probe_client: httpx.AsyncClient, db: Db, chunked: bool
    ) -> None:
        async with db.writes_nothing():
            response = await self.post(probe_client, body_of(LIMIT, chunked=chunked))

        # Read in full, and found to be only whitespace.
        assert_error(response, 400, MALFORMED)


class TestRefusedRequests:
    @pytest.mark.parametrize(
        ("request_args", "status", "body"),
        [
            pytest.param(
                {
                    "method": "POST",
                    "url": "/api/v1/auth/login",
                    "content": b'{"email": ',
                    "headers": {"Content-Type": "application/json"},
                },
                400,
                MALFORMED,
                id="malformed-json",
            ),
            pytest.param(
                {"method": "POST", "url": "/api/v1/auth/login", "json": {"email": 5}},
                422,
                {
                    "detail": [
                        {
                            "type": "string_type",
                            "loc": ["body", "email"],
                            "msg": "Input should be a valid string",
                            "input": 5,
                        },
                        {
                            "type": "missing",
                            "loc": ["body", "password"],
                            "msg": "Field required",
                            "input": {"email": 5},
                        },
                    ],
                    "error": "ValidationError",
                },
                id="wrong-types",
            ),
            pytest.param(
                {"method": "GET", "url": "/api/v1/no-such-thing"},
                404,
                {"detail": "Not Found", "error": "NotFound"},
                id="unknown-path",
            ),
            pytest.param(
                {"method": "DELETE", "url": "/api/v1/auth/login"},
                405,
                {"detail": "Method Not Allowed", "error": "MethodNotAllowed"},
                id="wrong-method",
            ),
        ],
    )
    async def test_is_answered_with_an_error_body(
        self,
        anon: httpx.AsyncClient,
        db: Db,
        request_args: dict[str, Any],
        status: int,
        body: dict[str, Any],
    ) -> None:
        async with db.writes_nothing():
            response = await anon.request(**request_args)

        assert_error(response, status, body)

    async def test_wrong_method_names_the_allowed_ones(self, anon: httpx.AsyncClient) -> None:
        response = await anon.delete("/api/v1/auth/login")

        assert response.headers["Allow"] == "POST"


class TestUnexpectedErrors:
    async def test_are_a_bare_500_with_the_trace_in_the_log_only(
        self, probe_client: httpx.AsyncClient, db: Db, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.ERROR, logger="pestle.errors")

        async with db.writes_nothing():
            response = await post_event(probe_client, failure=Failure.CRASH)

        assert_error(response, *FAILURE_RESPONSES[Failure.CRASH])
        assert "Traceback" not in response.text
        assert "the probe crashed" not in response.text
        [record] = [r for r in caplog.records if r.name == "pestle.errors"]
        assert record.getMessage() == "unhandled error"
        assert record.exc_info is not None
        assert repr(record.exc_info[1]) == "RuntimeError('the probe crashed')"
