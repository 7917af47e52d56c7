"""The wire shapes of the composite call (blend-api/orders-prescriptions.md §3.5)."""

import uuid
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pestle.orders.schemas import OrderCreate
from pestle.patients.schemas import PatientRef
from pestle.prescribers.schemas import PrescriberById, PrescriberByNpi, PrescriberCreate
from pestle.prescriptions.schemas import ElectronicPrescriptionCreate

_MEDICATION: dict[str, Any] = {
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
_ALL_NEW: dict[str, Any] = {
    "patient": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "2125550100",
        "date_of_birth": "1985-12-10",
        "external_id": "HEALTHCO_PATIENT_9271227",
        "address": {
            "address_1": "1 Main St",
            "city": "Boston",
            "state": "MA",
            "zip_code": "02108",
        },
    },
    "prescriber": {"first_name": "Willard", "last_name": "Donnelly", "npi": "1234567893"},
    "electronic_prescription": {"medication": _MEDICATION},
    "order": {
        "external_id": "my-system-128318AA2",
        "products": {"prescription": [{"product_code": "HC-RAPA31", "quantity": 1}]},
    },
}
_REFERENCES: dict[str, Any] = {
    "patient": {"external_id": "HEALTHCO_PATIENT_9271227"},
    "prescriber": {"npi": "1234567893"},
    "electronic_prescription": {"medication": _MEDICATION},
    "order": {"products": {"prescription": [{"product_code": "HC-RAPA31", "quantity": 1}]}},
}
_OWN_PARTS: dict[str, Any] = {
    "electronic_prescription": {
        "medication": _MEDICATION,
        "patient": {"id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708"},
        "prescriber": {"id": "987fcdeb-51a2-43d1-9f12-345678901234"},
    },
    "order": {
        "patient_id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
        "products": {"prescription": [{"product_code": "HC-RAPA31", "quantity": 1}]},
    },
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "all_new": {
        "summary": "A new patient and prescriber, their eRx and the order it fills",
        "description": (
            "The eRx and the order name no patient or prescriber of their own, so they use "
            "the top-level ones; the order is linked to the eRx created with it."
        ),
        "value": _ALL_NEW,
    },
    "references": {
        "summary": "An existing patient and prescriber, by external_id and NPI",
        "value": _REFERENCES,
    },
    "own_parts": {
        "summary": "An eRx and an order that name their own patient and prescriber",
        "description": "Nothing falls back: no top-level patient or prescriber is needed.",
        "value": _OWN_PARTS,
    },
}


class CompositeOrder(OrderCreate):
    """An order as in POST /api/v1/orders, except that ``patient_id`` and ``patient`` may both
    be left out: the order is then the top-level ``patient``'s. Its
    ``electronic_prescription_ids`` gain the eRx created in the same call."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": _ALL_NEW["order"]},
    )

    @model_validator(mode="after")
    def _one_patient(self) -> Self:
        if self.patient_id is not None and self.patient is not None:
            raise ValueError("send at most one of patient_id or patient")
        if not self.products.lines():
            raise ValueError("products: an order needs at least one product line")
        return self


class CompositeCreate(BaseModel):
    """Any of a patient, a prescriber, an electronic prescription and an order, written all
    together or not at all.

    Fallbacks: an ``electronic_prescription`` without ``patient`` uses the top-level
    ``patient``, and without ``prescriber`` the top-level ``prescriber``; an ``order`` without
    ``patient_id`` or ``patient`` uses the top-level ``patient`` (so one of them is required).
    A part that names its own patient or prescriber uses that one. New data in the top-level
    ``patient`` or ``prescriber`` creates it once, however many parts use it. The order is
    linked to the eRx, so the two must be for the same patient (else 422
    ErxOfAnotherPatient)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": _ALL_NEW})

    patient: PatientRef | None = Field(
        None, description="New patient data, or `{id}` / `{external_id}` of an existing one."
    )
    prescriber: PrescriberById | PrescriberByNpi | PrescriberCreate | None = Field(
        None, description="New prescriber data, or `{id}` / `{npi}` of an existing one."
    )
    electronic_prescription: ElectronicPrescriptionCreate | None = Field(
        None,
        description=(
            "As POST /api/v1/prescriptions/electronic_prescriptions; its patient and "
            "prescriber default to the top-level ones."
        ),
    )
    order: CompositeOrder | None = Field(
        None,
        description=(
            "As POST /api/v1/orders; its patient defaults to the top-level one, and it is "
            "linked to the eRx created in the same call."
        ),
    )

    @model_validator(mode="after")
    def _something_and_a_patient(self) -> Self:
        if all(
            part is None
            for part in (self.patient, self.prescriber, self.electronic_prescription, self.order)
        ):
            raise ValueError(
                "send at least one of patient, prescriber, electronic_prescription or order"
            )
        order = self.order
        orphan = order is not None and order.patient_id is None and order.patient is None
        if orphan and self.patient is None:
            raise ValueError(
                "order: send patient_id or patient, or a top-level patient for it to use"
            )
        return self


class EntityResult(BaseModel):
    id: uuid.UUID
    created: bool = Field(description="False when an existing row was referenced (or merged).")


class CompositeSummary(BaseModel):
    entities_created: int
    entities_referenced: int


class CompositeResult(BaseModel):
    """Only the parts sent appear. An order merged into the patient's open order is
    ``created: false`` and counts as referenced."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "patient": {"id": "123e4567-e89b-12d3-a456-426614174000", "created": True},
                "prescriber": {"id": "987fcdeb-51a2-43d1-9f12-345678901234", "created": False},
                "electronic_prescription": {
                    "id": "456789ab-cdef-1234-5678-90abcdef1234",
                    "created": True,
                },
                "order": {"id": "789abcde-f012-3456-7890-123456789abc", "created": True},
                "summary": {"entities_created": 3, "entities_referenced": 1},
            }
        }
    )

    patient: EntityResult | None = None
    prescriber: EntityResult | None = None
    electronic_prescription: EntityResult | None = None
    order: EntityResult | None = None
    summary: CompositeSummary
