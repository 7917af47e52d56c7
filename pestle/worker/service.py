"""What an attempt's outcome does to its delivery and subscription, for every channel.

Success delivers and clears the subscription's run of failures. A failure is retried on the
schedule of ``outcome.next_delay`` (honouring `Retry-After`) when it is retryable, and fails the
delivery otherwise or once the schedule is spent. 410 Gone disables the subscription; so does a
run of failures older than ``FAILING_LIMIT``, and then its owner is told by email."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.worker import repository
from pestle.worker.outcome import EXCERPT_CHARS, Outcome, next_delay

FAILING_LIMIT = timedelta(days=5)


@dataclass(frozen=True)
class Disabled:
    """A subscription the worker disabled, whose owner is to be told after commit."""

    subscription_id: Any
    url: str | None
    owner_email: str | None
    reason: str


async def record(
    session: AsyncSession,
    claimed: repository.Claimed,
    outcome: Outcome,
    now: datetime,
    rng: random.Random,
    request_headers: dict[str, str] | None = None,
) -> Disabled | None:
    """Stores the attempt and its consequences; returns the subscription it disabled, if any."""
    delivery = await repository.lock_delivery(session, claimed.delivery_id)
    if delivery is None or delivery.status != "pending":
        return None
    subscription = claimed.subscription
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    next_at: datetime | None = None
    failing_since: datetime | None = None
    is_active = True
    if outcome.succeeded:
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        await repository.clear_failing(session, subscription.id)
    else:
        if outcome.retryable and not outcome.disables_subscription:
            delay = next_delay(delivery.attempts, outcome.retry_after, rng)
            next_at = now + delay if delay is not None else None
        delivery.status = "pending" if next_at is not None else "failed"
        delivery.next_attempt_at = next_at
        failing_since, is_active = await repository.start_failing(session, subscription.id, now)
    session.add(
        models.DeliveryAttempt(
            delivery_id=delivery.id,
            attempted_at=now,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
            response_excerpt=(outcome.response_excerpt or "")[:EXCERPT_CHARS] or None,
            next_retry_at=next_at,
            request_headers=request_headers,
        )
    )
    reason: str | None = None
    if outcome.disables_subscription:
        reason = "the receiver answered 410 Gone"
    elif failing_since is not None and now - failing_since >= FAILING_LIMIT:
        reason = f"every delivery failed for {FAILING_LIMIT.days} days"
    if reason is None or not is_active:
        return None
    if not await repository.disable(session, subscription.id, reason, now):
        return None
    return Disabled(
        subscription.id,
        subscription.url,
        await repository.owner_email(session, subscription.user_id),
        reason,
    )


async def abandon(session: AsyncSession, claimed: repository.Claimed, now: datetime) -> None:
    """A delivery of a subscription disabled since it was made: failed, without an attempt."""
    delivery = await repository.lock_delivery(session, claimed.delivery_id)
    if delivery is not None and delivery.status == "pending":
        delivery.status = "failed"
        delivery.next_attempt_at = None
        delivery.last_error = "the subscription is disabled"
