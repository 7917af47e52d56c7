"""The wire shapes of Search (blend-api/barcoding-reports-search-tasks.md §4): each hit is the
entity's own GET representation, flattened next to `rank` (and `result_type` where the
contract has it)."""

from typing import Annotated, Any, Literal, Self, cast

from pydantic import BaseModel, Field

from pestle.orders.schemas import Order
from pestle.patients.schemas import Patient
from pestle.prescribers.schemas import Prescriber
from pestle.prescriptions.schemas import PrescriptionOut
from pestle.products.schemas import NonPrescriptionProduct, OrderMaterial, PrescriptionProduct

RANK_DESCRIPTION = (
    "Relevance in [0, 1], higher first: 1 when the query equals a whole field (an id, a name, "
    "the full name, an email, the phone digits, a date of birth, an order number, a SKU...) or "
    "is a quoted phrase; 0.75 when a field starts with it; 0.5 for a substring elsewhere."
)


class Ranked(BaseModel):
    rank: float = Field(ge=0, le=1, description=RANK_DESCRIPTION, examples=[0.75])

    @classmethod
    def ranked(cls, entity: BaseModel, rank: float, **extra: Any) -> Self:
        """``entity``'s fields, already validated, with the rank (not validated again)."""
        return cast(Self, cls.model_construct(None, **{**dict(entity), "rank": rank, **extra}))


class PatientResult(Ranked, Patient):
    pass


class OrderResult(Ranked, Order):
    is_patient_order: bool = Field(
        description=(
            "Inferred: always true in Pestle, where every order ships to its patient "
            "(clinic-stock orders do not exist)."
        )
    )


class PrescriptionProductResult(Ranked, PrescriptionProduct):
    result_type: Literal["prescription"]


class NonPrescriptionProductResult(Ranked, NonPrescriptionProduct):
    result_type: Literal["non_prescription"]


class OrderMaterialResult(Ranked, OrderMaterial):
    result_type: Literal["order_material"]


ProductResult = Annotated[
    PrescriptionProductResult | NonPrescriptionProductResult | OrderMaterialResult,
    Field(discriminator="result_type"),
]


class PatientHit(PatientResult):
    result_type: Literal["patient"]


class OrderHit(OrderResult):
    result_type: Literal["order"]


class PrescriberHit(Ranked, Prescriber):
    result_type: Literal["prescriber"]


class PrescriptionHit(Ranked, PrescriptionOut):
    result_type: Literal["prescription"]


class PrescriptionProductHit(Ranked, PrescriptionProduct):
    """In global search a prescription product is `prescription_product`: `prescription`
    names the prescription itself there."""

    result_type: Literal["prescription_product"]


GlobalResult = Annotated[
    PatientHit
    | OrderHit
    | PrescriberHit
    | PrescriptionHit
    | PrescriptionProductHit
    | NonPrescriptionProductResult
    | OrderMaterialResult,
    Field(discriminator="result_type"),
]


class PatientResults(BaseModel):
    results: list[PatientResult]


class OrderResults(BaseModel):
    results: list[OrderResult]


class ProductResults(BaseModel):
    results: list[ProductResult]


class GlobalResults(BaseModel):
    results: list[GlobalResult]
