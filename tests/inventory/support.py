"""Helpers for the inventory tests: products written straight to the database, lots over HTTP."""

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from pestle import models
from tests.conftest import Db
from tests.kit.support import customer_id

API = "/api/v1/products/inventory"

LOT = {
    "batch_number": "1234567890",
    "cost_per_unit": 2.49,
    "current_quantity": 80,
    "expiration_date": "2030-01-01T00:00:00",
    "is_active": True,
    "manufacturer": "Krill Farms",
    "mpn": "KF1234567890",
    "notes": "This batch was received as a replacement to batch 817",
    "received_date": "2025-01-01T18:21:45.371623",
    "unit_type": "mg",
    "upc": "7-12345-67890-4",
    "type": "non_prescription",
    "initial_quantity": 100,
}


def lot_json(**overrides: Any) -> dict[str, Any]:
    body = dict(LOT)
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


async def make_product(
    db: Db,
    customer: str | None,
    kind: str = "non_prescription",
    sku: str = "SKU-1",
    name: str = "Special Blend Product",
    reorder_threshold: int = 0,
) -> models.Product:
    owner = await customer_id(db, customer) if customer is not None else None
    async with db.database.transaction() as session:
        product = models.Product(
            customer_id=owner,
            kind=kind,
            sku=sku,
            name=name,
            reorder_threshold=reorder_threshold,
            is_global=owner is None,
        )
        session.add(product)
    return product


async def create_lot(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post(API, json=lot_json(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_product_lot(
    client: httpx.AsyncClient, product: models.Product, units_per_product: int = 1, **overrides: Any
) -> dict[str, Any]:
    body = lot_json(type=product.kind, units_per_product=units_per_product, **overrides)
    response = await client.post(
        f"/api/v1/products/{product.kind}/{product.id}/inventory", json=body
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def adjust(
    client: httpx.AsyncClient, lot_id: str, delta: int, **extra: Any
) -> httpx.Response:
    return await client.patch(
        f"{API}/{lot_id}/quantity", json={"additional_quantity": delta, **extra}
    )


async def ledger_sum(db: Db, lot_id: str) -> int:
    statement = select(func.coalesce(func.sum(models.LotAdjustment.delta), 0)).where(
        models.LotAdjustment.lot_id == uuid.UUID(lot_id)
    )
    async with db.database.sessions() as session:
        return int(await session.scalar(statement) or 0)


async def quantity(db: Db, lot_id: str) -> int:
    [lot] = await db.all(models.InventoryLot, id=uuid.UUID(lot_id))
    value: int = lot.current_quantity
    return value


async def events(db: Db, code: str) -> list[models.OutboxEvent]:
    found = await db.all(models.OutboxEvent, event_code=code)
    return sorted(found, key=lambda event: event.created_at)


def association(product: models.Product, customer: str | None, units: int) -> dict[str, Any]:
    return {
        "customer": customer,
        "customer_id": str(product.customer_id) if product.customer_id else None,
        "name": product.name,
        "product_id": str(product.id),
        "units_per_product": units,
    }


def by_type(**kinds: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {
        "prescription": kinds.get("prescription", []),
        "non_prescription": kinds.get("non_prescription", []),
        "order_material": kinds.get("order_material", []),
    }
