"""A known book of orders for the report tests: clinics' orders across statuses, products and
days, made over HTTP, then dated by the test's own database access (creation time is the
server's clock otherwise)."""

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import update

from pestle import models
from tests.conftest import Db
from tests.orders.support import (
    ORDERS,
    create_order,
    make_patient,
    make_product,
    ok,
    transition,
)

REPORTS = "/api/v1/reports"
CSV = {"Accept": "text/csv"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def set_columns(db: Db, model: Any, row_id: str, **values: Any) -> None:
    async with db.database.transaction() as session:
        await session.execute(update(model).where(model.id == uuid.UUID(row_id)).values(**values))


async def dated_order(
    db: Db, client: httpx.AsyncClient, patient: dict[str, Any], created_at: str, **lines: Any
) -> dict[str, Any]:
    """An order of ``lines`` (kind -> [(product, quantity)]) created at ``created_at`` UTC."""
    products = {
        kind: [{"id": product["id"], "quantity": quantity} for product, quantity in items]
        for kind, items in lines.items()
    }
    body = {"patient_id": patient["id"], "products": products}
    order = await create_order(client, body, force_new="true")
    await set_columns(db, models.Order, order["id"], created_at=at(created_at))
    return order


@dataclass
class Book:
    rapamycin: dict[str, Any]
    mupirocin: dict[str, Any]
    sunscreen: dict[str, Any]
    packet: dict[str, Any]
    clinic_b_product: dict[str, Any]
    orders: dict[str, dict[str, Any]]


async def book(
    db: Db, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, staff: httpx.AsyncClient
) -> Book:
    """Clinic A: four orders in January 2025 (on both boundaries, in N01, H01, P01 and X01) and
    one on each side of it; Clinic B: one order in January."""
    patient = await make_patient(clinic_a)
    rapamycin = await make_product(clinic_a, name="Rapamycin 100mg", product_code="RAPA100")
    mupirocin = await make_product(clinic_a, name="Mupirocin", product_code="MUPI")
    sunscreen = await make_product(clinic_a, "non_prescription", name="PABA-free sunscreen")
    packet = await make_product(clinic_a, "order_material", name="Q4 packet")
    rx, np, om = "prescription", "non_prescription", "order_material"
    orders = {
        "first": await dated_order(
            db,
            clinic_a,
            patient,
            "2025-01-01T00:00:00",
            **{rx: [(rapamycin, 3)], om: [(packet, 1)]},
        ),
        "last": await dated_order(
            db,
            clinic_a,
            patient,
            "2025-01-31T23:59:59.999999",
            **{rx: [(rapamycin, 2)], np: [(sunscreen, 4)]},
        ),
        "cancelled": await dated_order(
            db,
            clinic_a,
            patient,
            "2025-01-15T12:00:00",
            **{rx: [(mupirocin, 1)], om: [(packet, 1)]},
        ),
        "entered": await dated_order(
            db, clinic_a, patient, "2025-01-15T13:00:00", **{np: [(sunscreen, 5)]}
        ),
        "before": await dated_order(
            db, clinic_a, patient, "2024-12-31T23:59:59.999999", **{rx: [(rapamycin, 7)]}
        ),
        "after": await dated_order(
            db, clinic_a, patient, "2025-02-01T00:00:00", **{rx: [(rapamycin, 9)]}
        ),
    }
    ok(await clinic_a.put(f"{ORDERS}/{orders['last']['id']}/pause"))
    ok(await clinic_a.put(f"{ORDERS}/{orders['cancelled']['id']}/cancel"))
    await transition(staff, orders["entered"], "P01")
    b_patient = await make_patient(clinic_b)
    b_product = await make_product(clinic_b, name="Semaglutide", product_code="SEMA")
    orders["clinic_b"] = await dated_order(
        db, clinic_b, b_patient, "2025-01-10T08:00:00", **{rx: [(b_product, 11)]}
    )
    return Book(rapamycin, mupirocin, sunscreen, packet, b_product, orders)


def product_count(product: dict[str, Any], count: int) -> dict[str, Any]:
    return {"name": product["name"], "id": product["id"], "count": count}


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.text)))
