"""The wire of the Notifications area: subscriptions, their event codes, samples, deliveries."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from pestle import models
from pestle.events.catalogue import ALL, CATALOGUE, EVENT_CODES
from pestle.kit.time import RestDatetime
from pestle.kit.validators import Phone

# Released as `item.stuck` and renamed on 2025-09-28; integrators may still send the old name.
ALIASES = {"item.stuck": "order.stuck"}
_ORDER = {event.event_code: index for index, event in enumerate(CATALOGUE)}


class EventDescriptor(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "name": "Order Created",
                "description": "Triggered when an order is created",
                "event_code": "order.created",
            }
        },
    )

    name: str
    description: str
    event_code: str


def _flatten(sent: object) -> object:
    """One level of nesting is flattened: the contract's own examples nest."""
    if not isinstance(sent, list):
        return sent
    return [code for item in sent for code in (item if isinstance(item, list) else [item])]


def normalize_event_codes(sent: list[str]) -> list[str]:
    """Maps aliases, drops duplicates, refuses unknown codes; ``["all"]`` when `all` is
    among them; catalogue order."""
    codes = {ALIASES.get(code, code) for code in sent}
    if ALL in codes:
        return [ALL]
    unknown = sorted(codes - EVENT_CODES)
    if unknown:
        names = ", ".join(repr(code) for code in unknown)
        raise ValueError(
            f"unknown event codes {names}; GET /api/v1/notifications/events lists them"
        )
    return sorted(codes, key=_ORDER.__getitem__)


def _at_least_one(codes: list[str]) -> list[str]:
    if not codes:
        raise ValueError("name at least one event code, or 'all'")
    return codes


EventCodes = Annotated[
    list[str],
    BeforeValidator(_flatten),
    AfterValidator(normalize_event_codes),
    Field(
        max_length=100,
        description="Event codes (GET /api/v1/notifications/events), or `all` for every event, "
        "present and future. One level of nesting is flattened; `item.stuck` means "
        "`order.stuck`; duplicates are ignored.",
        examples=[["order.shipped", "order.delivered"]],
    ),
]
RequiredEventCodes = Annotated[EventCodes, AfterValidator(_at_least_one)]
Url = Annotated[str, Field(min_length=1, max_length=2000, examples=["https://example.com/webhook"])]


class WebhookWrite(BaseModel):
    """The body of webhook create and update: PUT replaces both fields."""

    model_config = ConfigDict(extra="forbid")

    event_codes: RequiredEventCodes
    url: Url = Field(description="https, resolving to public addresses only.")


class ChannelWrite(BaseModel):
    """The body of the email and SMS channels; `[]` turns the channel off."""

    model_config = ConfigDict(extra="forbid")

    event_codes: EventCodes


class SmsChannelWrite(ChannelWrite):
    """The SMS channel: `phone` is needed the first time it is turned on (user profiles
    carry no phone number); later it may be left out to keep the one stored."""

    phone: Phone | None = Field(None, description="10 digits, e.g. 6417383445.")


