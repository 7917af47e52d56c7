"""An order, its product lines, the lots each line used, its status history and shipments."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pestle.kit.ids import new_id
from pestle.kit.time import utcnow
from pestle.models.base import Base, HasId, HasTimestamps, OwnedByCustomer

# DESIGN.md §3; the names and the transition table live in pestle.orders.statuses.
ORDER_STATUS_CODES = ("N01", "H01", "P01", "P02", "P03", "P04", "S01", "S02", "S03", "X01")
STUCK_REASONS = (
    "too_early_to_fill",
    "missing_prescription",
    "no_refills_or_expired",
    "needs_clarification",
)
SHIPMENT_STATUSES = ("shipped", "delivered")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Order(OwnedByCustomer, HasTimestamps, Base):
    __tablename__ = "order"
    __table_args__ = (
        CheckConstraint(_in("status_code", ORDER_STATUS_CODES), name="status_code"),
        CheckConstraint(
            f"stuck_reason IS NULL OR {_in('stuck_reason', STUCK_REASONS)}", name="stuck_reason"
        ),
        UniqueConstraint("customer_id", "external_id"),
        Index(None, "customer_id", "status_code"),
        Index(None, "patient_id", "status_code"),
        Index(None, "status_code", "stuck_reason"),
    )

    order_number: Mapped[str] = mapped_column(String(20), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(200))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"))
    status_code: Mapped[str] = mapped_column(String(3), default="N01")
    # When the current status was entered: the duration of the last history row.
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The ship-to address; the contract gives the address its own id.
    address_id: Mapped[uuid.UUID] = mapped_column(default=new_id)
    address_1: Mapped[str] = mapped_column(String(200))
    address_2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    zip_code: Mapped[str] = mapped_column(String(9))
    country: Mapped[str] = mapped_column(String(2), default="US")
    # Null carrier with a service level: the pharmacy picks the carrier when shipping.
    shipping_carrier: Mapped[str | None] = mapped_column(String(16))
    shipping_service_level: Mapped[str | None] = mapped_column(String(40))
    custom_shipping: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The eRx ids the caller named as belonging to this order (hints for matching lines).
    electronic_prescription_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority_requested: Mapped[bool] = mapped_column(default=False)
    cancellation_requested: Mapped[bool] = mapped_column(default=False)
    cancellation_comments: Mapped[str | None] = mapped_column(Text)
    cancellation_requested_at: Mapped[datetime | None]
    is_replacement: Mapped[bool] = mapped_column(default=False)
    original_order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("order.id", ondelete="SET NULL")
    )
    replacement_reason: Mapped[str | None] = mapped_column(Text)
    replacement_request_status: Mapped[str | None] = mapped_column(String(16))
    # Not a status: why the order cannot go on, set and cleared by the stuck scan.
    stuck_reason: Mapped[str | None] = mapped_column(String(32))
    stuck_detail: Mapped[str | None] = mapped_column(Text)
    stuck_since: Mapped[datetime | None]
    stuck_resolves_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )


class OrderLine(HasId, HasTimestamps, Base):
    """One product on an order; the same product may appear on two lines."""

    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index(None, "order_id", "id"),
        Index(None, "product_id"),
        Index(None, "prescription_id"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product.id"))
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    # The prescription this line is filled against: linked when one is usable, its fill
    # used at data verification.
    prescription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("prescription.id", ondelete="SET NULL")
    )
    prescription_fill_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("prescription_fill.id", ondelete="SET NULL")
    )
    compounded_at: Mapped[datetime | None]
    beyond_use_date: Mapped[datetime | None]


class OrderLineLot(HasId, Base):
    """Stock a line was compounded from: product units drawn from one lot."""

    __tablename__ = "order_line_lot"
    __table_args__ = (Index(None, "order_line_id"), Index(None, "lot_id"))

    order_line_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("order_line.id", ondelete="CASCADE")
    )
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inventory_lot.id"))
    product_units: Mapped[int]
    lot_units: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderStatusChange(HasId, Base):
    """One status an order entered: who moved it, when, and what they recorded."""

    __tablename__ = "order_status_change"
    __table_args__ = (Index(None, "order_id", "entered_at"),)

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"))
    status_code: Mapped[str] = mapped_column(String(3))
    previous_status_code: Mapped[str | None] = mapped_column(String(3))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    # A pharmacist's reason for going on despite the clinical conflicts listed beside it.
    override_reason: Mapped[str | None] = mapped_column(Text)
    conflicts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class Shipment(OwnedByCustomer, HasTimestamps, Base):
    __tablename__ = "shipment"
    __table_args__ = (
        CheckConstraint(_in("status", SHIPMENT_STATUSES), name="status"),
        Index(None, "order_id"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"))
    carrier: Mapped[str] = mapped_column(String(16))
    service_level: Mapped[str] = mapped_column(String(40))
    tracking_number: Mapped[str] = mapped_column(String(64))
    tracking_url: Mapped[str | None] = mapped_column(String(2000))
    estimated_delivery_date: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="shipped")
    shipped_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
