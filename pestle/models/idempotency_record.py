from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pestle.kit.time import utcnow
from pestle.models.base import Base, HasId


class IdempotencyRecord(HasId, Base):
    """A POST made under an ``Idempotency-Key``, and the response it got once it finished."""

    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("owner", "key"),
        Index(None, "created_at"),
    )

    # Whose key it is: ``user:<id>`` or ``api_key:<id>``; two callers never share keys.
    owner: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and body: a retry must be the same request.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Null while the first request is still running.
    status_code: Mapped[int | None]
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
