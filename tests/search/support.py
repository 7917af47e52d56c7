"""Helpers for the search tests: the people searched for, and the calls."""

from typing import Any

import httpx

from tests.orders.support import make_patient, ok

SEARCH = "/api/v1/search"
WILLARD = {
    "first_name": "Willard",
    "middle_name": "Moises",
    "last_name": "Donnelly",
    "email": "Harmon43@gmail.com",
    "phone": "6417383445",
    "date_of_birth": "1990-01-01",
    "external_id": "EXT-WD-1",
}
# The same two names the other way round: found by both words, never by the phrase.
REVERSED = {
    "first_name": "Donnelly",
    "middle_name": None,
    "last_name": "Willard",
    "email": "dw@example.com",
    "phone": "2125550100",
    "date_of_birth": "1985-12-10",
    "external_id": "EXT-DW-2",
}


async def willard_and_reversed(client: httpx.AsyncClient) -> tuple[dict[str, Any], ...]:
    return await make_patient(client, **WILLARD), await make_patient(client, **REVERSED)


async def search(
    client: httpx.AsyncClient, q: str, path: str = "", **params: Any
) -> list[dict[str, Any]]:
    body = ok(await client.get(f"{SEARCH}{path}", params={"q": q, **params}))
    assert list(body) == ["results"]
    results: list[dict[str, Any]] = body["results"]
    for hit in results:
        assert 0 <= hit["rank"] <= 1
    assert [hit["rank"] for hit in results] == sorted(
        (hit["rank"] for hit in results), reverse=True
    )
    return results


def ranked(results: list[dict[str, Any]], key: str = "id") -> list[tuple[Any, float]]:
    return [(hit[key], hit["rank"]) for hit in results]
