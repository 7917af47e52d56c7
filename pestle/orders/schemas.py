"""The wire shapes of the Orders area (blend-api/orders-prescriptions.md §1-§2)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from pestle.kit.time import RestDatetime
from pestle.kit.wire import UsAddress
from pestle.patients.schemas import PatientRef
from pestle.products.schemas import NonPrescriptionProduct, OrderMaterial, PrescriptionProduct

ProductType = Literal["prescription", "non_prescription", "order_material"]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

_MAX_LINES = 100


class ProductLineIn(BaseModel):
    """A non-prescription product or order material, by ``id`` or ``sku``."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = None
    sku: Text200 | None = None
    quantity: int = Field(1, ge=1, le=10_000)

    def references(self) -> dict[str, Any]:
        return {
            name: value
            for name in ("id", "sku", "product_code")
            if (value := getattr(self, name, None)) is not None
        }

    @model_validator(mode="after")
    def _one_reference(self) -> Self:
        allowed = "id, sku or product_code" if "product_code" in type(self).model_fields else ""
        if len(self.references()) != 1:
            raise ValueError(f"send exactly one of {allowed or 'id or sku'}")
        return self


class PrescriptionLineIn(ProductLineIn):
    """A prescription product, by ``id``, ``sku`` or ``product_code``."""

    product_code: Text200 | None = None


class OrderProductsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prescription: list[PrescriptionLineIn] = Field([], max_length=_MAX_LINES)
    non_prescription: list[ProductLineIn] = Field([], max_length=_MAX_LINES)
    order_material: list[ProductLineIn] = Field([], max_length=_MAX_LINES)

    def lines(self) -> list[tuple[str, ProductLineIn]]:
        return [
            (kind, line)
            for kind in ("prescription", "non_prescription", "order_material")
            for line in getattr(self, kind)
        ]


class ShippingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    carrier: str | None = Field(None, max_length=16, examples=["usps"])
    service_level: str | None = Field(None, max_length=40, examples=["usps_ground_advantage"])


class CustomShipping(BaseModel):
    """A prepaid label the customer supplies: all four fields or none."""

    model_config = ConfigDict(extra="forbid")

    label_url: Url
    tracking_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    tracking_url: Url
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


_CREATE_EXAMPLE: dict[str, Any] = {
    "patient_id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
    "external_id": "my-system-128318AA2",
    "address": {
        "address_1": "140 Lindgren Streets",
        "address_2": "Apt 227",
        "city": "North Consueloburgh",
        "state": "CA",
        "zip_code": "02108",
        "country": "US",
    },
    "electronic_prescription_ids": ["BFCB96C9-F866-405E-A1B3-3ED031DFB423"],
    "products": {
        "prescription": [{"product_code": "SUPERSPRAY15", "quantity": 1}],
        "non_prescription": [{"sku": "SPF50-TUBE", "quantity": 2}],
        "order_material": [{"sku": "DEC_AD_001", "quantity": 1}],
    },
    "shipping": {"carrier": "usps", "service_level": "usps_ground_advantage"},
}


