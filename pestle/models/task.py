"""Tasks: internal work items tied to an order, patient or prescription, with an assignee and
watchers. Some are opened by Pestle itself (a stuck order, a product low on stock)."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pestle.models.base import Base, HasId, HasTimestamps

# Blend shows T01 "Order" and the code T06; the rest of the list is Pestle's.
TASK_CATEGORIES = {
    "T01": "Order",
    "T02": "Patient",
    "T03": "Prescription",
    "T04": "Inventory",
    "T05": "Shipping",
    "T06": "General",
}
TASK_STATUSES = {
    "NEW": "New",
    "IN_PROGRESS": "In Progress",
    "COMPLETED": "Completed",
    "CANCELLED": "Cancelled",
}


def _in(column: str, values: dict[str, str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Task(HasId, HasTimestamps, Base):
    """``customer_id`` is the customer the task is about; None for the pharmacy's own tasks
    (e.g. a global product low on stock), which only pharmacy staff see. ``source_key`` names
    what opened an automatic task (``stuck:<order id>``, ``low_stock:<product id>``), so that
    one cause opens one task while it is open."""

    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint(_in("category_code", TASK_CATEGORIES), name="category_code"),
        CheckConstraint(_in("status_code", TASK_STATUSES), name="status_code"),
        Index(None, "customer_id", "status_code"),
        Index(None, "assignee_id", "status_code"),
        Index(None, "source_key"),
    )

    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(String(8))
    status_code: Mapped[str] = mapped_column(String(16), default="NEW")
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("order.id", ondelete="CASCADE"), index=True
    )
    patient_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    prescription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("prescription.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    completed_at: Mapped[datetime | None]
    source_key: Mapped[str | None] = mapped_column(String(120))


class TaskWatcher(Base):
    __tablename__ = "task_watcher"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("task.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
