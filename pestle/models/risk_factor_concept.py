import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from pestle.models.base import Base, HasId


class RiskFactorConcept(HasId, Base):
    """A canonical allergy, condition or medication that patients' risk factors map to.

    Shared by every customer: the built-in vocabulary ships with Pestle, and a full RxNorm
    release can be loaded beside it (``pestle vocab load``).
    """

    __tablename__ = "risk_factor_concept"
    __table_args__ = (Index(None, "type", "source", "name"), Index(None, "rxcui"))

    type: Mapped[str] = mapped_column(String(16))  # allergy | condition | medication
    name: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(16))  # pestle | rxnorm
    rxcui: Mapped[str | None] = mapped_column(String(16))
    # RxNorm term type of the concept's own name: IN, SCD, SBD, SCDF, SCDG, BN, ...
    tty: Mapped[str | None] = mapped_column(String(16))
    # For allergens: penicillins, sulfonamides, food, excipient, dye, ...
    allergen_class: Mapped[str | None] = mapped_column(String(100))
    brand_name: Mapped[str | None] = mapped_column(String(500))
    ingredient_name: Mapped[str | None] = mapped_column(String(500))
    ingredient_rxcui: Mapped[str | None] = mapped_column(String(16))
    product_rxcui: Mapped[str | None] = mapped_column(String(16))
    clinical_product_rxcui: Mapped[str | None] = mapped_column(String(16))
    scdf_name: Mapped[str | None] = mapped_column(String(500))
    scdf_rxcui: Mapped[str | None] = mapped_column(String(16))
    scdg_name: Mapped[str | None] = mapped_column(String(500))
    scdg_rxcui: Mapped[str | None] = mapped_column(String(16))
    normalization_key: Mapped[str | None] = mapped_column(String(100))


class RiskFactorConceptName(HasId, Base):
    """One name a concept is known by (its own, or a synonym), normalised for lookup."""

    __tablename__ = "risk_factor_concept_name"
    __table_args__ = (Index(None, "normalized"),)

    concept_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("risk_factor_concept.id", ondelete="CASCADE"), index=True
    )
    normalized: Mapped[str] = mapped_column(String(500))
    is_synonym: Mapped[bool] = mapped_column(default=False)
