"""The wire shapes of the Reports area (blend-api/barcoding-reports-search-tasks.md §3)."""

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from pestle.kit.time import RestDatetime

ProductKind = Literal["prescription", "non_prescription", "order_material"]
# Amounts go out as JSON numbers, as on the inventory endpoints.
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json-unless-none")]

_ORDERS_EXAMPLE: dict[str, Any] = {
    "date_range": "2025-01-01 to 2025-01-31",
    "total_orders": 179,
    "orders_by_status": [
        {"status_code": "N01", "status_name": "Received", "count": 23},
        {"status_code": "P01", "status_name": "Data Entry", "count": 19},
        {"status_code": "S01", "status_name": "Shipping", "count": 46},
    ],
    "orders_by_product": {
        "prescription": [
            {"name": "Rapamycin 100mg", "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708", "count": 920}
        ],
        "non_prescription": [
            {
                "name": "PABA-free sunscreen",
                "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
                "count": 412,
            }
        ],
        "order_material": [
            {
                "name": "Q4 2025 information packet",
                "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
                "count": 550,
            }
        ],
    },
}


class StatusCount(BaseModel):
    status_code: str
    status_name: str
    count: int


class ProductCount(BaseModel):
    name: str
    id: uuid.UUID
    count: int = Field(description="The summed quantity of the product's lines, not orders.")


class OrdersByProduct(BaseModel):
    prescription: list[ProductCount] = []
    non_prescription: list[ProductCount] = []
    order_material: list[ProductCount] = []


class OrdersReport(BaseModel):
    """Sections left out of ``include`` are omitted; ``date_range`` is always present."""

    model_config = ConfigDict(json_schema_extra={"example": _ORDERS_EXAMPLE})

    date_range: str
    total_orders: int | None = None
    orders_by_status: list[StatusCount] | None = None
    orders_by_product: OrdersByProduct | None = None


class LotProduct(BaseModel):
    id: uuid.UUID
    name: str
    kind: ProductKind


class InventoryLotLine(BaseModel):
    id: uuid.UUID
    type: ProductKind
    batch_number: str | None
    manufacturer: str | None
    expiration_date: RestDatetime | None
    is_expired: bool
    initial_quantity: int
    current_quantity: int
    unit_type: str
    cost_per_unit: Money | None
    value_at_cost: Money | None = Field(
        description="current_quantity * cost_per_unit; null when the lot has no cost."
    )
    products: list[LotProduct]


class InventoryReport(BaseModel):
    generated_at: RestDatetime
    expiring_within_days: int | None
    lot_count: int
    total_value_at_cost: Money = Field(description="The sum over lots that have a cost.")
    lots: list[InventoryLotLine]


class ReasonCount(BaseModel):
    stuck_reason: str
    count: int


class StuckOrder(BaseModel):
    id: uuid.UUID
    order_number: str
    customer_id: uuid.UUID
    status_code: str
    status_name: str
    stuck_reason: str
    stuck_detail: str | None
    stuck_since: RestDatetime | None
    resolves_at: RestDatetime | None = Field(
        description="When a too_early_to_fill order may be filled; null for other reasons."
    )


class StuckOrdersReport(BaseModel):
    total_stuck: int
    by_reason: list[ReasonCount]
    orders: list[StuckOrder]


class Prescriber(BaseModel):
    first_name: str | None
    last_name: str | None
    npi: str | None
    dea: str | None


class DispensingEntry(BaseModel):
    """One lot drawn by one line; a line with no lot recorded has null lot fields."""

    compounded_at: RestDatetime
    order_id: uuid.UUID
    order_number: str
    order_created_at: RestDatetime
    customer_id: uuid.UUID
    patient_id: uuid.UUID
    order_line_id: uuid.UUID
    product_id: uuid.UUID
    product_name: str
    dea_schedule: str | None
    quantity: int = Field(description="The line's quantity of the product.")
    lot_id: uuid.UUID | None
    batch_number: str | None
    lot_units: int | None = Field(description="Units drawn from this lot for the line.")
    prescription_id: uuid.UUID | None
    prescriber: Prescriber | None


class ControlledSubstancesReport(BaseModel):
    date_range: str
    entry_count: int
    entries: list[DispensingEntry]
