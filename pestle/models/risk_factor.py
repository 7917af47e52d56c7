import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pestle.kit.time import utcnow
from pestle.models.base import Base, HasTimestamps, OwnedByCustomer


class RiskFactorText(OwnedByCustomer, Base):
    """Free-text risk factors exactly as submitted; the mappings parsed from it point here."""

    __tablename__ = "risk_factor_text"

    patient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    allergies: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    medications: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RiskFactorMapping(OwnedByCustomer, HasTimestamps, Base):
    """One allergy, condition or medication of one patient, and what it was matched to."""

    __tablename__ = "risk_factor_mapping"
    __table_args__ = (Index(None, "patient_id", "type", "is_active"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))  # allergy | condition | medication
    risk_factor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("risk_factor_concept.id", ondelete="SET NULL")
    )
    risk_factor_text_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("risk_factor_text.id", ondelete="SET NULL")
    )
    name: Mapped[str | None] = mapped_column(String(500))
    original_name: Mapped[str | None] = mapped_column(String(500))
    text_chunk: Mapped[str | None] = mapped_column(String(500))
    confidence: Mapped[float | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    match_source: Mapped[str] = mapped_column(String(16))  # autocomplete | text | manual
    match_type: Mapped[str | None] = mapped_column(String(16))
    matched: Mapped[bool] = mapped_column(default=False)
    matched_via_synonym: Mapped[bool] = mapped_column(default=False)
    confirmed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    confirmed_at: Mapped[datetime | None]
    brand_name: Mapped[str | None] = mapped_column(String(500))
    clinical_product_rxcui: Mapped[str | None] = mapped_column(String(16))
    ingredient_name: Mapped[str | None] = mapped_column(String(500))
    ingredient_rxcui: Mapped[str | None] = mapped_column(String(16))
    normalization_key: Mapped[str | None] = mapped_column(String(100))
    product_rxcui: Mapped[str | None] = mapped_column(String(16))
    scdf_name: Mapped[str | None] = mapped_column(String(500))
    scdf_rxcui: Mapped[str | None] = mapped_column(String(16))
    scdg_name: Mapped[str | None] = mapped_column(String(500))
    scdg_rxcui: Mapped[str | None] = mapped_column(String(16))
