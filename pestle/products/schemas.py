"""The wire shapes of the product catalogue and formulas (blend-api/products-inventory.md §3)."""

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from pestle import models
from pestle.kit.time import RestDatetime
from pestle.products.repository import StockLevel

Kind = Literal["prescription", "non_prescription", "order_material"]
DeaSchedule = Literal["CII", "CIII", "CIV", "CV"]
BudCategory = Literal["non_preserved_aqueous", "preserved_aqueous", "non_aqueous", "solid"]


def _text(max_length: int) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


ProductName = Annotated[str, _text(200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Label = Annotated[str, _text(100)]
UnitToken = Annotated[str, _text(16)]
Sku = Annotated[
    str,
    _text(100),
    Field(description="Unique per customer; generated (e.g. RX-7K2P9QXA) when not sent."),
]
Threshold = Annotated[int, Field(ge=0, description="current_stock below this counts as low stock.")]
# Prices are exact decimals inside Pestle and plain JSON numbers on the wire, as in Blend.
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    PlainSerializer(float, return_type=float, when_used="json-unless-none"),
]
FormulaRef = Annotated[
    Annotated[int, Field(ge=1)] | uuid.UUID,
    Field(
        description=(
            "The formula's integer `number` (Blend's form, e.g. 826271167) or its UUID `id`. "
            "It must be the customer's own formula or a pharmacy-wide one."
        )
    ),
]

IGNORED = "Derived from the product's lots: ignored when sent."


class ProductWrite(BaseModel):
    """Fields every kind accepts. Unknown fields are refused; the derived stock figures
    (``current_stock``, ``has_inventory``) are accepted and ignored, as the contract asks."""

    model_config = ConfigDict(extra="forbid")

    name: ProductName | None = None
    description: Description | None = None
    category: Label | None = None
    sku: Sku | None = None
    reorder_threshold: Threshold | None = None
    current_stock: Any = Field(None, exclude=True, description=IGNORED)
    has_inventory: Any = Field(None, exclude=True, description=IGNORED)


class _Sellable(ProductWrite):
    form: Label | None = None
    is_active: bool | None = None
    price: Money | None = None
    unit_count: Annotated[int, Field(ge=0)] | None = None
    unit_type: UnitToken | None = None


class _PrescriptionFields(_Sellable):
    product_code: Label | None = Field(
        None, description="The customer's code for matching e-prescriptions; unique per customer."
    )
    formula_id: FormulaRef | None = None
    is_controlled_substance: bool | None = None
    dea_schedule: DeaSchedule | None = Field(
        None,
        description="Required when is_controlled_substance is true, refused when it is false.",
    )
    strength: Label | None = None
    label_orientation: Literal["portrait", "landscape"] | None = None


class _OrderMaterialFields(ProductWrite):
    is_global: bool | None = Field(
        None,
        description=(
            "true: a pharmacy-wide material every customer sees; only pharmacy staff create "
            "them (and create nothing else). Customers' materials are false. Fixed once created."
        ),
    )


# Fields a product must always have: an update may change them but not clear them.
REQUIRED_FIELDS = (
    "name",
    "sku",
    "reorder_threshold",
    "is_active",
    "is_controlled_substance",
    "is_global",
)

_PRESCRIPTION_EXAMPLE: dict[str, Any] = {
    "name": "Mupirocin",
    "description": "A topical cream that is used to treat skin infections.",
    "product_code": "SUPERSPRAY15",
    "category": "topicals",
    "form": "cream",
    "formula_id": 826271167,
    "is_active": True,
    "is_controlled_substance": False,
    "price": 120,
    "strength": "1%",
}
_NON_PRESCRIPTION_EXAMPLE: dict[str, Any] = {
    "name": "Krill Farms Fish Oil",
    "description": "A fish oil supplement complementary to prescribed products.",
    "category": "nutrition",
    "form": "liquid",
    "is_active": True,
    "price": 39.99,
    "unit_count": 1000,
    "unit_type": "ml",
}
_ORDER_MATERIAL_EXAMPLE: dict[str, Any] = {
    "name": "Referral Brochure",
    "description": "Customer brochure included in every shipment.",
    "category": "marketing",
    "is_global": False,
}
_READ_EXAMPLE_BASE: dict[str, Any] = {
    "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
    "created_at": "2025-03-15T12:00:00Z",
    "updated_at": "2025-03-15T12:00:00Z",
    "current_stock": 927,
    "reorder_threshold": 100,
    "has_inventory": True,
    "sku": "1234567890",
}


class PrescriptionProductCreate(_PrescriptionFields):
    model_config = ConfigDict(json_schema_extra={"example": _PRESCRIPTION_EXAMPLE})

    name: ProductName
    is_active: bool = True
    is_controlled_substance: bool = False
    reorder_threshold: Threshold = 0


class PrescriptionProductUpdate(_PrescriptionFields):
    """Only the fields sent change; ``null`` clears an optional field."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"name": "Mupirocin", "sku": "MY-SKU_1234567890", "product_code": "X15"}
        }
    )


class NonPrescriptionProductCreate(_Sellable):
    model_config = ConfigDict(json_schema_extra={"example": _NON_PRESCRIPTION_EXAMPLE})

    name: ProductName
    is_active: bool = True
    reorder_threshold: Threshold = 0


class NonPrescriptionProductUpdate(_Sellable):
    """Only the fields sent change; ``null`` clears an optional field."""

    model_config = ConfigDict(json_schema_extra={"example": {"price": 89.99}})


class OrderMaterialCreate(_OrderMaterialFields):
    model_config = ConfigDict(json_schema_extra={"example": _ORDER_MATERIAL_EXAMPLE})

    name: ProductName
    reorder_threshold: Threshold = 0


class OrderMaterialUpdate(_OrderMaterialFields):
    """Only the fields sent change; ``null`` clears an optional field."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"name": "December advertising postcard", "sku": "DEC_1"}}
    )


