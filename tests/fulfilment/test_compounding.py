"""Compounding (P03 -> P04) over HTTP on both engines: stock taken earliest expiry first, the
lots and beyond-use date each line records, shortages, and two requests at once."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from pestle import models
from pestle.kit.time import utcnow
from tests.conftest import Db
from tests.fulfilment.support import Staff, advance, history, lines, lot_quantity
from tests.orders.support import (
    ORDERS,
    create_order,
    make_formula,
    make_patient,
    make_product,
    ok,
    prescribe,
    stock,
    transition,
)
from tests.prescriptions.test_json import make_prescriber

NOW = utcnow().replace(microsecond=0)
SOON = NOW + timedelta(days=30)
MIDDLE = NOW + timedelta(days=60)
LATER = datetime(2099, 1, 1, tzinfo=NOW.tzinfo)


def naive(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat()


def rest(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Shop:
    cream: dict[str, Any]
    spf: dict[str, Any]
    lots: dict[str, dict[str, Any]]
    order: dict[str, Any]


async def shop(
    client: httpx.AsyncClient,
    cream_lots: dict[str, tuple[int, datetime]],
    spf_lots: dict[str, int],
    cream_lines: tuple[int, ...],
    spf_quantity: int,
) -> Shop:
    """A clinic order in N01 with a line of the formula product "Cream" per ``cream_lines``
    (each with its own prescription) and a line of the formula-less "SPF" (5 lot units per
    product unit); lots by batch number."""
    patient = await make_patient(client)
    formula = await make_formula(client, bud_category="non_aqueous")
    cream = await make_product(client, name="Cream", formula_id=formula["number"])
    spf = await make_product(client, "non_prescription", name="SPF", sku="SPF50")
    lots = {}
    for batch, (quantity, expires) in cream_lots.items():
        lots[batch] = await stock(
            client,
            cream,
            batch_number=batch,
            current_quantity=quantity,
            initial_quantity=quantity,
            expiration_date=naive(expires),
        )
    for batch, quantity in spf_lots.items():
        lots[batch] = await stock(
            client,
            spf,
            "non_prescription",
            batch_number=batch,
            current_quantity=quantity,
            initial_quantity=quantity,
            units_per_product=5,
        )
    prescriber = await make_prescriber(client)
    for _ in cream_lines:
        await prescribe(client, patient, cream, prescriber)
    body = {
        "patient_id": patient["id"],
        "products": {
            "prescription": [{"id": cream["id"], "quantity": q} for q in cream_lines],
            "non_prescription": [{"id": spf["id"], "quantity": spf_quantity}],
        },
    }
    return Shop(cream, spf, lots, await create_order(client, body))


async def quantities(db: Db, found: Shop) -> dict[str, int]:
    return {batch: await lot_quantity(db, lot) for batch, lot in found.lots.items()}


async def used(db: Db) -> list[tuple[uuid.UUID, uuid.UUID, int, int]]:
    rows = await db.all(models.OrderLineLot)
    return sorted((r.order_line_id, r.lot_id, r.product_units, r.lot_units) for r in rows)


class TestConsumption:
    async def test_earliest_expiry_first_split_over_the_lines(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        found = await shop(
            clinic_a,
            {"LATER": (10, LATER), "SOON": (2, SOON), "MIDDLE": (1, MIDDLE)},
            {"SPF-1": 40},
            cream_lines=(2, 2),
            spf_quantity=3,
        )
        await advance(Staff(technician, pharmacist), found.order, "P03")
        body = await transition(technician, found.order, "P04")

        assert await quantities(db, found) == {"LATER": 9, "SOON": 0, "MIDDLE": 0, "SPF-1": 25}
        first, second, spf = await lines(db, found.order)
        lot = {batch: uuid.UUID(value["id"]) for batch, value in found.lots.items()}
        assert await used(db) == sorted(
            [
                (first.id, lot["SOON"], 2, 2),
                (second.id, lot["MIDDLE"], 1, 1),
                (second.id, lot["LATER"], 1, 1),
                (spf.id, lot["SPF-1"], 3, 15),
            ]
        )
        compounded = {line.compounded_at for line in (first, second, spf)}
        assert len(compounded) == 1
        assert None not in compounded
        # 90 days for a non-aqueous formula, but never past the earliest lot the line used.
        assert (first.beyond_use_date, second.beyond_use_date) == (SOON, MIDDLE)
        assert spf.beyond_use_date is None

        cream_lines = body["products"]["prescription"]
        assert [line["beyond_use_date"] for line in cream_lines] == [rest(SOON), rest(MIDDLE)]
        assert [line["lots"] for line in cream_lines] == [
            [
                {
                    "lot_id": str(lot["SOON"]),
                    "batch_number": "SOON",
                    "expiration_date": rest(SOON),
                    "product_units": 2,
                }
            ],
            [
                {
                    "lot_id": str(lot["MIDDLE"]),
                    "batch_number": "MIDDLE",
                    "expiration_date": rest(MIDDLE),
                    "product_units": 1,
                },
                {
                    "lot_id": str(lot["LATER"]),
                    "batch_number": "LATER",
                    "expiration_date": rest(LATER),
                    "product_units": 1,
                },
            ],
        ]
        [spf_line] = body["products"]["non_prescription"]
        assert (spf_line["beyond_use_date"], spf_line["lots"][0]["product_units"]) == (None, 3)
        adjustments = await db.all(models.LotAdjustment, reason="dispensed")
        assert sorted(a.delta for a in adjustments) == [-15, -2, -1, -1]

    async def test_beyond_use_days_when_the_lots_keep_longer(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        found = await shop(clinic_a, {"LATER": (10, LATER)}, {"SPF-1": 40}, (1,), 1)
        await advance(Staff(technician, pharmacist), found.order, "P03")
        await transition(technician, found.order, "P04")
        cream, _ = await lines(db, found.order)
        assert cream.compounded_at is not None
        assert cream.beyond_use_date is not None
        assert cream.beyond_use_date - cream.compounded_at == timedelta(days=90)

    async def test_coming_back_from_final_verification_takes_no_more(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        found = await shop(clinic_a, {"LATER": (10, LATER)}, {"SPF-1": 40}, (2,), 1)
        await advance(Staff(technician, pharmacist), found.order, "P04")
        before = (await used(db), await quantities(db, found), await lines(db, found.order))
        await transition(pharmacist, found.order, "P03", note="label smudged")
        await transition(technician, found.order, "P04")
        after = (await used(db), await quantities(db, found), await lines(db, found.order))
        assert after[:2] == before[:2] == (after[0], {"LATER": 8, "SPF-1": 35})
        assert [line.compounded_at for line in after[2]] == [
            line.compounded_at for line in before[2]
        ]


class TestShortage:
    async def test_every_short_product_named_and_nothing_changes(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        found = await shop(clinic_a, {"SOON": (2, SOON), "LATER": (1, LATER)}, {}, (5,), 2)
        await advance(Staff(technician, pharmacist), found.order, "P03")
        async with db.writes_nothing():
            body = await transition(technician, found.order, "P04", 409)
        assert body == {
            "error": "NotEnoughStock",
            "detail": "Not enough stock to compound this order: "
            f"Cream (product {found.cream['id']}) needs 5, 3 available; "
            f"SPF (product {found.spf['id']}) needs 2, 0 available.",
        }
        assert await quantities(db, found) == {"SOON": 2, "LATER": 1}
        assert await used(db) == []
        assert await db.count(models.LotAdjustment, reason="dispensed") == 0
        assert [line.compounded_at for line in await lines(db, found.order)] == [None, None]
        order = ok(await technician.get(f"{ORDERS}/{found.order['id']}"))
        assert order["status_code"] == "P03"

    async def test_one_short_product_stops_the_others(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        found = await shop(clinic_a, {"LATER": (10, LATER)}, {"SPF-1": 9}, (1,), 2)
        await advance(Staff(technician, pharmacist), found.order, "P03")
        async with db.writes_nothing():
            body = await transition(technician, found.order, "P04", 409)
        assert body["detail"] == (
            "Not enough stock to compound this order: "
            f"SPF (product {found.spf['id']}) needs 2, 1 available."
        )
        assert await quantities(db, found) == {"LATER": 10, "SPF-1": 9}


class TestConcurrency:
    async def test_two_requests_at_once_consume_once(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        found = await shop(clinic_a, {"LATER": (10, LATER)}, {"SPF-1": 40}, (3,), 1)
        await advance(Staff(technician, pharmacist), found.order, "P03")
        url = f"{ORDERS}/{found.order['id']}/transitions"
        responses = await asyncio.gather(
            technician.post(url, json={"to": "P04"}), technician.post(url, json={"to": "P04"})
        )
        assert sorted(r.status_code for r in responses) == [200, 409]
        [refused] = [r.json() for r in responses if r.status_code == 409]
        assert refused["error"] == "InvalidTransition"
        assert refused["detail"].startswith("An order in P04 (Final Verification) cannot move")
        assert await quantities(db, found) == {"LATER": 7, "SPF-1": 35}
        cream, spf = await lines(db, found.order)
        lot = {batch: uuid.UUID(value["id"]) for batch, value in found.lots.items()}
        assert await used(db) == sorted(
            [(cream.id, lot["LATER"], 3, 3), (spf.id, lot["SPF-1"], 1, 5)]
        )
        assert await db.count(models.LotAdjustment, reason="dispensed") == 2
        assert [row.status_code for row in await history(db, found.order)].count("P04") == 1
