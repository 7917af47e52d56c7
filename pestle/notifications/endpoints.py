"""Notification subscriptions and the event catalogue they subscribe to.

Subscriptions belong to a customer's users: staff are refused (403). Webhooks are the
customer's: any of its users may read and manage any of them. Email and SMS are one per user."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response

from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.events import service as events
from pestle.events.catalogue import EventType
from pestle.exceptions import Responses, error_response, invalid_response
from pestle.kit.crypto import Cipher
from pestle.kit.links import AppUrl
from pestle.kit.pagination import PAGINATION_HEADERS, PageParams, serve_page
from pestle.notifications import schemas
from pestle.notifications.service import (
    SAMPLE_SENT,
    ChannelExists,
    DeliveryNotFound,
    PhoneOnlyForSms,
    PhoneRequired,
    ReplayRangeInvalid,
    ReplayTooLarge,
    SampleNotDelivered,
    SubscriptionsBelongToCustomers,
    UnknownEventCode,
    UrlOnlyForWebhooks,
    UrlRequired,
    WebhookInactive,
    WebhookNotFound,
    WebhookUrlRefused,
    notification_service,
)

router = APIRouter(prefix="/notifications", tags=["Notifications"])


def allow_private_webhooks(request: Request) -> bool:
    allowed: bool = request.app.state.settings.allow_private_webhooks
    return allowed


AllowPrivate = Annotated[bool, Depends(allow_private_webhooks)]


def _secret_shown(response: Response) -> None:
    # no-store: no cache keeps the secret, and neither does an idempotent replay.
    response.headers["Cache-Control"] = "no-store"


_OWNED: Responses = {403: error_response(SubscriptionsBelongToCustomers)}
_FOUND: Responses = {**_OWNED, 404: error_response(WebhookNotFound)}
_WRITE: Responses = {**_FOUND, 422: invalid_response(WebhookUrlRefused)}


@router.get("/events", response_model=list[schemas.EventDescriptor])
async def list_events(_: AnyUser) -> tuple[EventType, ...]:
    """List every event code that can be subscribed to."""
    return events.catalogue()


@router.post(
    "/webhooks",
    status_code=201,
    response_model=schemas.SubscriptionWithSecret,
    responses={**_OWNED, 422: invalid_response(WebhookUrlRefused)},
)
async def create_webhook(
    body: schemas.WebhookWrite,
    response: Response,
    session: SessionDep,
    principal: AnyUser,
    cipher: Cipher,
    allow_private: AllowPrivate,
) -> schemas.SubscriptionWithSecret:
    """Create a webhook subscription; the answer shows its signing `secret`, never shown again."""
    created, secret = await notification_service.create_webhook(
        session, principal, cipher, body.event_codes, body.url, allow_private
    )
    _secret_shown(response)
    return schemas.SubscriptionWithSecret.of(created, secret=secret)


@router.get(
    "/webhooks",
    response_model=list[schemas.Subscription],
    responses={**_OWNED, 200: {"headers": PAGINATION_HEADERS}},
)
async def list_webhooks(
    request: Request,
    response: Response,
    page: PageParams,
    session: SessionDep,
    principal: AnyUser,
    is_active: bool | None = None,
) -> list[schemas.Subscription]:
    """List the customer's webhook subscriptions, oldest first."""
    found = await notification_service.page_webhooks(session, principal, is_active, page)
    return [schemas.Subscription.of(row) for row in serve_page(found, request, response)]


@router.get("/webhooks/{webhook_id}", response_model=schemas.Subscription, responses=_FOUND)
async def get_webhook(
    webhook_id: str, session: SessionDep, principal: AnyUser
) -> schemas.Subscription:
    """Get a webhook subscription (without its secret)."""
    return schemas.Subscription.of(
        await notification_service.webhook(session, principal, webhook_id)
    )


