"""The stuck-order scan on both engines: each reason, once-per-episode events, clearing, and
`pestle orders scan-stuck`. Time is the scan's ``now``; rows are back-dated where the
command, which reads the clock, must see them old."""

import asyncio
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from pestle import models
from pestle.kit.time import utcnow
from pestle.orders.stuck import ScanCounts, scan_stuck
from tests.conftest import TEST_SECRET_KEY, Backend, Db
from tests.orders.support import (
    ORDERS,
    create_order,
    make_patient,
    make_product,
    ok,
    order_body,
    outbox,
    prescribe,
)
from tests.prescriptions.test_json import make_prescriber
from tests.test_cli import SqliteDb, clean_env, fresh_db, migrated_db, migrated_template

__all__ = ["fresh_db", "migrated_db", "migrated_template"]

APP_URL = "https://pharmacy.example"
STUCK = "order.stuck"
LATER = timedelta(hours=25)


async def scan(db: Db, now: datetime) -> ScanCounts:
    async with db.database.transaction() as session:
        return await scan_stuck(session, APP_URL, now)


async def stored(db: Db, order: dict[str, Any]) -> models.Order:
    [row] = await db.all(models.Order, id=uuid.UUID(order["id"]))
    return row  # type: ignore[no-any-return]


def stuck_fields(row: models.Order) -> tuple[Any, ...]:
    return (row.stuck_reason, row.stuck_detail, row.stuck_since, row.stuck_resolves_at)


async def record_fill(db: Db, erx: dict[str, Any], filled_at: datetime) -> None:
    """A fill of the eRx's prescription used at ``filled_at``, by an earlier order."""
    prescription_id = uuid.UUID(erx["prescriptions"][0]["id"])
    async with db.database.transaction() as session:
        session.add(
            models.PrescriptionFill(
                prescription_id=prescription_id, order_line_ref="earlier", filled_at=filled_at
            )
        )
        await session.execute(
            update(models.Prescription)
            .where(models.Prescription.id == prescription_id)
            .values(fills_used=models.Prescription.fills_used + 1)
        )


async def set_status(db: Db, order: dict[str, Any], code: str) -> None:
    """The pharmacy's steps are not under test here: the status is written directly."""
    async with db.database.transaction() as session:
        await session.execute(
            update(models.Order)
            .where(models.Order.id == uuid.UUID(order["id"]))
            .values(status_code=code)
        )


