"""Quantity changes: the guarded SQL delta, the ledger, low-stock events and concurrency."""

import asyncio
from typing import Any

import httpx
import pytest

from pestle import models
from tests.conftest import Backend, Db
from tests.inventory.support import (
    API,
    adjust,
    create_lot,
    create_product_lot,
    events,
    ledger_sum,
    make_product,
    quantity,
)


class TestAdjust:
    async def test_adds_and_answers_201_with_the_lot(self, pharmacist: httpx.AsyncClient) -> None:
        created = await create_lot(pharmacist)
        response = await adjust(pharmacist, created["id"], 100)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body == {
            **created,
            "current_quantity": 180,
            "updated_at": body["updated_at"],
        }
        assert body["initial_quantity"] == 100

    async def test_negative_delta_removes(self, pharmacist: httpx.AsyncClient, db: Db) -> None:
        created = await create_lot(pharmacist)
        response = await adjust(pharmacist, created["id"], -80, reason="damaged", note="dropped")
        assert response.json()["current_quantity"] == 0
        assert await quantity(db, created["id"]) == 0

    async def test_below_zero_is_409_and_writes_nothing(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        created = await create_lot(pharmacist)
        async with db.writes_nothing():
            response = await adjust(pharmacist, created["id"], -81)
        assert response.status_code == 409
        detail = f"Inventory lot {created['id']} holds 80; removing 81 would leave it below 0."
        assert response.json() == {"error": "InsufficientLotQuantity", "detail": detail}
        assert await quantity(db, created["id"]) == 80

    async def test_above_the_largest_quantity_is_409_and_writes_nothing(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        created = await create_lot(pharmacist, initial_quantity=2_000_000_000, current_quantity=...)
        async with db.writes_nothing():
            response = await adjust(pharmacist, created["id"], 2_000_000_000)
        assert response.status_code == 409
        assert response.json() == {
            "error": "LotQuantityTooLarge",
            "detail": f"Inventory lot {created['id']} holds 2000000000; adding 2000000000 would "
            "exceed 2147483647, the most a lot can hold.",
        }

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"additional_quantity": 0}, None),
            ({}, "additional_quantity"),
            ({"additional_quantity": 1.5}, "additional_quantity"),
            ({"additional_quantity": "many"}, "additional_quantity"),
            ({"additional_quantity": 1, "reason": "lost"}, "reason"),
        ],
    )
    async def test_invalid_body_is_422_and_writes_nothing(
        self, pharmacist: httpx.AsyncClient, db: Db, body: dict[str, Any], field: str | None
    ) -> None:
        created = await create_lot(pharmacist)
        async with db.writes_nothing():
            response = await pharmacist.patch(f"{API}/{created['id']}/quantity", json=body)
        assert response.status_code == 422
        [error] = response.json()["detail"]
        if field is None:
            assert error["msg"] == "Value error, additional_quantity must not be 0"
        else:
            assert error["loc"] == ["body", field]

    async def test_unknown_lot_is_404(self, pharmacist: httpx.AsyncClient) -> None:
        lot_id = "0227d1e5-ba9a-42b5-8fe2-38882aa65708"
        response = await adjust(pharmacist, lot_id, 1)
        assert response.status_code == 404
        assert response.json()["error"] == "LotNotFound"

    async def test_who_may_adjust(
        self,
        pharmacist: httpx.AsyncClient,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        db: Db,
    ) -> None:
        product = await make_product(db, "Clinic A")
        pharmacy_lot = await create_product_lot(pharmacist, product)
        own_lot = await create_lot(clinic_a)
        async with db.writes_nothing():
            assert (await adjust(clinic_a, pharmacy_lot["id"], -1)).status_code == 403
            assert (await adjust(clinic_b, own_lot["id"], -1)).status_code == 404
        assert (await adjust(clinic_a, own_lot["id"], -1)).status_code == 201
        assert (await adjust(pharmacist, own_lot["id"], -1)).status_code == 201
        assert await quantity(db, own_lot["id"]) == 78


