from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from pestle.kit.time import utcnow
from pestle.models.base import Base, OwnedByCustomer


class OutboxEvent(OwnedByCustomer, Base):
    """An event written in the same transaction as the change it reports; the worker sends it."""

    __tablename__ = "outbox_event"

    event_code: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
