from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from pestle.kit.time import utcnow
from pestle.models.base import Base, HasId


class LoginFailure(HasId, Base):
    """One failed login, kept for throttling; the email is stored only as a digest."""

    __tablename__ = "login_failure"
    __table_args__ = (Index(None, "email_digest", "failed_at"),)

    email_digest: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)
