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


@dataclass(frozen=True)
class Attempt:
    """What one claimed delivery came to: an outcome, or None when its subscription was
    disabled since the delivery was made (nothing is sent then)."""

    claimed: repository.Claimed
    outcome: Outcome | None
    request_headers: dict[str, str] | None = None


async def record(
    session: AsyncSession, attempts: list[Attempt], now: datetime, rng: random.Random
) -> list[Disabled]:
    """Stores a batch of attempts and their consequences in one transaction (a worker records
    whatever finished while it recorded the previous batch); returns the subscriptions it
    disabled. A delivery no longer pending (redelivered or abandoned meanwhile) is left alone."""
    deliveries = await repository.lock_deliveries(
        session, [attempt.claimed.delivery_id for attempt in attempts]
    )
    # A success clears its subscription's run of failures; the clears wait for one statement
    # at the end, unless a later failure of the same subscription needs the run cleared first.
    to_clear: set[Any] = set()
    disabled: list[Disabled] = []
    for attempt in attempts:
        delivery = deliveries.get(attempt.claimed.delivery_id)
        if delivery is None or delivery.status != "pending":
            continue
        outcome = attempt.outcome
        if outcome is None:
            delivery.status = "failed"
            delivery.next_attempt_at = None
            delivery.last_error = "the subscription is disabled"
            continue
        subscription = attempt.claimed.subscription
        delivery.attempts += 1
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        next_at: datetime | None = None
        if outcome.succeeded:
            delivery.status = "delivered"
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            to_clear.add(subscription.id)
        else:
            if outcome.retryable and not outcome.disables_subscription:
                delay = next_delay(delivery.attempts, outcome.retry_after, rng)
                next_at = now + delay if delay is not None else None
            delivery.status = "pending" if next_at is not None else "failed"
            delivery.next_attempt_at = next_at
            if subscription.id in to_clear:
                await repository.clear_failing(session, {subscription.id})
                to_clear.discard(subscription.id)
            failing_since, is_active = await repository.start_failing(session, subscription.id, now)
            reason = _disabling_reason(outcome, failing_since, now)
            if reason is not None and is_active:
                found = await _disable(session, subscription, reason, now)
                if found is not None:
                    disabled.append(found)
        session.add(
            models.DeliveryAttempt(
                delivery_id=delivery.id,
                attempted_at=now,
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                error=outcome.error,
                response_excerpt=(outcome.response_excerpt or "")[:EXCERPT_CHARS] or None,
                next_retry_at=next_at,
                request_headers=attempt.request_headers,
            )
        )
    await repository.clear_failing(session, to_clear)
    return disabled


def _disabling_reason(
    outcome: Outcome, failing_since: datetime | None, now: datetime
) -> str | None:
    if outcome.disables_subscription:
        return "the receiver answered 410 Gone"
    if failing_since is not None and now - failing_since >= FAILING_LIMIT:
        return f"every delivery failed for {FAILING_LIMIT.days} days"
    return None


async def _disable(
    session: AsyncSession, subscription: models.Subscription, reason: str, now: datetime
) -> Disabled | None:
    if not await repository.disable(session, subscription.id, reason, now):
        return None
    return Disabled(
        subscription.id,
        subscription.url,
        await repository.owner_email(session, subscription.user_id),
        reason,
    )
