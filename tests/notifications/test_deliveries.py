"""The delivery log, one redelivery, and replaying a time range. The worker is not under test:
events and deliveries are written as it would write them."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from pestle import models
from pestle.kit.time import rest_format, utcnow
from tests.conftest import Db
from tests.kit.support import customer_id
from tests.notifications.support import WEBHOOKS, create_webhook


async def event(
    db: Db, customer: str, code: str, created_at: datetime, fanned_out: bool = True
) -> uuid.UUID:
    owner = await customer_id(db, customer)
    async with db.database.transaction() as session:
        row = models.OutboxEvent(
            customer_id=owner,
            event_code=code,
            data={"id": "x"},
            created_at=created_at,
            resource_key="order:x",
            sequence=1,
            fanned_out_at=created_at if fanned_out else None,
        )
        session.add(row)
    return row.id


async def delivery(
    db: Db, webhook: dict[str, Any], event_id: uuid.UUID, status: str = "failed"
) -> models.Delivery:
    [subscription] = await db.all(models.Subscription, id=uuid.UUID(webhook["id"]))
    [source] = await db.all(models.OutboxEvent, id=event_id)
    at = source.created_at
    async with db.database.transaction() as session:
        row = models.Delivery(
            customer_id=subscription.customer_id,
            subscription_id=subscription.id,
            event_id=event_id,
            event_code=source.event_code,
            resource_key=source.resource_key,
            sequence=source.sequence,
            status=status,
            attempts=1,
            next_attempt_at=at,
            last_status_code=500,
            last_error="HTTP 500",
            created_at=at,
        )
        session.add(row)
        await session.flush()
        session.add(
            models.DeliveryAttempt(
                delivery_id=row.id,
                attempted_at=at,
                status_code=500,
                latency_ms=12,
                error="HTTP 500",
                response_excerpt="oops",
                next_retry_at=None,
                request_headers={"webhook-id": str(row.id)},
            )
        )
    return row


async def test_the_log_lists_deliveries_with_their_attempts(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    webhook = await create_webhook(clinic_a)
    at = utcnow() - timedelta(hours=1)
    row = await delivery(db, webhook, await event(db, "Clinic A", "order.shipped", at))
    [attempt] = await db.all(models.DeliveryAttempt)
    response = await clinic_a.get(f"{WEBHOOKS}/{webhook['id']}/deliveries")
    assert response.status_code == 200, response.text
    assert response.headers["X-Total-Count"] == "1"
    assert response.json() == [
        {
            "id": str(row.id),
            "event_id": str(row.event_id),
            "event_code": "order.shipped",
            "status": "failed",
            "attempt_count": 1,
            "next_attempt_at": rest_format(at),
            "last_status_code": 500,
            "last_error": "HTTP 500",
            "delivered_at": None,
            "created_at": rest_format(at),
            "attempts": [
                {
                    "id": str(attempt.id),
                    "attempted_at": rest_format(at),
                    "status_code": 500,
                    "latency_ms": 12,
                    "error": "HTTP 500",
                    "response_excerpt": "oops",
                    "next_retry_at": None,
                    "request_headers": {"webhook-id": str(row.id)},
                }
            ],
        }
    ]
    filtered = await clinic_a.get(
        f"{WEBHOOKS}/{webhook['id']}/deliveries", params={"status": "delivered"}
    )
    assert filtered.json() == []


class TestRedeliver:
    async def test_back_in_the_queue_attempts_kept(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        webhook = await create_webhook(clinic_a)
        at = utcnow() - timedelta(hours=1)
        row = await delivery(db, webhook, await event(db, "Clinic A", "order.shipped", at))
        before = utcnow()
        response = await clinic_a.post(f"{WEBHOOKS}/{webhook['id']}/deliveries/{row.id}/redeliver")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["id"], body["status"], body["attempt_count"]) == (str(row.id), "pending", 1)
        assert len(body["attempts"]) == 1
        [stored] = await db.all(models.Delivery)
        assert (stored.status, stored.attempts) == ("pending", 1)
        assert stored.next_attempt_at is not None
        assert before - timedelta(seconds=1) <= stored.next_attempt_at <= utcnow()

    async def test_unknown_delivery_and_other_customer(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        webhook = await create_webhook(clinic_a)
        row = await delivery(db, webhook, await event(db, "Clinic A", "order.shipped", utcnow()))
        other = await create_webhook(clinic_b)
        async with db.writes_nothing():
            response = await clinic_b.post(
                f"{WEBHOOKS}/{other['id']}/deliveries/{row.id}/redeliver"
            )
            assert response.status_code == 404
            assert response.json() == {
                "error": "DeliveryNotFound",
                "detail": f"No delivery {str(row.id)!r} of this webhook subscription.",
            }
            response = await clinic_b.post(
                f"{WEBHOOKS}/{webhook['id']}/deliveries/{row.id}/redeliver"
            )
            assert response.json()["error"] == "WebhookNotFound"
        [stored] = await db.all(models.Delivery)
        assert stored.status == "failed"

    async def test_inactive_webhook_is_409(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        webhook = await create_webhook(clinic_a)
        row = await delivery(db, webhook, await event(db, "Clinic A", "order.shipped", utcnow()))
        await clinic_a.delete(f"{WEBHOOKS}/{webhook['id']}")
        response = await clinic_a.post(f"{WEBHOOKS}/{webhook['id']}/deliveries/{row.id}/redeliver")
        assert response.status_code == 409
        assert response.json()["error"] == "WebhookInactive"
        [stored] = await db.all(models.Delivery)
        assert stored.status == "failed"


class TestReplay:
    async def test_queues_the_matching_events_of_the_range(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        webhook = await create_webhook(clinic_a)  # order.shipped and order.delivered
        await create_webhook(clinic_b, event_codes=["all"])
        start = utcnow() - timedelta(days=2)
        had = await event(db, "Clinic A", "order.shipped", start + timedelta(hours=1))
        missed = await event(db, "Clinic A", "order.delivered", start + timedelta(hours=2))
        await event(db, "Clinic A", "order.created", start + timedelta(hours=3))  # not taken
        await event(db, "Clinic A", "order.shipped", start - timedelta(hours=1))  # before
        await event(db, "Clinic A", "order.shipped", start + timedelta(hours=4), False)
        await event(db, "Clinic B", "order.shipped", start + timedelta(hours=1))  # another's
        await delivery(db, webhook, had, status="delivered")

        response = await clinic_a.post(
            f"{WEBHOOKS}/{webhook['id']}/replay", json={"since": rest_format(start)}
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"queued": 2}
        rows = await db.all(models.Delivery)
        assert sorted((r.event_id, r.status, r.attempts) for r in rows) == sorted(
            [(had, "pending", 1), (missed, "pending", 0)]
        )
        assert all(str(r.subscription_id) == webhook["id"] for r in rows)

        again = await clinic_a.post(
            f"{WEBHOOKS}/{webhook['id']}/replay",
            json={"since": rest_format(start), "until": rest_format(start + timedelta(hours=1))},
        )
        assert again.json() == {"queued": 0}
        assert await db.count(models.Delivery) == 2

    async def test_an_empty_range_is_422(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        webhook = await create_webhook(clinic_a)
        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{WEBHOOKS}/{webhook['id']}/replay",
                json={"since": "2025-01-02T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
            )
        assert response.status_code == 422
        assert response.json() == {
            "error": "ReplayRangeInvalid",
            "detail": "until: must be after since.",
        }
