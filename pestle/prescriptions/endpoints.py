from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from pestle import models
from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.exceptions import UnknownReference, Unprocessable, error_response
from pestle.kit.crypto import Cipher
from pestle.kit.ids import parse_uuid
from pestle.kit.pagination import PAGINATION_HEADERS, PageParams, serve_page
from pestle.orders.service import OrderOfAnotherPatient, order_service
from pestle.patients.schemas import Patient
from pestle.patients.service import MinorNeedsGuardian, PatientExists
from pestle.prescribers.schemas import Prescriber
from pestle.prescriptions import schemas
from pestle.prescriptions.quantity_units import QUANTITY_UNITS, UNIT_TYPE, UNIT_TYPE_CODE
from pestle.prescriptions.repository import NULL, IdFilter, PrescriptionFilters
from pestle.prescriptions.script_xml import (
    InvalidScriptElement,
    MalformedScript,
    MissingScriptElement,
    NotAScriptMessage,
    ScriptTooLarge,
)
from pestle.prescriptions.service import (
    ElectronicPrescriptionNotFound,
    ExpiresBeforeWritten,
    PrescriptionAlreadyCancelled,
    PrescriptionNotFound,
    PrescriptionsBelongToCustomers,
    UnusableScriptMedication,
    prescription_service,
)

router = APIRouter(tags=["Prescriptions"])


class InvalidFilter(Unprocessable):
    def __init__(self, name: str, value: str) -> None:
        super().__init__(f"{name}: {value!r} is neither a UUID nor null.")


class UnknownStatus(Unprocessable):
    def __init__(self, value: str) -> None:
        super().__init__(
            f"status: {value!r} is not one of {', '.join(models.PRESCRIPTION_STATUSES)}."
        )


def _id_filter(name: str, value: str | None) -> IdFilter:
    if value is None:
        return None
    if value.strip().lower() == NULL:
        return NULL
    parsed = parse_uuid(value)
    if parsed is None:
        raise InvalidFilter(name, value)
    return parsed


def _detail(prescription: models.Prescription) -> schemas.PrescriptionDetail:
    base = schemas.PrescriptionOut.model_validate(prescription).model_dump()
    patient, prescriber, product = (
        prescription.patient,
        prescription.prescriber,
        prescription.prescription_product,
    )
    return schemas.PrescriptionDetail(
        **base,
        customer=schemas.CustomerSummary.model_validate(prescription.customer),
        electronic_prescription=schemas.ElectronicPrescriptionSummary.model_validate(
            prescription.electronic_prescription
        ),
        patient=Patient.of(patient) if patient is not None else None,
        prescription_product=schemas.ProductSummary.model_validate(product)
        if product is not None
        else None,
        prescriber=Prescriber.model_validate(prescriber) if prescriber is not None else None,
    )


_SUBMIT = {
    "status_code": 201,
    "response_model": schemas.ElectronicPrescriptionOut,
    "responses": {
        403: error_response(PrescriptionsBelongToCustomers),
        400: error_response(
            MalformedScript,
            NotAScriptMessage,
            MissingScriptElement,
            InvalidScriptElement,
            UnusableScriptMedication,
        ),
        404: error_response(PrescriptionNotFound),
        409: error_response(PatientExists, PrescriptionAlreadyCancelled),
        413: error_response(ScriptTooLarge),
        422: error_response(
            UnknownReference, ExpiresBeforeWritten, MinorNeedsGuardian, OrderOfAnotherPatient
        ),
    },
}
_SUBMIT_SUMMARY = "Submit an electronic prescription: JSON, or NCPDP SCRIPT XML (NewRx, CancelRx)."


async def _submit(
    request: Request,
    body: schemas.ElectronicPrescriptionCreate,
    session: SessionDep,
    principal: AnyUser,
    cipher: Cipher,
) -> schemas.ElectronicPrescriptionOut:
    raw = (await request.body()).decode("utf-8", errors="replace")
    erx = await prescription_service.submit_json(session, principal, cipher, body, raw)
    await order_service.prescriptions_arrived(session, principal, erx)
    return schemas.ElectronicPrescriptionOut.of(erx)


