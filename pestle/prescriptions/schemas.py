"""The wire shapes of the Prescriptions area (blend-api/orders-prescriptions.md §3)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from pestle import models
from pestle.kit.time import RestDatetime, as_utc
from pestle.patients.schemas import Patient, PatientRef
from pestle.prescribers.schemas import Prescriber, PrescriberById, PrescriberByNpi
from pestle.prescriptions.quantity_units import find_unit


def naive_format(value: datetime) -> str:
    """Prescription dates: zone-less ISO to the second (``2025-04-25T00:00:00``), UTC."""
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="seconds")


# Blend's prescription dates carry no zone; Pestle reads and writes them as UTC.
NaiveDatetime = Annotated[
    datetime, PlainSerializer(naive_format, return_type=str, when_used="json-unless-none")
]


def _unit_code(value: str) -> str:
    unit = find_unit(value)
    if unit is None:
        raise ValueError("not an NCPDP quantity unit; see GET /api/v1/prescriptions/quantity_units")
    return unit.code


def _unit_term(value: str) -> str:
    unit = find_unit(value)
    return unit.name if unit is not None else value


# In: an NCPDP code (C48480) or its term, stored as the code. Out: the term (Capsule).
UnitIn = Annotated[str, AfterValidator(_unit_code)]
UnitOut = Annotated[str, AfterValidator(_unit_term)]


def _text(max_length: int) -> Any:
    return Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)
    ]


STATUS_DESCRIPTIONS = {
    "new": "Received; the patient, the prescriber or the product is not matched yet.",
    "active": "Matched and valid: it can be filled while fills remain and it has not expired.",
    "on_hold": "Needs clarification from the prescriber (see clarification_reason).",
    "expired": "Past expires_at.",
    "exhausted": "Every authorised fill has been used.",
    "cancelled": "Cancelled by the prescriber (CancelRx) or the pharmacy.",
}


class MedicationIn(BaseModel):
    """One medication of an eRx: one prescription."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "days_supply": 30,
                "drug_name": "Levothyroxine",
                "product_code": "HC-RAPA31",
                "quantity": 30,
                "refills": 4,
                "sig": "Apply thin layer nightly",
                "substitution_allowed": True,
                "units": "C48480",
                "written_at": "2025-04-25T00:00:00",
            }
        },
    )

    drug_name: _text(200) | None = None  # type: ignore[valid-type]
    description: _text(4000) | None = None  # type: ignore[valid-type]
    strength: _text(100) | None = None  # type: ignore[valid-type]
    prescription_product_id: uuid.UUID | None = None
    product_code: _text(100) | None = None  # type: ignore[valid-type]
    product_code_type: _text(20) | None = None  # type: ignore[valid-type]
    quantity: float = Field(gt=0, le=1_000_000)
    units: UnitIn = Field(description="An NCPDP quantity-unit code (C48480) or its term.")
    days_supply: int | None = Field(None, ge=1, le=3650)
    refills: int = Field(0, ge=0, le=99)
    sig: _text(4000)  # type: ignore[valid-type]
    directions: _text(4000) | None = None  # type: ignore[valid-type]
    notes: _text(4000) | None = None  # type: ignore[valid-type]
    substitution_allowed: bool = True
    serial_number: _text(35) | None = None  # type: ignore[valid-type]
    prescriber_order_number: _text(100) | None = None  # type: ignore[valid-type]
    written_at: datetime = Field(description="Zone-less, taken as UTC.")
    expires_at: datetime | None = Field(
        None, description="Defaults to written_at + 1 year (6 months for CIII-CV)."
    )

    @model_validator(mode="after")
    def _names_a_product(self) -> Self:
        if (
            self.prescription_product_id is None
            and self.product_code is None
            and self.drug_name is None
        ):
            raise ValueError(
                "one of prescription_product_id, product_code or drug_name is required"
            )
        return self


class OrderRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: _text(100) | None = None  # type: ignore[valid-type]
    order_number: _text(30) | None = None  # type: ignore[valid-type]


