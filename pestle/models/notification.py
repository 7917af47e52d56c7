"""Subscriptions to events (webhook, email, SMS), their signing secrets, and the deliveries the
worker makes of each outbox event to each subscription, with every attempt."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from pestle.kit.time import utcnow
from pestle.models.base import Base, HasId, HasTimestamps, OwnedByCustomer

CHANNELS = ("webhook", "email", "sms")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Subscription(OwnedByCustomer, HasTimestamps, Base):
    """One channel of one user subscribed to a set of event codes. A user has any number of
    webhook subscriptions and at most one email and one SMS subscription."""

    __tablename__ = "subscription"
    __table_args__ = (
        CheckConstraint(_in("type", CHANNELS), name="type"),
        CheckConstraint("(type = 'webhook') = (url IS NOT NULL)", name="url_for_webhooks"),
        CheckConstraint("type = 'sms' OR phone IS NULL", name="phone_for_sms"),
        Index(None, "user_id", "type"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(String(2000))
    # The number SMS go to: Pestle's user profiles carry no phone, so the channel holds it.
    phone: Mapped[str | None] = mapped_column(String(10))
    # As sent, after validation; ["all"] stands for every event, present and future.
    event_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]
    # The first failed attempt of the current run of failures; cleared by any success.
    failing_since: Mapped[datetime | None]


class SubscriptionSecret(HasId, Base):
    """A webhook signing secret, kept encrypted. After a rotation the old one keeps signing
    until ``expires_at``."""

    __tablename__ = "subscription_secret"
    __table_args__ = (Index(None, "subscription_id"),)

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscription.id", ondelete="CASCADE")
    )
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]


class ResourceSequence(Base):
    """The last event sequence number of one resource: incremented under its row lock, so the
    numbers of one resource's events follow their commit order."""

    __tablename__ = "resource_sequence"

    resource_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(default=0)


class Delivery(OwnedByCustomer, Base):
    """One outbox event on its way to one subscription. Its id is the `webhook-id` of every
    attempt, so a receiver sees retries and redeliveries as the same message."""

    __tablename__ = "delivery"
    __table_args__ = (
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        # The worker's claim walks the pending deliveries in the order they are due.
        Index(
            "ix_delivery_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(None, "subscription_id", "resource_key", "sequence"),
        Index(None, "event_id", "subscription_id", unique=True),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscription.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_event.id", ondelete="CASCADE"))
    event_code: Mapped[str] = mapped_column(String(64))
    resource_key: Mapped[str | None] = mapped_column(String(80))
    sequence: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryAttempt(HasId, Base):
    __tablename__ = "delivery_attempt"
    __table_args__ = (Index(None, "delivery_id", "attempted_at"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("delivery.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    latency_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    next_retry_at: Mapped[datetime | None]
    # What was sent, for the attempt log: the headers without the signature.
    request_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