class ProductView(NamedTuple):
    """A stored product with what is derived on read."""

    product: models.Product
    stock: StockLevel
    formula_number: int | None = None


class ProductRead(BaseModel):
    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    current_stock: int = Field(
        description=(
            "Units the product's lots can still supply: the sum over its associated lots that "
            "are active and not expired of floor(current_quantity / units_per_product)."
        )
    )
    reorder_threshold: int
    has_inventory: bool = Field(
        description=(
            "At least one active, unexpired lot is associated with the product (even one "
            "with nothing left; current_stock says how much). Lots that are inactive or "
            "expired do not count, unlike Blend's 'any lot associated'."
        )
    )
    sku: str
    name: str
    description: str | None
    category: str | None

    @model_validator(mode="before")
    @classmethod
    def _from_view(cls, data: Any) -> Any:
        if not isinstance(data, ProductView):
            return data
        product = data.product
        columns = {c.key: getattr(product, c.key) for c in models.Product.__table__.columns}
        return {
            **columns,
            "current_stock": data.stock.current_stock,
            "has_inventory": data.stock.has_inventory,
            "formula_id": data.formula_number,
            "formula_uuid": product.formula_id,
        }


class NonPrescriptionProduct(ProductRead):
    model_config = ConfigDict(
        json_schema_extra={"example": {**_READ_EXAMPLE_BASE, **_NON_PRESCRIPTION_EXAMPLE}}
    )

    form: str | None
    is_active: bool
    price: Money | None
    unit_count: int | None
    unit_type: str | None


class PrescriptionProduct(NonPrescriptionProduct):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                **_READ_EXAMPLE_BASE,
                **_PRESCRIPTION_EXAMPLE,
                "formula_uuid": "0227d1e5-ba9a-42b5-8fe2-38882aa65709",
                "dea_schedule": None,
                "label_orientation": "portrait",
                "unit_count": None,
                "unit_type": None,
            }
        }
    )

    product_code: str | None
    formula_id: int | None = Field(
        description=(
            "The formula's integer number, the form Blend clients expect (formula ids are "
            "UUIDs: see formula_uuid). Requests may send either form."
        )
    )
    formula_uuid: uuid.UUID | None = Field(description="The formula's UUID id.")
    is_controlled_substance: bool
    dea_schedule: str | None
    strength: str | None
    label_orientation: str | None