@router.put("/webhooks/{webhook_id}", response_model=schemas.Subscription, responses=_WRITE)
async def update_webhook(
    webhook_id: str,
    body: schemas.WebhookWrite,
    session: SessionDep,
    principal: AnyUser,
    allow_private: AllowPrivate,
) -> schemas.Subscription:
    """Replace a webhook subscription's event codes and URL (active again); the secret is kept."""
    updated = await notification_service.update_webhook(
        session, principal, webhook_id, body.event_codes, body.url, allow_private
    )
    return schemas.Subscription.of(updated)


@router.delete("/webhooks/{webhook_id}", response_model=schemas.Subscription, responses=_FOUND)
async def deactivate_webhook(
    webhook_id: str, session: SessionDep, principal: AnyUser
) -> schemas.Subscription:
    """Deactivate a webhook subscription: nothing more is sent; its delivery log is kept."""
    found = await notification_service.deactivate_webhook(session, principal, webhook_id)
    return schemas.Subscription.of(found)


@router.post("/webhooks/{webhook_id}/enable", response_model=schemas.Subscription, responses=_FOUND)
async def enable_webhook(
    webhook_id: str, session: SessionDep, principal: AnyUser
) -> schemas.Subscription:
    """Reactivate a webhook subscription, e.g. after it was disabled for failing."""
    found = await notification_service.enable_webhook(session, principal, webhook_id)
    return schemas.Subscription.of(found)


@router.post(
    "/webhooks/{webhook_id}/rotate_secret",
    response_model=schemas.SubscriptionWithSecret,
    responses=_FOUND,
)
async def rotate_secret(
    webhook_id: str, response: Response, session: SessionDep, principal: AnyUser, cipher: Cipher
) -> schemas.SubscriptionWithSecret:
    """Issue a new signing secret (shown once); the previous one keeps signing for 24 hours."""
    found, secret = await notification_service.rotate_secret(session, principal, cipher, webhook_id)
    _secret_shown(response)
    return schemas.SubscriptionWithSecret.of(found, secret=secret)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=list[schemas.Delivery],
    responses={**_FOUND, 200: {"headers": PAGINATION_HEADERS}},
)
async def list_deliveries(
    webhook_id: str,
    request: Request,
    response: Response,
    page: PageParams,
    session: SessionDep,
    principal: AnyUser,
    status: Literal["pending", "delivered", "failed"] | None = None,
) -> list[schemas.Delivery]:
    """List the webhook's deliveries, newest first, each with every attempt."""
    found, attempts = await notification_service.page_deliveries(
        session, principal, webhook_id, status, page
    )
    return [
        schemas.Delivery.of(delivery, attempts[delivery.id])
        for delivery in serve_page(found, request, response)
    ]


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response_model=schemas.Delivery,
    responses={
        **_OWNED,
        404: error_response(WebhookNotFound, DeliveryNotFound),
        409: error_response(WebhookInactive),
    },
)
async def redeliver(
    webhook_id: str, delivery_id: str, session: SessionDep, principal: AnyUser
) -> schemas.Delivery:
    """Send one delivery again now, under the same `webhook-id`."""
    delivery, attempts = await notification_service.redeliver(
        session, principal, webhook_id, delivery_id
    )
    return schemas.Delivery.of(delivery, attempts)


@router.post(
    "/webhooks/{webhook_id}/replay",
    response_model=schemas.ReplayQueued,
    responses={
        **_FOUND,
        409: error_response(WebhookInactive),
        422: invalid_response(ReplayRangeInvalid, ReplayTooLarge),
    },
)
async def replay(
    webhook_id: str, body: schemas.ReplayRequest, session: SessionDep, principal: AnyUser
) -> schemas.ReplayQueued:
    """Send again every event of a time range that the subscription takes."""
    queued = await notification_service.replay(
        session, principal, webhook_id, body.since, body.until
    )
    return schemas.ReplayQueued(queued=queued)


