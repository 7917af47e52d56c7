"""GET /api/v1/search/orders and /api/v1/search/products on both engines."""

import httpx

from tests.orders.support import (
    create_order,
    make_patient,
    make_product,
    ok,
    order_body,
    ready_order,
)
from tests.search.support import ranked, search

ORDERS = "/orders"
PRODUCTS = "/products"
GRACE = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "grace@example.com",
    "phone": "6175550199",
    "date_of_birth": "1985-06-01",
    "external_id": "GH-1",
}


async def test_an_order_hit_is_the_order_as_get_shows_it(clinic_a: httpx.AsyncClient) -> None:
    ready = await ready_order(clinic_a)
    order = ready.order
    shown = ok(await clinic_a.get(f"/api/v1/orders/{order['id']}"))

    assert await search(clinic_a, order["order_number"], ORDERS) == [
        {**shown, "rank": 1.0, "is_patient_order": True}
    ]


async def test_orders_match_their_numbers_ids_and_their_patient(
    clinic_a: httpx.AsyncClient,
) -> None:
    ready = await ready_order(clinic_a)
    first = ready.order
    grace = await make_patient(clinic_a, **GRACE)
    second = await create_order(
        clinic_a, order_body(grace, ready.product, external_id="my-system-128318AA2")
    )
    both = [first["id"], second["id"]]

    assert ranked(await search(clinic_a, second["order_number"], ORDERS)) == [(second["id"], 1.0)]
    assert ranked(await search(clinic_a, first["order_number"][:9], ORDERS)) == [
        (i, 0.75) for i in both
    ]
    assert ranked(await search(clinic_a, "128318aa", ORDERS)) == [(second["id"], 0.5)]
    assert ranked(await search(clinic_a, "MY-SYSTEM-128318AA2", ORDERS)) == [(second["id"], 1.0)]
    assert ranked(await search(clinic_a, first["id"], ORDERS)) == [(first["id"], 1.0)]
    assert ranked(await search(clinic_a, "Lovelace", ORDERS)) == [(first["id"], 1.0)]
    assert ranked(await search(clinic_a, '"Ada Lovelace"', ORDERS)) == [(first["id"], 1.0)]
    assert ranked(await search(clinic_a, "(212) 555-0100", ORDERS)) == [(first["id"], 1.0)]
    assert ranked(await search(clinic_a, "12/10/1985", ORDERS)) == [(first["id"], 1.0)]
    assert ranked(await search(clinic_a, "hopper 128318", ORDERS)) == [(second["id"], 0.5)]
    assert ranked(await search(clinic_a, "1985", ORDERS)) == [(i, 0.75) for i in both]
    assert ranked(await search(clinic_a, "1985", ORDERS, limit=1)) == [(first["id"], 0.75)]
    assert await search(clinic_a, '"Ada Love"', ORDERS) == []


async def test_products_of_every_family_with_their_family_as_result_type(
    clinic_a: httpx.AsyncClient,
) -> None:
    rx = await make_product(clinic_a, name="Rapamycin", product_code="RAPA-5")
    soap = await make_product(clinic_a, "non_prescription", name="Rapamycin soap")
    mailer = await make_product(clinic_a, "order_material", name="Rapamycin mailer")
    shown = {
        kind: ok(await clinic_a.get(f"/api/v1/products/{kind}/{product['id']}"))
        for kind, product in (
            ("prescription", rx),
            ("non_prescription", soap),
            ("order_material", mailer),
        )
    }

    assert await search(clinic_a, "rapamycin", PRODUCTS) == [
        {**shown["prescription"], "rank": 1.0, "result_type": "prescription"},
        {**shown["non_prescription"], "rank": 0.75, "result_type": "non_prescription"},
        {**shown["order_material"], "rank": 0.75, "result_type": "order_material"},
    ]
    assert ranked(await search(clinic_a, "rapa-5", PRODUCTS)) == [(rx["id"], 1.0)]
    assert ranked(await search(clinic_a, soap["sku"], PRODUCTS)) == [(soap["id"], 1.0)]
    assert ranked(await search(clinic_a, "mycin mail", PRODUCTS)) == [(mailer["id"], 0.5)]
    assert ranked(await search(clinic_a, '"rapamycin soap"', PRODUCTS)) == [(soap["id"], 1.0)]
    assert ranked(await search(clinic_a, "rapamycin", PRODUCTS, limit=2)) == [
        (rx["id"], 1.0),
        (soap["id"], 0.75),
    ]
