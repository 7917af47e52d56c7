"""GET /api/v1/search/patients on both engines: substrings, phrases, dates of birth, phones,
limits, ranks, refusals and tenancy."""

import httpx
import pytest

from tests.conftest import Db
from tests.orders.support import make_patient, ok
from tests.search.support import (
    REVERSED,
    SEARCH,
    WILLARD,
    ranked,
    search,
    willard_and_reversed,
)

PATIENTS = "/patients"


async def test_a_hit_is_the_patient_as_get_shows_it_plus_its_rank(
    clinic_a: httpx.AsyncClient,
) -> None:
    willard, _ = await willard_and_reversed(clinic_a)
    shown = ok(await clinic_a.get(f"/api/v1/patients/{willard['id']}"))

    assert await search(clinic_a, '"Willard Donnelly"', PATIENTS) == [{**shown, "rank": 1.0}]


async def test_a_word_matches_either_name_and_a_whole_name_ranks_first(
    clinic_a: httpx.AsyncClient,
) -> None:
    willard, reversed_ = await willard_and_reversed(clinic_a)
    both = [willard["id"], reversed_["id"]]

    assert ranked(await search(clinic_a, "Donnelly", PATIENTS)) == [(i, 1.0) for i in both]
    assert ranked(await search(clinic_a, "DONN", PATIENTS)) == [(i, 0.75) for i in both]
    assert ranked(await search(clinic_a, "onnel", PATIENTS)) == [(i, 0.5) for i in both]
    assert ranked(await search(clinic_a, "Willard Donnelly", PATIENTS)) == [
        (willard["id"], 1.0),
        (reversed_["id"], 0.5),
    ]
    assert ranked(await search(clinic_a, "Willard Moises Donnelly", PATIENTS)) == [
        (willard["id"], 1.0)
    ]


async def test_a_quoted_phrase_must_be_a_whole_field(clinic_a: httpx.AsyncClient) -> None:
    willard, reversed_ = await willard_and_reversed(clinic_a)

    assert ranked(await search(clinic_a, '"willard moises donnelly"', PATIENTS)) == [
        (willard["id"], 1.0)
    ]
    assert ranked(await search(clinic_a, '"Donnelly Willard"', PATIENTS)) == [
        (reversed_["id"], 1.0)
    ]
    assert await search(clinic_a, '"Willard Donn"', PATIENTS) == []
    assert await search(clinic_a, '"illard"', PATIENTS) == []


@pytest.mark.parametrize(
    ("q", "rank"),
    [
        ("01/01/1990", 1.0),
        ("1/1/1990", 1.0),
        ('"01/01/1990"', 1.0),
        ("1990-01-01", 1.0),
        ("19900101", 1.0),
        ("1990-01", 0.75),
        ("199001", 0.75),
    ],
)
async def test_a_date_of_birth_in_each_format(
    clinic_a: httpx.AsyncClient, q: str, rank: float
) -> None:
    willard, _ = await willard_and_reversed(clinic_a)

    assert ranked(await search(clinic_a, q, PATIENTS)) == [(willard["id"], rank)]


@pytest.mark.parametrize("q", ["01/01/19", "01/1990", "01/01/90", "13/45/1990", "1990-13-01"])
async def test_a_us_date_matches_only_whole(clinic_a: httpx.AsyncClient, q: str) -> None:
    await willard_and_reversed(clinic_a)

    assert await search(clinic_a, q, PATIENTS) == []


@pytest.mark.parametrize(
    ("q", "rank"),
    [
        ("6417383445", 1.0),
        ("(641) 738-3445", 1.0),
        ("641.738.3445", 1.0),
        ("+1 641-738-3445", 1.0),
        ("641-738", 0.75),
        ("738-3445", 0.5),
    ],
)
async def test_a_phone_number_whatever_its_formatting(
    clinic_a: httpx.AsyncClient, q: str, rank: float
) -> None:
    willard, _ = await willard_and_reversed(clinic_a)

    assert ranked(await search(clinic_a, q, PATIENTS)) == [(willard["id"], rank)]


async def test_substrings_of_emails_ids_and_external_ids(clinic_a: httpx.AsyncClient) -> None:
    willard, _ = await willard_and_reversed(clinic_a)
    expected = {
        "harmon43": 0.75,
        "MON43@GMAIL": 0.5,
        "Harmon43@gmail.com": 1.0,
        willard["id"]: 1.0,
        willard["id"][-12:]: 0.5,
        willard["id"][19:]: 0.5,
        "EXT-WD": 0.75,
        "wd-1": 0.5,
    }

    for q, rank in expected.items():
        assert ranked(await search(clinic_a, q, PATIENTS)) == [(willard["id"], rank)], q


