import uuid
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pestle.models.base import Base, HasId, HasTimestamps


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    PHARMACY_ADMIN = "pharmacy_admin"
    PHARMACIST = "pharmacist"
    TECHNICIAN = "technician"

    @property
    def is_staff(self) -> bool:
        return self in STAFF_ROLES


CUSTOMER_ROLES = frozenset({Role.ADMIN, Role.MEMBER})
STAFF_ROLES = frozenset({Role.PHARMACY_ADMIN, Role.PHARMACIST, Role.TECHNICIAN})

_ROLE_LIST = ", ".join(f"'{role.value}'" for role in Role)
_STAFF_LIST = ", ".join(f"'{role.value}'" for role in sorted(STAFF_ROLES))


class User(HasId, HasTimestamps, Base):
    """A person who logs in: a customer's user, or pharmacy staff (no customer)."""

    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint(f"role IN ({_ROLE_LIST})", name="known_role"),
        # Staff belong to the pharmacy, customer users to exactly one customer.
        CheckConstraint(
            f"(role IN ({_STAFF_LIST})) = (customer_id IS NULL)", name="staff_have_no_customer"
        ),
    )

    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="RESTRICT"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(default=True)
