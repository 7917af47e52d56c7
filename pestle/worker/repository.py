"""The worker's SQL: fanning outbox events out into deliveries, and claiming due deliveries.

On PostgreSQL every selection that leads to a write takes its rows `FOR UPDATE SKIP LOCKED`, so
any number of workers share the work without waiting on one another or doing it twice. SQLite
has one writer at a time and no row locks: one worker runs there."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from pestle import models
from pestle.events.catalogue import ALL


def _skip_locked(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def subscribes_to(subscription: models.Subscription, event_code: str) -> bool:
    codes = subscription.event_codes or []
    return ALL in codes or event_code in codes


async def fan_out(session: AsyncSession, now: datetime, limit: int) -> int:
    """Makes the deliveries of up to ``limit`` events not yet fanned out, oldest first: one per
    active subscription of the event's customer that asks for its code. Returns the events."""
    statement = (
        select(models.OutboxEvent)
        .where(models.OutboxEvent.fanned_out_at.is_(None))
        .order_by(models.OutboxEvent.created_at, models.OutboxEvent.id)
        .limit(limit)
    )
    if _skip_locked(session):
        statement = statement.with_for_update(skip_locked=True)
    events = list(await session.scalars(statement))
    if not events:
        return 0
    customers = {event.customer_id for event in events}
    subscriptions = list(
        await session.scalars(
            select(models.Subscription).where(
                models.Subscription.customer_id.in_(customers),
                models.Subscription.is_active.is_(True),
            )
        )
    )
    for event in events:
        for subscription in subscriptions:
            if subscription.customer_id == event.customer_id and subscribes_to(
                subscription, event.event_code
            ):
                session.add(
                    models.Delivery(
                        customer_id=event.customer_id,
                        subscription_id=subscription.id,
                        event_id=event.id,
                        event_code=event.event_code,
                        resource_key=event.resource_key,
                        sequence=event.sequence,
                        status="pending",
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        event.fanned_out_at = now
    await session.flush()
    return len(events)


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one attempt, with what sending it needs."""

    delivery_id: uuid.UUID
    subscription: models.Subscription
    event: models.OutboxEvent
    secrets: list[str]  # ciphertexts of the secrets that still sign


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int, channels: Sequence[str]
) -> list[Claimed]:
    """Takes up to ``limit`` due pending deliveries of subscriptions of ``channels`` and moves
    their next attempt to ``lease_until``, so that no other worker takes them meanwhile (a
    worker that dies mid-send leaves its deliveries to be retried when the lease ends).

    A delivery waits while an earlier event of the same resource is still pending for the same
    subscription, or not yet fanned out: one resource's events reach a receiver in order."""
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
    if _skip_locked(session):
        statement = statement.with_for_update(skip_locked=True, of=delivery)
    deliveries = list(await session.scalars(statement))
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


async def lock_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> models.Delivery | None:
    statement = select(models.Delivery).where(models.Delivery.id == delivery_id)
    if _skip_locked(session):
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def clear_failing(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """Ends the subscription's run of failures. Writes (and locks) nothing when there is none:
    the successes of one subscription's deliveries do not queue behind its row lock."""
    await session.execute(
        update(models.Subscription)
        .where(
            models.Subscription.id == subscription_id,
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