class TestLedger:
    async def test_every_change_is_recorded_and_sums_to_the_quantity(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        created = await create_lot(pharmacist, current_quantity=...)
        await adjust(pharmacist, created["id"], -30, reason="dispensed")
        await adjust(pharmacist, created["id"], 5, reason="returned", note="patient returned")
        await adjust(pharmacist, created["id"], -200)  # refused
        response = await pharmacist.get(f"{API}/{created['id']}/adjustments")
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "3"
        [user] = await db.all(models.User, email="rph@pharmacy.pestle.dev")
        entries = response.json()
        assert [
            {key: e[key] for key in ("delta", "resulting_quantity", "reason", "note")}
            for e in entries
        ] == [
            {"delta": 100, "resulting_quantity": 100, "reason": "received", "note": None},
            {"delta": -30, "resulting_quantity": 70, "reason": "dispensed", "note": None},
            {
                "delta": 5,
                "resulting_quantity": 75,
                "reason": "returned",
                "note": "patient returned",
            },
        ]
        assert {e["user_id"] for e in entries} == {str(user.id)}
        assert {e["lot_id"] for e in entries} == {created["id"]}
        assert all(e["created_at"].endswith("Z") for e in entries)
        # The invariant: the ledger always sums to the lot's current quantity.
        assert await ledger_sum(db, created["id"]) == await quantity(db, created["id"]) == 75

    async def test_paginated(self, pharmacist: httpx.AsyncClient) -> None:
        created = await create_lot(pharmacist, current_quantity=...)
        for _ in range(3):
            await adjust(pharmacist, created["id"], 1)
        response = await pharmacist.get(
            f"{API}/{created['id']}/adjustments", params={"page": 2, "page_size": 3}
        )
        assert response.headers["X-Total-Count"] == "4"
        assert [e["resulting_quantity"] for e in response.json()] == [103]
        assert 'rel="prev"' in response.headers["Link"]

    async def test_another_customers_ledger_is_404(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient
    ) -> None:
        created = await create_lot(clinic_a)
        response = await clinic_b.get(f"{API}/{created['id']}/adjustments")
        assert response.status_code == 404


@pytest.mark.usefixtures("clinic_a")
class TestLowStock:
    async def test_once_per_crossing(self, pharmacist: httpx.AsyncClient, db: Db) -> None:
        product = await make_product(db, "Clinic A", reorder_threshold=10)
        # 100 mg at 5 mg a unit: 20 units in stock.
        lot = await create_product_lot(
            pharmacist, product, 5, initial_quantity=100, current_quantity=...
        )
        assert await events(db, "inventory.low_stock") == []
        await adjust(pharmacist, lot["id"], -50)  # 10 units: not below 10
        assert await events(db, "inventory.low_stock") == []
        await adjust(pharmacist, lot["id"], -5)  # 9 units: crosses
        await adjust(pharmacist, lot["id"], -5)  # 8 units: still low, no second event
        [event] = await events(db, "inventory.low_stock")
        assert event.customer_id == product.customer_id
        assert {k: v for k, v in event.data.items() if k != "detected_at"} == {
            "product_id": str(product.id),
            "product_type": "non_prescription",
            "sku": "SKU-1",
            "name": "Special Blend Product",
            "current_stock": 9,
            "reorder_threshold": 10,
        }
        [stored] = await db.all(models.Product, id=product.id)
        assert stored.is_low_stock is True
        await adjust(pharmacist, lot["id"], 10)  # 10 units: recovered, flag cleared
        [stored] = await db.all(models.Product, id=product.id)
        assert stored.is_low_stock is False
        await adjust(pharmacist, lot["id"], -1)  # crosses again: a second event
        assert [e.data["current_stock"] for e in await events(db, "inventory.low_stock")] == [9, 9]

    async def test_stock_counts_whole_product_units_per_lot(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A", reorder_threshold=5)
        # 80 mg at 30 mg a unit: 2 units, below 5 from the start.
        first = await create_product_lot(pharmacist, product, 30, initial_quantity=80)
        # Two lots of 80 mg: 2 + 2 units, not 160 / 30 = 5.33: still low, no second event.
        await create_product_lot(pharmacist, product, 30, initial_quantity=80)
        [stored] = await db.all(models.Product, id=product.id)
        assert stored.is_low_stock is True
        await adjust(pharmacist, first["id"], 10)  # 90 mg: 3 + 2 = 5 units, recovered
        [stored] = await db.all(models.Product, id=product.id)
        assert stored.is_low_stock is False
        await adjust(pharmacist, first["id"], -1)  # 89 mg: 2 + 2 = 4 units
        assert [e.data["current_stock"] for e in await events(db, "inventory.low_stock")] == [2, 4]

    async def test_deactivating_the_lot_counts(self, pharmacist: httpx.AsyncClient, db: Db) -> None:
        product = await make_product(db, "Clinic A", reorder_threshold=1)
        lot = await create_product_lot(pharmacist, product, 1)
        await pharmacist.put(f"{API}/{lot['id']}", json={"is_active": False})
        [event] = await events(db, "inventory.low_stock")
        assert event.data["current_stock"] == 0
        await pharmacist.put(f"{API}/{lot['id']}", json={"is_active": True})
        [stored] = await db.all(models.Product, id=product.id)
        assert stored.is_low_stock is False

    async def test_refused_adjustment_emits_nothing(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A", reorder_threshold=1000)
        lot = await create_product_lot(pharmacist, product, 1)
        assert len(await events(db, "inventory.low_stock")) == 1  # below from the start
        async with db.writes_nothing():
            await adjust(pharmacist, lot["id"], -1000)


class TestConcurrency:
    async def test_fifty_removals_from_forty(
        self, backend: Backend, server: str, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        if backend.name != "postgresql":
            pytest.skip("row locks and concurrent writers: PostgreSQL only")
        created = await create_lot(pharmacist, initial_quantity=40, current_quantity=...)
        token = pharmacist.headers["Authorization"]
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=server, timeout=60, limits=limits) as client:
            client.headers["Authorization"] = token
            responses = await asyncio.gather(
                *(adjust(client, created["id"], -1) for _ in range(50))
            )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201] * 40 + [409] * 10
        assert await quantity(db, created["id"]) == 0
        entries = await db.all(models.LotAdjustment, lot_id=created["id"])
        assert sorted(e.delta for e in entries) == [-1] * 40 + [40]
        assert sorted(e.resulting_quantity for e in entries if e.delta == -1) == list(range(40))
        assert await ledger_sum(db, created["id"]) == 0
