"""emit: an event is an outbox row in the caller's transaction, rendered for webhooks."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from pestle import models
from pestle.events.service import emit
from tests.conftest import Db
from tests.kit.probe import FAILURE_RESPONSES, Failure, event_json, order_data, post_event
from tests.kit.support import customer_id

ORDER_ID = uuid.UUID("0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e61")


class Rollback(Exception):
    pass


async def emit_then_fail(db: Db, clinic: uuid.UUID) -> None:
    async with db.database.transaction() as session:
        await emit(session, "order.created", {"id": ORDER_ID}, clinic)
        raise Rollback


@pytest.fixture
async def clinic(db: Db) -> uuid.UUID:
    """The id of customer "Clinic A", created with its admin."""
    await db.create_user("admin@clinic-a.pestle.dev", "admin", "Clinic A")
    return await customer_id(db, "Clinic A")


class TestEmit:
    async def test_writes_the_event_in_webhook_form(self, db: Db, clinic: uuid.UUID) -> None:
        data = {
            "id": ORDER_ID,
            "shipped_at": datetime(
                2025, 3, 16, 17, 55, 37, 920593, tzinfo=timezone(-timedelta(hours=5))
            ),
            "total": Decimal("12.50"),
            "shipment": {"carrier": "UPS", "delivered_date": date(2025, 3, 18)},
            "lots": (1, 2),
        }
        async with db.database.transaction() as session:
            emitted = await emit(session, "order.shipped", data, clinic)

        [event] = await db.all(models.OutboxEvent)
        assert (event.id, event.event_code, event.customer_id) == (
            emitted.id,
            "order.shipped",
            clinic,
        )
        assert event.data == {
            "id": "0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e61",
            "shipped_at": "2025-03-16T22:55:37.920593",
            "total": "12.50",
            "shipment": {"carrier": "UPS", "delivered_date": "2025-03-18"},
            "lots": [1, 2],
        }

    async def test_the_event_rolls_back_with_its_transaction(
        self, db: Db, clinic: uuid.UUID
    ) -> None:
        with pytest.raises(Rollback):
            await emit_then_fail(db, clinic)

        assert await db.count(models.OutboxEvent) == 0

    async def test_an_unknown_code_is_a_programming_error(self, db: Db, clinic: uuid.UUID) -> None:
        async with db.database.transaction() as session:
            with pytest.raises(ValueError, match=r"^unknown event code 'order\.exploded'$"):
                await emit(session, "order.exploded", {"id": ORDER_ID}, clinic)

        assert await db.count(models.OutboxEvent) == 0


class TestSequence:
    async def test_numbers_each_resources_events_in_order(self, db: Db, clinic: uuid.UUID) -> None:
        other = uuid.UUID("0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e62")
        async with db.database.transaction() as session:
            await emit(session, "order.created", {"id": ORDER_ID}, clinic)
            await emit(session, "order.created", {"id": other}, clinic)
        async with db.database.transaction() as session:
            await emit(session, "order.status_changed", {"id": ORDER_ID}, clinic)
            # A shipment's events belong to its order.
            await emit(session, "order.shipped", {"order_id": ORDER_ID, "url": "x"}, clinic)
            await emit(session, "patient.created", {"id": ORDER_ID}, clinic)
            await emit(session, "inventory.lot_expiring", {"lots": []}, clinic)

        events = sorted(await db.all(models.OutboxEvent), key=lambda event: event.id)
        assert [(e.event_code, e.resource_key, e.sequence) for e in events] == [
            ("order.created", f"order:{ORDER_ID}", 1),
            ("order.created", f"order:{other}", 1),
            ("order.status_changed", f"order:{ORDER_ID}", 2),
            ("order.shipped", f"order:{ORDER_ID}", 3),
            ("patient.created", f"patient:{ORDER_ID}", 1),
            ("inventory.lot_expiring", None, None),
        ]

    async def test_a_rolled_back_event_leaves_no_gap(self, db: Db, clinic: uuid.UUID) -> None:
        with pytest.raises(Rollback):
            await emit_then_fail(db, clinic)
        async with db.database.transaction() as session:
            await emit(session, "order.created", {"id": ORDER_ID}, clinic)
        [event] = await db.all(models.OutboxEvent)
        assert event.sequence == 1

    async def test_a_concurrent_event_of_the_resource_numbers_after_the_first_commits(
        self, db: Db, clinic: uuid.UUID
    ) -> None:
        first_emitted = asyncio.Event()

        async def first() -> None:
            async with db.database.transaction() as session:
                await emit(session, "order.created", {"id": ORDER_ID}, clinic)
                first_emitted.set()
                await asyncio.sleep(0.3)

        async def second() -> None:
            await first_emitted.wait()
            async with db.database.transaction() as session:
                await emit(session, "order.updated", {"id": ORDER_ID}, clinic)

        await asyncio.gather(first(), second())
        events = await db.all(models.OutboxEvent)
        assert sorted((e.sequence, e.event_code) for e in events) == [
            (1, "order.created"),
            (2, "order.updated"),
        ]


class TestThroughRequests:
    async def test_a_committed_request_leaves_its_event(
        self, probe_client: httpx.AsyncClient, db: Db
    ) -> None:
        response = await post_event(probe_client)

        assert response.status_code == 201
        [event] = await db.all(models.OutboxEvent)
        assert response.json() == event_json(event)
        assert (event.event_code, event.customer_id, event.data) == (
            "order.created",
            await customer_id(db, "Clinic A"),
            order_data(),
        )
        assert event.created_at > datetime.now(UTC) - timedelta(minutes=1)

    @pytest.mark.parametrize("failure", list(Failure))
    async def test_a_failed_request_leaves_no_event(
        self, probe_client: httpx.AsyncClient, db: Db, failure: Failure
    ) -> None:
        async with db.writes_nothing():
            response = await post_event(probe_client, failure=failure)

        assert (response.status_code, response.json()) == FAILURE_RESPONSES[failure]
        assert await db.count(models.OutboxEvent) == 0
