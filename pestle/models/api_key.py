import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pestle.kit.time import utcnow
from pestle.models.base import Base, OwnedByCustomer


class ApiKey(OwnedByCustomer, Base):
    """A long-lived machine credential that acts as the customer user who created it."""

    __tablename__ = "api_key"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the secret, kept so people can tell their keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the whole secret: the secret is random and long, so a slow hash adds nothing.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
