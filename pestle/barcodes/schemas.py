"""The wire of the Barcoding area: barcodes issued for entities, scans to verify, and GS1
element strings read off drug packages."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from pestle.inventory.schemas import LotDatetime
from pestle.kit.time import webhook_format

# A year: long enough for a label on a shelf, short enough that a typo is caught.
MAX_EXPIRES_IN = 366 * 24 * 3600


class EntityType(StrEnum):
    """What a barcode is issued for (models.BARCODE_ENTITY_TYPES, in the same order)."""

    user = "user"
    order = "order"
    patient = "patient"
    prescription = "prescription"
    prescription_product = "prescription_product"
    non_prescription_product = "non_prescription_product"
    order_material = "order_material"
    inventory = "inventory"


class SymbolFormat(StrEnum):
    aztec = "aztec"
    datamatrix = "datamatrix"
    qr = "qr"
    code128 = "code128"


# Blend shows barcode instants zone-less with microseconds; they are UTC.
BarcodeDatetime = Annotated[
    datetime, PlainSerializer(webhook_format, return_type=str, when_used="json-unless-none")
]

_BARCODE_EXAMPLE: dict[str, Any] = {
    "barcode_value": "USER-3da03bd9-26cd-487c-9619-d4e1b0c26f24-7172173f",
    "created_at": "2025-04-29T02:47:19.835090",
    "entity_id": "3da03bd9-26cd-487c-9619-d4e1b0c26f24",
    "entity_type": "user",
    "expires_at": "2025-04-29T03:47:19.834495",
    "image": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAADYAAAA2AQAAAACkPldw...",
    "is_active": True,
    "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
    "deactivated_at": None,
}


class BarcodeCreate(BaseModel):
    """Optional body of a create: without it a `user` barcode expires after an hour and any
    other never expires."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"expires_in": 900}})

    expires_in: int | None = Field(
        None,
        strict=True,
        ge=1,
        le=MAX_EXPIRES_IN,
        description=f"Seconds until the barcode expires, 1 to {MAX_EXPIRES_IN} (366 days). "
        "Omitted or null: one hour for `user`, never for the other types.",
    )


class BarcodeVerify(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"barcode_value": _BARCODE_EXAMPLE["barcode_value"]}},
    )

    barcode_value: str = Field(
        min_length=1, max_length=200, description="The text a scanner read from the symbol."
    )


class Barcode(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _BARCODE_EXAMPLE})

    id: uuid.UUID
    barcode_value: str = Field(
        description="What the symbol encodes: "
        "`<ENTITY_TYPE>-<entity_id>-<8 random lower-case hex>`."
    )
    entity_type: EntityType
    entity_id: uuid.UUID
    created_at: BarcodeDatetime
    expires_at: BarcodeDatetime | None = Field(description="Null: the barcode never expires.")
    image: str | None = Field(
        None,
        description="Aztec symbol of barcode_value as a PNG data URI: 1-bit greyscale, 2 px per "
        "module, no quiet zone. Absent when include_images=false.",
    )
    is_active: bool
    deactivated_at: BarcodeDatetime | None = Field(
        None, description="When DELETE deactivated it (Pestle's addition); null while active."
    )

    @model_serializer(mode="wrap")
    def _without_absent_image(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Blend leaves the key out when images are not asked for, while expires_at stays null.
        data: dict[str, Any] = handler(self)
        if data.get("image") is None:
            data.pop("image", None)
        return data


class Gs1Scan(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"barcode_value": "(01)00312345678906(17)271231(10)LOT123(21)SERIAL9"}
        },
    )

    barcode_value: str = Field(
        min_length=1,
        max_length=500,
        description="A GS1 element string as scanned: the bracketed form "
        "`(01)...(17)...(10)...`, or the raw form with GS (0x1D, or the text `<GS>`) after "
        "variable-length fields, optionally led by a symbology identifier such as `]d2`.",
    )


class Gs1Element(BaseModel):
    ai: str = Field(description="GS1 Application Identifier, e.g. `01`.")
    title: str = Field(description="The AI's data title, e.g. `GTIN`, `BATCH/LOT`.")
    value: str


class MatchedLot(BaseModel):
    id: uuid.UUID
    type: str
    batch_number: str | None
    expiration_date: LotDatetime | None
    ndc: str | None = Field(description="The lot's 10-digit NDC as printed, hyphenated.")
    gtin: str | None
    upc: str | None
    current_quantity: int
    is_active: bool
    product_ids: list[uuid.UUID] = Field(description="Products the lot feeds, that you see.")


class MatchedProduct(BaseModel):
    id: uuid.UUID
    kind: str
    sku: str
    name: str


class Gs1Parsed(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "gtin": "00312345678906",
                "ndc": "1234567890",
                "batch_number": "LOT123",
                "expiration_date": "2027-12-31",
                "serial_number": "SERIAL9",
                "is_expired": False,
                "elements": [
                    {"ai": "01", "title": "GTIN", "value": "00312345678906"},
                    {"ai": "17", "title": "USE BY or EXPIRY", "value": "271231"},
                    {"ai": "10", "title": "BATCH/LOT", "value": "LOT123"},
                    {"ai": "21", "title": "SERIAL", "value": "SERIAL9"},
                ],
                "inventory_lots": [],
                "products": [],
            }
        }
    )

    gtin: str | None = Field(description="GTIN-14 from AI (01).")
    ndc: str | None = Field(
        description="The 10 NDC digits an NDC-based GTIN carries (indicator, `03`, NDC, check "
        "digit), unhyphenated: the digits alone do not say which layout (4-4-2, 5-3-2, 5-4-1) "
        "they are; a matched lot's `ndc` shows it. Null for other GTINs."
    )
    batch_number: str | None = Field(description="AI (10).")
    expiration_date: date | None = Field(description="AI (17); day 00 is the month's last day.")
    serial_number: str | None = Field(description="AI (21).")
    is_expired: bool = Field(description="The package's expiry date is before today (UTC).")
    elements: list[Gs1Element]
    inventory_lots: list[MatchedLot] = Field(
        description="Lots you see with this item's GTIN, NDC or UPC and, when the scan has "
        "(10), that batch number."
    )
    products: list[MatchedProduct] = Field(
        description="Products you see that lots of this item feed (any batch)."
    )