class SubscriptionCreate(BaseModel):
    """The deprecated channel-generic create."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["webhook", "email", "sms"]
    event_codes: RequiredEventCodes
    url: Url | None = Field(None, description="Required for webhooks, refused for email and SMS.")
    phone: Phone | None = Field(None, description="Required for SMS, refused for the others.")


def descriptors(event_codes: list[str]) -> list[EventDescriptor]:
    """The subscribed events, `all` expanded to the whole catalogue, in catalogue order."""
    wanted = EVENT_CODES if ALL in event_codes else set(event_codes)
    return [
        EventDescriptor.model_validate(event) for event in CATALOGUE if event.event_code in wanted
    ]


_DESCRIPTOR_EXAMPLE: dict[str, Any] = {
    "name": "Order Created",
    "description": "Triggered when an order is created",
    "event_code": "order.created",
}
_SUBSCRIPTION_EXAMPLE: dict[str, Any] = {
    "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
    "created_at": "2023-11-07T05:31:56Z",
    "is_active": True,
    "type": "webhook",
    "user_id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
    "subscriptions": [_DESCRIPTOR_EXAMPLE],
    "url": "https://example.com/webhook",
    "disabled_reason": None,
    "disabled_at": None,
    "failing_since": None,
}


class Subscription(BaseModel):
    """Blend's Subscription object, plus the webhook's `url` and why it was disabled."""

    model_config = ConfigDict(json_schema_extra={"example": _SUBSCRIPTION_EXAMPLE})

    id: uuid.UUID
    created_at: RestDatetime
    is_active: bool
    type: str
    user_id: uuid.UUID
    subscriptions: list[EventDescriptor]
    url: str | None = Field(description="The webhook's target; null for email and SMS.")
    disabled_reason: str | None = Field(
        description="Why it stopped: deactivated, 410 Gone, or failing too long."
    )
    disabled_at: RestDatetime | None
    failing_since: RestDatetime | None = Field(
        description="The first failed attempt of the current run of failures."
    )

    @classmethod
    def of(cls, row: models.Subscription, **extra: Any) -> Self:
        return cls(
            id=row.id,
            created_at=row.created_at,
            is_active=row.is_active,
            type=row.type,
            user_id=row.user_id,
            subscriptions=descriptors(row.event_codes),
            url=row.url,
            disabled_reason=row.disabled_reason,
            disabled_at=row.disabled_at,
            failing_since=row.failing_since,
            **extra,
        )


class SubscriptionWithSecret(Subscription):
    """Answered by create and rotate only: the signing secret is never shown again."""

    model_config = ConfigDict(
        json_schema_extra={"example": {**_SUBSCRIPTION_EXAMPLE, "secret": "whsec_MfKQ9r8G..."}}
    )

    secret: str | None = Field(
        description="Standard Webhooks signing secret (`whsec_...`); shown once. Null for "
        "email and SMS."
    )


class ChannelSettings(BaseModel):
    """The reduced shape the email and SMS channels answer with."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"is_active": True, "subscriptions": [_DESCRIPTOR_EXAMPLE]}}
    )

    is_active: bool
    subscriptions: list[EventDescriptor]


class SampleSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_code: str = Field(examples=["order.shipped"])
    webhook_url: Url


class SamplePreview(BaseModel):
    event_code: str
    payload_preview: dict[str, Any] = Field(description="The `data` of the event's envelope.")


class SampleSent(SamplePreview):
    message: str = Field(examples=["Sample webhook sent successfully"])
    webhook_url: str


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime = Field(description="Events created at or after this instant.")
    until: datetime | None = Field(None, description="Events created before this instant; now.")


class ReplayQueued(BaseModel):
    queued: int = Field(description="Deliveries created or put back in the queue.")


class DeliveryAttempt(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    attempted_at: RestDatetime
    status_code: int | None = Field(description="The receiver's HTTP status; null if none.")
    latency_ms: int | None
    error: str | None
    response_excerpt: str | None
    next_retry_at: RestDatetime | None
    request_headers: dict[str, Any] | None = Field(description="As sent, without the signature.")


class Delivery(BaseModel):
    """One event on its way to the subscription; its id is the `webhook-id` header."""

    id: uuid.UUID
    event_id: uuid.UUID
    event_code: str
    status: str = Field(description="pending, delivered or failed (gave up).")
    attempt_count: int
    next_attempt_at: RestDatetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: RestDatetime | None
    created_at: RestDatetime
    attempts: list[DeliveryAttempt] = Field(description="Every attempt, oldest first.")

    @classmethod
    def of(cls, row: models.Delivery, attempts: list[models.DeliveryAttempt]) -> "Delivery":
        return cls(
            id=row.id,
            event_id=row.event_id,
            event_code=row.event_code,
            status=row.status,
            attempt_count=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
            attempts=[DeliveryAttempt.model_validate(attempt) for attempt in attempts],
        )
