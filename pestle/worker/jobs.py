"""The worker's scheduled jobs, each run at most once per interval however many workers tick.

- `inventory.lot_expiring`, every `PESTLE_LOT_EXPIRING_INTERVAL` (1 day): emits
  `inventory.lot_expiring` for lots expiring within `PESTLE_LOT_EXPIRING_DAYS` (30).
- `orders.stuck`, every `PESTLE_STUCK_SCAN_INTERVAL` (10 min): sets or clears `stuck_reason`
  and raises `order.stuck` (pestle/orders/stuck.py).
- `outbox.purge`, every hour: deletes the events older than `PESTLE_OUTBOX_RETENTION_DAYS` (30)
  whose every delivery was made, with those deliveries and their attempts.

Coordination without locks held across a job: a worker claims a run with one guarded UPDATE of
the job's `job_run` row (`last_started_at` moves to now only if the last start is an interval
old, or a retry after a failure is due), committed before the job starts. Of two workers only
the one whose UPDATE matched runs the job; on PostgreSQL the loser's UPDATE waits for the
winner's row lock and then re-reads the row, on SQLite writers take turns. Each job then runs in
its own transaction, and its outcome is written back to the row.

Decisions:
- A failed job is tried again after ``RETRY_AFTER_FAILURE`` (5 min) or its interval if shorter,
  not a whole day later. A worker killed while running a job leaves the claim: that job waits
  for its next interval.
- An interval changed in the settings applies at once: the row keeps when a job last started,
  not when it is next due.
- The purge keeps `inventory.lot_expiring` events until their lot has expired (one
  `PESTLE_LOT_EXPIRING_DAYS` after the event, and at least the retention): the scan looks for
  them to announce each lot once, and would announce it again if they went sooner.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.config import Settings
from pestle.db import Database
from pestle.kit.time import as_utc, utcnow

PURGE_INTERVAL = timedelta(hours=1)
RETRY_AFTER_FAILURE = timedelta(minutes=5)
RESULT_CHARS = 500
logger = logging.getLogger("pestle.worker.jobs")

JobBody = Callable[[AsyncSession, Settings, datetime], Awaitable[str]]


@dataclass(frozen=True)
class Job:
    name: str
    interval: Callable[[Settings], timedelta]
    body: JobBody


async def scan_expiring(session: AsyncSession, settings: Settings, now: datetime) -> str:
    from pestle.inventory.service import inventory_service

    emitted = await inventory_service.scan_expiring(session, settings.lot_expiring_days)
    return f"emitted {emitted} inventory.lot_expiring events"


async def scan_stuck(session: AsyncSession, settings: Settings, now: datetime) -> str:
    from pestle.orders.stuck import scan_stuck as scan

    counts = await scan(session, settings.app_url, now)
    return f"{counts.stuck} newly stuck, {counts.cleared} cleared, {counts.still_stuck} still stuck"


async def purge_outbox(session: AsyncSession, settings: Settings, now: datetime) -> str:
    """Deletes the old events whose deliveries were all made; their deliveries and attempts go
    with them (ON DELETE CASCADE). An event with a pending or failed delivery stays."""
    event, delivery = models.OutboxEvent, models.Delivery
    retention = timedelta(days=settings.outbox_retention_days)
    # The expiring-lot scan reads these to announce each lot once: keep them until it expired.
    expiring_retention = max(retention, timedelta(days=settings.lot_expiring_days + 1))
    unfinished = exists().where(delivery.event_id == event.id, delivery.status != "delivered")
    statement = delete(event).where(
        event.fanned_out_at.is_not(None),
        event.created_at < now - retention,
        or_(
            event.event_code != "inventory.lot_expiring",
            event.created_at < now - expiring_retention,
        ),
        ~unfinished,
    )
    result = cast(CursorResult[Any], await session.execute(statement))
    return f"purged {result.rowcount} events"


JOBS: tuple[Job, ...] = (
    Job("inventory.lot_expiring", lambda settings: settings.lot_expiring_interval, scan_expiring),
    Job("orders.stuck", lambda settings: settings.stuck_scan_interval, scan_stuck),
    Job("outbox.purge", lambda _: PURGE_INTERVAL, purge_outbox),
)


async def claim(database: Database, job: str, interval: timedelta, now: datetime) -> bool:
    """Takes the run of ``job`` due at ``now``, if no one has taken it: true for one caller."""
    table = models.JobRun
    async with database.transaction() as session:
        dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
        await session.execute(
            dialect.insert(table).values(job=job).on_conflict_do_nothing(index_elements=["job"])
        )
        statement = (
            update(table)
            .where(
                table.job == job,
                or_(
                    table.last_started_at.is_(None),
                    table.last_started_at <= now - interval,
                    table.retry_at <= now,
                ),
            )
            .values(last_started_at=now, retry_at=None)
            .returning(table.job)
        )
        return await session.scalar(statement) is not None


async def _finish(
    database: Database,
    job: str,
    started: datetime,
    succeeded: bool,
    result: str,
    retry_at: datetime | None,
) -> None:
    table = models.JobRun
    async with database.transaction() as session:
        # Guarded by the start: a run that outlived its interval does not overwrite the next.
        await session.execute(
            update(table)
            .where(table.job == job, table.last_started_at == started)
            .values(
                last_finished_at=utcnow(),
                last_succeeded=succeeded,
                last_result=result[:RESULT_CHARS],
                retry_at=retry_at,
            )
        )


async def run_due(database: Database, settings: Settings, now: datetime | None = None) -> list[str]:
    """Runs every job whose interval has passed and that no other worker took; returns the
    names of those it ran (a failed run included: it is logged and retried later)."""
    now = as_utc(now) if now is not None else utcnow()
    ran = []
    for job in JOBS:
        interval = job.interval(settings)
        if not await claim(database, job.name, interval, now):
            continue
        ran.append(job.name)
        try:
            async with database.transaction() as session:
                result = await job.body(session, settings, now)
        except Exception as error:
            logger.exception("scheduled job failed", extra={"job": job.name})
            retry_at = now + min(interval, RETRY_AFTER_FAILURE)
            await _finish(
                database, job.name, now, False, f"{type(error).__name__}: {error}", retry_at
            )
            continue
        logger.info("scheduled job ran", extra={"job": job.name, "result": result})
        await _finish(database, job.name, now, True, result, None)
    return ran
