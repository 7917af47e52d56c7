from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from pestle.kit.time import utcnow
from pestle.models.base import Base, OwnedByCustomer


class OutboxEvent(OwnedByCustomer, Base):
    """An event written in the same transaction as the change it reports; the worker sends it."""

    __tablename__ = "outbox_event"
    # Only events still to fan out, which are few, in the worker's two questions: the oldest
    # ones (fan-out) and an earlier event of the same resource (ordering, at every claim).
    __table_args__ = (
        Index(
            "ix_outbox_event_unfanned",
            "created_at",
            "id",
            postgresql_where=text("fanned_out_at IS NULL"),
            sqlite_where=text("fanned_out_at IS NULL"),
        ),
        Index(
            "ix_outbox_event_unfanned_resource",
            "resource_key",
            "sequence",
            postgresql_where=text("fanned_out_at IS NULL"),
            sqlite_where=text("fanned_out_at IS NULL"),
        ),
    )

    event_code: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The resource the event is about (`order:<id>`) and its number among that resource's
    # events, in commit order: receivers order by it.
    resource_key: Mapped[str | None] = mapped_column(String(80))
    sequence: Mapped[int | None]
    # Set once the worker has made the event's deliveries (one per matching subscription).
    fanned_out_at: Mapped[datetime | None]
