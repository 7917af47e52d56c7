from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from pestle import models
from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.exceptions import PestleError, RequiredFieldCleared, Responses, error_response
from pestle.kit.pagination import PAGINATION_HEADERS, PageParams, serve_page
from pestle.prescribers.repository import PrescriberFilters
from pestle.prescribers.schemas import (
    Prescriber,
    PrescriberCreate,
    PrescriberUpdate,
    Qualification,
    QualificationIn,
)
from pestle.prescribers.service import (
    AmbiguousPrescriberRef,
    DeaNameMismatch,
    PrescriberExists,
    PrescriberNotFound,
    PrescribersBelongToCustomers,
    QualificationExists,
    QualificationNotFound,
    QualificationReplaced,
    QualificationStateMismatch,
    prescriber_service,
)

router = APIRouter(prefix="/prescribers", tags=["Prescribers"])

PrescriberRef = Annotated[
    str, Path(description="The prescriber's id, or its NPI.", examples=["1234567893"])
]
QualificationRef = Annotated[
    str,
    Path(
        description="The qualification's id, or a state code naming the state's active licence.",
        examples=["CA"],
    ),
]


def _invalid(*errors: type[PestleError]) -> dict[str, Any]:
    """A 422 entry: the request's own field errors (list form) or a rule across fields."""
    entry = error_response(*errors)
    return {**entry, "description": f"ValidationError, {entry['description']}"}


_FOUND: Responses = {
    404: error_response(PrescriberNotFound),
    409: error_response(AmbiguousPrescriberRef),
}


@router.post(
    "",
    status_code=201,
    response_model=Prescriber,
    responses={
        403: error_response(PrescribersBelongToCustomers),
        409: error_response(PrescriberExists),
        422: _invalid(DeaNameMismatch),
    },
)
async def create_prescriber(
    body: PrescriberCreate, session: SessionDep, principal: AnyUser
) -> models.Prescriber:
    """Create a prescriber, with its addresses, credentials, restrictions and licences."""
    return await prescriber_service.create(session, principal, body)


@router.get("", response_model=list[Prescriber], responses={200: {"headers": PAGINATION_HEADERS}})
async def list_prescribers(
    request: Request,
    response: Response,
    page: PageParams,
    session: SessionDep,
    principal: AnyUser,
    npi: Annotated[str | None, Query(description="Exactly this NPI.")] = None,
    last_name: Annotated[str | None, Query(description="This last name, in any case.")] = None,
) -> list[models.Prescriber]:
    """List the caller's prescribers (pharmacy staff see every customer's)."""
    filters = PrescriberFilters(npi=npi, last_name=last_name)
    found = await prescriber_service.page(session, principal, filters, page)
    return serve_page(found, request, response)


@router.get("/{prescriber_id}", response_model=Prescriber, responses=_FOUND)
async def get_prescriber(
    prescriber_id: PrescriberRef, session: SessionDep, principal: AnyUser
) -> models.Prescriber:
    """Get a prescriber by id or NPI."""
    return await prescriber_service.get(session, principal, prescriber_id)


@router.put(
    "/{prescriber_id}",
    response_model=Prescriber,
    responses={
        404: error_response(PrescriberNotFound),
        409: error_response(AmbiguousPrescriberRef, PrescriberExists, QualificationExists),
        422: _invalid(DeaNameMismatch, RequiredFieldCleared),
    },
)
async def update_prescriber(
    prescriber_id: PrescriberRef, body: PrescriberUpdate, session: SessionDep, principal: AnyUser
) -> models.Prescriber:
    """Update a prescriber: only the fields sent change (deactivate with is_active false)."""
    return await prescriber_service.update(session, principal, prescriber_id, body)


@router.get("/{prescriber_id}/qualifications", response_model=list[Qualification], responses=_FOUND)
async def list_qualifications(
    prescriber_id: PrescriberRef, session: SessionDep, principal: AnyUser
) -> list[models.Qualification]:
    """List a prescriber's licences, replaced ones included."""
    return await prescriber_service.qualifications(session, principal, prescriber_id)


@router.post(
    "/{prescriber_id}/qualifications",
    status_code=201,
    response_model=Qualification,
    responses={
        404: error_response(PrescriberNotFound),
        409: error_response(AmbiguousPrescriberRef, QualificationExists),
    },
)
async def add_qualification(
    prescriber_id: PrescriberRef, body: QualificationIn, session: SessionDep, principal: AnyUser
) -> models.Qualification:
    """Add a licence to a prescriber."""
    return await prescriber_service.add_qualification(session, principal, prescriber_id, body)


@router.put(
    "/{prescriber_id}/qualifications/{qualification_id}",
    response_model=Qualification,
    responses={
        404: error_response(PrescriberNotFound, QualificationNotFound),
        409: error_response(AmbiguousPrescriberRef, QualificationExists, QualificationReplaced),
        422: _invalid(QualificationStateMismatch),
    },
)
async def update_qualification(
    prescriber_id: PrescriberRef,
    qualification_id: QualificationRef,
    body: QualificationIn,
    session: SessionDep,
    principal: AnyUser,
) -> models.Qualification:
    """Update a licence; a new license_number replaces it with a new qualification."""
    return await prescriber_service.update_qualification(
        session, principal, prescriber_id, qualification_id, body
    )
