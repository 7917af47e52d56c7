"""Lists: a bare array, X-Total-Count and RFC 8288 Link headers (GET /api/v1/users)."""

from typing import Any

import httpx
import pytest

from pestle import models
from tests.conftest import Db

TOTAL = 5  # the pharmacist and four users of Clinic A
PAGE_SIZE = 2


def link(server: str, page: int, rel: str) -> str:
    return f'<{server}/api/v1/users?page={page}&page_size={PAGE_SIZE}>; rel="{rel}"'


async def get_page(client: httpx.AsyncClient, page: int) -> httpx.Response:
    response = await client.get("/api/v1/users", params={"page": page, "page_size": PAGE_SIZE})
    assert response.status_code == 200, response.text
    assert response.headers["X-Total-Count"] == str(TOTAL)
    return response


@pytest.fixture
async def users(pharmacist: httpx.AsyncClient, db: Db) -> list[models.User]:
    """Every user, ordered by id as the list is."""
    for number in range(TOTAL - 1):
        await db.create_user(f"member{number}@clinic-a.pestle.dev", "member", "Clinic A")
    found = sorted(await db.all(models.User), key=lambda user: user.id)
    assert len(found) == TOTAL
    return found


class TestPages:
    @pytest.mark.parametrize(
        ("page", "rels"),
        [(1, [(2, "next")]), (2, [(1, "prev"), (3, "next")]), (3, [(2, "prev")])],
    )
    async def test_link_names_the_neighbours(
        self,
        pharmacist: httpx.AsyncClient,
        server: str,
        users: list[models.User],
        page: int,
        rels: list[tuple[int, str]],
    ) -> None:
        response = await get_page(pharmacist, page)

        assert response.headers["Link"] == ", ".join(link(server, n, rel) for n, rel in rels)

    async def test_pages_hold_every_item_once_in_id_order(
        self, pharmacist: httpx.AsyncClient, users: list[models.User]
    ) -> None:
        pages = [(await get_page(pharmacist, page)).json() for page in (1, 2, 3)]

        assert [len(items) for items in pages] == [2, 2, 1]
        listed = [item["id"] for items in pages for item in items]
        assert listed == [str(user.id) for user in users]

    async def test_a_page_past_the_end_is_empty(
        self, pharmacist: httpx.AsyncClient, server: str, users: list[models.User]
    ) -> None:
        response = await get_page(pharmacist, 10)

        assert response.json() == []
        # The way back leads to the last page that has items.
        assert response.headers["Link"] == link(server, 3, "prev")

    async def test_a_single_page_has_no_link(
        self, pharmacist: httpx.AsyncClient, users: list[models.User]
    ) -> None:
        response = await pharmacist.get("/api/v1/users")

        assert response.status_code == 200
        assert len(response.json()) == TOTAL
        assert response.headers["X-Total-Count"] == str(TOTAL)
        assert "Link" not in response.headers


class TestPageParameters:
    @pytest.mark.parametrize(
        ("params", "error"),
        [
            (
                {"page": 0},
                {
                    "type": "greater_than_equal",
                    "loc": ["query", "page"],
                    "msg": "Input should be greater than or equal to 1",
                    "input": "0",
                    "ctx": {"ge": 1},
                },
            ),
            (
                {"page_size": 501},
                {
                    "type": "less_than_equal",
                    "loc": ["query", "page_size"],
                    "msg": "Input should be less than or equal to 500",
                    "input": "501",
                    "ctx": {"le": 500},
                },
            ),
            (
                {"page_size": 0},
                {
                    "type": "greater_than_equal",
                    "loc": ["query", "page_size"],
                    "msg": "Input should be greater than or equal to 1",
                    "input": "0",
                    "ctx": {"ge": 1},
                },
            ),
        ],
        ids=["page-0", "page_size-501", "page_size-0"],
    )
    async def test_out_of_range_is_refused(
        self,
        pharmacist: httpx.AsyncClient,
        db: Db,
        params: dict[str, int],
        error: dict[str, Any],
    ) -> None:
        async with db.writes_nothing():
            response = await pharmacist.get("/api/v1/users", params=params)

        assert response.status_code == 422
        assert response.json() == {"detail": [error], "error": "ValidationError"}

    async def test_500_is_the_largest_page(
        self, pharmacist: httpx.AsyncClient, users: list[models.User]
    ) -> None:
        response = await pharmacist.get("/api/v1/users", params={"page_size": 500})

        assert response.status_code == 200
        assert len(response.json()) == TOTAL
