"""The rules of the Notifications area: who owns a subscription, where a webhook may point,
its signing secrets, samples, and putting deliveries back in the worker's queue."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.service import Principal
from pestle.events.catalogue import ALL, EVENT_CODES
from pestle.events.repository import OutboxRepository
from pestle.events.samples import sample
from pestle.exceptions import Conflict, Forbidden, NotFound, PestleError, Unprocessable
from pestle.kit.crypto import FieldCipher
from pestle.kit.jsonfmt import JsonValue
from pestle.kit.pagination import Page, PageRequest
from pestle.kit.signing import new_secret
from pestle.kit.targets import TargetRefused, resolve_public
from pestle.kit.time import as_utc, utcnow
from pestle.notifications.repository import DeliveryRepository, SubscriptionRepository
from pestle.notifications.schemas import ALIASES
from pestle.worker import webhooks

# Both secrets sign for this long after a rotation, so receivers can switch without a gap.
ROTATION_OVERLAP = timedelta(hours=24)
SAMPLE_TIMEOUT_SECONDS = 10.0


def _unreached(error: str | None) -> str:
    if error is not None and error.startswith(webhooks.TIMED_OUT):
        return f"The webhook_url did not answer within {SAMPLE_TIMEOUT_SECONDS:g} seconds."
    if error is not None and error.startswith(webhooks.REFUSED):
        return f"The webhook_url was refused: {error.removeprefix(webhooks.REFUSED)}."
    return "The webhook_url could not be reached: the connection failed."


REPLAY_LIMIT = 10_000
SAMPLE_SENT = "Sample webhook sent successfully"


class SubscriptionsBelongToCustomers(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "Pharmacy staff have no subscriptions: a subscription belongs to a customer's user."
        )


class WebhookNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No webhook subscription {ref!r}.")


class DeliveryNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No delivery {ref!r} of this webhook subscription.")


class UnknownEventCode(NotFound):
    def __init__(self, event_code: str) -> None:
        super().__init__(
            f"No event code {event_code!r}; GET /api/v1/notifications/events lists them."
        )


class WebhookUrlRefused(Unprocessable):
    """The target breaks the delivery rule: https, public addresses only."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}.")


class UrlOnlyForWebhooks(Unprocessable):
    def __init__(self, channel: str) -> None:
        super().__init__(f"url: only webhooks have one; {channel} goes to your profile.")


class UrlRequired(Unprocessable):
    def __init__(self) -> None:
        super().__init__("url: a webhook subscription needs the URL to send to.")


class PhoneRequired(Unprocessable):
    def __init__(self) -> None:
        super().__init__("phone: SMS needs the number to text the first time it is turned on.")


class PhoneOnlyForSms(Unprocessable):
    def __init__(self, channel: str) -> None:
        super().__init__(f"phone: only SMS subscriptions have one, not {channel}.")


class ChannelExists(Conflict):
    def __init__(self, channel: str) -> None:
        label = "SMS" if channel == "sms" else channel
        super().__init__(
            f"You already have an {label} subscription; change it with "
            f"PUT /api/v1/notifications/{channel}."
        )


class WebhookInactive(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "The webhook subscription is inactive; enable it first "
            "(POST /api/v1/notifications/webhooks/{webhook_id}/enable)."
        )


class ReplayRangeInvalid(Unprocessable):
    def __init__(self) -> None:
        super().__init__("until: must be after since.")


class ReplayTooLarge(Unprocessable):
    def __init__(self) -> None:
        super().__init__(
            f"The range holds more than {REPLAY_LIMIT} events; replay it in smaller ranges."
        )


class SampleNotDelivered(PestleError):
    """The sample's target did not acknowledge it: its problem, reported as a bad gateway."""

    status_code = 502


@dataclass(frozen=True)
class SampleOutcome:
    event_code: str
    payload_preview: dict[str, JsonValue]


def _customer(principal: Principal) -> uuid.UUID:
    if principal.customer_id is None:
        raise SubscriptionsBelongToCustomers()
    return principal.customer_id


async def check_target(field: str, url: str, allow_private: bool) -> None:
    try:
        await resolve_public(url, allow_private)
    except TargetRefused as refused:
        raise WebhookUrlRefused(field, str(refused)) from None


def _activate(subscription: models.Subscription) -> None:
    subscription.is_active = True
    subscription.disabled_at = None
    subscription.disabled_reason = None
    subscription.failing_since = None
    subscription.updated_at = utcnow()


