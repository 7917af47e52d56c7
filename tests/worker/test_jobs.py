"""The worker's scheduled jobs: once per interval on an injected clock, once among concurrent
workers, and a purge that keeps every event still on its way."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.config import Settings
from pestle.db import Database
from pestle.worker import jobs
from tests.conftest import Backend, Db

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ALL_JOBS = ["inventory.lot_expiring", "orders.stuck", "outbox.purge"]


async def test_each_job_runs_once_per_interval(db: Db, backend: Backend) -> None:
    settings = backend.settings

    assert await jobs.run_due(db.database, settings, T0) == ALL_JOBS
    assert await jobs.run_due(db.database, settings, T0) == []
    assert await jobs.run_due(db.database, settings, T0 + timedelta(minutes=9)) == []
    assert await jobs.run_due(db.database, settings, T0 + timedelta(minutes=10)) == ["orders.stuck"]
    assert await jobs.run_due(db.database, settings, T0 + timedelta(minutes=19)) == []
    assert await jobs.run_due(db.database, settings, T0 + timedelta(hours=1)) == [
        "orders.stuck",
        "outbox.purge",
    ]
    assert await jobs.run_due(db.database, settings, T0 + timedelta(days=1)) == ALL_JOBS

    runs = {run.job: run for run in await db.all(models.JobRun)}
    assert sorted(runs) == ALL_JOBS
    assert all(run.last_started_at == T0 + timedelta(days=1) for run in runs.values())
    assert all(run.last_succeeded for run in runs.values())
    assert runs["inventory.lot_expiring"].last_result == "emitted 0 inventory.lot_expiring events"
    assert runs["orders.stuck"].last_result == "0 newly stuck, 0 cleared, 0 still stuck"
    assert runs["outbox.purge"].last_result == "purged 0 events"


async def test_intervals_come_from_the_settings(db: Db, backend: Backend) -> None:
    settings = backend.settings.model_copy(
        update={
            "stuck_scan_interval": timedelta(minutes=1),
            "lot_expiring_interval": timedelta(hours=2),
        }
    )

    assert await jobs.run_due(db.database, settings, T0) == ALL_JOBS
    assert await jobs.run_due(db.database, settings, T0 + timedelta(minutes=1)) == ["orders.stuck"]
    assert await jobs.run_due(db.database, settings, T0 + timedelta(hours=2)) == ALL_JOBS


@pytest.fixture
async def workers(backend: Backend) -> AsyncIterator[list[Database]]:
    """Databases of their own, as separate worker processes would have."""
    databases = [Database(backend.settings) for _ in range(4)]
    yield databases
    for database in databases:
        await database.dispose()


async def test_concurrent_workers_run_each_job_once(
    db: Db, backend: Backend, workers: list[Database]
) -> None:
    for tick in (T0, T0 + timedelta(minutes=10), T0 + timedelta(days=1)):
        results = await asyncio.gather(
            *(jobs.run_due(database, backend.settings, tick) for database in workers)
        )
        ran = sorted(name for names in results for name in names)
        expected = ["orders.stuck"] if tick == T0 + timedelta(minutes=10) else ALL_JOBS
        assert ran == expected, results


async def test_a_failed_job_is_retried_after_five_minutes(
    db: Db, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[datetime] = []

    async def flaky(session: AsyncSession, settings: Settings, now: datetime) -> str:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("the first run fails")
        return "ok"

    job = jobs.Job("test.flaky", lambda _: timedelta(days=1), flaky)
    monkeypatch.setattr(jobs, "JOBS", (job,))

    assert await jobs.run_due(db.database, backend.settings, T0) == ["test.flaky"]
    [run] = await db.all(models.JobRun)
    assert run.last_succeeded is False
    assert run.last_result == "RuntimeError: the first run fails"
    assert run.retry_at == T0 + timedelta(minutes=5)

    assert await jobs.run_due(db.database, backend.settings, T0 + timedelta(minutes=4)) == []
    assert await jobs.run_due(db.database, backend.settings, T0 + timedelta(minutes=5)) == [
        "test.flaky"
    ]
    [run] = await db.all(models.JobRun)
    assert (run.last_succeeded, run.last_result, run.retry_at) == (True, "ok", None)
    # Succeeded: the next run is an interval after it, not sooner.
    assert await jobs.run_due(db.database, backend.settings, T0 + timedelta(hours=23)) == []
    assert calls == [T0, T0 + timedelta(minutes=5)]


# -- the purge -----------------------------------------------------------------------------------


async def _event(
    session: AsyncSession,
    customer_id: uuid.UUID,
    subscription_id: uuid.UUID,
    age: timedelta,
    deliveries: list[str],
    code: str = "order.created",
    fanned_out: bool = True,
) -> uuid.UUID:
    created = T0 - age
    event = models.OutboxEvent(
        customer_id=customer_id,
        event_code=code,
        data={"n": str(age)},
        created_at=created,
        fanned_out_at=created if fanned_out else None,
    )
    session.add(event)
    await session.flush()
    for index, status in enumerate(deliveries):
        delivery = models.Delivery(
            customer_id=customer_id,
            # One delivery per subscription and event: each status gets a subscription.
            subscription_id=subscription_id if index == 0 else await _sub(session),
            event_id=event.id,
            event_code=code,
            status=status,
            created_at=created,
        )
        session.add(delivery)
        await session.flush()
        session.add(models.DeliveryAttempt(delivery_id=delivery.id, attempted_at=created))
    await session.flush()
    return event.id


_owner: dict[str, uuid.UUID] = {}


async def _sub(session: AsyncSession) -> uuid.UUID:
    subscription = models.Subscription(
        customer_id=_owner["customer"],
        user_id=_owner["user"],
        type="webhook",
        url=f"https://hooks.clinic-a.test/{uuid.uuid4()}",
        event_codes=["all"],
    )
    session.add(subscription)
    await session.flush()
    return subscription.id


async def test_purge_keeps_every_event_still_on_its_way(db: Db, backend: Backend) -> None:
    user = await db.create_user("ops@clinic-a.pestle.dev", "admin", "Clinic A")
    assert user.customer_id is not None
    _owner.update(customer=user.customer_id, user=user.id)
    customer = user.customer_id
    old, recent = timedelta(days=31), timedelta(days=29)
    async with db.database.transaction() as session:
        subscription = await _sub(session)
        purged = [
            await _event(session, customer, subscription, old, ["delivered"]),
            await _event(session, customer, subscription, old, ["delivered", "delivered"]),
            # Fanned out to no subscription at all.
            await _event(session, customer, subscription, old, []),
            await _event(
                session,
                customer,
                subscription,
                timedelta(days=62),
                ["delivered"],
                "inventory.lot_expiring",
            ),
        ]
        kept = [
            await _event(session, customer, subscription, old, ["pending"]),
            await _event(session, customer, subscription, old, ["failed"]),
            await _event(session, customer, subscription, old, ["delivered", "pending"]),
            await _event(session, customer, subscription, recent, ["delivered"]),
            await _event(session, customer, subscription, old, [], fanned_out=False),
            # The expiring-lot scan still needs it: its lot has not expired yet.
            await _event(
                session, customer, subscription, old, ["delivered"], "inventory.lot_expiring"
            ),
        ]
    settings = backend.settings.model_copy(update={"lot_expiring_days": 60})

    body = jobs.purge_outbox
    async with db.database.transaction() as session:
        assert await body(session, settings, T0) == "purged 4 events"

    assert sorted(event.id for event in await db.all(models.OutboxEvent)) == sorted(kept)
    remaining = await db.all(models.Delivery)
    assert {delivery.event_id for delivery in remaining} == set(kept) - {kept[4]}
    assert not {delivery.event_id for delivery in remaining} & set(purged)
    assert await db.count(models.DeliveryAttempt) == len(remaining) == 6
