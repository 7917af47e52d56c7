"""The wire shapes of the Inventory area (blend-api/products-inventory.md §3.5-§3.7, §5)."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from pestle.kit.ndc import Gtin, Ndc
from pestle.kit.time import RestDatetime, as_utc

ProductKind = Literal["prescription", "non_prescription", "order_material"]
KINDS: tuple[ProductKind, ...] = ("prescription", "non_prescription", "order_material")
AdjustmentReason = Literal[
    "received", "dispensed", "damaged", "expired", "recount", "returned", "correction"
]


def lot_format(value: datetime) -> str:
    """Blend's lot dates: zone-less UTC, microseconds only when there are some
    (``2025-01-01T00:00:00``, ``2025-01-01T18:21:45.371623``)."""
    return as_utc(value).replace(tzinfo=None).isoformat()


LotDatetime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(lot_format, return_type=str, when_used="json-unless-none"),
    Field(description="UTC; sent with or without a zone, returned without one."),
]
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=4),
    PlainSerializer(float, return_type=float, when_used="json-unless-none"),
]
Quantity = Annotated[int, Field(ge=0, le=2_000_000_000)]
UnitsPerProduct = Annotated[
    int, Field(gt=0, le=2_000_000_000, description="Lot units one product unit uses.")
]
UnitType = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=16, pattern=r"^\S+$"),
    Field(description="The unit of the lot's quantities, e.g. mg, g, mcg, ml, each."),
]
Code = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Upc = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
Manufacturer = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Notes = Annotated[str, StringConstraints(max_length=4000)]

_LOT_EXAMPLE: dict[str, Any] = {
    "batch_number": "1234567890",
    "cost_per_unit": 2.49,
    "current_quantity": 80,
    "expiration_date": "2025-01-01T00:00:00",
    "is_active": True,
    "manufacturer": "Krill Farms",
    "mpn": "KF1234567890",
    "notes": "This batch was received as a replacement to batch 817",
    "received_date": "2025-01-01T18:21:45.371623",
    "unit_type": "mg",
    "upc": "7-12345-67890-4",
    "type": "non_prescription",
    "initial_quantity": 100,
}
_ASSOCIATION_EXAMPLE: dict[str, Any] = {
    "customer": "Health First Telemedicine Clinic",
    "customer_id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
    "name": "Special Blend Product",
    "product_id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
    "units_per_product": 100,
}
_STORED_EXAMPLE: dict[str, Any] = {
    "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
    "created_at": "2025-03-15T12:00:00Z",
    "updated_at": "2025-03-15T12:00:00Z",
    **_LOT_EXAMPLE,
    "ndc": None,
    "ndc_11": None,
    "gtin": None,
}


class LotFields(BaseModel):
    """What describes a lot, as sent; quantities are the subclasses' business."""

    batch_number: Code | None = None
    manufacturer: Manufacturer | None = None
    mpn: Code | None = None
    upc: Upc | None = None
    cost_per_unit: Money | None = None
    unit_type: UnitType
    received_date: LotDatetime | None = Field(None, description="Defaults to now.")
    expiration_date: LotDatetime | None = None
    notes: Notes | None = None
    is_active: bool = True
    ndc: Ndc | None = None
    gtin: Gtin | None = None


class Quantities(BaseModel):
    initial_quantity: Quantity | None = Field(
        None, description="Quantity received; defaults to current_quantity."
    )
    current_quantity: Quantity | None = Field(
        None, description="Quantity on hand; defaults to initial_quantity."
    )

    @model_validator(mode="after")
    def _one_quantity_at_least(self) -> Self:
        if self.initial_quantity is None and self.current_quantity is None:
            raise ValueError("initial_quantity or current_quantity is required")
        if self.initial_quantity is None:
            self.initial_quantity = self.current_quantity
        if self.current_quantity is None:
            self.current_quantity = self.initial_quantity
        return self


class AssociationIn(BaseModel):
    """A link from a lot to a product."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "product_id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
                "type": "prescription",
                "units_per_product": 100,
            }
        }
    )

    product_id: uuid.UUID
    type: ProductKind | None = Field(
        None, description="The product's kind; optional, checked when sent."
    )
    units_per_product: UnitsPerProduct


def _distinct_products(items: list[AssociationIn]) -> list[AssociationIn]:
    ids = [item.product_id for item in items]
    repeated = sorted({str(i) for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"a product is linked once; {', '.join(repeated)} appears more than once")
    return items


class LotCreate(Quantities, LotFields):
    """A received lot, optionally linked to several products at once."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                **_LOT_EXAMPLE,
                "associations": [
                    {"product_id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708", "units_per_product": 100}
                ],
            }
        }
    )

    type: ProductKind
    associations: Annotated[
        list[AssociationIn], Field(max_length=100), AfterValidator(_distinct_products)
    ] = []


