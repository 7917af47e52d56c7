from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from pestle import models
from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.exceptions import RequiredFieldCleared, Responses, error_response
from pestle.kit.crypto import Cipher
from pestle.kit.pagination import PAGINATION_HEADERS, PageParams, serve_page
from pestle.orders.repository import OrderFilters
from pestle.orders.schemas import Order
from pestle.orders.service import order_service
from pestle.patients import schemas
from pestle.patients.repository import PatientFilters
from pestle.patients.service import (
    AmbiguousPatientRef,
    MinorNeedsGuardian,
    PatientExists,
    PatientNotFound,
    PatientsBelongToCustomers,
    RiskFactorNotFound,
    UnknownConcept,
    UnknownRiskFactorText,
    UnknownRiskFactorType,
    patient_service,
)

router = APIRouter(prefix="/patients", tags=["Patients"])


PatientRef = Annotated[str, "The patient's id or its external_id."]

_FOUND: Responses = {
    404: error_response(PatientNotFound),
    409: error_response(AmbiguousPatientRef),
}
_WRITE: Responses = {
    **_FOUND,
    409: error_response(PatientExists, AmbiguousPatientRef),
    422: error_response(MinorNeedsGuardian, RequiredFieldCleared),
}
_RISK: Responses = {
    404: error_response(PatientNotFound, RiskFactorNotFound),
    422: error_response(UnknownConcept, UnknownRiskFactorText, UnknownRiskFactorType),
}


@router.get(
    "", response_model=list[schemas.Patient], responses={200: {"headers": PAGINATION_HEADERS}}
)
async def list_patients(
    request: Request,
    response: Response,
    page: PageParams,
    session: SessionDep,
    principal: AnyUser,
    external_id: Annotated[str | None, Query(max_length=200)] = None,
    last_name: Annotated[str | None, Query(max_length=100, description="Case-insensitive.")] = None,
    date_of_birth: date | None = None,
) -> list[schemas.Patient]:
    """List the customer's patients, optionally filtered."""
    filters = PatientFilters(external_id, last_name, date_of_birth)
    found = await patient_service.page(session, principal, filters, page)
    return [schemas.Patient.of(patient) for patient in serve_page(found, request, response)]


@router.post(
    "",
    status_code=201,
    response_model=schemas.Patient,
    responses={
        403: error_response(PatientsBelongToCustomers),
        409: error_response(PatientExists),
        422: error_response(MinorNeedsGuardian),
    },
)
async def create_patient(
    body: schemas.PatientCreate, session: SessionDep, principal: AnyUser, cipher: Cipher
) -> schemas.Patient:
    """Create a patient; free-text risk factors in `risk_factors` are parsed and matched."""
    return schemas.Patient.of(await patient_service.create(session, principal, cipher, body))


@router.get("/guardian_relationship_types", response_model=list[schemas.RelationshipType])
@router.get(
    "/relationship_types", response_model=list[schemas.RelationshipType], include_in_schema=False
)
async def list_guardian_relationship_types(_: AnyUser) -> list[schemas.RelationshipType]:
    """List the values `guardian_relationship` accepts."""
    return [
        schemas.RelationshipType(value=kind.value, label=kind.label)
        for kind in schemas.GuardianRelationship
    ]


@router.get("/{patient_id}", response_model=schemas.Patient, responses=_FOUND)
async def get_patient(patient_id: str, session: SessionDep, principal: AnyUser) -> schemas.Patient:
    """Get a patient by id or external_id."""
    return schemas.Patient.of(await patient_service.get(session, principal, patient_id))


@router.put("/{patient_id}", response_model=schemas.Patient, responses=_WRITE)
async def update_patient(
    patient_id: str,
    body: schemas.PatientUpdate,
    session: SessionDep,
    principal: AnyUser,
    cipher: Cipher,
) -> schemas.Patient:
    """Change the fields sent; `null` clears an optional field; new risk-factor text is added."""
    patient = await patient_service.update(session, principal, cipher, patient_id, body)
    return schemas.Patient.of(patient)