async def test_short_and_special_characters_match_literally(clinic_a: httpx.AsyncClient) -> None:
    willard, reversed_ = await willard_and_reversed(clinic_a)

    assert ranked(await search(clinic_a, "wd", PATIENTS)) == [(willard["id"], 0.5)]
    assert ranked(await search(clinic_a, "@", PATIENTS)) == [
        (willard["id"], 0.5),
        (reversed_["id"], 0.5),
    ]
    assert await search(clinic_a, "%", PATIENTS) == []
    assert await search(clinic_a, "_", PATIENTS) == []
    assert await search(clinic_a, "Willard|Donnelly", PATIENTS) != []
    assert await search(clinic_a, "nobody-by-this-name", PATIENTS) == []


async def test_limit_keeps_the_best(clinic_a: httpx.AsyncClient) -> None:
    others = [
        await make_patient(clinic_a, **{**WILLARD, "external_id": f"EXT-1{number}"})
        for number in range(3)
    ]
    best = await make_patient(clinic_a, **{**WILLARD, "external_id": "EXT-1"})
    everyone = [(best["id"], 1.0), *((other["id"], 0.75) for other in others)]

    assert ranked(await search(clinic_a, "ext-1", PATIENTS, limit=1)) == everyone[:1]
    assert ranked(await search(clinic_a, "ext-1", PATIENTS, limit=3)) == everyone[:3]
    assert ranked(await search(clinic_a, "ext-1", PATIENTS, limit=100)) == everyone
    assert ranked(await search(clinic_a, "ext-1", PATIENTS)) == everyone


async def test_more_whole_matches_than_the_limit_are_the_oldest_of_them(
    clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, pharmacist: httpx.AsyncClient
) -> None:
    # A whole last name, first name and external id (each read through its own B-tree when
    # there are at least `limit` of them), then a prefix.
    willard, reversed_ = await willard_and_reversed(clinic_a)
    by_id = await make_patient(
        clinic_a, **{**REVERSED, "first_name": "Ann", "external_id": "DONNELLY"}
    )
    prefix = await make_patient(
        clinic_a, **{**WILLARD, "last_name": "Donnellyson", "external_id": "EXT-P"}
    )
    everyone = [(willard["id"], 1.0), (reversed_["id"], 1.0), (by_id["id"], 1.0)]
    everyone.append((prefix["id"], 0.75))

    for limit in (1, 2, 3, 4, 50):
        assert (
            ranked(await search(clinic_a, "donnelly", PATIENTS, limit=limit)) == (everyone[:limit])
        ), limit
        assert (
            ranked(await search(pharmacist, "DONNELLY", PATIENTS, limit=limit))
            == (everyone[:limit])
        ), limit
    assert ranked(await search(clinic_a, "Willard  Donnelly", PATIENTS, limit=1)) == [
        (willard["id"], 1.0)
    ]
    assert ranked(await search(clinic_a, "willard moises donnelly", PATIENTS, limit=1)) == [
        (willard["id"], 1.0)
    ]
    assert await search(clinic_b, "donnelly", PATIENTS, limit=1) == []


async def test_a_formatted_phone_number_is_a_phone_and_bare_digits_a_substring(
    clinic_a: httpx.AsyncClient,
) -> None:
    willard, _ = await willard_and_reversed(clinic_a)
    digits_elsewhere = await make_patient(
        clinic_a, **{**REVERSED, "external_id": f"X{WILLARD['phone']}"}
    )

    assert ranked(await search(clinic_a, "(641) 738-3445", PATIENTS)) == [(willard["id"], 1.0)]
    assert ranked(await search(clinic_a, "6417383445", PATIENTS)) == [
        (willard["id"], 1.0),
        (digits_elsewhere["id"], 0.5),
    ]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "ValidationError"),
        ({"q": ""}, "ValidationError"),
        ({"q": "   "}, "BlankQuery"),
        ({"q": '""'}, "BlankQuery"),
        ({"q": "|"}, "BlankQuery"),
        ({"q": "x" * 201}, "ValidationError"),
        ({"q": "willard", "limit": 0}, "ValidationError"),
        ({"q": "willard", "limit": 101}, "ValidationError"),
        ({"q": "willard", "limit": "many"}, "ValidationError"),
    ],
)
async def test_refusals(
    clinic_a: httpx.AsyncClient, db: Db, params: dict[str, str], error: str
) -> None:
    for path in ("", PATIENTS, "/orders", "/products"):
        async with db.writes_nothing():
            response = await clinic_a.get(f"{SEARCH}{path}", params=params)

        assert response.status_code == 422, path
        assert response.json()["error"] == error


async def test_no_token_is_401(anon: httpx.AsyncClient) -> None:
    for path in ("", PATIENTS, "/orders", "/products"):
        response = await anon.get(f"{SEARCH}{path}", params={"q": "willard"})
        assert response.status_code == 401