class XmlRoute(APIRoute):
    """Matches only requests whose body is XML: an NCPDP SCRIPT document on the eRx path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and not _is_xml(scope):
            return Match.NONE, {}
        return match, child


def _is_xml(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media_type = value.split(b";")[0].strip().lower()
            return media_type in (b"application/xml", b"text/xml") or media_type.endswith(b"+xml")
    return False


async def _submit_xml(
    request: Request, session: SessionDep, principal: AnyUser
) -> schemas.ElectronicPrescriptionOut:
    erx = await prescription_service.submit_script(session, principal, await request.body())
    await order_service.prescriptions_arrived(session, principal, erx)
    return schemas.ElectronicPrescriptionOut.of(erx)


_XML_BODY = {
    "requestBody": {
        "content": {
            "application/xml": {
                "schema": {
                    "type": "string",
                    "description": "An NCPDP SCRIPT 2017071 NewRx or CancelRx message.",
                }
            }
        }
    }
}

# Registered before the JSON routes so that an XML body reaches the SCRIPT reader.
for path, name in (
    ("/prescriptions/electronic_prescriptions", "submit_script_electronic_prescription"),
    ("/electronic_prescriptions", "submit_script_electronic_prescription_legacy"),
):
    router.add_api_route(
        path,
        _submit_xml,
        methods=["POST"],
        name=name,
        status_code=201,
        response_model=schemas.ElectronicPrescriptionOut,
        include_in_schema=False,
        route_class_override=XmlRoute,
    )

router.add_api_route(
    "/prescriptions/electronic_prescriptions",
    _submit,
    openapi_extra=_XML_BODY,
    methods=["POST"],
    summary=_SUBMIT_SUMMARY,
    name="submit_electronic_prescription",
    **_SUBMIT,  # type: ignore[arg-type]
)
# The older documentation's path for the same call.
router.add_api_route(
    "/electronic_prescriptions",
    _submit,
    methods=["POST"],
    summary=_SUBMIT_SUMMARY,
    name="submit_electronic_prescription_legacy",
    include_in_schema=False,
    **_SUBMIT,  # type: ignore[arg-type]
)


@router.get("/prescriptions/quantity_units", response_model=list[schemas.QuantityUnit])
async def list_quantity_units() -> list[schemas.QuantityUnit]:
    """List the NCPDP quantity units: a `code` is what `units` takes on submission."""
    return [
        schemas.QuantityUnit(
            code=unit.code,
            term=unit.name,
            type=UNIT_TYPE,
            type_code=UNIT_TYPE_CODE,
            current=unit.current,
        )
        for unit in QUANTITY_UNITS
    ]


@router.get("/prescriptions/statuses", response_model=list[schemas.PrescriptionStatus])
async def list_statuses() -> list[schemas.PrescriptionStatus]:
    """List the prescription statuses."""
    return [
        schemas.PrescriptionStatus(
            code=code, name=code.replace("_", " ").title(), description=description
        )
        for code, description in schemas.STATUS_DESCRIPTIONS.items()
    ]


@router.get(
    "/prescriptions/electronic_prescriptions/{electronic_prescription_id}",
    response_model=schemas.ElectronicPrescriptionOut,
    responses={404: error_response(ElectronicPrescriptionNotFound)},
)
async def get_electronic_prescription(
    electronic_prescription_id: Annotated[str, Path(description="The eRx's id.")],
    session: SessionDep,
    principal: AnyUser,
) -> schemas.ElectronicPrescriptionOut:
    """Get an electronic prescription with its prescriptions."""
    erx = await prescription_service.electronic_prescription(
        session, principal, electronic_prescription_id
    )
    return schemas.ElectronicPrescriptionOut.of(erx)


@router.get(
    "/prescriptions",
    response_model=list[schemas.PrescriptionDetail],
    response_model_exclude_unset=True,
    responses={
        200: {"headers": PAGINATION_HEADERS},
        422: error_response(InvalidFilter, UnknownStatus),
    },
)
async def list_prescriptions(
    request: Request,
    response: Response,
    page: PageParams,
    session: SessionDep,
    principal: AnyUser,
    status: Annotated[str | None, Query(description="One status value.")] = None,
    patient_id: Annotated[str | None, Query(description="An id, or `null`.")] = None,
    prescription_product_id: Annotated[str | None, Query(description="An id, or `null`.")] = None,
    prescriber_id: Annotated[str | None, Query(description="An id, or `null`.")] = None,
    include: Annotated[
        Literal["all"] | None, Query(description="`all` embeds the related objects.")
    ] = None,
) -> list[schemas.PrescriptionOut]:
    """List the caller's prescriptions (pharmacy staff see every customer's)."""
    if status is not None and status not in models.PRESCRIPTION_STATUSES:
        raise UnknownStatus(status)
    filters = PrescriptionFilters(
        status=status,
        patient_id=_id_filter("patient_id", patient_id),
        prescriber_id=_id_filter("prescriber_id", prescriber_id),
        prescription_product_id=_id_filter("prescription_product_id", prescription_product_id),
        include_related=include == "all",
    )
    found = serve_page(
        await prescription_service.page(session, principal, filters, page), request, response
    )
    if include == "all":
        return [_detail(p) for p in found]
    return [schemas.PrescriptionOut.model_validate(p) for p in found]


@router.get(
    "/prescriptions/{prescription_id}",
    response_model=schemas.PrescriptionDetail,
    response_model_exclude_unset=True,
    responses={404: error_response(PrescriptionNotFound)},
)
async def get_prescription(
    prescription_id: Annotated[str, Path(description="The prescription's id.")],
    session: SessionDep,
    principal: AnyUser,
    include_all: Annotated[bool, Query(description="Embed the related objects.")] = False,
) -> schemas.PrescriptionOut:
    """Get a prescription."""
    found = await prescription_service.get(session, principal, prescription_id, related=include_all)
    if include_all:
        return _detail(found)
    return schemas.PrescriptionOut.model_validate(found)
