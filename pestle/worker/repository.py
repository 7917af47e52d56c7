"""The worker's SQL: fanning outbox events out into deliveries, and claiming due deliveries.

On PostgreSQL every selection that leads to a write takes its rows `FOR UPDATE SKIP LOCKED`, so
any number of workers share the work without waiting on one another or doing it twice. SQLite
has one writer at a time and no row locks: one worker runs there."""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from pestle import models
from pestle.events.catalogue import ALL
from pestle.kit.ids import new_id

# How far past the batch size a claim looks before it considers the whole queue.
CLAIM_WINDOW = 4


def _skip_locked(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _asks_for(event_codes: list[str] | None, event_code: str) -> bool:
    codes = event_codes or []
    return ALL in codes or event_code in codes


async def fan_out(session: AsyncSession, now: datetime, limit: int) -> int:
    """Makes the deliveries of up to ``limit`` events not yet fanned out, oldest first: one per
    active subscription of the event's customer that asks for its code. Returns the events.
    Plain rows, not ORM objects (and never the events' payloads): under load this runs for
    every event, so it is a SELECT, one multi-row INSERT and one UPDATE."""
    event = models.OutboxEvent
    statement = (
        select(event.id, event.customer_id, event.event_code, event.resource_key, event.sequence)
        .where(event.fanned_out_at.is_(None))
        .order_by(event.created_at, event.id)
        .limit(limit)
    )
    if _skip_locked(session):
        statement = statement.with_for_update(skip_locked=True)
    events = (await session.execute(statement)).all()
    if not events:
        return 0
    subscriptions = (
        await session.execute(
            select(
                models.Subscription.id,
                models.Subscription.customer_id,
                models.Subscription.event_codes,
            ).where(
                models.Subscription.customer_id.in_({row.customer_id for row in events}),
                models.Subscription.is_active.is_(True),
            )
        )
    ).all()
    deliveries = [
        {
            "id": new_id(),
            "customer_id": row.customer_id,
            "subscription_id": subscription.id,
            "event_id": row.id,
            "event_code": row.event_code,
            "resource_key": row.resource_key,
            "sequence": row.sequence,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for row in events
        for subscription in subscriptions
        if subscription.customer_id == row.customer_id
        and _asks_for(subscription.event_codes, row.event_code)
    ]
    if deliveries:
        await session.execute(insert(models.Delivery), deliveries)
    await session.execute(
        update(event)
        .where(event.id.in_([row.id for row in events]))
        .values(fanned_out_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(events)


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one attempt, with what sending it needs."""

    delivery_id: uuid.UUID
    subscription: models.Subscription
    event: models.OutboxEvent
    secrets: list[str]  # ciphertexts of the secrets that still sign


def _claimable(
    now: datetime, limit: int, channels: Sequence[str], among: list[uuid.UUID] | None
) -> Select[models.Delivery]:
    """Due pending deliveries not waiting for an earlier event of their resource, in due order;
    with ``among``, only those (see claim_due)."""
    earlier = aliased(models.Delivery)
    unfanned = aliased(models.OutboxEvent)
    delivery = models.Delivery
    statement = (
        select(delivery)
        .join(models.Subscription, models.Subscription.id == delivery.subscription_id)
        .where(
            delivery.status == "pending",
            delivery.next_attempt_at <= now,
            models.Subscription.type.in_(channels),
            ~exists().where(
                and_(
                    delivery.resource_key.is_not(None),
                    earlier.subscription_id == delivery.subscription_id,
                    earlier.resource_key == delivery.resource_key,
                    earlier.sequence < delivery.sequence,
                    earlier.status == "pending",
                )
            ),
            ~exists().where(
                and_(
                    delivery.resource_key.is_not(None),
                    unfanned.fanned_out_at.is_(None),
                    unfanned.resource_key == delivery.resource_key,
                    unfanned.sequence < delivery.sequence,
                )
            ),
        )
        .order_by(delivery.next_attempt_at, delivery.id)
        .limit(limit)
    )
    if among is not None:
        statement = statement.where(delivery.id.in_(among))
    return statement


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int, channels: Sequence[str]
) -> list[Claimed]:
    """Takes up to ``limit`` due pending deliveries of subscriptions of ``channels`` and moves
    their next attempt to ``lease_until``, so that no other worker takes them meanwhile (a
    worker that dies mid-send leaves its deliveries to be retried when the lease ends).

    A delivery waits while an earlier event of the same resource is still pending for the same
    subscription, or not yet fanned out: one resource's events reach a receiver in order.

    The claim looks first among the ``CLAIM_WINDOW`` times ``limit`` deliveries due first,
    read by their own query in index order: named by id, the claim costs the same whatever the
    backlog and whatever the planner believes of the table (its statistics lag a burst of new
    deliveries). Only when that does not fill the batch does it look at every due delivery, so
    deliveries waiting for their resource at the front of the queue (a receiver down for a
    while) cannot starve the rest."""
    delivery = models.Delivery
    first_due = list(
        await session.scalars(
            select(delivery.id)
            .where(delivery.status == "pending", delivery.next_attempt_at <= now)
            .order_by(delivery.next_attempt_at, delivery.id)
            .limit(limit * CLAIM_WINDOW)
        )
    )
    if not first_due:
        return []
    deliveries: list[models.Delivery] = []
    for among in (first_due, None):
        statement = _claimable(now, limit, channels, among)
        if _skip_locked(session):
            statement = statement.with_for_update(skip_locked=True, of=delivery)
        deliveries = list(await session.scalars(statement))
        if len(deliveries) == limit or len(first_due) < limit * CLAIM_WINDOW:
            break
    if not deliveries:
        return []
    ids = [row.id for row in deliveries]
    await session.execute(
        update(models.Delivery)
        .where(models.Delivery.id.in_(ids))
        .values(next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    subscriptions = {
        row.id: row
        for row in await session.scalars(
            select(models.Subscription).where(
                models.Subscription.id.in_({row.subscription_id for row in deliveries})
            )
        )
    }
    events = {
        row.id: row
        for row in await session.scalars(
            select(models.OutboxEvent).where(
                models.OutboxEvent.id.in_({row.event_id for row in deliveries})
            )
        )
    }
    secrets: dict[uuid.UUID, list[str]] = {}
    for secret in await session.scalars(
        select(models.SubscriptionSecret)
        .where(
            models.SubscriptionSecret.subscription_id.in_(subscriptions),
            (models.SubscriptionSecret.expires_at.is_(None))
            | (models.SubscriptionSecret.expires_at > now),
        )
        .order_by(models.SubscriptionSecret.created_at.desc())
    ):
        secrets.setdefault(secret.subscription_id, []).append(secret.secret_ciphertext)
    return [
        Claimed(
            delivery_id=row.id,
            subscription=subscriptions[row.subscription_id],
            event=events[row.event_id],
            secrets=secrets.get(row.subscription_id, []),
        )
        for row in deliveries
    ]


async def lock_deliveries(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, models.Delivery]:
    statement = (
        select(models.Delivery)
        .where(models.Delivery.id.in_(delivery_ids))
        .order_by(models.Delivery.id)  # one lock order for every worker
    )
    if _skip_locked(session):
        statement = statement.with_for_update()
    return {row.id: row for row in await session.scalars(statement)}


async def clear_failing(session: AsyncSession, subscription_ids: Collection[uuid.UUID]) -> None:
    """Ends the subscriptions' runs of failures. Writes (and locks) nothing where there is none:
    the successes of one subscription's deliveries do not queue behind its row lock."""
    if not subscription_ids:
        return
    await session.execute(
        update(models.Subscription)
        .where(
            models.Subscription.id.in_(subscription_ids),
            models.Subscription.failing_since.is_not(None),
        )
        .values(failing_since=None)
        .execution_options(synchronize_session=False)
    )


async def start_failing(
    session: AsyncSession, subscription_id: uuid.UUID, now: datetime
) -> tuple[datetime | None, bool]:
    """Starts the subscription's run of failures unless one is going on; returns its start and
    whether the subscription is active."""
    await session.execute(
        update(models.Subscription)
        .where(
            models.Subscription.id == subscription_id,
            models.Subscription.failing_since.is_(None),
        )
        .values(failing_since=now)
        .execution_options(synchronize_session=False)
    )
    row = (
        await session.execute(
            select(models.Subscription.failing_since, models.Subscription.is_active).where(
                models.Subscription.id == subscription_id
            )
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else (None, False)


async def disable(
    session: AsyncSession, subscription_id: uuid.UUID, reason: str, now: datetime
) -> bool:
    """Disables an active subscription; False when it was not active (another worker or the
    owner got there first), so that its owner is told once."""
    result = await session.execute(
        update(models.Subscription)
        .where(models.Subscription.id == subscription_id, models.Subscription.is_active.is_(True))
        .values(is_active=False, disabled_reason=reason, disabled_at=now)
        .returning(models.Subscription.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def owner_email(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    return await session.scalar(select(models.User.email).where(models.User.id == user_id))
