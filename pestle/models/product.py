import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pestle.kit.time import utcnow
from pestle.models.base import Base, HasId, HasTimestamps

PRODUCT_KINDS = ("prescription", "non_prescription", "order_material")
DEA_SCHEDULES = ("CII", "CIII", "CIV", "CV")
BUD_CATEGORIES = ("non_preserved_aqueous", "preserved_aqueous", "non_aqueous", "solid")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Formula(HasId, HasTimestamps, Base):
    """What a prescription product is compounded from, and how long it keeps (USP <795>)."""

    __tablename__ = "formula"
    __table_args__ = (CheckConstraint(_in("bud_category", BUD_CATEGORIES), name="bud_category"),)

    # Null for a pharmacy-wide formula, which every customer may use.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    # Blend shows formula_id as an integer on products: the number is that form.
    number: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    allergen_snomeds: Mapped[list[str]] = mapped_column(JSON, default=list)
    allergen_scdgs: Mapped[list[str]] = mapped_column(JSON, default=list)
    medication_scdgs: Mapped[list[str]] = mapped_column(JSON, default=list)
    bud_category: Mapped[str] = mapped_column(String(32), default="non_aqueous")


class FormulaIngredient(HasId, Base):
    __tablename__ = "formula_ingredient"

    formula_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("formula.id", ondelete="CASCADE"), index=True
    )
    # The kind of material lot this ingredient is drawn from, e.g. "mupirocin USP powder".
    material: Mapped[str] = mapped_column(String(200))
    quantity_per_unit: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(default=0)


class Product(HasId, HasTimestamps, Base):
    """A prescription product, a non-prescription product or an order material (``kind``)."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint(_in("kind", PRODUCT_KINDS), name="kind"),
        CheckConstraint(
            f"dea_schedule IS NULL OR {_in('dea_schedule', DEA_SCHEDULES)}", name="dea_schedule"
        ),
        CheckConstraint(
            "label_orientation IS NULL OR label_orientation IN ('portrait', 'landscape')",
            name="label_orientation",
        ),
        # Only global order materials belong to no customer.
        CheckConstraint("customer_id IS NOT NULL OR is_global", name="owned_unless_global"),
        Index(None, "customer_id", "sku", unique=True),
        Index(None, "customer_id", "kind", "product_code", unique=True),
    )

    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))
    sku: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # Unique per customer among prescription products (kind is part of the unique index).
    product_code: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(100))
    form: Mapped[str | None] = mapped_column(String(100))
    formula_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("formula.id", ondelete="SET NULL")
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    is_controlled_substance: Mapped[bool] = mapped_column(default=False)
    dea_schedule: Mapped[str | None] = mapped_column(String(4))
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    strength: Mapped[str | None] = mapped_column(String(100))
    label_orientation: Mapped[str | None] = mapped_column(String(16))
    unit_count: Mapped[int | None]
    unit_type: Mapped[str | None] = mapped_column(String(16))
    reorder_threshold: Mapped[int] = mapped_column(default=0)
    is_global: Mapped[bool] = mapped_column(default=False)
    # Set when stock fell below reorder_threshold, cleared when it rose again: low-stock
    # events fire once per crossing.
    is_low_stock: Mapped[bool] = mapped_column(default=False)


class InventoryLot(HasId, HasTimestamps, Base):
    """A physical batch of stock the pharmacy received."""

    __tablename__ = "inventory_lot"
    __table_args__ = (
        CheckConstraint(_in("type", PRODUCT_KINDS), name="type"),
        CheckConstraint("current_quantity >= 0", name="current_quantity_not_negative"),
        CheckConstraint("initial_quantity >= 0", name="initial_quantity_not_negative"),
        Index(None, "expiration_date"),
    )

    # The customer that recorded the lot; null for the pharmacy's own stock.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(20))
    batch_number: Mapped[str | None] = mapped_column(String(100))
    manufacturer: Mapped[str | None] = mapped_column(String(200))
    mpn: Mapped[str | None] = mapped_column(String(100))
    upc: Mapped[str | None] = mapped_column(String(32))
    cost_per_unit: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    initial_quantity: Mapped[int]
    current_quantity: Mapped[int]
    unit_type: Mapped[str] = mapped_column(String(16))
    # Blend shows these zone-less with microseconds; they are UTC instants.
    received_date: Mapped[datetime] = mapped_column(default=utcnow)
    expiration_date: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    # NDC segments (labeler-product-package) as printed, and the GS1 GTIN-14.
    ndc_labeler: Mapped[str | None] = mapped_column(String(5))
    ndc_product: Mapped[str | None] = mapped_column(String(4))
    ndc_package: Mapped[str | None] = mapped_column(String(2))
    gtin: Mapped[str | None] = mapped_column(String(14), index=True)


class LotAssociation(HasId, Base):
    """A lot feeding a product: one unit of the product uses ``units_per_product`` of the lot."""

    __tablename__ = "lot_association"
    __table_args__ = (
        Index(None, "lot_id", "product_id", unique=True),
        Index(None, "product_id"),
        CheckConstraint("units_per_product > 0", name="units_per_product_positive"),
    )

    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inventory_lot.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    units_per_product: Mapped[int]


class LotAdjustment(HasId, Base):
    """One change of a lot's quantity; the ledger always sums to the lot's quantity."""

    __tablename__ = "lot_adjustment"
    __table_args__ = (Index(None, "lot_id", "id"),)

    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inventory_lot.id", ondelete="CASCADE"))
    delta: Mapped[int]
    resulting_quantity: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
