"""Helpers for the order tests: a clinic's catalogue, stock and prescriptions set up over HTTP,
and the pharmacy's staff as logged-in clients."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from pestle import models
from tests.conftest import Db, user_client
from tests.prescriptions.test_json import PATIENT, make_prescriber, medication, submit

ORDERS = "/api/v1/orders"
ADDRESS = {
    "address_1": "140 Lindgren Streets",
    "address_2": "Apt 227",
    "city": "North Consueloburgh",
    "state": "CA",
    "zip_code": "02108",
    "country": "US",
}
LOT = {
    "batch_number": "B-1",
    "current_quantity": 100,
    "initial_quantity": 100,
    "expiration_date": "2099-01-01T00:00:00",
    "unit_type": "each",
}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def make_patient(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    return ok(await client.post("/api/v1/patients", json={**PATIENT, **changes}), 201)  # type: ignore[no-any-return]


async def make_formula(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    body = {
        "name": "Mupirocin 1% cream",
        "bud_category": "non_aqueous",
        "ingredients": [{"material": "mupirocin USP", "quantity_per_unit": 1, "unit": "g"}],
        **changes,
    }
    return ok(await client.post("/api/v1/products/formulas", json=body), 201)  # type: ignore[no-any-return]


async def make_product(
    client: httpx.AsyncClient, kind: str = "prescription", **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Mupirocin", **changes}
    if kind == "prescription":
        body.setdefault("product_code", "SUPERSPRAY15")
    return ok(await client.post(f"/api/v1/products/{kind}", json=body), 201)  # type: ignore[no-any-return]


async def stock(
    client: httpx.AsyncClient, product: dict[str, Any], kind: str = "prescription", **lot: Any
) -> dict[str, Any]:
    """A lot feeding ``product``, one lot unit per product unit unless told otherwise."""
    body = {**LOT, "type": kind, "units_per_product": 1, **lot}
    url = f"/api/v1/products/{kind}/{product['id']}/inventory"
    return ok(await client.post(url, json=body), 201)  # type: ignore[no-any-return]


async def prescribe(
    client: httpx.AsyncClient,
    patient: dict[str, Any],
    product: dict[str, Any],
    prescriber: dict[str, Any] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """An active prescription of ``product`` for ``patient``; returns the eRx."""
    prescriber = prescriber or await make_prescriber(client)
    return await submit(
        client,
        medication=medication(prescription_product_id=product["id"], drug_name=None, **changes),
        patient={"id": patient["id"]},
        prescriber={"id": prescriber["id"]},
    )


def order_body(
    patient: dict[str, Any], *prescription: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "patient_id": patient["id"],
        "products": {"prescription": [{"id": p["id"], "quantity": 1} for p in prescription]},
        **extra,
    }


async def create_order(
    client: httpx.AsyncClient, body: dict[str, Any], status: int = 201, **params: Any
) -> dict[str, Any]:
    return ok(await client.post(ORDERS, json=body, params=params), status)  # type: ignore[no-any-return]


@dataclass
class Ready:
    """A clinic with a patient, a stocked prescription product, an active prescription, and
    one order of that product waiting in N01."""

    patient: dict[str, Any]
    product: dict[str, Any]
    lot: dict[str, Any]
    erx: dict[str, Any]
    order: dict[str, Any]


async def ready_order(
    client: httpx.AsyncClient, quantity: int = 1, lot_quantity: int = 100
) -> Ready:
    patient = await make_patient(client)
    formula = await make_formula(client)
    product = await make_product(client, formula_id=formula["number"])
    lot = await stock(client, product, current_quantity=lot_quantity, initial_quantity=lot_quantity)
    erx = await prescribe(client, patient, product)
    body = order_body(patient)
    body["products"]["prescription"] = [{"id": product["id"], "quantity": quantity}]
    order = await create_order(client, body)
    return Ready(patient, product, lot, erx, order)


@contextlib.asynccontextmanager
async def staff(server: str, db: Db, role: str) -> AsyncIterator[httpx.AsyncClient]:
    async with user_client(server, db, f"{role}@pharmacy.pestle.dev", role, None) as client:
        yield client


async def transition(
    client: httpx.AsyncClient, order: dict[str, Any], to: str, status: int = 200, **extra: Any
) -> Any:
    response = await client.post(f"{ORDERS}/{order['id']}/transitions", json={"to": to, **extra})
    return ok(response, status)


async def outbox(db: Db, code: str) -> list[dict[str, Any]]:
    found = await db.all(models.OutboxEvent, event_code=code)
    return [event.data for event in sorted(found, key=lambda event: event.id)]
