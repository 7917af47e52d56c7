"""The customer's changes to an order: update, cancel, pause, unpause, request_cancellation,
product lines, and the status history they leave."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from pestle import models
from pestle.kit.time import utcnow
from tests.conftest import Db
from tests.orders.customer_support import (
    backdate_history,
    catalogue,
    force_status,
    one_of_each,
    order_url,
    refused,
)
from tests.orders.support import ADDRESS, ORDERS, create_order, make_patient, ok, outbox

CUSTOM = {
    "label_url": "https://example.com/label.pdf",
    "tracking_number": "TEST123456",
    "tracking_url": "https://example.com/track/TEST123456",
    "carrier": "UPS",
}


async def new_order(client: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    patient = await make_patient(client)
    products = await catalogue(client)
    body = {"patient_id": patient["id"], "products": one_of_each(products), **extra}
    return await create_order(client, body)


def address_of(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order["address"].items() if k not in ("id", "type")}


class TestUpdate:
    async def test_changes_only_the_fields_sent(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a, external_id="EXT-1", shipping={"carrier": "usps"})
        body = {"address": ADDRESS, "custom_shipping": CUSTOM}
        updated = ok(await clinic_a.put(order_url(order), json=body))
        assert address_of(updated) == ADDRESS
        assert updated["address"]["id"] != order["address"]["id"]
        assert updated["custom_shipping"] == CUSTOM
        assert updated["external_id"] == "EXT-1"
        assert updated["shipping"] == {"carrier": "usps", "service_level": None}
        [event] = await outbox(db, "order.updated")
        assert event["id"] == order["id"]
        assert ok(await clinic_a.get(order_url(order))) == updated

    async def test_external_id_and_shipping(self, clinic_a: httpx.AsyncClient) -> None:
        order = await new_order(clinic_a, custom_shipping=CUSTOM)
        body = {
            "external_id": "my-system-128318AA2",
            "shipping": {"service_level": "fedex_2_day"},
            "custom_shipping": None,
        }
        updated = ok(await clinic_a.put(order_url(order), json=body))
        assert updated["external_id"] == "my-system-128318AA2"
        assert updated["shipping"] == {"carrier": "fedex", "service_level": "fedex_2_day"}
        assert updated["custom_shipping"] is None
        assert address_of(updated) == address_of(order)
        # The new external_id names the order; null clears it and shipping.
        assert ok(await clinic_a.get(order_url({"id": "my-system-128318AA2"})))["id"] == order["id"]
        cleared = ok(
            await clinic_a.put(order_url(order), json={"external_id": None, "shipping": None})
        )
        assert (cleared["external_id"], cleared["shipping"]) == (None, None)

    async def test_update_patient_writes_the_patients_address(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        patient_url = f"/api/v1/patients/{order['patient']['id']}"
        response = await clinic_a.put(
            order_url(order), json={"address": ADDRESS}, params={"update_patient": "true"}
        )
        assert address_of(ok(response)) == ADDRESS
        assert ok(await clinic_a.get(patient_url))["address"] == ADDRESS
        [event] = await outbox(db, "patient.updated")
        assert event["id"] == order["patient"]["id"]
        assert event["address"] == ADDRESS

    async def test_without_update_patient_the_patient_keeps_its_address(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        patient_url = f"/api/v1/patients/{order['patient']['id']}"
        before = ok(await clinic_a.get(patient_url))
        ok(await clinic_a.put(order_url(order), json={"address": ADDRESS}))
        assert ok(await clinic_a.get(patient_url)) == before
        assert await outbox(db, "patient.updated") == []

    @pytest.mark.parametrize("code", ["S01", "S02", "S03", "X01"])
    async def test_shipping_locked_once_packed(
        self, clinic_a: httpx.AsyncClient, db: Db, code: str
    ) -> None:
        order = await new_order(clinic_a)
        await force_status(db, order, code)
        name = {"S01": "Shipping", "S02": "Shipped", "S03": "Delivered", "X01": "Cancelled"}
        for body in (
            {"address": ADDRESS},
            {"shipping": {"carrier": "ups"}},
            {"custom_shipping": CUSTOM},
        ):
            async with db.writes_nothing():
                await refused(
                    await clinic_a.put(order_url(order), json=body),
                    409,
                    "ShippingLocked",
                    "The address and shipping can no longer change: "
                    f"the order is {code} ({name[code]}).",
                )
        # The customer's own id for it may still change.
        assert (
            ok(await clinic_a.put(order_url(order), json={"external_id": "LATE"}))["external_id"]
            == "LATE"
        )

    async def test_address_changes_while_in_the_pharmacy(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        await force_status(db, order, "P04")
        assert (
            address_of(ok(await clinic_a.put(order_url(order), json={"address": ADDRESS})))
            == ADDRESS
        )

    async def test_external_id_clash(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        first = await new_order(clinic_a, external_id="EXT-1")
        second = await create_order(
            clinic_a,
            {
                "patient_id": first["patient"]["id"],
                "products": {"order_material": [{"sku": "DEC_AD_001"}]},
            },
            force_new="true",
        )
        async with db.writes_nothing():
            await refused(
                await clinic_a.put(order_url(second), json={"external_id": "EXT-1"}),
                409,
                "OrderExists",
                "An order with external_id 'EXT-1' already exists.",
            )
        # Its own external_id again is no clash.
        assert (
            ok(await clinic_a.put(order_url(first), json={"external_id": "EXT-1"}))["external_id"]
            == "EXT-1"
        )

    @pytest.mark.parametrize(
        "body",
        [
            {"status_code": "S03"},
            {"address": {**ADDRESS, "state": "ZZ"}},
            {"address": {"city": "Boston"}},
            {"custom_shipping": {"carrier": "UPS"}},
            {"external_id": ""},
        ],
    )
    async def test_invalid_body_writes_nothing(
        self, clinic_a: httpx.AsyncClient, db: Db, body: dict[str, Any]
    ) -> None:
        order = await new_order(clinic_a)
        async with db.writes_nothing():
            await refused(await clinic_a.put(order_url(order), json=body), 422, "ValidationError")
        assert ok(await clinic_a.get(order_url(order))) == order

    async def test_update_patient_without_an_address_changes_no_patient(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        response = await clinic_a.put(
            order_url(order), json={"external_id": "X"}, params={"update_patient": "true"}
        )
        assert ok(response)["external_id"] == "X"
        assert await outbox(db, "patient.updated") == []

    async def test_bad_shipping_writes_nothing(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        body = {
            "external_id": "NEW",
            "shipping": {"carrier": "ups", "service_level": "fedex_2_day"},
        }
        async with db.writes_nothing():
            await refused(
                await clinic_a.put(order_url(order), json=body),
                422,
                "CarrierServiceMismatch",
                "shipping: service level 'fedex_2_day' is not offered by carrier 'ups'.",
            )
        assert ok(await clinic_a.get(order_url(order))) == order


class TestCancelPauseUnpause:
    async def test_pause_unpause_cancel(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        paused = ok(await clinic_a.put(order_url(order, "pause")))
        assert (paused["status_code"], paused["status_name"], paused["status"]) == (
            "H01",
            "Paused",
            "Paused",
        )
        assert [t["status_code"] for t in paused["allowed_transitions"]] == ["N01", "X01"]
        resumed = ok(await clinic_a.put(order_url(order, "unpause")))
        assert resumed["status_code"] == "N01"
        cancelled = ok(await clinic_a.put(order_url(order, "cancel")))
        assert (cancelled["status_code"], cancelled["status_name"]) == ("X01", "Cancelled")
        assert cancelled["allowed_transitions"] == []

        changed = await outbox(db, "order.status_changed")
        assert [(e["previous_status_code"], e["status_code"]) for e in changed] == [
            ("N01", "H01"),
            ("H01", "N01"),
            ("N01", "X01"),
        ]
        assert changed[2]["previous_status_name"] == "Received"
        assert changed[2]["status_name"] == "Cancelled"
        [event] = await outbox(db, "order.cancelled")
        assert (event["id"], event["status_code"]) == (order["id"], "X01")

    async def test_cancel_a_paused_order(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        ok(await clinic_a.put(order_url(order, "pause")))
        assert ok(await clinic_a.put(order_url(order, "cancel")))["status_code"] == "X01"
        assert len(await outbox(db, "order.cancelled")) == 1

    @pytest.mark.parametrize(
        ("code", "action", "detail"),
        [
            (
                "H01",
                "pause",
                "An order in H01 (Paused) cannot move to H01 (Paused); allowed next: N01, X01.",
            ),
            (
                "N01",
                "unpause",
                "An order in N01 (Received) cannot move to N01 (Received); "
                "allowed next: P01, H01, X01.",
            ),
            (
                "X01",
                "cancel",
                "An order in X01 (Cancelled) cannot move to X01 (Cancelled); allowed next: none.",
            ),
            (
                "X01",
                "unpause",
                "An order in X01 (Cancelled) cannot move to N01 (Received); allowed next: none.",
            ),
            (
                "P01",
                "pause",
                "An order in P01 (Data Entry) cannot move to H01 (Paused); allowed next: P02, X01.",
            ),
            (
                "S02",
                "cancel",
                "An order in S02 (Shipped) cannot move to X01 (Cancelled); allowed next: S03.",
            ),
            (
                "P03",
                "cancel",
                "An order in P03 (Compounding) cannot move to X01 (Cancelled); "
                "allowed next: P04, X01. Request a cancellation instead: "
                "POST /api/v1/orders/{order_id}/request_cancellation.",
            ),
        ],
    )
    async def test_illegal_moves(
        self, clinic_a: httpx.AsyncClient, db: Db, code: str, action: str, detail: str
    ) -> None:
        order = await new_order(clinic_a)
        await force_status(db, order, code)
        async with db.writes_nothing():
            await refused(
                await clinic_a.put(order_url(order, action)), 409, "InvalidTransition", detail
            )
        assert (await outbox(db, "order.status_changed")) == []

    async def test_pharmacist_cancels_a_received_order(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        assert ok(await pharmacist.put(order_url(order, "cancel")))["status_code"] == "X01"
        [change] = [c for c in await db.all(models.OrderStatusChange) if c.status_code == "X01"]
        [rph] = await db.all(models.User, email="rph@pharmacy.pestle.dev")
        assert change.user_id == rph.id


class TestRequestCancellation:
    @pytest.mark.parametrize("code", ["P01", "P02", "P03", "P04", "S01"])
    async def test_once_while_in_the_pharmacy(
        self, clinic_a: httpx.AsyncClient, db: Db, code: str
    ) -> None:
        order = await new_order(clinic_a)
        await force_status(db, order, code)
        url = order_url(order, "request_cancellation")
        flagged = ok(await clinic_a.post(url, json={"comments": "Patient changed their mind"}))
        assert flagged["cancellation_requested"] is True
        assert flagged["status_code"] == code
        [stored] = await db.all(models.Order)
        assert stored.cancellation_comments == "Patient changed their mind"
        [event] = await outbox(db, "order.updated")
        assert event["id"] == order["id"]
        async with db.writes_nothing():
            await refused(
                await clinic_a.post(url),
                409,
                "CancellationAlreadyRequested",
                "A cancellation was already requested for this order.",
            )
        assert len(await outbox(db, "order.updated")) == 1

    @pytest.mark.parametrize(
        "body", [{"comments": ""}, {"comments": "x" * 2001}, {"reason": "changed mind"}]
    )
    async def test_invalid_body(
        self, clinic_a: httpx.AsyncClient, db: Db, body: dict[str, Any]
    ) -> None:
        order = await new_order(clinic_a)
        await force_status(db, order, "P02")
        async with db.writes_nothing():
            await refused(
                await clinic_a.post(order_url(order, "request_cancellation"), json=body),
                422,
                "ValidationError",
            )

    async def test_without_a_body(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        await force_status(db, order, "P02")
        flagged = ok(await clinic_a.post(order_url(order, "request_cancellation")))
        assert flagged["cancellation_requested"] is True
        [stored] = await db.all(models.Order)
        assert stored.cancellation_comments is None

    @pytest.mark.parametrize(
        ("code", "hint"),
        [
            ("N01", " Cancel it instead: PUT /api/v1/orders/{order_id}/cancel."),
            ("H01", " Cancel it instead: PUT /api/v1/orders/{order_id}/cancel."),
            ("S02", ""),
            ("S03", ""),
            ("X01", ""),
        ],
    )
    async def test_refused_outside_the_pharmacy(
        self, clinic_a: httpx.AsyncClient, db: Db, code: str, hint: str
    ) -> None:
        order = await new_order(clinic_a)
        await force_status(db, order, code)
        name = {"N01": "Received", "H01": "Paused", "S02": "Shipped", "S03": "Delivered"}
        async with db.writes_nothing():
            await refused(
                await clinic_a.post(order_url(order, "request_cancellation")),
                409,
                "CancellationNotRequestable",
                "A cancellation can be requested only while the pharmacy works on an order; "
                f"it is {code} ({name.get(code, 'Cancelled')}).{hint}",
            )


class TestProducts:
    async def test_add_products(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        rx = order["products"]["prescription"][0]
        body = {
            "prescription": [{"product_code": "SUPERSPRAY15", "quantity": 2}],
            "non_prescription": [{"sku": "SPF50-TUBE", "quantity": 5}],
        }
        added = ok(await clinic_a.post(order_url(order, "products"), json=body))
        assert [(line["id"], line["quantity"]) for line in added["products"]["prescription"]] == [
            (rx["id"], 1),
            (rx["id"], 2),
        ]
        assert [line["quantity"] for line in added["products"]["non_prescription"]] == [1, 5]
        assert len(added["products"]["order_material"]) == 1
        [event] = await outbox(db, "order.updated")
        assert event["id"] == order["id"]

    async def test_add_products_while_paused(self, clinic_a: httpx.AsyncClient) -> None:
        order = await new_order(clinic_a)
        ok(await clinic_a.put(order_url(order, "pause")))
        body = {"order_material": [{"sku": "DEC_AD_001"}]}
        added = ok(await clinic_a.post(order_url(order, "products"), json=body))
        assert len(added["products"]["order_material"]) == 2
        assert added["status_code"] == "H01"

    async def test_add_refused(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        url = order_url(order, "products")
        async with db.writes_nothing():
            await refused(
                await clinic_a.post(url, json={}),
                422,
                "NoProductsSent",
                "Send at least one product line.",
            )
            await refused(
                await clinic_a.post(url, json={"non_prescription": [{"sku": "NOPE"}]}),
                422,
                "UnknownReference",
                "products.non_prescription[0].sku: no match for NOPE in this account.",
            )

    @pytest.mark.parametrize("code", ["P01", "S01", "X01"])
    async def test_products_locked_outside_n01_and_h01(
        self, clinic_a: httpx.AsyncClient, db: Db, code: str
    ) -> None:
        order = await new_order(clinic_a)
        await force_status(db, order, code)
        name = {"P01": "Data Entry", "S01": "Shipping", "X01": "Cancelled"}[code]
        detail = (
            "Products can change only while the order is N01 (Received) or H01 (Paused); "
            f"it is {code} ({name})."
        )
        line = order["products"]["non_prescription"][0]
        line_url = order_url(order, "products", "non_prescription", line["id"])
        async with db.writes_nothing():
            for response in (
                await clinic_a.post(
                    order_url(order, "products"), json={"order_material": [{"sku": "DEC_AD_001"}]}
                ),
                await clinic_a.patch(line_url, json={"quantity": 3}),
                await clinic_a.delete(line_url),
            ):
                await refused(response, 409, "ProductsLocked", detail)

    async def test_change_quantity(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        line = order["products"]["non_prescription"][0]
        url = order_url(order, "products", "non_prescription", line["id"])
        changed = ok(await clinic_a.patch(url, json={"quantity": 7}))
        [after] = changed["products"]["non_prescription"]
        assert (after["order_item_id"], after["quantity"]) == (line["order_item_id"], 7)
        assert changed["products"]["prescription"] == order["products"]["prescription"]
        assert len(await outbox(db, "order.updated")) == 1

    @pytest.mark.parametrize("quantity", [0, -1, "two", None])
    async def test_bad_quantity(
        self, clinic_a: httpx.AsyncClient, db: Db, quantity: object
    ) -> None:
        order = await new_order(clinic_a)
        line = order["products"]["non_prescription"][0]
        url = order_url(order, "products", "non_prescription", line["id"])
        async with db.writes_nothing():
            await refused(
                await clinic_a.patch(url, json={"quantity": quantity}), 422, "ValidationError"
            )

    async def test_two_lines_of_one_product_need_order_item_id(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        added = ok(
            await clinic_a.post(
                order_url(order, "products"), json={"non_prescription": [{"sku": "SPF50-TUBE"}]}
            )
        )
        first, second = added["products"]["non_prescription"]
        url = order_url(order, "products", "non_prescription", first["id"])
        detail = (
            f"Product {first['id']} is on more than one line of this order; "
            "send order_item_id to choose one."
        )
        async with db.writes_nothing():
            await refused(
                await clinic_a.patch(url, json={"quantity": 4}), 400, "AmbiguousLine", detail
            )
            await refused(await clinic_a.delete(url), 400, "AmbiguousLine", detail)
        params = {"order_item_id": second["order_item_id"]}
        changed = ok(await clinic_a.patch(url, json={"quantity": 4}, params=params))
        assert [line["quantity"] for line in changed["products"]["non_prescription"]] == [1, 4]
        removed = ok(await clinic_a.delete(url, params={"order_item_id": first["order_item_id"]}))
        assert removed == {"message": "Non_prescription product removed from order"}
        [left] = ok(await clinic_a.get(order_url(order)))["products"]["non_prescription"]
        assert (left["order_item_id"], left["quantity"]) == (second["order_item_id"], 4)

    async def test_unknown_line(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        rx = order["products"]["prescription"][0]
        other_line = order["products"]["order_material"][0]["order_item_id"]
        cases = [
            ("non_prescription", rx["id"], {}),  # right product, wrong type
            ("prescription", "0227d1e5-ba9a-42b5-8fe2-38882aa65708", {}),
            ("prescription", rx["id"], {"order_item_id": other_line}),
        ]
        for product_type, product_id, params in cases:
            url = order_url(order, "products", product_type, product_id)
            detail = f"The order has no {product_type} line for product {product_id}."
            async with db.writes_nothing():
                await refused(
                    await clinic_a.patch(url, json={"quantity": 2}, params=params),
                    404,
                    "LineNotFound",
                    detail,
                )
                await refused(
                    await clinic_a.delete(url, params=params), 404, "LineNotFound", detail
                )

    async def test_unknown_product_type(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        rx = order["products"]["prescription"][0]
        async with db.writes_nothing():
            await refused(
                await clinic_a.delete(order_url(order, "products", "compound", rx["id"])),
                422,
                "ValidationError",
            )

    async def test_remove_lines_but_not_the_last(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        messages = {
            "order_material": "Order_material product removed from order",
            "prescription": "Prescription product removed from order",
        }
        for kind, message in messages.items():
            line = order["products"][kind][0]
            url = order_url(order, "products", kind, line["id"])
            assert ok(await clinic_a.delete(url)) == {"message": message}
        left = ok(await clinic_a.get(order_url(order)))
        assert left["products"]["prescription"] == left["products"]["order_material"] == []
        assert left["prescription_count"] == 0
        [line] = left["products"]["non_prescription"]
        url = order_url(order, "products", "non_prescription", line["id"])
        async with db.writes_nothing():
            await refused(
                await clinic_a.delete(url),
                409,
                "LastLine",
                "An order keeps at least one line; cancel the order instead.",
            )
        assert await db.count(models.OrderLine) == 1


class TestStatusHistory:
    async def test_rows_oldest_first_with_who_and_how_long(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        ok(await clinic_a.put(order_url(order, "pause")))
        ok(await clinic_a.put(order_url(order, "unpause")))
        ok(await pharmacist.put(order_url(order, "cancel")))
        start = utcnow().replace(microsecond=0) - timedelta(hours=2)
        await backdate_history(
            db,
            order,
            start,
            start + timedelta(seconds=10),
            start + timedelta(seconds=95),
            start + timedelta(seconds=3700),
        )
        [admin] = await db.all(models.User, email="admin@clinic-a.pestle.dev")
        [rph] = await db.all(models.User, email="rph@pharmacy.pestle.dev")

        for client in (clinic_a, pharmacist):
            for ref in (order["id"], order["order_number"]):
                history = ok(await client.get(f"/api/v1/orders/{ref}/status_history"))
                last = history[-1].pop("duration")
                assert 7200 - 3700 <= last <= 7200 - 3700 + 60
                assert history == [
                    {
                        "status_code": code,
                        "status_name": name,
                        "updated_at": (start + timedelta(seconds=offset)).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                        "updated_by": str(user.id),
                        "updated_by_first_name": "Test",
                        "updated_by_last_name": last_name,
                        "note": None,
                        "override_reason": None,
                        **({"duration": duration} if duration is not None else {}),
                    }
                    for code, name, offset, user, last_name, duration in [
                        ("N01", "Received", 0, admin, "Admin", 10),
                        ("H01", "Paused", 10, admin, "Admin", 85),
                        ("N01", "Received", 95, admin, "Admin", 3605),
                        ("X01", "Cancelled", 3700, rph, "Pharmacist", None),
                    ]
                ]

    async def test_new_order_has_one_row(self, clinic_a: httpx.AsyncClient) -> None:
        order = await new_order(clinic_a)
        [row] = ok(await clinic_a.get(order_url(order, "status_history")))
        assert (row["status_code"], row["updated_at"]) == ("N01", order["created_at"])
        assert 0 <= row["duration"] <= 60


class TestConcurrency:
    """Requests that race each other: the loser gets the same answer as if it came second."""

    async def test_concurrent_creates_with_one_external_id(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        body = {"patient_id": patient["id"], "products": one_of_each(products), "external_id": "E"}
        responses = await asyncio.gather(
            *(clinic_a.post(ORDERS, json=body, params={"force_new": "true"}) for _ in range(4))
        )
        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [
            r.text for r in responses
        ]
        for response in responses:
            if response.status_code == 409:
                assert response.json()["error"] == "OrderExists"
        assert await db.count(models.Order) == 1
        assert await db.count(models.OrderLine) == 3

    async def test_concurrent_updates_to_one_external_id(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        body = {"patient_id": patient["id"], "products": one_of_each(products)}
        orders = [await create_order(clinic_a, body, force_new="true") for _ in range(4)]
        responses = await asyncio.gather(
            *(clinic_a.put(order_url(o), json={"external_id": "E"}) for o in orders)
        )
        assert sorted(r.status_code for r in responses) == [200, 409, 409, 409], [
            r.text for r in responses
        ]
        assert [o.external_id for o in await db.all(models.Order)].count("E") == 1

    async def test_concurrent_cancellation_requests(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        await force_status(db, order, "P02")
        url = order_url(order, "request_cancellation")
        responses = await asyncio.gather(*(clinic_a.post(url) for _ in range(4)))
        assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
        assert len(await outbox(db, "order.updated")) == 1

    async def test_concurrent_cancels(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order = await new_order(clinic_a)
        responses = await asyncio.gather(
            *(clinic_a.put(order_url(order, "cancel")) for _ in range(4))
        )
        assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
        assert len(await outbox(db, "order.cancelled")) == 1
        assert await db.count(models.OrderStatusChange) == 2

    async def _while_moved(
        self, db: Db, order: dict[str, Any], code: str, request: Any
    ) -> httpx.Response:
        """Sends ``request`` while another transaction holds ``order`` moved to ``code`` but
        not yet committed; answers the response once that transaction has committed."""
        async with db.database.transaction() as session:
            await session.execute(
                update(models.Order)
                .where(models.Order.id == uuid.UUID(order["id"]))
                .values(status_code=code)
            )
            task = asyncio.create_task(request)
            await asyncio.sleep(0.5)
            assert not task.done(), task.result().text
        return await task

    async def test_products_added_while_the_order_is_being_cancelled(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        request = clinic_a.post(
            order_url(order, "products"), json={"order_material": [{"sku": "DEC_AD_001"}]}
        )
        response = await self._while_moved(db, order, "X01", request)
        await refused(response, 409, "ProductsLocked")
        assert await db.count(models.OrderLine) == 3

    async def test_quantity_changed_while_the_pharmacy_takes_the_order(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        line = order["products"]["non_prescription"][0]
        url = order_url(order, "products", "non_prescription", line["id"])
        response = await self._while_moved(
            db, order, "P01", clinic_a.patch(url, json={"quantity": 9})
        )
        await refused(response, 409, "ProductsLocked")
        assert [line.quantity for line in await db.all(models.OrderLine)] == [1, 1, 1]

    async def test_address_changed_while_the_order_is_packed(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        request = clinic_a.put(order_url(order), json={"address": ADDRESS})
        response = await self._while_moved(db, order, "S01", request)
        await refused(response, 409, "ShippingLocked")
        [stored] = await db.all(models.Order)
        assert stored.address_1 == order["address"]["address_1"]

    async def test_cancellation_requested_while_the_order_ships(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        await force_status(db, order, "S01")
        request = clinic_a.post(order_url(order, "request_cancellation"))
        response = await self._while_moved(db, order, "S02", request)
        await refused(response, 409, "CancellationNotRequestable")
        [stored] = await db.all(models.Order)
        assert stored.cancellation_requested is False

    async def test_merge_while_the_open_order_is_paused(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order = await new_order(clinic_a)
        body = {
            "patient_id": order["patient"]["id"],
            "products": {"order_material": [{"sku": "DEC_AD_001"}]},
        }
        response = await self._while_moved(db, order, "H01", clinic_a.post(ORDERS, json=body))
        second = ok(response, 201)
        assert second["id"] != order["id"]
        assert await db.count(models.OrderLine, order_id=uuid.UUID(order["id"])) == 3
