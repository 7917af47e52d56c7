"""Tasks Pestle opens itself, on both engines: one for a stuck order and one for a product low
on stock, each once while it is open, in the transaction of the change that caused it."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from pestle import models
from pestle.orders.stuck import ScanCounts, scan_stuck
from tests.conftest import Db
from tests.inventory.support import adjust, create_product_lot
from tests.inventory.support import make_product as make_stock_product
from tests.orders.support import create_order, make_patient, make_product, ok, order_body
from tests.tasks.support import TASKS, expected_body, expected_event, task_events

LATER = timedelta(hours=25)


async def scan(db: Db, now: datetime) -> ScanCounts:
    async with db.database.transaction() as session:
        return await scan_stuck(session, "https://pharmacy.example", now)


async def unstick(db: Db, order_id: uuid.UUID) -> None:
    """Ends the order's stuck episode, as a prescription arriving would."""
    async with db.database.transaction() as session:
        await session.execute(
            update(models.Order)
            .where(models.Order.id == order_id)
            .values(stuck_reason=None, stuck_detail=None, stuck_since=None)
        )


async def change(client: httpx.AsyncClient, lot: dict[str, Any], delta: int) -> None:
    ok(await adjust(client, lot["id"], delta), 201)


async def tasks_of(db: Db, source_key: str) -> list[models.Task]:
    return sorted(await db.all(models.Task, source_key=source_key), key=lambda task: task.id)


class TestStuckOrder:
    async def test_one_task_per_open_episode(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        order = await create_order(clinic_a, order_body(patient, await make_product(clinic_a)))
        [row] = await db.all(models.Order, id=uuid.UUID(order["id"]))
        key = f"stuck:{row.id}"

        assert await scan(db, row.created_at + LATER) == ScanCounts(stuck=1)
        [task] = await tasks_of(db, key)
        listed = ok(await pharmacist.get(TASKS))
        assert listed == [
            {
                "id": str(task.id),
                "name": f"Order {row.order_number} is stuck: missing prescription",
                "description": "Mupirocin: no prescription received.",
                "category_code": "T01",
                "category_name": "Order",
                "status_code": "NEW",
                "status_name": "New",
                "assignee_id": None,
                "assignee": None,
                "watchers": [],
                "order_id": order["id"],
                "patient_id": patient["id"],
                "prescription_id": None,
                "created_by_id": None,
                "created_at": listed[0]["created_at"],
                "completed_at": None,
            }
        ]
        assert listed[0] == await expected_body(db, str(task.id))
        assert task.customer_id == row.customer_id
        # The order's customer sees the task about its order too.
        assert ok(await clinic_a.get(TASKS, params={"order_id": order["id"]})) == listed
        assert await task_events(db) == [
            ("task.created", row.customer_id, await expected_event(db, str(task.id)))
        ]

        # Still stuck: no event, no task. A new episode while the task is open: no task.
        assert await scan(db, row.created_at + LATER * 2) == ScanCounts(still_stuck=1)
        await unstick(db, row.id)
        assert await scan(db, row.created_at + LATER * 3) == ScanCounts(stuck=1)
        assert len(await tasks_of(db, key)) == 1

        # Once the task is done, the next episode opens a new one.
        ok(await pharmacist.put(f"{TASKS}/{task.id}", json={"status_code": "COMPLETED"}))
        await unstick(db, row.id)
        assert await scan(db, row.created_at + LATER * 4) == ScanCounts(stuck=1)
        first, second = await tasks_of(db, key)
        assert (first.id, first.status_code, second.status_code) == (task.id, "COMPLETED", "NEW")
        assert [code for code, _, _ in await task_events(db)] == [
            "task.created",
            "task.completed",
            "task.created",
        ]


@pytest.mark.usefixtures("clinic_a")
class TestLowStock:
    async def test_one_task_per_product_while_open(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_stock_product(db, "Clinic A", reorder_threshold=10)
        lot = await create_product_lot(
            pharmacist, product, 1, initial_quantity=20, current_quantity=20
        )
        key = f"low_stock:{product.id}"
        assert await tasks_of(db, key) == []

        await change(pharmacist, lot, -11)  # 9: crosses
        [task] = await tasks_of(db, key)
        body = ok(await pharmacist.get(f"{TASKS}/{task.id}"))
        assert body == {
            "id": str(task.id),
            "name": "Reorder Special Blend Product (SKU-1): low on stock",
            "description": "9 in stock, below the reorder threshold of 10.",
            "category_code": "T04",
            "category_name": "Inventory",
            "status_code": "NEW",
            "status_name": "New",
            "assignee_id": None,
            "assignee": None,
            "watchers": [],
            "order_id": None,
            "patient_id": None,
            "prescription_id": None,
            "created_by_id": None,
            "created_at": body["created_at"],
            "completed_at": None,
        }
        assert task.customer_id == product.customer_id
        assert ok(await clinic_a.get(TASKS)) == [body]
        assert await task_events(db) == [
            ("task.created", product.customer_id, await expected_event(db, str(task.id)))
        ]

        await change(pharmacist, lot, -1)  # still low: no crossing
        await change(pharmacist, lot, 5)  # recovered
        await change(pharmacist, lot, -5)  # crosses again, task still open
        assert len(await tasks_of(db, key)) == 1

        ok(await pharmacist.put(f"{TASKS}/{task.id}", json={"status_code": "CANCELLED"}))
        await change(pharmacist, lot, 5)
        await change(pharmacist, lot, -5)  # a closed task: a new one
        first, second = await tasks_of(db, key)
        assert (first.status_code, second.status_code) == ("CANCELLED", "NEW")
        assert second.description == "8 in stock, below the reorder threshold of 10."

    async def test_a_global_product_opens_a_pharmacy_task(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_stock_product(db, None, reorder_threshold=10)
        lot = await create_product_lot(
            pharmacist, product, 1, initial_quantity=20, current_quantity=20
        )
        await change(pharmacist, lot, -15)
        [task] = await tasks_of(db, f"low_stock:{product.id}")
        assert task.customer_id is None
        assert [t["id"] for t in ok(await pharmacist.get(TASKS))] == [str(task.id)]
        assert ok(await clinic_a.get(TASKS)) == []
        assert await task_events(db) == []  # no customer to tell, as inventory.low_stock

    async def test_refused_adjustment_opens_no_task(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_stock_product(db, "Clinic A", reorder_threshold=10)
        lot = await create_product_lot(
            pharmacist, product, 1, initial_quantity=20, current_quantity=20
        )
        async with db.writes_nothing():
            response = await adjust(pharmacist, lot["id"], -21)  # below zero
        assert response.json()["error"] == "InsufficientLotQuantity"
        assert await db.count(models.Task) == 0
