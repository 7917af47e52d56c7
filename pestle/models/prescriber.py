"""A prescriber and the rows that only exist inside it: addresses, credentials, restrictions and
state licences (qualifications). One file, because they are one aggregate."""

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pestle.models.base import Base, HasId, HasTimestamps, OwnedByCustomer


class Prescriber(OwnedByCustomer, HasTimestamps, Base):
    __tablename__ = "prescriber"
    __table_args__ = (
        UniqueConstraint("customer_id", "npi"),
        # Staff look a prescriber up by NPI across customers.
        Index(None, "npi"),
    )

    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(10))
    date_of_birth: Mapped[date | None]
    gender: Mapped[str | None] = mapped_column(String(16))
    npi: Mapped[str] = mapped_column(String(10))
    dea: Mapped[str | None] = mapped_column(String(9))
    spi: Mapped[str | None] = mapped_column(String(35))
    driver_license_number: Mapped[str | None] = mapped_column(String(50))
    driver_license_state: Mapped[str | None] = mapped_column(String(2))
    is_active: Mapped[bool] = mapped_column(default=True)
    credential_npi: Mapped[str | None] = mapped_column(String(100))

    # Ordered by id: UUIDv7 ids sort by creation, so lists come back in the order they were sent.
    addresses: Mapped[list["PrescriberAddress"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="PrescriberAddress.id"
    )
    credentials: Mapped[list["PrescriberCredential"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="PrescriberCredential.id"
    )
    restrictions: Mapped[list["PrescriberRestriction"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="PrescriberRestriction.id"
    )
    # Every licence ever recorded, the replaced ones included: they are the history that a
    # verified prescription was checked against.
    qualifications: Mapped[list["Qualification"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Qualification.id"
    )


class PrescriberAddress(HasId, HasTimestamps, Base):
    __tablename__ = "prescriber_address"

    prescriber_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prescriber.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(16))  # practice | mailing | billing
    address_1: Mapped[str] = mapped_column(String(200))
    address_2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    zip_code: Mapped[str] = mapped_column(String(9))
    country: Mapped[str] = mapped_column(String(2), default="US")


class PrescriberCredential(HasId, Base):
    __tablename__ = "prescriber_credential"
    __table_args__ = (UniqueConstraint("prescriber_id", "credential_code"),)

    prescriber_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prescriber.id", ondelete="CASCADE")
    )
    credential_code: Mapped[str] = mapped_column(String(20))


class PrescriberRestriction(HasId, Base):
    """A reference to a restriction of Blend's catalogue, which Pestle does not hold: no FK."""

    __tablename__ = "prescriber_restriction"
    __table_args__ = (UniqueConstraint("prescriber_id", "restriction_id"),)

    prescriber_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prescriber.id", ondelete="CASCADE")
    )
    restriction_id: Mapped[uuid.UUID]


class Qualification(HasId, HasTimestamps, Base):
    """A state licence. A new licence number replaces the record instead of editing it."""

    __tablename__ = "qualification"
    __table_args__ = (
        # At most one active licence per state: a state code in a path names exactly one.
        Index(
            None,
            "prescriber_id",
            "state",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
    )

    prescriber_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prescriber.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(2))
    license_number: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(String(200))
    expiration_date: Mapped[date | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    replaced_at: Mapped[datetime | None]
    replaced_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("qualification.id", ondelete="SET NULL")
    )