class OrderMaterial(ProductRead):
    model_config = ConfigDict(
        json_schema_extra={"example": {**_READ_EXAMPLE_BASE, **_ORDER_MATERIAL_EXAMPLE}}
    )

    is_global: bool


class ProductsByKind(BaseModel):
    """Every product the caller can order, grouped by kind; all three keys always present."""

    prescription: list[PrescriptionProduct]
    non_prescription: list[NonPrescriptionProduct]
    order_material: list[OrderMaterial]


# -- formulas ---------------------------------------------------------------------------------

BEYOND_USE_DAYS: dict[str, int] = {
    "non_preserved_aqueous": 14,
    "preserved_aqueous": 35,
    "non_aqueous": 90,
    "solid": 180,
}
REFRIGERATED = "refrigerated"
ROOM_TEMPERATURE = "controlled room temperature"


def storage_for(category: str) -> str:
    return REFRIGERATED if category == "non_preserved_aqueous" else ROOM_TEMPERATURE


Quantity = Annotated[
    Decimal,
    Field(gt=0, max_digits=14, decimal_places=4),
    PlainSerializer(float, return_type=float, when_used="json-unless-none"),
]
CodeList = Annotated[list[Annotated[str, _text(40)]], Field(max_length=200)]


class IngredientIn(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    material: Annotated[str, _text(200)] = Field(
        description="The kind of material lot this is drawn from, e.g. 'mupirocin USP powder'."
    )
    quantity_per_unit: Quantity = Field(description="How much one unit of product uses.")
    unit: UnitToken = Field(examples=["mg"])


_FORMULA_EXAMPLE: dict[str, Any] = {
    "name": "Test Formula",
    "description": "Test formula for automated testing",
    "allergen_snomeds": ["32675", "70813002"],
    "allergen_scdgs": ["1165648", "1160157"],
    "medication_scdgs": ["1156982"],
    "ingredients": [{"material": "mupirocin USP powder", "quantity_per_unit": 0.3, "unit": "g"}],
    "bud_category": "non_aqueous",
}


class FormulaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": _FORMULA_EXAMPLE})

    name: ProductName
    description: Description | None = None
    allergen_snomeds: CodeList = []
    allergen_scdgs: CodeList = []
    medication_scdgs: CodeList = []
    ingredients: Annotated[list[IngredientIn], Field(max_length=100)] = []
    bud_category: BudCategory = Field(
        "non_aqueous", description="USP <795> category; sets beyond_use_days and storage."
    )


class FormulaView(NamedTuple):
    formula: models.Formula
    ingredients: list[models.FormulaIngredient]


class Formula(BaseModel):
    """A formula. Created by pharmacy staff it is pharmacy-wide; by a customer, the
    customer's own. ``number`` is the integer products show as their ``formula_id``."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
                "number": 826271167,
                "created_at": "2025-03-15T12:00:00Z",
                "updated_at": "2025-03-15T12:00:00Z",
                **_FORMULA_EXAMPLE,
                "beyond_use_days": 90,
                "storage": ROOM_TEMPERATURE,
            }
        }
    )

    id: uuid.UUID
    number: int
    created_at: RestDatetime
    updated_at: RestDatetime
    name: str
    description: str | None
    allergen_snomeds: list[str]
    allergen_scdgs: list[str]
    medication_scdgs: list[str]
    ingredients: list[IngredientIn]
    bud_category: str
    beyond_use_days: int = Field(description="Days from compounding (USP <795>).")
    storage: str = Field(description="'refrigerated' or 'controlled room temperature'.")

    @model_validator(mode="before")
    @classmethod
    def _from_view(cls, data: Any) -> Any:
        if not isinstance(data, FormulaView):
            return data
        formula = data.formula
        columns = {c.key: getattr(formula, c.key) for c in models.Formula.__table__.columns}
        return {
            **columns,
            "ingredients": data.ingredients,
            "beyond_use_days": BEYOND_USE_DAYS[formula.bud_category],
            "storage": storage_for(formula.bud_category),
        }
