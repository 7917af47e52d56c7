"""Helpers for the pharmacy-workflow tests: walking an order along its statuses with the right
staff, and reading back what a step wrote."""

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from pestle import models
from tests.conftest import Db
from tests.orders.support import ORDERS, ok, transition

SHIPMENT = {
    "carrier": "usps",
    "service_level": "usps_ground_advantage",
    "tracking_number": "9200190347375200504724",
    "tracking_url": "https://tools.usps.com/go/TrackConfirmAction_input?origTrackNum=9200190347375200504724",
    "estimated_delivery_date": "2099-07-31T17:13:13",
}


@dataclass
class Staff:
    technician: httpx.AsyncClient
    pharmacist: httpx.AsyncClient

    def for_step(self, source: str, target: str) -> httpx.AsyncClient:
        """The role DESIGN.md §3 gives the step: technicians enter and compound."""
        if (source, target) in {("N01", "P01"), ("P01", "P02"), ("P03", "P04")}:
            return self.technician
        return self.pharmacist


PATH = ("N01", "P01", "P02", "P03", "P04", "S01")


async def advance(staff: Staff, order: dict[str, Any], to: str, **extra: Any) -> dict[str, Any]:
    """Moves ``order`` along the pharmacy path up to ``to`` (at most S01), each step by its role."""
    body = ok(await staff.technician.get(f"{ORDERS}/{order['id']}"))
    current = body["status_code"]
    for source, target in itertools.pairwise(PATH):
        if PATH.index(source) < PATH.index(current) or PATH.index(target) > PATH.index(to):
            continue
        body = await transition(staff.for_step(source, target), order, target, **extra)
    return body


async def ship(
    client: httpx.AsyncClient, order: dict[str, Any], status: int = 201, **changes: Any
) -> Any:
    response = await client.post(f"{ORDERS}/{order['id']}/shipments", json={**SHIPMENT, **changes})
    return ok(response, status)


async def deliver(
    client: httpx.AsyncClient, order: dict[str, Any], shipment: dict[str, Any], status: int = 200
) -> Any:
    url = f"{ORDERS}/{order['id']}/shipments/{shipment['id']}/delivered"
    return ok(await client.post(url), status)


async def lot_quantity(db: Db, lot: dict[str, Any]) -> int:
    [found] = await db.all(models.InventoryLot, id=uuid.UUID(lot["id"]))
    quantity: int = found.current_quantity
    return quantity


async def lines(db: Db, order: dict[str, Any]) -> list[models.OrderLine]:
    found = await db.all(models.OrderLine, order_id=uuid.UUID(order["id"]))
    return sorted(found, key=lambda line: line.id)


async def history(db: Db, order: dict[str, Any]) -> list[models.OrderStatusChange]:
    found = await db.all(models.OrderStatusChange, order_id=uuid.UUID(order["id"]))
    return sorted(found, key=lambda change: (change.entered_at, change.id))