class OrderCreate(BaseModel):
    """A new order. Exactly one of ``patient_id`` and ``patient``; at least one product line.
    ``address`` defaults to the patient's address."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": _CREATE_EXAMPLE})

    patient_id: uuid.UUID | None = None
    patient: PatientRef | None = None
    address: UsAddress | None = None
    external_id: Text200 | None = None
    products: OrderProductsIn
    shipping: ShippingIn | None = None
    custom_shipping: CustomShipping | None = None
    electronic_prescription_ids: list[uuid.UUID] = Field(
        [],
        max_length=50,
        description="eRx ids whose prescriptions fill this order's lines; any case.",
    )
    priority_requested: bool = False

    @model_validator(mode="after")
    def _one_patient(self) -> Self:
        if (self.patient_id is None) == (self.patient is None):
            raise ValueError("send exactly one of patient_id or patient")
        if not self.products.lines():
            raise ValueError("products: an order needs at least one product line")
        return self


class OrderUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "address": _CREATE_EXAMPLE["address"],
                "external_id": "my-system-128318AA2",
                "shipping": {"carrier": "usps", "service_level": "usps_ground_advantage"},
            }
        },
    )

    address: UsAddress | None = None
    external_id: Text200 | None = None
    shipping: ShippingIn | None = None
    custom_shipping: CustomShipping | None = None


class QuantityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"quantity": 2}})
    quantity: int = Field(ge=1, le=10_000)


class CancellationRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"comments": "Patient changed their mind"}}
    )
    comments: Note | None = None


# -- responses ----------------------------------------------------------------------------------


class OrderAddress(BaseModel):
    id: uuid.UUID
    type: Literal["shipping"] = "shipping"
    address_1: str
    address_2: str | None
    city: str
    state: str
    zip_code: str
    country: str


class Shipping(BaseModel):
    carrier: str | None
    service_level: str | None


class OrderPatient(BaseModel):
    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    first_name: str
    middle_name: str | None
    last_name: str
    date_of_birth: str
    external_id: str | None
    email: str | None
    phone: str | None


class LineLot(BaseModel):
    lot_id: uuid.UUID
    batch_number: str | None
    expiration_date: RestDatetime | None
    product_units: int


class LineFields(BaseModel):
    order_item_id: uuid.UUID = Field(description="The line's id: tells two lines apart.")
    quantity: int
    prescription_id: uuid.UUID | None = Field(
        description="The prescription this line is filled against, once one is linked."
    )
    beyond_use_date: RestDatetime | None = Field(description="Set when the line is compounded.")
    lots: list[LineLot] = Field(description="The lots the line was compounded from.")


class PrescriptionLine(PrescriptionProduct, LineFields):
    pass


class NonPrescriptionLine(NonPrescriptionProduct, LineFields):
    pass


class OrderMaterialLine(OrderMaterial, LineFields):
    pass


PRODUCT_TYPES: dict[str, type[PrescriptionProduct | NonPrescriptionProduct | OrderMaterial]] = {
    "prescription": PrescriptionProduct,
    "non_prescription": NonPrescriptionProduct,
    "order_material": OrderMaterial,
}
LINE_TYPES: dict[str, type[PrescriptionLine | NonPrescriptionLine | OrderMaterialLine]] = {
    "prescription": PrescriptionLine,
    "non_prescription": NonPrescriptionLine,
    "order_material": OrderMaterialLine,
}


class OrderProducts(BaseModel):
    prescription: list[PrescriptionLine]
    non_prescription: list[NonPrescriptionLine]
    order_material: list[OrderMaterialLine]


class AllowedTransition(BaseModel):
    status_code: str
    status_name: str
    roles: list[str] = Field(description="The roles that may make this move.")
    via: str = Field(
        description=(
            "How the move is made: `transitions` (POST /orders/{id}/transitions), or the "
            "order action of that name (pause, unpause, cancel, shipments, delivered)."
        )
    )


class ShipmentOut(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    carrier: str
    carrier_name: str
    service_level: str
    service_level_name: str
    tracking_number: str
    tracking_url: str | None
    estimated_delivery_date: RestDatetime | None
    status: str
    shipped_at: RestDatetime
    delivered_at: RestDatetime | None
    created_at: RestDatetime
    updated_at: RestDatetime


class Order(BaseModel):
    """Blend's Order object, plus `allowed_transitions`, `stuck_reason` and `shipments`.

    Each product line is the catalogue product plus `order_item_id` and `quantity`, and
    after the pharmacy's steps the `prescription_id` it was filled against, the `lots` it was
    compounded from and its `beyond_use_date`."""

    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    status_code: str
    status_name: str
    status: str = Field(description="The status name again, as Blend's legacy field.")
    order_number: str
    customer_id: uuid.UUID
    external_id: str | None
    address: OrderAddress
    custom_shipping: CustomShipping | None
    shipping: Shipping | None
    patient: OrderPatient
    products: OrderProducts
    prescription_count: int
    priority_requested: bool
    cancellation_requested: bool
    is_replacement: bool
    original_order_id: uuid.UUID | None
    replacement_order_ids: list[uuid.UUID]
    replacement_reason: str | None
    replacement_requested: bool = Field(
        False, description="Deprecated: see replacement_request_status.", deprecated=True
    )
    replacement_request_status: str | None
    electronic_prescription_ids: list[str]
    allowed_transitions: list[AllowedTransition]
    stuck_reason: str | None = Field(
        description=(
            "Why the order cannot go on: too_early_to_fill, missing_prescription, "
            "no_refills_or_expired or needs_clarification; null when it can."
        )
    )
    stuck_detail: str | None
    stuck_resolves_at: RestDatetime | None = Field(
        description="For too_early_to_fill: when the refill becomes due."
    )
    shipments: list[ShipmentOut]


class StatusHistoryEntry(BaseModel):
    status_code: str
    status_name: str
    updated_at: RestDatetime = Field(description="When the order entered this status.")
    updated_by: uuid.UUID | None
    updated_by_first_name: str | None
    updated_by_last_name: str | None
    duration: int = Field(
        description="Seconds spent in this status; for the current status, so far."
    )
    note: str | None
    override_reason: str | None


class OrderStatusOut(BaseModel):
    status_code: str
    status_name: str
    description: str
    next: list[AllowedTransition]


class ServiceLevelOut(BaseModel):
    code: str
    name: str


class CarrierOut(BaseModel):
    code: str
    name: str
    service_levels: list[ServiceLevelOut]


class ShippingOptions(BaseModel):
    carriers: list[CarrierOut]
    generic_service_levels: list[ServiceLevelOut] = Field(
        description="Service levels without a carrier: the pharmacy picks one when shipping."
    )


class RemovedMessage(BaseModel):
    message: str = Field(examples=["Non_prescription product removed from order"])


class TransitionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"to": "P03", "note": "Verified against the eRx"}},
    )

    to: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=3)]
    note: Note | None = None
    override_reason: Note | None = Field(
        None,
        description=(
            "Data verification only: the pharmacist's reason to go on despite the risk-factor "
            "conflicts the step reported."
        ),
    )


class ShipmentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "carrier": "usps",
                "service_level": "usps_ground_advantage",
                "tracking_number": "9200190347375200504724",
                "tracking_url": "https://tools.usps.com/go/TrackConfirmAction_input?origTrackNum=9200190347375200504724",
                "estimated_delivery_date": "2025-07-31T17:13:13Z",
            }
        },
    )

    carrier: str = Field(max_length=16)
    service_level: str = Field(max_length=40)
    tracking_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    tracking_url: Url | None = None
    estimated_delivery_date: datetime | None = None
