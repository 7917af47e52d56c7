"""Barcodes issued for entities (staff users, orders, patients, prescriptions, products, lots):
the value a scanner reads resolves to the entity it was issued for."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from pestle.kit.time import utcnow
from pestle.models.base import Base, HasId

BARCODE_ENTITY_TYPES = (
    "user",
    "order",
    "patient",
    "prescription",
    "prescription_product",
    "non_prescription_product",
    "order_material",
    "inventory",
)


class Barcode(HasId, Base):
    """``customer_id`` is the entity's customer; None for what belongs to the pharmacy (staff
    users, global products and lots), which only pharmacy staff see."""

    __tablename__ = "barcode"
    __table_args__ = (
        CheckConstraint(
            f"entity_type IN ({', '.join(repr(kind) for kind in BARCODE_ENTITY_TYPES)})",
            name="entity_type",
        ),
        Index(None, "entity_type", "entity_id"),
    )

    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID]
    barcode_value: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    deactivated_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
