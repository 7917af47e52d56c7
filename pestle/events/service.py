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
    event = models.OutboxEvent(
        customer_id=customer_id, event_code=event_code, data=webhook_object(data)
    )
    return await OutboxRepository(session, customer_id).add(event)


def catalogue() -> tuple[EventType, ...]:
    return CATALOGUE
