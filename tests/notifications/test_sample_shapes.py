"""Every sample has exactly the fields of the real event: events are produced for real (over
HTTP where the flow has an endpoint, else through the scan a command runs) and compared."""

import uuid
from datetime import timedelta
from typing import Any

import httpx

from pestle import models
from pestle.events.catalogue import CATALOGUE
from pestle.events.samples import sample
from pestle.inventory.service import inventory_service
from pestle.kit.time import utcnow
from pestle.orders.stuck import scan_stuck
from pestle.prescriptions.service import prescription_service
from tests.conftest import Db
from tests.fulfilment.support import Staff, advance, deliver, ship
from tests.inventory.support import create_product_lot
from tests.inventory.support import make_product as make_stock_product
from tests.kit.support import customer_id
from tests.orders.support import (
    ORDERS,
    create_order,
    make_patient,
    make_product,
    ok,
    order_body,
    ready_order,
    staff,
)


def shape(value: Any) -> Any:
    """The keys of ``value``, recursively: what a receiver's parser depends on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


async def produce_every_event(server: str, clinic: httpx.AsyncClient, db: Db) -> None:
    ready = await ready_order(clinic)  # patient, prescription and order created
    ok(await clinic.put(f"/api/v1/patients/{ready.patient['id']}", json={"middle_name": "B"}))
    ok(await clinic.put(f"{ORDERS}/{ready.order['id']}", json={"external_id": "shape-1"}))
    async with staff(server, db, "technician") as tech, staff(server, db, "pharmacist") as rph:
        await advance(Staff(tech, rph), ready.order, "S01")
        shipment = await ship(rph, ready.order)
        await deliver(rph, ready.order, shipment)

        cancelled = await create_order(clinic, order_body(ready.patient, ready.product))
        ok(await clinic.put(f"{ORDERS}/{cancelled['id']}/cancel"))

        unprescribed = await create_order(
            clinic,
            order_body(
                await make_patient(clinic, external_id="P2"),
                await make_product(clinic, product_code="OTHER1"),
            ),
        )
        [row] = await db.all(models.Order, id=uuid.UUID(unprescribed["id"]))
        async with db.database.transaction() as session:
            await scan_stuck(session, "http://127.0.0.1:8000", row.created_at + timedelta(hours=25))

        owner = await customer_id(db, "Clinic A")
        async with db.database.transaction() as session:
            await prescription_service.cancel(
                session, owner, prescription_id=uuid.UUID(ready.erx["prescriptions"][0]["id"])
            )

        task = {"name": "Check", "category_code": "T01", "order_id": ready.order["id"]}
        created = ok(await clinic.post("/api/v1/tasks", json=task), 201)
        ok(await clinic.put(f"/api/v1/tasks/{created['id']}", json={"status_code": "COMPLETED"}))

        low = await make_stock_product(db, "Clinic A", reorder_threshold=1000)
        expiring = (utcnow() + timedelta(days=10)).replace(microsecond=0, tzinfo=None)
        await create_product_lot(rph, low, 1, expiration_date=expiring.isoformat())
        async with db.database.transaction() as session:
            await inventory_service.scan_expiring(session, 30)


async def test_each_sample_has_the_fields_of_the_real_event(
    server: str, clinic_a: httpx.AsyncClient, db: Db
) -> None:
    await produce_every_event(server, clinic_a, db)
    emitted: dict[str, dict[str, Any]] = {}
    for event in sorted(await db.all(models.OutboxEvent), key=lambda e: e.id):
        emitted.setdefault(event.event_code, event.data)
    for event_type in CATALOGUE:
        code = event_type.event_code
        assert code in emitted, f"the flow produced no {code}"
        assert shape(sample(code, "http://127.0.0.1:8000")) == shape(emitted[code]), code
