from typing import Annotated

from fastapi import APIRouter, Body, Query, Request

from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.exceptions import UnknownReference, error_response, invalid_response
from pestle.intake import schemas
from pestle.intake.service import CompositeBelongsToCustomers, intake_service
from pestle.kit.crypto import Cipher
from pestle.kit.links import AppUrl
from pestle.orders import shipping
from pestle.orders.service import (
    AddressRequired,
    ErxOfAnotherPatient,
    InactiveProduct,
    OrderExists,
    PatientIdNotFound,
)
from pestle.patients.service import MinorNeedsGuardian, PatientExists
from pestle.prescribers.service import DeaNameMismatch, PrescriberExists, QualificationExists
from pestle.prescriptions.service import ExpiresBeforeWritten

SHIPPING_ERRORS = (
    shipping.UnknownCarrier,
    shipping.UnknownServiceLevel,
    shipping.CarrierServiceMismatch,
    shipping.ShippingChoiceEmpty,
)

router = APIRouter(tags=["Prescriptions"])


@router.post(
    "/prescriptions/electronic_prescriptions/composite",
    status_code=201,
    summary="Create or reference a patient, a prescriber, an eRx and an order at once",
    response_model=schemas.CompositeResult,
    response_model_exclude_none=True,
    responses={
        403: error_response(CompositeBelongsToCustomers),
        404: error_response(PatientIdNotFound),
        409: error_response(PatientExists, PrescriberExists, QualificationExists, OrderExists),
        422: invalid_response(
            UnknownReference,
            MinorNeedsGuardian,
            DeaNameMismatch,
            ExpiresBeforeWritten,
            InactiveProduct,
            AddressRequired,
            ErxOfAnotherPatient,
            *SHIPPING_ERRORS,
        ),
    },
)
async def create_composite(
    request: Request,
    body: Annotated[schemas.CompositeCreate, Body(openapi_examples=schemas.EXAMPLES)],
    session: SessionDep,
    principal: AnyUser,
    cipher: Cipher,
    app_url: AppUrl,
    force_new: Annotated[
        bool, Query(description="Always create a new order instead of merging into an open one.")
    ] = False,
) -> schemas.CompositeResult:
    """All or nothing: any refusal writes no part. See the body schema for the fallbacks."""
    return await intake_service.composite(
        session, principal, cipher, body, await request.body(), app_url, force_new=force_new
    )
