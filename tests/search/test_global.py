"""GET /api/v1/search on both engines: every kind of record with its result_type, and the
tenancy of every search."""

from typing import Any

import httpx

from tests.orders.support import make_patient, make_product, ok, ready_order
from tests.prescriptions.test_json import NPI
from tests.search.support import WILLARD, ranked, search


def typed(results: list[dict[str, Any]]) -> list[tuple[str, Any, float]]:
    return [(hit["result_type"], hit["id"], hit["rank"]) for hit in results]


async def test_every_kind_with_its_result_type(clinic_a: httpx.AsyncClient) -> None:
    ready = await ready_order(clinic_a)
    willard = await make_patient(clinic_a, **WILLARD)
    [prescription] = ready.erx["prescriptions"]
    prescriber_id = prescription["prescriber_id"]
    soap = await make_product(clinic_a, "non_prescription", name="Mupirocin soap")
    box = await make_product(clinic_a, "order_material", name="Mupirocin box")

    assert typed(await search(clinic_a, "Donnelly")) == [
        ("patient", willard["id"], 1.0),
        ("prescriber", prescriber_id, 1.0),
    ]
    assert typed(await search(clinic_a, "Lovelace")) == [
        ("patient", ready.patient["id"], 1.0),
        ("order", ready.order["id"], 1.0),
    ]
    assert typed(await search(clinic_a, "mupirocin")) == [
        ("prescription", prescription["id"], 1.0),
        ("prescription_product", ready.product["id"], 1.0),
        ("non_prescription", soap["id"], 0.75),
        ("order_material", box["id"], 0.75),
    ]
    assert typed(await search(clinic_a, NPI)) == [("prescriber", prescriber_id, 1.0)]
    assert typed(await search(clinic_a, NPI[2:])) == [("prescriber", prescriber_id, 0.5)]
    assert typed(await search(clinic_a, "mupirocin", limit=2)) == [
        ("prescription", prescription["id"], 1.0),
        ("prescription_product", ready.product["id"], 1.0),
    ]


async def test_each_hit_is_the_record_as_get_shows_it(clinic_a: httpx.AsyncClient) -> None:
    ready = await ready_order(clinic_a)
    [prescription] = ready.erx["prescriptions"]
    shown = {
        "patient": ok(await clinic_a.get(f"/api/v1/patients/{ready.patient['id']}")),
        "order": ok(await clinic_a.get(f"/api/v1/orders/{ready.order['id']}")),
        "prescriber": ok(
            await clinic_a.get(f"/api/v1/prescribers/{prescription['prescriber_id']}")
        ),
        "prescription": ok(await clinic_a.get(f"/api/v1/prescriptions/{prescription['id']}")),
        "prescription_product": ok(
            await clinic_a.get(f"/api/v1/products/prescription/{ready.product['id']}")
        ),
    }
    everything = [
        *await search(clinic_a, "Lovelace"),
        *await search(clinic_a, "Donnelly"),
        *await search(clinic_a, "Mupirocin"),
    ]

    assert everything == [
        {**shown["patient"], "rank": 1.0, "result_type": "patient"},
        {**shown["order"], "rank": 1.0, "result_type": "order", "is_patient_order": True},
        {**shown["prescriber"], "rank": 1.0, "result_type": "prescriber"},
        {**shown["prescription"], "rank": 1.0, "result_type": "prescription"},
        {**shown["prescription_product"], "rank": 1.0, "result_type": "prescription_product"},
    ]


async def test_a_customer_finds_only_its_rows_and_staff_find_all(
    clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, pharmacist: httpx.AsyncClient
) -> None:
    ready = await ready_order(clinic_a)
    a_willard = await make_patient(clinic_a, **WILLARD)
    b_willard = await make_patient(clinic_b, **WILLARD)
    b_product = await make_product(clinic_b, name="Mupirocin")
    order_number = ready.order["order_number"]

    assert ranked(await search(clinic_b, "Donnelly", "/patients")) == [(b_willard["id"], 1.0)]
    assert ranked(await search(clinic_a, "Donnelly", "/patients")) == [(a_willard["id"], 1.0)]
    assert await search(clinic_b, order_number, "/orders") == []
    assert await search(clinic_b, "Lovelace", "/orders") == []
    assert ranked(await search(clinic_b, "Mupirocin", "/products")) == [(b_product["id"], 1.0)]
    assert typed(await search(clinic_b, "Donnelly")) == [("patient", b_willard["id"], 1.0)]
    assert await search(clinic_b, ready.patient["id"]) == []
    assert await search(clinic_b, NPI) == []

    assert ranked(await search(pharmacist, "Donnelly", "/patients")) == [
        (a_willard["id"], 1.0),
        (b_willard["id"], 1.0),
    ]
    assert ranked(await search(pharmacist, order_number, "/orders")) == [(ready.order["id"], 1.0)]
    assert ranked(await search(pharmacist, "Mupirocin", "/products")) == [
        (ready.product["id"], 1.0),
        (b_product["id"], 1.0),
    ]
    assert [hit["result_type"] for hit in await search(pharmacist, "Donnelly")] == [
        "patient",
        "patient",
        "prescriber",
    ]
