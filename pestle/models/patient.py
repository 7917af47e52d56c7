from datetime import date

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pestle.models.base import Base, HasTimestamps, OwnedByCustomer


class Patient(OwnedByCustomer, HasTimestamps, Base):
    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("customer_id", "external_id"),
        Index(None, "customer_id", "last_name"),
        Index(None, "customer_id", "date_of_birth"),
    )

    external_id: Mapped[str | None] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(10))
    date_of_birth: Mapped[date]
    driver_license_number: Mapped[str | None] = mapped_column(String(50))
    driver_license_state: Mapped[str | None] = mapped_column(String(2))
    # The SSN is kept only encrypted (Fernet, key derived from the secret key); responses
    # show the last four digits.
    ssn_ciphertext: Mapped[str | None] = mapped_column(Text)
    ssn_last4: Mapped[str | None] = mapped_column(String(4))
    primary_language: Mapped[str | None] = mapped_column(String(8))
    guardian_name: Mapped[str | None] = mapped_column(String(200))
    guardian_phone: Mapped[str | None] = mapped_column(String(10))
    guardian_email: Mapped[str | None] = mapped_column(String(320))
    guardian_relationship: Mapped[str | None] = mapped_column(String(32))
    height_inches: Mapped[float | None]
    weight_pounds: Mapped[float | None]
    is_smoker: Mapped[bool] = mapped_column(default=False)
    is_diabetic: Mapped[bool] = mapped_column(default=False)
    is_pregnant: Mapped[bool] = mapped_column(default=False)
    receive_sms: Mapped[bool] = mapped_column(default=True)
    receive_email: Mapped[bool] = mapped_column(default=True)
    address_1: Mapped[str | None] = mapped_column(String(200))
    address_2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    zip_code: Mapped[str | None] = mapped_column(String(9))
    country: Mapped[str | None] = mapped_column(String(2))