@router.put("/email", response_model=schemas.ChannelSettings, responses=_OWNED)
async def update_email(
    body: schemas.ChannelWrite, session: SessionDep, principal: AnyUser
) -> schemas.ChannelSettings:
    """Set the events emailed to your profile's address; `[]` turns email off."""
    return await _channel(session, principal, "email", body.event_codes)


@router.put(
    "/sms",
    response_model=schemas.ChannelSettings,
    responses={**_OWNED, 422: invalid_response(PhoneRequired)},
)
async def update_sms(
    body: schemas.SmsChannelWrite, session: SessionDep, principal: AnyUser
) -> schemas.ChannelSettings:
    """Set the events texted to `phone` (kept for later calls); `[]` turns SMS off."""
    return await _channel(session, principal, "sms", body.event_codes, body.phone)


async def _channel(
    session: SessionDep,
    principal: AnyUser,
    channel: str,
    event_codes: list[str],
    phone: str | None = None,
) -> schemas.ChannelSettings:
    found = await notification_service.set_channel(session, principal, channel, event_codes, phone)
    if found is None:
        return schemas.ChannelSettings(is_active=False, subscriptions=[])
    return schemas.ChannelSettings(
        is_active=found.is_active, subscriptions=schemas.descriptors(found.event_codes)
    )


@router.post(
    "/sample",
    response_model=schemas.SampleSent,
    responses={
        404: error_response(UnknownEventCode),
        422: invalid_response(WebhookUrlRefused),
        502: error_response(SampleNotDelivered),
    },
)
async def send_sample(
    body: schemas.SampleSend, principal: AnyUser, app_url: AppUrl, allow_private: AllowPrivate
) -> schemas.SampleSent:
    """POST a sample of an event to any URL, as a webhook delivery would (unsigned)."""
    sent = await notification_service.send_sample(
        body.event_code, body.webhook_url, app_url, allow_private
    )
    return schemas.SampleSent(
        event_code=sent.event_code,
        payload_preview=sent.payload_preview,
        message=SAMPLE_SENT,
        webhook_url=body.webhook_url,
    )


@router.get(
    "/sample/{event_code}",
    response_model=schemas.SamplePreview,
    responses={404: error_response(UnknownEventCode)},
)
async def preview_sample(
    event_code: str, principal: AnyUser, app_url: AppUrl
) -> schemas.SamplePreview:
    """Preview the sample `data` of an event, without sending anything."""
    found = notification_service.sample(event_code, app_url)
    return schemas.SamplePreview(event_code=found.event_code, payload_preview=found.payload_preview)


@router.get(
    "",
    response_model=list[schemas.Subscription],
    responses=_OWNED,
    deprecated=True,
    summary="DEP: Get subscriptions",
)
async def list_subscriptions(session: SessionDep, principal: AnyUser) -> list[schemas.Subscription]:
    """Every subscription of the calling user, all channels; prefer GET /webhooks."""
    rows = await notification_service.of_user(session, principal)
    return [schemas.Subscription.of(row) for row in rows]


@router.post(
    "",
    status_code=201,
    response_model=schemas.SubscriptionWithSecret,
    responses={
        **_OWNED,
        409: error_response(ChannelExists),
        422: invalid_response(
            WebhookUrlRefused, UrlRequired, UrlOnlyForWebhooks, PhoneRequired, PhoneOnlyForSms
        ),
    },
    deprecated=True,
    summary="DEP: Create a new subscription",
)
async def create_subscription(
    body: schemas.SubscriptionCreate,
    response: Response,
    session: SessionDep,
    principal: AnyUser,
    cipher: Cipher,
    allow_private: AllowPrivate,
) -> schemas.SubscriptionWithSecret:
    """Create a subscription of any channel; a webhook's answer shows its secret once."""
    created, secret = await notification_service.create(
        session,
        principal,
        cipher,
        body.type,
        body.event_codes,
        body.url,
        allow_private,
        body.phone,
    )
    _secret_shown(response)
    return schemas.SubscriptionWithSecret.of(created, secret=secret)
