"""An electronic prescription (the inbound document) and the prescriptions it carries, one per
medication, with the ledger of the fills used."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pestle.kit.time import utcnow
from pestle.models.base import Base, HasId, HasTimestamps, OwnedByCustomer

if TYPE_CHECKING:
    from pestle.models.customer import Customer
    from pestle.models.patient import Patient
    from pestle.models.prescriber import Prescriber
    from pestle.models.product import Product

# Stored statuses; `expired` and `exhausted` are also computed when read (see `current_status`).
PRESCRIPTION_STATUSES = ("new", "active", "on_hold", "expired", "exhausted", "cancelled")


class ElectronicPrescription(OwnedByCustomer, HasTimestamps, Base):
    __tablename__ = "electronic_prescription"

    source: Mapped[str] = mapped_column(String(20))  # api_json | surescripts
    type: Mapped[str] = mapped_column(String(20), default="NewRx")
    content_type: Mapped[str] = mapped_column(String(100))
    # The document exactly as submitted, JSON or SCRIPT XML: what the prescriber sent.
    raw_document: Mapped[str] = mapped_column(Text)
    reference_number: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("patient.id", ondelete="SET NULL"), index=True
    )
    prescriber_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("prescriber.id", ondelete="SET NULL"), index=True
    )
    # The patient block as written on the eRx (identifiers such as an SSN left out).
    patient_block: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The order the eRx was sent for, as referenced; orders come later, so no FK yet.
    order_ref_id: Mapped[str | None] = mapped_column(String(100))
    order_number: Mapped[str | None] = mapped_column(String(30))

    prescriptions: Mapped[list["Prescription"]] = relationship(
        lazy="raise", order_by="Prescription.id", viewonly=True
    )


class Prescription(OwnedByCustomer, HasTimestamps, Base):
    __tablename__ = "prescription"
    __table_args__ = (
        CheckConstraint(
            "status IN ({})".format(", ".join(repr(s) for s in PRESCRIPTION_STATUSES)),
            name="status",
        ),
        CheckConstraint("fills_used >= 0", name="fills_used_not_negative"),
        CheckConstraint("refills >= 0", name="refills_not_negative"),
        Index(None, "customer_id", "prescriber_order_number"),
    )

    electronic_prescription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("electronic_prescription.id", ondelete="CASCADE"), index=True
    )
    # Null until matched: unmatched prescriptions are listed with the `null` filters.
    patient_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("patient.id", ondelete="SET NULL"), index=True
    )
    prescriber_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("prescriber.id", ondelete="SET NULL"), index=True
    )
    prescription_product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("product.id", ondelete="SET NULL"), index=True
    )
    drug_name: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    strength: Mapped[str | None] = mapped_column(String(100))
    product_code: Mapped[str | None] = mapped_column(String(100))
    product_code_type: Mapped[str | None] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    units: Mapped[str] = mapped_column(String(16))
    days_supply: Mapped[int | None]
    refills: Mapped[int] = mapped_column(default=0)
    sig: Mapped[str] = mapped_column(Text)
    directions: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    substitution_allowed: Mapped[bool] = mapped_column(default=True)
    serial_number: Mapped[str | None] = mapped_column(String(35))
    prescriber_order_number: Mapped[str | None] = mapped_column(String(100))
    dea_schedule: Mapped[str | None] = mapped_column(String(4))
    written_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="new")
    fills_used: Mapped[int] = mapped_column(default=0)
    needs_clarification: Mapped[bool] = mapped_column(default=False)
    clarification_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None]

    # Read-only views of the related rows, loaded on demand for `include=all`.
    customer: Mapped["Customer"] = relationship(lazy="raise", viewonly=True)
    electronic_prescription: Mapped[ElectronicPrescription] = relationship(
        lazy="raise", viewonly=True
    )
    patient: Mapped["Patient | None"] = relationship(lazy="raise", viewonly=True)
    prescriber: Mapped["Prescriber | None"] = relationship(lazy="raise", viewonly=True)
    prescription_product: Mapped["Product | None"] = relationship(lazy="raise", viewonly=True)

    @property
    def fills_remaining(self) -> int:
        return max(0, self.refills + 1 - self.fills_used)

    @property
    def current_status(self) -> str:
        """The stored status, unless time or use has since ended the prescription."""
        return self.status_at(utcnow())

    def status_at(self, now: datetime) -> str:
        """The status at ``now``: the stored one unless time or use ended the prescription."""
        if self.status == "cancelled":
            return self.status
        if self.expires_at <= now:
            return "expired"
        if self.fills_remaining == 0:
            return "exhausted"
        return self.status


class PrescriptionFill(HasId, Base):
    """One fill used: the ledger behind `fills_used`."""

    __tablename__ = "prescription_fill"

    prescription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prescription.id", ondelete="CASCADE"), index=True
    )
    # The order line the fill went to; orders come later, so a reference, not a FK.
    order_line_ref: Mapped[str | None] = mapped_column(String(100))
    filled_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
