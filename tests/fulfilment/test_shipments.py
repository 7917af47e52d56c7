"""Shipments over HTTP on both engines: split shipments, the `order.shipped` and
`order.delivered` payloads, delivery of the whole order, and who sees what."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from pestle import models
from pestle.kit.time import webhook_format
from tests.conftest import Db
from tests.fulfilment.support import SHIPMENT, Staff, advance, deliver, history, ship
from tests.orders.support import ORDERS, ok, outbox, ready_order

UPS = {
    "carrier": "ups",
    "service_level": "ups_2nd_day_air",
    "tracking_number": "1Z999AA10123456784",
    "tracking_url": None,
    "estimated_delivery_date": None,
}


async def row(db: Db, shipment: dict[str, Any]) -> models.Shipment:
    [found] = await db.all(models.Shipment, id=uuid.UUID(shipment["id"]))
    return found


def payload(found: models.Shipment, order: dict[str, Any], **names: str) -> dict[str, Any]:
    return {
        **names,
        "status": found.status,
        "tracking_number": found.tracking_number,
        "tracking_url": found.tracking_url,
        "estimated_delivery_date": (
            webhook_format(found.estimated_delivery_date) if found.estimated_delivery_date else None
        ),
        "created_at": webhook_format(found.created_at),
        "updated_at": webhook_format(found.updated_at),
        "url": f"http://127.0.0.1:8000/shipments/{found.id}",
        "order_id": order["id"],
        "order_number": order["order_number"],
    }


async def packed(
    client: httpx.AsyncClient, technician: httpx.AsyncClient, pharmacist: httpx.AsyncClient
) -> dict[str, Any]:
    order = (await ready_order(client)).order
    await advance(Staff(technician, pharmacist), order, "S01")
    return order


async def status_of(client: httpx.AsyncClient, order: dict[str, Any]) -> str:
    code: str = ok(await client.get(f"{ORDERS}/{order['id']}"))["status_code"]
    return code


class TestSplitShipments:
    async def test_ship_twice_then_deliver_each(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = await packed(clinic_a, technician, pharmacist)
        first = await ship(technician, order)
        assert first == {
            "id": first["id"],
            "order_id": order["id"],
            "carrier": "usps",
            "carrier_name": "USPS",
            "service_level": "usps_ground_advantage",
            "service_level_name": "Ground Advantage",
            "tracking_number": SHIPMENT["tracking_number"],
            "tracking_url": SHIPMENT["tracking_url"],
            "estimated_delivery_date": "2099-07-31T17:13:13Z",
            "status": "shipped",
            "shipped_at": first["created_at"],
            "delivered_at": None,
            "created_at": first["created_at"],
            "updated_at": first["created_at"],
        }
        assert await status_of(clinic_a, order) == "S02"
        second = await ship(pharmacist, order, **UPS)
        assert (second["carrier_name"], second["service_level_name"]) == ("UPS", "2nd Day Air")
        assert await status_of(clinic_a, order) == "S02"

        shipped = await outbox(db, "order.shipped")
        assert shipped == [
            payload(
                await row(db, first),
                order,
                carrier="USPS",
                service_level="Ground Advantage",
            ),
            payload(await row(db, second), order, carrier="UPS", service_level="2nd Day Air"),
        ]
        assert shipped[0]["estimated_delivery_date"] == "2099-07-31T17:13:13.000000"

        delivered = await deliver(technician, order, first)
        assert delivered["status"] == "delivered"
        assert delivered["delivered_at"] is not None
        assert await status_of(clinic_a, order) == "S02"
        async with db.writes_nothing():
            again = await deliver(technician, order, first, 409)
        assert again == {
            "error": "ShipmentAlreadyDelivered",
            "detail": f"Shipment {first['id']} is already delivered.",
        }
        await deliver(pharmacist, order, second)
        assert await status_of(clinic_a, order) == "S03"

        [one, two] = await outbox(db, "order.delivered")
        assert one == payload(
            await row(db, first), order, carrier="USPS", service_level="Ground Advantage"
        )
        assert one["status"] == "delivered"
        assert two["status"] == "delivered"
        moves = [(r.previous_status_code, r.status_code) for r in await history(db, order)]
        assert moves[-2:] == [("S01", "S02"), ("S02", "S03")]
        seen = ok(await clinic_a.get(f"{ORDERS}/{order['id']}"))["shipments"]
        assert [(s["id"], s["status"]) for s in seen] == [
            (first["id"], "delivered"),
            (second["id"], "delivered"),
        ]

    async def test_the_last_of_two_deliveries_at_once_delivers_the_order(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = await packed(clinic_a, technician, pharmacist)
        first = await ship(technician, order)
        second = await ship(technician, order, **UPS)
        await asyncio.gather(deliver(technician, order, first), deliver(pharmacist, order, second))
        assert await status_of(clinic_a, order) == "S03"
        assert len(await outbox(db, "order.delivered")) == 2

    async def test_no_shipment_once_delivered(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = await packed(clinic_a, technician, pharmacist)
        await deliver(technician, order, await ship(technician, order))
        async with db.writes_nothing():
            body = await ship(technician, order, 409)
        assert body == {
            "error": "ShipmentNotAllowed",
            "detail": "Shipments can be added only while the order is S01 (Shipping) or S02 "
            "(Shipped); it is S03 (Delivered).",
        }


class TestRefused:
    async def test_before_final_verification(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = (await ready_order(clinic_a)).order
        await advance(Staff(technician, pharmacist), order, "P04")
        async with db.writes_nothing():
            body = await ship(technician, order, 409)
        assert body["detail"].endswith("it is P04 (Final Verification).")

    @pytest.mark.parametrize(
        ("changes", "detail"),
        [
            (
                {"service_level": "ups_ground"},
                "body: service level 'ups_ground' is not offered by carrier 'usps'.",
            ),
            (
                {"service_level": "ground"},
                "service_level: 'ground' leaves the carrier open; a shipment names the "
                "carrier's own service level, e.g. 'usps_ground_advantage'.",
            ),
            ({"carrier": "dhl"}, "body.carrier: unknown carrier 'dhl'; one of usps, ups, fedex."),
        ],
    )
    async def test_service_level_must_be_the_carriers(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
        changes: dict[str, str],
        detail: str,
    ) -> None:
        order = await packed(clinic_a, technician, pharmacist)
        async with db.writes_nothing():
            body = await ship(technician, order, 422, **changes)
        assert body["detail"] == detail
        assert await status_of(clinic_a, order) == "S01"

    async def test_customers_cannot_ship_or_deliver(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = await packed(clinic_a, technician, pharmacist)
        async with db.writes_nothing():
            assert (await ship(clinic_a, order, 403))["error"] == "RoleNotAllowed"
        shipment = await ship(technician, order)
        async with db.writes_nothing():
            assert (await deliver(clinic_a, order, shipment, 403))["error"] == "RoleNotAllowed"

    async def test_another_orders_shipment_is_404(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = await packed(clinic_a, technician, pharmacist)
        other = await packed(clinic_b, technician, pharmacist)
        shipment = await ship(technician, other)
        async with db.writes_nothing():
            body = await deliver(technician, order, shipment, 404)
        assert body == {
            "error": "ShipmentNotFound",
            "detail": f"The order has no shipment {shipment['id']}.",
        }


class TestTenancy:
    async def test_shipments_are_the_customers_own(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = await packed(clinic_a, technician, pharmacist)
        shipment = await ship(technician, order)
        url = f"{ORDERS}/{order['id']}/shipments"
        assert ok(await clinic_a.get(url)) == [shipment]
        assert ok(await pharmacist.get(url)) == [shipment]
        response = await clinic_b.get(url)
        assert response.status_code == 404
        assert response.json() == {"error": "OrderNotFound", "detail": f"No order {order['id']}."}
        assert (await clinic_b.get(f"{ORDERS}/{order['id']}")).status_code == 404
        [found] = await db.all(models.Shipment)
        [customer] = await db.all(models.Customer, name="Clinic A")
        assert found.customer_id == customer.id
        [event] = await db.all(models.OutboxEvent, event_code="order.shipped")
        assert event.customer_id == customer.id

    async def test_staff_ship_for_every_customer(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
    ) -> None:
        a = await packed(clinic_a, technician, pharmacist)
        b = await packed(clinic_b, technician, pharmacist)
        for client, order in ((clinic_a, a), (clinic_b, b)):
            await deliver(technician, order, await ship(technician, order))
            assert await status_of(client, order) == "S03"
