"""Reading orders: the list and its filters, one order by any of its names, a patient's orders,
the status and shipping catalogues, and which caller sees what."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from pestle import models
from pestle.kit.time import utcnow
from tests.conftest import Db
from tests.orders.customer_support import catalogue, one_of_each, order_url, refused
from tests.orders.support import ORDERS, create_order, make_patient, ok

UNKNOWN = "0227d1e5-ba9a-42b5-8fe2-38882aa65708"


async def orders_of(
    client: httpx.AsyncClient, count: int, **extra: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A patient with ``count`` separate orders, oldest first."""
    patient = await make_patient(client)
    products = await catalogue(client)
    body = {"patient_id": patient["id"], "products": one_of_each(products), **extra}
    orders = [await create_order(client, body, force_new="true") for _ in range(count)]
    return patient, orders


async def listed(client: httpx.AsyncClient, url: str = ORDERS, **params: Any) -> list[str]:
    return [order["id"] for order in ok(await client.get(url, params=params))]


async def set_columns(db: Db, order: dict[str, Any], **values: Any) -> None:
    async with db.database.transaction() as session:
        await session.execute(
            update(models.Order).where(models.Order.id == uuid.UUID(order["id"])).values(**values)
        )


class TestList:
    async def test_oldest_first_with_pagination_headers(self, clinic_a: httpx.AsyncClient) -> None:
        _, orders = await orders_of(clinic_a, 3)
        ids = [order["id"] for order in orders]
        base = str(clinic_a.base_url).rstrip("/")
        response = await clinic_a.get(ORDERS)
        assert ok(response) == [ok(await clinic_a.get(order_url(o))) for o in orders]
        assert response.headers["X-Total-Count"] == "3"
        assert "Link" not in response.headers

        first = await clinic_a.get(ORDERS, params={"page_size": 2})
        assert [o["id"] for o in ok(first)] == ids[:2]
        assert first.headers["X-Total-Count"] == "3"
        assert first.headers["Link"] == f'<{base}{ORDERS}?page=2&page_size=2>; rel="next"'
        second = await clinic_a.get(ORDERS, params={"page": 2, "page_size": 2})
        assert [o["id"] for o in ok(second)] == ids[2:]
        assert second.headers["Link"] == (f'<{base}{ORDERS}?page=1&page_size=2>; rel="prev"')

    @pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 501}, {"page_size": 0}])
    async def test_bad_page(self, clinic_a: httpx.AsyncClient, params: dict[str, int]) -> None:
        await refused(await clinic_a.get(ORDERS, params=params), 422, "ValidationError")

    async def test_filter_status_code(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        _, orders = await orders_of(clinic_a, 3)
        await set_columns(db, orders[1], status_code="P01")
        assert await listed(clinic_a, status_code="P01") == [orders[1]["id"]]
        assert await listed(clinic_a, status_code="n01") == [orders[0]["id"], orders[2]["id"]]
        assert await listed(clinic_a, status_code="S03") == []

    async def test_filter_status_by_name_or_legacy_value(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        _, orders = await orders_of(clinic_a, 3)
        await set_columns(db, orders[1], status_code="P01")
        await set_columns(db, orders[2], status_code="X01")
        assert await listed(clinic_a, status="data entry") == [orders[1]["id"]]
        assert await listed(clinic_a, status="Received") == [orders[0]["id"]]
        assert await listed(clinic_a, status="received") == [orders[0]["id"]]
        assert await listed(clinic_a, status="cancelled") == [orders[2]["id"]]
        # Both filters apply: a name contradicting the code matches nothing.
        assert await listed(clinic_a, status="received", status_code="P01") == []
        await refused(
            await clinic_a.get(ORDERS, params={"status": "picked"}),
            422,
            "UnknownOrderStatus",
            "status: 'picked' is not an order status; "
            "one of N01, H01, P01, P02, P03, P04, S01, S02, S03, X01.",
        )

    @pytest.mark.parametrize("value", ["Z99", "N1"])
    async def test_unknown_status_code(self, clinic_a: httpx.AsyncClient, value: str) -> None:
        await refused(
            await clinic_a.get(ORDERS, params={"status_code": value}),
            422,
            "UnknownOrderStatus",
            f"status_code: {value!r} is not an order status; "
            "one of N01, H01, P01, P02, P03, P04, S01, S02, S03, X01.",
        )

    async def test_filter_patient_and_external_id(self, clinic_a: httpx.AsyncClient) -> None:
        patient, [mine] = await orders_of(clinic_a, 1, external_id="EXT-1")
        other = await make_patient(clinic_a, external_id="OTHER")
        theirs = await create_order(
            clinic_a,
            {"patient_id": other["id"], "products": {"order_material": [{"sku": "DEC_AD_001"}]}},
        )
        assert await listed(clinic_a, patient_id=patient["id"]) == [mine["id"]]
        assert await listed(clinic_a, patient_id=other["id"]) == [theirs["id"]]
        assert await listed(clinic_a, patient_id=UNKNOWN) == []
        assert await listed(clinic_a, external_id="EXT-1") == [mine["id"]]
        assert await listed(clinic_a, external_id="EXT-2") == []
        await refused(
            await clinic_a.get(ORDERS, params={"patient_id": "not-a-uuid"}), 422, "ValidationError"
        )

    async def test_filter_created_after_and_before(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        _, orders = await orders_of(clinic_a, 3)
        base = utcnow().replace(microsecond=0) - timedelta(days=3)
        for days, order in enumerate(orders):
            await set_columns(db, order, created_at=base + timedelta(days=days))
        ids = [order["id"] for order in orders]
        day1 = (base + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert await listed(clinic_a, created_after=day1) == ids[1:]
        assert await listed(clinic_a, created_before=day1) == ids[:1]
        # The same instant in another offset.
        shifted = (base + timedelta(days=1, hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
        assert await listed(clinic_a, created_after=shifted) == ids[1:]
        day2 = (base + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert await listed(clinic_a, created_after=day1, created_before=day2) == [ids[1]]
        await refused(
            await clinic_a.get(ORDERS, params={"created_after": "yesterday"}),
            422,
            "ValidationError",
        )

    async def test_filter_stuck(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        _, orders = await orders_of(clinic_a, 2)
        await set_columns(db, orders[0], stuck_reason="missing_prescription")
        assert await listed(clinic_a, stuck="true") == [orders[0]["id"]]
        assert await listed(clinic_a, stuck="false") == [orders[1]["id"]]
        [stuck] = ok(await clinic_a.get(ORDERS, params={"stuck": "true"}))
        assert stuck["stuck_reason"] == "missing_prescription"


class TestGetOne:
    async def test_by_id_order_number_and_external_id(self, clinic_a: httpx.AsyncClient) -> None:
        _, [order] = await orders_of(clinic_a, 1, external_id="my-system-128318AA2")
        for ref in (
            order["id"],
            order["id"].upper(),
            order["order_number"],
            "my-system-128318AA2",
        ):
            assert ok(await clinic_a.get(f"{ORDERS}/{ref}")) == order

    async def test_unknown(self, clinic_a: httpx.AsyncClient) -> None:
        await orders_of(clinic_a, 1, external_id="EXT-1")
        for ref in (UNKNOWN, "ORD250312003548IAU4", "ext-1", "nothing"):
            await refused(
                await clinic_a.get(f"{ORDERS}/{ref}"), 404, "OrderNotFound", f"No order {ref}."
            )


class TestTenancy:
    async def test_other_customer_sees_nothing(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        patient, [order] = await orders_of(clinic_a, 1, external_id="EXT-A")
        await orders_of(clinic_b, 0)
        line = order["products"]["non_prescription"][0]
        for ref in (order["id"], order["order_number"], "EXT-A"):
            line_url = f"{ORDERS}/{ref}/products/non_prescription/{line['id']}"
            calls = [
                clinic_b.get(f"{ORDERS}/{ref}"),
                clinic_b.put(f"{ORDERS}/{ref}", json={"external_id": "MINE"}),
                clinic_b.put(f"{ORDERS}/{ref}/cancel"),
                clinic_b.put(f"{ORDERS}/{ref}/pause"),
                clinic_b.put(f"{ORDERS}/{ref}/unpause"),
                clinic_b.post(f"{ORDERS}/{ref}/request_cancellation"),
                clinic_b.get(f"{ORDERS}/{ref}/status_history"),
                clinic_b.post(
                    f"{ORDERS}/{ref}/products", json={"order_material": [{"sku": "DEC_AD_001"}]}
                ),
                clinic_b.patch(line_url, json={"quantity": 2}),
                clinic_b.delete(line_url),
            ]
            async with db.writes_nothing():
                for call in calls:
                    await refused(await call, 404, "OrderNotFound", f"No order {ref}.")
        assert ok(await clinic_b.get(ORDERS)) == []
        for params in ({"patient_id": patient["id"]}, {"external_id": "EXT-A"}):
            assert ok(await clinic_b.get(ORDERS, params=params)) == []
        await refused(
            await clinic_b.get(f"/api/v1/patients/{patient['id']}/orders"), 404, "PatientNotFound"
        )
        assert ok(await clinic_a.get(order_url(order))) == order

    async def test_staff_see_every_customers_orders(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
    ) -> None:
        _, [a] = await orders_of(clinic_a, 1, external_id="EXT-A")
        _, [b] = await orders_of(clinic_b, 1, external_id="EXT-B")
        assert ok(await pharmacist.get(ORDERS)) == [a, b]
        assert ok(await pharmacist.get(f"{ORDERS}/{b['order_number']}")) == b
        assert ok(await pharmacist.get(f"{ORDERS}/EXT-A")) == a
        assert await listed(pharmacist, patient_id=b["patient"]["id"]) == [b["id"]]

    async def test_staff_meet_two_customers_external_ids(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
    ) -> None:
        _, [a] = await orders_of(clinic_a, 1, external_id="SAME")
        await orders_of(clinic_b, 1, external_id="SAME")
        await refused(
            await pharmacist.get(f"{ORDERS}/SAME"),
            409,
            "AmbiguousOrderRef",
            "'SAME' names more than one order; use the order's id.",
        )
        assert ok(await pharmacist.get(order_url(a))) == a


class TestPatientOrders:
    async def test_the_patients_orders_only(self, clinic_a: httpx.AsyncClient) -> None:
        patient, orders = await orders_of(clinic_a, 2)
        other = await make_patient(clinic_a, external_id="OTHER")
        await create_order(
            clinic_a,
            {"patient_id": other["id"], "products": {"order_material": [{"sku": "DEC_AD_001"}]}},
        )
        for ref in (patient["id"], patient["external_id"]):
            response = await clinic_a.get(f"/api/v1/patients/{ref}/orders")
            assert ok(response) == orders
            assert response.headers["X-Total-Count"] == "2"
        page = await clinic_a.get(
            f"/api/v1/patients/{patient['id']}/orders", params={"page_size": 1}
        )
        assert ok(page) == orders[:1]
        assert 'rel="next"' in page.headers["Link"]

    async def test_unknown_patient(self, clinic_a: httpx.AsyncClient) -> None:
        await refused(
            await clinic_a.get(f"/api/v1/patients/{UNKNOWN}/orders"), 404, "PatientNotFound"
        )

    async def test_patient_without_orders(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        response = await clinic_a.get(f"/api/v1/patients/{patient['id']}/orders")
        assert ok(response) == []
        assert response.headers["X-Total-Count"] == "0"


class TestCatalogues:
    async def test_statuses(self, clinic_a: httpx.AsyncClient) -> None:
        found = ok(await clinic_a.get(f"{ORDERS}/statuses"))
        assert [(s["status_code"], s["status_name"]) for s in found] == [
            ("N01", "Received"),
            ("H01", "Paused"),
            ("P01", "Data Entry"),
            ("P02", "Data Verification"),
            ("P03", "Compounding"),
            ("P04", "Final Verification"),
            ("S01", "Shipping"),
            ("S02", "Shipped"),
            ("S03", "Delivered"),
            ("X01", "Cancelled"),
        ]
        moves = {s["status_code"]: [(n["status_code"], n["via"]) for n in s["next"]] for s in found}
        assert moves == {
            "N01": [("P01", "transitions"), ("H01", "pause"), ("X01", "cancel")],
            "H01": [("N01", "unpause"), ("X01", "cancel")],
            "P01": [("P02", "transitions"), ("X01", "transitions")],
            "P02": [("P03", "transitions"), ("P01", "transitions"), ("X01", "transitions")],
            "P03": [("P04", "transitions"), ("X01", "transitions")],
            "P04": [("S01", "transitions"), ("P03", "transitions"), ("X01", "transitions")],
            "S01": [("S02", "shipments"), ("X01", "transitions")],
            "S02": [("S03", "delivered")],
            "S03": [],
            "X01": [],
        }
        n01 = found[0]
        assert n01["description"] == "The order arrived; products may still change."
        assert n01["next"][2] == {
            "status_code": "X01",
            "status_name": "Cancelled",
            "roles": ["admin", "member", "pharmacist", "pharmacy_admin"],
            "via": "cancel",
        }

    async def test_shipping_options(self, clinic_a: httpx.AsyncClient) -> None:
        options = ok(await clinic_a.get(f"{ORDERS}/shipping_options"))
        assert [(c["code"], c["name"]) for c in options["carriers"]] == [
            ("usps", "USPS"),
            ("ups", "UPS"),
            ("fedex", "FedEx"),
        ]
        assert options["carriers"][0]["service_levels"] == [
            {"code": "usps_ground_advantage", "name": "Ground Advantage"},
            {"code": "usps_priority_mail", "name": "Priority Mail"},
            {"code": "usps_priority_mail_express", "name": "Priority Mail Express"},
        ]
        assert [len(c["service_levels"]) for c in options["carriers"]] == [3, 5, 6]
        assert [level["code"] for level in options["generic_service_levels"]] == [
            "ground",
            "two_day",
            "next_day",
        ]

    async def test_every_offered_level_is_accepted(self, clinic_a: httpx.AsyncClient) -> None:
        options = ok(await clinic_a.get(f"{ORDERS}/shipping_options"))
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        body: dict[str, Any] = {"patient_id": patient["id"], "products": one_of_each(products)}
        for carrier in options["carriers"]:
            for level in carrier["service_levels"]:
                sent = {"carrier": carrier["code"], "service_level": level["code"]}
                order = await create_order(clinic_a, {**body, "shipping": sent}, force_new="true")
                assert order["shipping"] == sent

    async def test_need_a_login(self, anon: httpx.AsyncClient) -> None:
        for path in ("statuses", "shipping_options"):
            await refused(await anon.get(f"{ORDERS}/{path}"), 401, "MissingCredentials")


class TestOpenApi:
    async def test_error_responses_are_declared(self, anon: httpx.AsyncClient) -> None:
        paths = ok(await anon.get("/openapi.json"))["paths"]
        order = "/api/v1/orders/{order_id}"
        line = f"{order}/products/{{product_type}}/{{product_id}}"
        declared = {
            ("get", "/api/v1/orders"): {"200", "422"},
            ("post", "/api/v1/orders"): {"200", "201", "403", "404", "409", "422"},
            ("get", order): {"200", "404", "409", "422"},
            ("put", order): {"200", "404", "409", "422"},
            ("put", f"{order}/cancel"): {"200", "403", "404", "409", "422"},
            ("put", f"{order}/pause"): {"200", "403", "404", "409", "422"},
            ("put", f"{order}/unpause"): {"200", "403", "404", "409", "422"},
            ("post", f"{order}/request_cancellation"): {"200", "404", "409", "422"},
            ("get", f"{order}/status_history"): {"200", "404", "409", "422"},
            ("post", f"{order}/products"): {"200", "404", "409", "422"},
            ("patch", line): {"200", "400", "404", "409", "422"},
            ("delete", line): {"200", "400", "404", "409", "422"},
            ("get", "/api/v1/patients/{patient_id}/orders"): {"200", "404", "409", "422"},
        }
        for (method, path), statuses in declared.items():
            assert set(paths[path][method]["responses"]) == statuses, (method, path)
        create = paths["/api/v1/orders"]["post"]["responses"]
        assert create["422"]["description"] == (
            "ValidationError, UnknownReference, ErxOfAnotherPatient, InactiveProduct, "
            "AddressRequired, MinorNeedsGuardian, UnknownCarrier, UnknownServiceLevel, "
            "CarrierServiceMismatch, ShippingChoiceEmpty"
        )
        assert create["409"]["description"] == "OrderExists, PatientExists"
        listing = paths["/api/v1/orders"]["get"]["responses"]["200"]
        assert set(listing["headers"]) == {"X-Total-Count", "Link"}
