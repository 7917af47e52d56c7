"""Helpers for the tests of the customer's side of orders: a product of each kind, and an order
put into a status through the database, where the pharmacy's steps are not under test."""

import re
import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import update

from pestle import models
from tests.conftest import Db
from tests.orders.support import ORDERS, make_product, ok

ORDER_NUMBER = re.compile(r"ORD\d{12}[A-Z0-9]{4}")
WEBHOOK_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")


async def catalogue(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """One product of each kind, with SKUs (and a product code) the tests can name."""
    return {
        "prescription": await make_product(client, sku="RX-1", product_code="SUPERSPRAY15"),
        "non_prescription": await make_product(
            client, "non_prescription", name="Sunscreen", sku="SPF50-TUBE"
        ),
        "order_material": await make_product(
            client, "order_material", name="Brochure", sku="DEC_AD_001"
        ),
    }


def one_of_each(products: dict[str, dict[str, Any]], quantity: int = 1) -> dict[str, Any]:
    return {kind: [{"id": p["id"], "quantity": quantity}] for kind, p in products.items()}


async def force_status(db: Db, order: dict[str, Any], code: str) -> None:
    """Puts ``order`` in ``code`` directly, as the pharmacy's steps would have."""
    async with db.database.transaction() as session:
        await session.execute(
            update(models.Order)
            .where(models.Order.id == uuid.UUID(order["id"]))
            .values(status_code=code)
        )


async def backdate_history(db: Db, order: dict[str, Any], *entered: datetime) -> None:
    """Sets when the order entered each status of its history, oldest first."""
    changes = sorted(
        await db.all(models.OrderStatusChange, order_id=uuid.UUID(order["id"])),
        key=lambda change: (change.entered_at, change.id),
    )
    assert len(changes) == len(entered)
    async with db.database.transaction() as session:
        for change, when in zip(changes, entered, strict=True):
            await session.execute(
                update(models.OrderStatusChange)
                .where(models.OrderStatusChange.id == change.id)
                .values(entered_at=when)
            )


async def refused(
    response: httpx.Response, status: int, error: str, detail: str | None = None
) -> Any:
    """The error body of a refused request, checked for its status and error name."""
    body = ok(response, status)
    assert body["error"] == error, body
    if detail is not None:
        assert body["detail"] == detail
    return body["detail"]


def order_url(order: dict[str, Any], *rest: str) -> str:
    return "/".join([ORDERS, order["id"], *rest])
