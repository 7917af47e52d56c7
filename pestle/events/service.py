"""``emit``: an event is an outbox row written in the caller's transaction, never a network call."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.events.catalogue import CATALOGUE, EVENT_CODES, EventType
from pestle.events.repository import OutboxRepository
from pestle.kit.jsonfmt import webhook_object


async def emit(
    session: AsyncSession, event_code: str, data: Mapping[str, Any], customer_id: uuid.UUID
) -> models.OutboxEvent:
    """Record ``event_code`` for ``customer_id``; delivered only if the transaction commits."""
    if event_code not in EVENT_CODES:
        # A programming error, not a client's: every emitted code must be in the catalogue.
        raise ValueError(f"unknown event code {event_code!r}")
    repository = OutboxRepository(session, customer_id)
    key = resource_key(event_code, data)
    event = models.OutboxEvent(
        customer_id=customer_id,
        event_code=event_code,
        data=webhook_object(data),
        resource_key=key,
        sequence=await repository.next_sequence(key) if key is not None else None,
    )
    await repository.wake_workers()
    return await repository.add(event)


def resource_key(event_code: str, data: Mapping[str, Any]) -> str | None:
    """`order:<id>` for every order event (a shipment's too), else `<kind>:<id>`."""
    kind = event_code.split(".", 1)[0]
    resource_id = data.get("order_id") if kind == "order" else None
    resource_id = resource_id or data.get("id")
    return f"{kind}:{resource_id}" if resource_id is not None else None


def catalogue() -> tuple[EventType, ...]:
    return CATALOGUE