@router.get(
    "/{patient_id}/orders",
    response_model=list[Order],
    responses={**_FOUND, 200: {"headers": PAGINATION_HEADERS}},
)
async def list_patient_orders(
    patient_id: str,
    request: Request,
    response: Response,
    page: PageParams,
    session: SessionDep,
    principal: AnyUser,
) -> list[Order]:
    """List the patient's orders, oldest first."""
    patient = await patient_service.get(session, principal, patient_id)
    found = await order_service.page(session, principal, OrderFilters(patient_id=patient.id), page)
    return await order_service.views(session, serve_page(found, request, response))


@router.get(
    "/{patient_id}/risk_factors", response_model=schemas.PatientRiskFactors, responses=_RISK
)
async def list_risk_factors(
    patient_id: str,
    session: SessionDep,
    principal: AnyUser,
    type: Annotated[
        str | None, Query(description="allergy, condition or medication (plural accepted).")
    ] = None,
) -> schemas.PatientRiskFactors:
    """The patient's active risk factors, grouped; `type` keeps one group (others empty)."""
    mappings = await patient_service.risk_factors(session, principal, patient_id, type)
    return schemas.PatientRiskFactors.of(mappings)


@router.post(
    "/{patient_id}/risk_factors",
    status_code=201,
    response_model=schemas.PatientRiskFactors,
    responses=_RISK,
)
async def create_risk_factors(
    patient_id: str,
    body: Annotated[list[schemas.RiskFactorCreate], Body(min_length=1, max_length=200)],
    session: SessionDep,
    principal: AnyUser,
) -> schemas.PatientRiskFactors:
    """Add several discrete risk factors; answers with all the patient's active ones."""
    await patient_service.add_risk_factors(session, principal, patient_id, body)
    mappings = await patient_service.risk_factors(session, principal, patient_id, None)
    return schemas.PatientRiskFactors.of(mappings)


@router.post(
    "/{patient_id}/risk_factor",
    status_code=201,
    response_model=schemas.RiskFactorMapping,
    responses=_RISK,
)
async def create_risk_factor(
    patient_id: str, body: schemas.RiskFactorCreate, session: SessionDep, principal: AnyUser
) -> schemas.RiskFactorMapping:
    """Add one discrete risk factor."""
    _, (created,) = await patient_service.add_risk_factors(session, principal, patient_id, [body])
    return schemas.RiskFactorMapping.of(created)


@router.post(
    "/{patient_id}/risk_factor_text",
    status_code=201,
    response_model=schemas.PatientRiskFactors,
    responses=_RISK,
)
async def add_risk_factor_text(
    patient_id: str, body: schemas.RiskFactorsText, session: SessionDep, principal: AnyUser
) -> schemas.PatientRiskFactors:
    """Add free-text allergies, conditions and medications; each piece is matched, unconfirmed."""
    await patient_service.add_risk_factor_text(session, principal, patient_id, body)
    mappings = await patient_service.risk_factors(session, principal, patient_id, None)
    return schemas.PatientRiskFactors.of(mappings)


@router.patch(
    "/{patient_id}/risk_factors/{risk_factor_id}",
    response_model=schemas.RiskFactorMapping,
    responses=_RISK,
)
async def confirm_risk_factor(
    patient_id: str,
    risk_factor_id: str,
    session: SessionDep,
    principal: AnyUser,
    body: schemas.RiskFactorConfirm | None = None,
) -> schemas.RiskFactorMapping:
    """Confirm a match (optionally against another concept): matched, manual, confidence 1."""
    mapping = await patient_service.confirm_risk_factor(
        session, principal, patient_id, risk_factor_id, body or schemas.RiskFactorConfirm()
    )
    return schemas.RiskFactorMapping.of(mapping)


@router.delete(
    "/{patient_id}/risk_factors/{risk_factor_id}",
    response_model=schemas.RiskFactorMapping,
    responses=_RISK,
)
async def deactivate_risk_factor(
    patient_id: str, risk_factor_id: str, session: SessionDep, principal: AnyUser
) -> models.RiskFactorMapping | schemas.RiskFactorMapping:
    """Deactivate a risk factor; the row is kept with `is_active: false`."""
    mapping = await patient_service.deactivate_risk_factor(
        session, principal, patient_id, risk_factor_id
    )
    return schemas.RiskFactorMapping.of(mapping)