class ElectronicPrescriptionCreate(BaseModel):
    """A JSON eRx. An omitted patient or prescriber stays unmatched (null); one that is sent
    must exist in the caller's account."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "medication": MedicationIn.model_config["json_schema_extra"]["example"],  # type: ignore[index]
                "order": {"order_number": "ORD250312003548IAU4"},
                "patient": {"external_id": "HEALTHCO_PATIENT_9271227"},
                "prescriber": {"npi": "1234567893"},
            }
        },
    )

    medication: MedicationIn | None = None
    medications: list[MedicationIn] | None = Field(None, min_length=1, max_length=50)
    patient: PatientRef | None = None
    prescriber: PrescriberById | PrescriberByNpi | None = None
    order: OrderRef | None = None

    @model_validator(mode="after")
    def _one_medication_field(self) -> Self:
        if (self.medication is None) == (self.medications is None):
            raise ValueError("send exactly one of medication or medications")
        return self

    @property
    def all_medications(self) -> list[MedicationIn]:
        return [self.medication] if self.medication is not None else list(self.medications or [])


class PrescriptionOut(BaseModel):
    """Blend's Prescription object, with Pestle's clarification fields."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    customer_id: uuid.UUID
    electronic_prescription_id: uuid.UUID
    patient_id: uuid.UUID | None
    prescriber_id: uuid.UUID | None
    prescription_product_id: uuid.UUID | None
    drug_name: str | None
    name: str | None = Field(description="The matched product's name.")
    description: str | None
    strength: str | None
    product_code: str | None
    product_code_type: str | None
    quantity: float
    units: UnitOut = Field(description="The NCPDP quantity unit's term, e.g. Capsule.")
    days_supply: int | None
    refills: int
    fills_used: int
    fills_remaining: int = Field(description="refills + 1 - fills_used.")
    sig: str
    directions: str | None
    notes: str | None
    substitution_allowed: bool
    serial_number: str | None
    prescriber_order_number: str | None
    dea_schedule: str | None
    written_at: NaiveDatetime
    expires_at: NaiveDatetime
    status: str = Field(validation_alias="current_status")
    needs_clarification: bool
    clarification_reason: str | None
    cancelled_at: RestDatetime | None


class CustomerSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str


class ProductSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    sku: str
    name: str
    product_code: str | None
    strength: str | None
    dea_schedule: str | None
    is_active: bool


class ElectronicPrescriptionOut(BaseModel):
    """An eRx. The prescriptions appear twice: `medications` (the create response's name)
    and `prescriptions` (the read's), the two names of the contract."""

    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    customer_id: uuid.UUID
    patient_id: uuid.UUID | None
    prescriber_id: uuid.UUID | None
    source: str
    type: str
    content_type: str
    reference_number: str | None
    received_at: RestDatetime
    patient: dict[str, Any] | None = Field(description="The patient block as written.")
    order: OrderRef | None
    medications: list[PrescriptionOut]
    prescriptions: list[PrescriptionOut]

    @classmethod
    def of(cls, erx: models.ElectronicPrescription) -> "ElectronicPrescriptionOut":
        items = [PrescriptionOut.model_validate(p) for p in erx.prescriptions]
        has_order = erx.order_ref_id is not None or erx.order_number is not None
        return cls(
            id=erx.id,
            created_at=erx.created_at,
            updated_at=erx.updated_at,
            customer_id=erx.customer_id,
            patient_id=erx.patient_id,
            prescriber_id=erx.prescriber_id,
            source=erx.source,
            type=erx.type,
            content_type=erx.content_type,
            reference_number=erx.reference_number,
            received_at=erx.received_at,
            patient=erx.patient_block,
            order=OrderRef(id=erx.order_ref_id, order_number=erx.order_number)
            if has_order
            else None,
            medications=items,
            prescriptions=items,
        )


class ElectronicPrescriptionSummary(BaseModel):
    """The parent eRx, embedded in a prescription (without its prescriptions)."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    created_at: RestDatetime
    source: str
    type: str
    reference_number: str | None
    patient_id: uuid.UUID | None
    prescriber_id: uuid.UUID | None


class PrescriptionDetail(PrescriptionOut):
    """A prescription with its related objects, when asked for (`include_all` / `include=all`)."""

    customer: CustomerSummary | None = None
    electronic_prescription: ElectronicPrescriptionSummary | None = None
    patient: Patient | None = None
    prescription_product: ProductSummary | None = None
    prescriber: Prescriber | None = None


class QuantityUnit(BaseModel):
    code: str = Field(examples=["C28253"])
    term: str = Field(examples=["Milligram"])
    type: str = Field(examples=["Quantity Unit of Measure"])
    type_code: str = Field(examples=["C89510"])
    current: bool = Field(
        description="Still accepted by Surescripts on new prescriptions (not sunset)."
    )


class PrescriptionStatus(BaseModel):
    code: str
    name: str
    description: str