class NotificationService:
    # -- webhooks -----------------------------------------------------------------------------

    async def create_webhook(
        self,
        session: AsyncSession,
        principal: Principal,
        cipher: FieldCipher,
        event_codes: list[str],
        url: str,
        allow_private: bool,
    ) -> tuple[models.Subscription, str]:
        """A webhook subscription and its signing secret, which only this answer shows."""
        customer_id = _customer(principal)
        await check_target("url", url, allow_private)
        repository = SubscriptionRepository(session, customer_id)
        subscription = await repository.add(
            models.Subscription(
                customer_id=customer_id,
                user_id=principal.user.id,
                type="webhook",
                url=url,
                event_codes=event_codes,
                is_active=True,
            )
        )
        secret = await self._new_secret(repository, cipher, subscription)
        return subscription, secret

    async def update_webhook(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        event_codes: list[str],
        url: str,
        allow_private: bool,
    ) -> models.Subscription:
        """Replaces codes and URL, and makes the webhook active again: the contract has no
        other way back after the receiver was fixed (the disabling email points here)."""
        subscription = await self._locked_webhook(session, principal, ref)
        await check_target("url", url, allow_private)
        subscription.event_codes = event_codes
        subscription.url = url
        _activate(subscription)
        await session.flush()
        return subscription

    async def page_webhooks(
        self,
        session: AsyncSession,
        principal: Principal,
        is_active: bool | None,
        wanted: PageRequest,
    ) -> Page[models.Subscription]:
        """Every webhook of the caller's customer, whoever of its users made it."""
        repository = SubscriptionRepository(session, _customer(principal))
        return await repository.page(repository.webhooks(is_active), wanted)

    async def webhook(
        self, session: AsyncSession, principal: Principal, ref: str
    ) -> models.Subscription:
        found = await SubscriptionRepository(session, _customer(principal)).webhook(ref)
        if found is None:
            raise WebhookNotFound(ref)
        return found

    async def deactivate_webhook(
        self, session: AsyncSession, principal: Principal, ref: str
    ) -> models.Subscription:
        """Stops deliveries; the row and its delivery log stay, and `enable` undoes it."""
        subscription = await self._locked_webhook(session, principal, ref)
        if subscription.is_active:
            now = utcnow()
            subscription.is_active = False
            subscription.disabled_at = now
            subscription.disabled_reason = f"Deactivated by {principal.user.email}."
            subscription.updated_at = now
            await session.flush()
        return subscription

    async def enable_webhook(
        self, session: AsyncSession, principal: Principal, ref: str
    ) -> models.Subscription:
        subscription = await self._locked_webhook(session, principal, ref)
        _activate(subscription)
        await session.flush()
        return subscription

    async def rotate_secret(
        self, session: AsyncSession, principal: Principal, cipher: FieldCipher, ref: str
    ) -> tuple[models.Subscription, str]:
        """A new secret; the ones signing until now keep signing for 24 hours."""
        subscription = await self._locked_webhook(session, principal, ref)
        repository = SubscriptionRepository(session, subscription.customer_id)
        await repository.expire_current_secrets(subscription.id, utcnow() + ROTATION_OVERLAP)
        return subscription, await self._new_secret(repository, cipher, subscription)

    async def _new_secret(
        self, repository: SubscriptionRepository, cipher: FieldCipher, row: models.Subscription
    ) -> str:
        secret = new_secret()
        await repository.add_secret(
            models.SubscriptionSecret(
                subscription_id=row.id, secret_ciphertext=cipher.encrypt(secret)
            )
        )
        return secret

    async def _locked_webhook(
        self, session: AsyncSession, principal: Principal, ref: str
    ) -> models.Subscription:
        found = await SubscriptionRepository(session, _customer(principal)).locked_webhook(ref)
        if found is None:
            raise WebhookNotFound(ref)
        return found

    # -- email and SMS ------------------------------------------------------------------------

    async def set_channel(
        self,
        session: AsyncSession,
        principal: Principal,
        channel: str,
        event_codes: list[str],
        phone: str | None = None,
    ) -> models.Subscription | None:
        """The user's one subscription of ``channel``, set to ``event_codes``; `[]` turns it
        off. None when it is off and never existed: nothing is written then. SMS needs a
        ``phone`` the first time it is turned on."""
        customer_id = _customer(principal)
        repository = SubscriptionRepository(session, customer_id)
        found = await repository.channel(principal.user.id, channel)
        if channel == "sms" and event_codes and phone is None and found is None:
            raise PhoneRequired()
        if found is None:
            if not event_codes:
                return None
            return await repository.add(
                models.Subscription(
                    customer_id=customer_id,
                    user_id=principal.user.id,
                    type=channel,
                    event_codes=event_codes,
                    is_active=True,
                    phone=phone,
                )
            )
        if phone is not None:
            found.phone = phone
        if channel == "sms" and event_codes and found.phone is None:
            raise PhoneRequired()
        now = utcnow()
        found.event_codes = event_codes
        found.is_active = bool(event_codes)
        found.disabled_at = None if event_codes else now
        found.disabled_reason = None if event_codes else "Turned off: no event codes."
        found.updated_at = now
        await session.flush()
        return found

    # -- the deprecated channel-generic endpoints ---------------------------------------------

    async def of_user(
        self, session: AsyncSession, principal: Principal
    ) -> list[models.Subscription]:
        """Every subscription the calling user made, all channels (the contract's scope)."""
        return await SubscriptionRepository(session, _customer(principal)).of_user(
            principal.user.id
        )

    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        cipher: FieldCipher,
        channel: str,
        event_codes: list[str],
        url: str | None,
        allow_private: bool,
        phone: str | None = None,
    ) -> tuple[models.Subscription, str | None]:
        if phone is not None and channel != "sms":
            raise PhoneOnlyForSms(channel)
        if channel == "webhook":
            if url is None:
                raise UrlRequired()
            return await self.create_webhook(
                session, principal, cipher, event_codes, url, allow_private
            )
        if url is not None:
            raise UrlOnlyForWebhooks(channel)
        customer_id = _customer(principal)
        repository = SubscriptionRepository(session, customer_id)
        if await repository.channel(principal.user.id, channel) is not None:
            raise ChannelExists(channel)
        created = await self.set_channel(session, principal, channel, event_codes, phone)
        assert created is not None  # event_codes is never empty here
        return created, None

    # -- samples ------------------------------------------------------------------------------

    def sample(self, event_code: str, app_url: str) -> SampleOutcome:
        code = ALIASES.get(event_code, event_code)
        if code not in EVENT_CODES or code == ALL:
            raise UnknownEventCode(event_code)
        return SampleOutcome(code, sample(code, app_url))

    async def send_sample(
        self, event_code: str, webhook_url: str, app_url: str, allow_private: bool
    ) -> SampleOutcome:
        """POSTs the sample in the delivery envelope; a receiver that does not answer 2xx
        within 10 s is a 502 that says what happened. Unsigned: no subscription, no secret."""
        outcome = self.sample(event_code, app_url)
        await check_target("webhook_url", webhook_url, allow_private)
        body = webhooks.envelope(outcome.event_code, outcome.payload_preview)
        # The worker's client: each connection re-checks the address it opens, so the name
        # cannot be pointed at a private address between the check above and the send.
        async with webhooks.new_client(allow_private, SAMPLE_TIMEOUT_SECONDS) as client:
            sent = await webhooks.send(
                client,
                webhook_url,
                body,
                {"content-type": "application/json"},
                utcnow(),
                allow_private,
            )
        if sent.status_code is None:
            raise SampleNotDelivered(_unreached(sent.error))
        if not sent.succeeded:
            raise SampleNotDelivered(
                f"The webhook_url answered {sent.status_code}; a 2xx acknowledges a webhook."
            )
        return outcome

    # -- deliveries ---------------------------------------------------------------------------

    async def page_deliveries(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        status: str | None,
        wanted: PageRequest,
    ) -> tuple[Page[models.Delivery], dict[uuid.UUID, list[models.DeliveryAttempt]]]:
        subscription = await self.webhook(session, principal, ref)
        repository = DeliveryRepository(session, subscription.customer_id)
        found = await repository.page(repository.of_subscription(subscription.id, status), wanted)
        return found, await repository.attempts([delivery.id for delivery in found.items])

    async def redeliver(
        self, session: AsyncSession, principal: Principal, ref: str, delivery_ref: str
    ) -> tuple[models.Delivery, list[models.DeliveryAttempt]]:
        """Back in the queue now, attempts kept: the worker sends it under the same id."""
        subscription = await self._locked_webhook(session, principal, ref)
        repository = DeliveryRepository(session, subscription.customer_id)
        delivery = await repository.of_subscription_by_id(subscription.id, delivery_ref)
        if delivery is None:
            raise DeliveryNotFound(delivery_ref)
        if not subscription.is_active:
            raise WebhookInactive()
        delivery.status = "pending"
        delivery.next_attempt_at = utcnow()
        await session.flush()
        await OutboxRepository(session, subscription.customer_id).wake_workers()
        attempts = await repository.attempts([delivery.id])
        return delivery, attempts[delivery.id]

    async def replay(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        since: datetime,
        until: datetime | None,
    ) -> int:
        """Queues every event of the customer in [since, until) that the subscription takes:
        new deliveries for those it never had, the others put back in the queue."""
        subscription = await self._locked_webhook(session, principal, ref)
        if not subscription.is_active:
            raise WebhookInactive()
        now = utcnow()
        start, end = as_utc(since), as_utc(until) if until is not None else now
        if end <= start:
            raise ReplayRangeInvalid()
        repository = DeliveryRepository(session, subscription.customer_id)
        codes = None if ALL in subscription.event_codes else subscription.event_codes
        events = await repository.events_in_range(codes, start, end, REPLAY_LIMIT + 1)
        if len(events) > REPLAY_LIMIT:
            raise ReplayTooLarge()
        event_ids = [event.id for event in events]
        known: set[uuid.UUID] = set()
        for chunk in range(0, len(event_ids), 500):
            ids = event_ids[chunk : chunk + 500]
            known |= await repository.delivered_event_ids(subscription.id, ids)
            await repository.requeue(subscription.id, ids, now)
        await repository.add_all(
            [
                models.Delivery(
                    customer_id=subscription.customer_id,
                    subscription_id=subscription.id,
                    event_id=event.id,
                    event_code=event.event_code,
                    resource_key=event.resource_key,
                    sequence=event.sequence,
                    status="pending",
                    next_attempt_at=now,
                    created_at=now,
                )
                for event in events
                if event.id not in known
            ]
        )
        if events:
            await OutboxRepository(session, subscription.customer_id).wake_workers()
        return len(events)


notification_service = NotificationService()
