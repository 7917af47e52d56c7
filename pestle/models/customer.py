from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from pestle.models.base import Base, HasId, HasTimestamps


class Customer(HasId, HasTimestamps, Base):
    """A telehealth brand or clinic: the tenant that owns patients, orders and the rest."""

    __tablename__ = "customer"

    name: Mapped[str] = mapped_column(String(200), unique=True)