class ProductLotCreate(Quantities, LotFields):
    """A lot received for one product, linked to it."""

    model_config = ConfigDict(
        json_schema_extra={"example": {**_LOT_EXAMPLE, "units_per_product": 100}}
    )

    type: ProductKind | None = Field(None, description="Defaults to the kind in the path.")
    units_per_product: UnitsPerProduct


class LotUpdate(BaseModel):
    """A partial update: only the fields sent change. ``current_quantity`` changes through
    ``PATCH .../quantity`` only, so that every change is in the ledger."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"expiration_date": "2026-06-30T00:00:00", "notes": "Expiry corrected"}
        }
    )

    batch_number: Code | None = None
    manufacturer: Manufacturer | None = None
    mpn: Code | None = None
    upc: Upc | None = None
    cost_per_unit: Money | None = None
    unit_type: UnitType | None = None
    received_date: LotDatetime | None = None
    expiration_date: LotDatetime | None = None
    notes: Notes | None = None
    is_active: bool | None = None
    type: ProductKind | None = None
    initial_quantity: Quantity | None = None
    ndc: Ndc | None = None
    gtin: Gtin | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_current_quantity(cls, data: Any) -> Any:
        if isinstance(data, dict) and "current_quantity" in data:
            raise ValueError(
                "current_quantity cannot be set here; change it with "
                "PATCH /products/inventory/{lot_id}/quantity"
            )
        return data


# Fields a partial update may not clear.
REQUIRED_FIELDS = ("unit_type", "received_date", "is_active", "type", "initial_quantity")


class QuantityAdjustment(BaseModel):
    """A signed change of the lot's on-hand quantity."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"additional_quantity": 100, "reason": "received", "note": "PO 4471"}
        }
    )

    additional_quantity: Annotated[
        int, Field(ge=-2_000_000_000, le=2_000_000_000, description="Non-zero; negative removes.")
    ]
    reason: AdjustmentReason | None = None
    note: Notes | None = None

    @model_validator(mode="after")
    def _not_zero(self) -> Self:
        if self.additional_quantity == 0:
            raise ValueError("additional_quantity must not be 0")
        return self


class Association(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _ASSOCIATION_EXAMPLE})

    customer: str | None = Field(description="The product's customer; null for a global one.")
    customer_id: uuid.UUID | None
    name: str
    product_id: uuid.UUID
    units_per_product: int


class AssociationsByType(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "prescription": [_ASSOCIATION_EXAMPLE],
                "non_prescription": [],
                "order_material": [],
            }
        }
    )

    prescription: list[Association] = []
    non_prescription: list[Association] = []
    order_material: list[Association] = []


class StoredLot(BaseModel):
    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    batch_number: str | None
    cost_per_unit: Money | None
    current_quantity: int
    initial_quantity: int
    expiration_date: LotDatetime | None
    received_date: LotDatetime
    is_active: bool
    manufacturer: str | None
    mpn: str | None
    notes: str | None
    unit_type: str
    upc: str | None
    type: ProductKind
    ndc: str | None = Field(description="The 10-digit NDC as printed, hyphenated.")
    ndc_11: str | None = Field(description="The 11-digit 5-4-2 NDC, zero-padded, no hyphens.")
    gtin: str | None = Field(description="GTIN-14.")


_INVENTORY_LOT_EXAMPLE: dict[str, Any] = {
    **_STORED_EXAMPLE,
    "associations": {
        "prescription": [],
        "non_prescription": [_ASSOCIATION_EXAMPLE],
        "order_material": [],
    },
}


class InventoryLot(StoredLot):
    """A lot with the products it feeds, grouped by kind."""

    model_config = ConfigDict(json_schema_extra={"example": _INVENTORY_LOT_EXAMPLE})

    associations: AssociationsByType


class ProductLot(StoredLot):
    """A lot seen from one product: with that product's units_per_product."""

    model_config = ConfigDict(
        json_schema_extra={"example": {**_STORED_EXAMPLE, "units_per_product": 100}}
    )

    units_per_product: int


class InventoryByType(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "non_prescription": [_INVENTORY_LOT_EXAMPLE],
                "prescription": [],
                "order_material": [],
            }
        }
    )

    prescription: list[InventoryLot] = []
    non_prescription: list[InventoryLot] = []
    order_material: list[InventoryLot] = []


class Adjustment(BaseModel):
    """One entry of a lot's ledger: the entries sum to its current_quantity."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lot_id: uuid.UUID
    delta: int
    resulting_quantity: int
    reason: str | None
    note: str | None
    user_id: uuid.UUID | None
    created_at: RestDatetime


class Message(BaseModel):
    message: str
