import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, select, update

from pestle import models
from pestle.kit.ids import parse_uuid
from pestle.kit.repository import TenantRepository


class SubscriptionRepository(TenantRepository[models.Subscription]):
    model = models.Subscription

    def webhooks(self, is_active: bool | None) -> Select[models.Subscription]:
        statement = self.select().where(models.Subscription.type == "webhook")
        if is_active is not None:
            statement = statement.where(models.Subscription.is_active == is_active)
        return statement.order_by(models.Subscription.id)

    async def webhook(self, ref: str) -> models.Subscription | None:
        row_id = parse_uuid(ref)
        if row_id is None:
            return None
        return await self.one_or_none(
            self.select().where(
                models.Subscription.id == row_id, models.Subscription.type == "webhook"
            )
        )

    async def locked_webhook(self, ref: str) -> models.Subscription | None:
        """The webhook, its row locked until the transaction ends (PostgreSQL)."""
        row_id = parse_uuid(ref)
        if row_id is None:
            return None
        return await self.one_or_none(
            self.select()
            .where(models.Subscription.id == row_id, models.Subscription.type == "webhook")
            .with_for_update()
        )

    async def of_user(self, user_id: uuid.UUID) -> list[models.Subscription]:
        statement = self.select().where(models.Subscription.user_id == user_id)
        return list(await self.session.scalars(statement.order_by(models.Subscription.id)))

    async def channel(self, user_id: uuid.UUID, channel: str) -> models.Subscription | None:
        """The user's one email or SMS subscription. The user's row is locked first, by a
        no-op UPDATE that holds it on both engines (SQLite has no FOR UPDATE), so two
        concurrent first PUTs cannot both create one."""
        user = models.User
        await self.session.execute(
            update(user)
            .where(user.id == user_id)
            .values(email=user.email)
            .execution_options(synchronize_session=False)
        )
        statement = self.select().where(
            models.Subscription.user_id == user_id, models.Subscription.type == channel
        )
        return await self.one_or_none(statement)

    async def add_secret(self, secret: models.SubscriptionSecret) -> None:
        self.session.add(secret)
        await self.session.flush()

    async def expire_current_secrets(self, subscription_id: uuid.UUID, at: datetime) -> None:
        """Gives the secrets that do not expire yet an expiry: they keep signing until ``at``."""
        table = models.SubscriptionSecret
        await self.session.execute(
            update(table)
            .where(table.subscription_id == subscription_id, table.expires_at.is_(None))
            .values(expires_at=at)
        )


class DeliveryRepository(TenantRepository[models.Delivery]):
    model = models.Delivery

    def of_subscription(
        self, subscription_id: uuid.UUID, status: str | None
    ) -> Select[models.Delivery]:
        statement = self.select().where(models.Delivery.subscription_id == subscription_id)
        if status is not None:
            statement = statement.where(models.Delivery.status == status)
        return statement.order_by(models.Delivery.created_at.desc(), models.Delivery.id.desc())

    async def attempts(
        self, delivery_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[models.DeliveryAttempt]]:
        """The attempts of the deliveries, oldest first, in one query."""
        grouped: dict[uuid.UUID, list[models.DeliveryAttempt]] = defaultdict(list)
        if not delivery_ids:
            return grouped
        table = models.DeliveryAttempt
        statement = (
            select(table)
            .where(table.delivery_id.in_(delivery_ids))
            .order_by(table.attempted_at, table.id)
        )
        for attempt in await self.session.scalars(statement):
            grouped[attempt.delivery_id].append(attempt)
        return grouped

    async def of_subscription_by_id(
        self, subscription_id: uuid.UUID, ref: str
    ) -> models.Delivery | None:
        row_id = parse_uuid(ref)
        if row_id is None:
            return None
        return await self.one_or_none(
            self.select()
            .where(models.Delivery.id == row_id, models.Delivery.subscription_id == subscription_id)
            .with_for_update()
        )

    async def events_in_range(
        self, event_codes: list[str] | None, since: datetime, until: datetime, limit: int
    ) -> list[models.OutboxEvent]:
        """The customer's fanned-out events in [since, until) of these codes (None: every),
        oldest first, at most ``limit``. Events not fanned out yet get their deliveries then."""
        table = models.OutboxEvent
        statement = select(table).where(
            table.customer_id == self.customer_id,
            table.created_at >= since,
            table.created_at < until,
            table.fanned_out_at.is_not(None),
        )
        if event_codes is not None:
            statement = statement.where(table.event_code.in_(event_codes))
        statement = statement.order_by(table.created_at, table.id).limit(limit)
        return list(await self.session.scalars(statement))

    async def delivered_event_ids(
        self, subscription_id: uuid.UUID, event_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        table = models.Delivery
        found = await self.session.scalars(
            select(table.event_id).where(
                table.subscription_id == subscription_id, table.event_id.in_(event_ids)
            )
        )
        return set(found)

    async def requeue(
        self, subscription_id: uuid.UUID, event_ids: list[uuid.UUID], now: datetime
    ) -> None:
        table = models.Delivery
        await self.session.execute(
            update(table)
            .where(table.subscription_id == subscription_id, table.event_id.in_(event_ids))
            .values(status="pending", next_attempt_at=now)
        )

    async def add_all(self, rows: list[models.Delivery]) -> None:
        self.session.add_all(rows)
        await self.session.flush()