async def unprescribed_order(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    patient = await make_patient(client)
    product = await make_product(client)
    return await create_order(client, order_body(patient, product)), patient


class TestReasons:
    async def test_missing_prescription_only_after_24_hours(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order, patient = await unprescribed_order(clinic_a)
        created = (await stored(db, order)).created_at

        assert await scan(db, created + timedelta(hours=23)) == ScanCounts()
        assert stuck_fields(await stored(db, order)) == (None, None, None, None)
        assert await outbox(db, STUCK) == []

        now = created + LATER
        assert await scan(db, now) == ScanCounts(stuck=1)
        detail = "Mupirocin: no prescription received."
        row = await stored(db, order)
        assert stuck_fields(row) == ("missing_prescription", detail, now, None)
        [event] = await outbox(db, STUCK)
        assert event == {
            "id": order["id"],
            "created_at": event["created_at"],
            "updated_at": event["updated_at"],
            "url": f"{APP_URL}/orders/{order['id']}",
            "order_number": order["order_number"],
            "last_name": patient["last_name"],
            "first_name": patient["first_name"],
            "status_name": "Received",
            "status_code": "N01",
            "stuck_reason": "missing_prescription",
            "stuck_detail": detail,
            "resolves_at": None,
        }
        got = ok(await clinic_a.get(f"{ORDERS}/{order['id']}"))
        assert (got["stuck_reason"], got["stuck_detail"], got["stuck_resolves_at"]) == (
            "missing_prescription",
            detail,
            None,
        )
        listed = ok(await clinic_a.get(ORDERS, params={"stuck": "true"}))
        assert [o["id"] for o in listed] == [order["id"]]

    async def test_needs_clarification(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        patient = await make_patient(clinic_a)
        product = await make_product(
            clinic_a, name="Testosterone cream", is_controlled_substance=True, dea_schedule="CIII"
        )
        # A prescriber without a DEA number cannot be confirmed for a CIII: put on hold.
        prescriber = await make_prescriber(clinic_a, dea=None)
        await prescribe(clinic_a, patient, product, prescriber)
        order = await create_order(clinic_a, order_body(patient, product))

        assert await scan(db, utcnow()) == ScanCounts(stuck=1)
        row = await stored(db, order)
        assert row.stuck_reason == "needs_clarification"
        assert row.stuck_detail == (
            "Testosterone cream: the prescription needs clarification: "
            "controlled substance: the prescriber has no DEA number."
        )
        assert row.stuck_resolves_at is None

    async def test_no_refills_or_expired(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        patient = await make_patient(clinic_a)
        product = await make_product(clinic_a)
        yesterday = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00")
        prescriber = await make_prescriber(clinic_a)
        await prescribe(clinic_a, patient, product, prescriber, expires_at=yesterday)
        exhausted = await prescribe(clinic_a, patient, product, prescriber, refills=0)
        await record_fill(db, exhausted, utcnow() - timedelta(days=60))
        order = await create_order(clinic_a, order_body(patient, product))

        # Young as it is, the order has prescriptions, none usable: stuck at once.
        assert await scan(db, utcnow()) == ScanCounts(stuck=1)
        row = await stored(db, order)
        assert row.stuck_reason == "no_refills_or_expired"
        assert row.stuck_detail == (
            "Mupirocin: no usable prescription (the patient's are exhausted or expired)."
        )

    async def test_too_early_to_fill_resolves_at_three_quarters_of_the_supply(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        product = await make_product(clinic_a)
        erx = await prescribe(clinic_a, patient, product, days_supply=30)
        filled_at = utcnow().replace(microsecond=0) - timedelta(days=5)
        await record_fill(db, erx, filled_at)
        order = await create_order(clinic_a, order_body(patient, product))
        resolves_at = filled_at + timedelta(days=22, hours=12)

        assert await scan(db, filled_at + timedelta(days=10)) == ScanCounts(stuck=1)
        row = await stored(db, order)
        assert row.stuck_reason == "too_early_to_fill"
        assert row.stuck_resolves_at == resolves_at
        assert row.stuck_detail == (
            f"Mupirocin: too early to refill; it can be filled from "
            f"{resolves_at:%Y-%m-%dT%H:%M:%SZ}."
        )
        [event] = await outbox(db, STUCK)
        assert event["resolves_at"] == resolves_at.replace(tzinfo=None).isoformat(
            timespec="microseconds"
        )
        got = ok(await clinic_a.get(f"{ORDERS}/{order['id']}"))
        assert got["stuck_resolves_at"] == f"{resolves_at:%Y-%m-%dT%H:%M:%SZ}"

        # One second before it resolves it is still stuck; at that instant it is not.
        assert await scan(db, resolves_at - timedelta(seconds=1)) == ScanCounts(still_stuck=1)
        assert await scan(db, resolves_at) == ScanCounts(cleared=1)
        assert stuck_fields(await stored(db, order)) == (None, None, None, None)
        assert len(await outbox(db, STUCK)) == 1

    async def test_without_days_supply_never_too_early(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        product = await make_product(clinic_a)
        erx = await prescribe(clinic_a, patient, product, days_supply=None)
        await record_fill(db, erx, utcnow() - timedelta(hours=1))
        await create_order(clinic_a, order_body(patient, product))
        assert await scan(db, utcnow()) == ScanCounts()

    async def test_a_usable_prescription_is_linked_and_not_stuck(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order, patient = await unprescribed_order(clinic_a)
        product_id = order["products"]["prescription"][0]["id"]
        erx = await prescribe(clinic_a, patient, {"id": product_id})
        assert await scan(db, utcnow() + LATER) == ScanCounts()
        got = ok(await clinic_a.get(f"{ORDERS}/{order['id']}"))
        assert (
            got["products"]["prescription"][0]["prescription_id"] == (erx["prescriptions"][0]["id"])
        )

    async def test_a_line_whose_prescription_ended_is_relinked_to_another(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        product = await make_product(clinic_a)
        prescriber = await make_prescriber(clinic_a)
        soon = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT00:00:00")
        first = await prescribe(clinic_a, patient, product, prescriber, expires_at=soon)
        order = await create_order(clinic_a, order_body(patient, product))
        assert (
            order["products"]["prescription"][0]["prescription_id"]
            == (first["prescriptions"][0]["id"])
        )
        second = await prescribe(clinic_a, patient, product, prescriber)

        # Three days on, the linked prescription has expired; the line takes the other one.
        assert await scan(db, utcnow() + timedelta(days=3)) == ScanCounts()
        [line] = await db.all(models.OrderLine, order_id=uuid.UUID(order["id"]))
        assert str(line.prescription_id) == second["prescriptions"][0]["id"]

    async def test_first_reason_wins(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        patient = await make_patient(clinic_a)
        missing = await make_product(clinic_a, name="Missing cream", product_code="MISS")
        early = await make_product(clinic_a, name="Early gel", product_code="EARLY")
        erx = await prescribe(clinic_a, patient, early, days_supply=30)
        filled_at = utcnow().replace(microsecond=0) - timedelta(days=1)
        await record_fill(db, erx, filled_at)
        order = await create_order(clinic_a, order_body(patient, missing, early))

        # Missing cream has no prescription (and the order is a day old): too early wins.
        await scan(db, utcnow() + LATER)
        row = await stored(db, order)
        resolves_at = filled_at + timedelta(days=22, hours=12)
        assert (row.stuck_reason, row.stuck_detail, row.stuck_resolves_at) == (
            "too_early_to_fill",
            f"Early gel: too early to refill; it can be filled from "
            f"{resolves_at:%Y-%m-%dT%H:%M:%SZ}.",
            resolves_at,
        )


class TestEpisodes:
    async def test_once_per_episode(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order, patient = await unprescribed_order(clinic_a)
        product = {"id": order["products"]["prescription"][0]["id"]}
        first = utcnow() + LATER

        assert await scan(db, first) == ScanCounts(stuck=1)
        assert await scan(db, first + timedelta(hours=1)) == ScanCounts(still_stuck=1)
        assert len(await outbox(db, STUCK)) == 1
        assert (await stored(db, order)).stuck_since == first

        # A prescription arrives but needs clarification: a new reason, a second event.
        prescriber = await make_prescriber(clinic_a)
        held = await prescribe(clinic_a, patient, product, prescriber)
        async with db.database.transaction() as session:
            await session.execute(
                update(models.Prescription)
                .where(models.Prescription.id == uuid.UUID(held["prescriptions"][0]["id"]))
                .values(
                    status="on_hold",
                    needs_clarification=True,
                    clarification_reason="illegible strength",
                )
            )
        second = first + timedelta(hours=2)
        assert await scan(db, second) == ScanCounts(stuck=1)
        row = await stored(db, order)
        assert (row.stuck_reason, row.stuck_since) == ("needs_clarification", second)
        assert [event["stuck_reason"] for event in await outbox(db, STUCK)] == [
            "missing_prescription",
            "needs_clarification",
        ]

        # A usable prescription: cleared, and no event says so.
        await prescribe(clinic_a, patient, product, prescriber)
        assert await scan(db, second + timedelta(hours=1)) == ScanCounts(cleared=1)
        assert stuck_fields(await stored(db, order)) == (None, None, None, None)
        assert len(await outbox(db, STUCK)) == 2
        assert await scan(db, second + timedelta(hours=2)) == ScanCounts()

    async def test_paused_orders_are_not_stuck(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order, _ = await unprescribed_order(clinic_a)
        ok(await clinic_a.put(f"{ORDERS}/{order['id']}/pause"))
        assert await scan(db, utcnow() + LATER) == ScanCounts()
        assert await outbox(db, STUCK) == []

        # Stuck, then paused: cleared without an event.
        ok(await clinic_a.put(f"{ORDERS}/{order['id']}/unpause"))
        assert await scan(db, utcnow() + LATER) == ScanCounts(stuck=1)
        ok(await clinic_a.put(f"{ORDERS}/{order['id']}/pause"))
        assert await scan(db, utcnow() + LATER) == ScanCounts(cleared=1)
        assert stuck_fields(await stored(db, order)) == (None, None, None, None)
        assert len(await outbox(db, STUCK)) == 1

    async def test_data_entry_and_verification_are_scanned_later_steps_are_not(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        order, _ = await unprescribed_order(clinic_a)
        for code, counts in (
            ("P01", ScanCounts(stuck=1)),
            ("P02", ScanCounts(still_stuck=1)),
            ("P03", ScanCounts(cleared=1)),
        ):
            await set_status(db, order, code)
            assert await scan(db, utcnow() + LATER) == counts, code
        assert len(await outbox(db, STUCK)) == 1

    async def test_a_cancelled_order_is_cleared(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        order, _ = await unprescribed_order(clinic_a)
        assert await scan(db, utcnow() + LATER) == ScanCounts(stuck=1)
        ok(await clinic_a.put(f"{ORDERS}/{order['id']}/cancel"))
        assert await scan(db, utcnow() + LATER) == ScanCounts(cleared=1)
        assert stuck_fields(await stored(db, order)) == (None, None, None, None)

    async def test_every_customer_is_scanned(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        order_a, _ = await unprescribed_order(clinic_a)
        order_b, _ = await unprescribed_order(clinic_b)
        assert await scan(db, utcnow() + LATER) == ScanCounts(stuck=2)
        events = await db.all(models.OutboxEvent, event_code=STUCK)
        by_order = {event.data["id"]: event.customer_id for event in events}
        assert by_order == {
            order_a["id"]: (await stored(db, order_a)).customer_id,
            order_b["id"]: (await stored(db, order_b)).customer_id,
        }
        # Each customer sees its own order stuck, and only that.
        for client, order in ((clinic_a, order_a), (clinic_b, order_b)):
            listed = ok(await client.get(ORDERS, params={"stuck": "true"}))
            assert [o["id"] for o in listed] == [order["id"]]


async def run_scan(backend: Backend) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        database_url=backend.settings.database_url,
        secret_key=TEST_SECRET_KEY,
        app_url=APP_URL,
    )
    command = [sys.executable, "-m", "pestle", "orders", "scan-stuck"]
    return await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_cli_scan_stuck(backend: Backend, clinic_a: httpx.AsyncClient, db: Db) -> None:
    order, _ = await unprescribed_order(clinic_a)
    async with db.database.transaction() as session:
        await session.execute(
            update(models.Order)
            .where(models.Order.id == uuid.UUID(order["id"]))
            .values(created_at=utcnow() - LATER)
        )

    result = await run_scan(backend)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "orders: 1 newly stuck, 0 cleared, 0 still stuck\n"
    [event] = await outbox(db, STUCK)
    assert event["url"] == f"{APP_URL}/orders/{order['id']}"
    assert (await stored(db, order)).stuck_reason == "missing_prescription"

    again = await run_scan(backend)
    assert again.stdout == "orders: 0 newly stuck, 0 cleared, 1 still stuck\n"
    assert len(await outbox(db, STUCK)) == 1


def test_cli_on_an_empty_database(migrated_db: SqliteDb) -> None:
    result = migrated_db.run("orders scan-stuck")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "orders: 0 newly stuck, 0 cleared, 0 still stuck\n",
        "",
    )


def test_cli_without_a_schema_is_one_line(fresh_db: SqliteDb) -> None:
    fresh_db.path.parent.mkdir()
    result = fresh_db.run("orders scan-stuck")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("pestle: database error: ")
    assert result.stderr.count("\n") == 1
