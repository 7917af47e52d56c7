"""X-Request-ID: the client's own id is echoed; otherwise the server makes one."""

import httpx
import pytest

from tests.kit.support import GENERATED_REQUEST_ID

ECHOED = "checkout-7f3a.retry_2:b"


class TestRequestId:
    @pytest.mark.parametrize("path", ["/healthz", "/api/v1/users", "/no-such-path"])
    async def test_a_valid_client_id_is_echoed(self, anon: httpx.AsyncClient, path: str) -> None:
        response = await anon.get(path, headers={"X-Request-ID": ECHOED})

        assert response.headers["X-Request-ID"] == ECHOED

    async def test_an_id_of_128_characters_is_echoed(self, anon: httpx.AsyncClient) -> None:
        response = await anon.get("/healthz", headers={"X-Request-ID": "a" * 128})

        assert response.headers["X-Request-ID"] == "a" * 128

    @pytest.mark.parametrize(
        "sent",
        [None, "", "has spaces in it", "a" * 129, "a" * 200, "semi;colon", "ünïcode".encode()],
        ids=["absent", "empty", "spaces", "129-chars", "200-chars", "semicolon", "utf-8"],
    )
    async def test_is_generated_when_absent_or_invalid(
        self, anon: httpx.AsyncClient, sent: str | bytes | None
    ) -> None:
        headers = {} if sent is None else {"X-Request-ID": sent}

        first = await anon.get("/healthz", headers=headers)
        second = await anon.get("/healthz", headers=headers)

        ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
        assert all(GENERATED_REQUEST_ID.fullmatch(request_id) for request_id in ids)
        assert ids[0] != ids[1]
