from typing import Annotated

from fastapi import APIRouter, Query

from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.exceptions import Responses, error_response
from pestle.search import schemas
from pestle.search.service import BlankQuery, search_service

router = APIRouter(prefix="/search", tags=["Search"])

_HOW = (
    "Every word of `q` must occur, in any case, somewhere in the searched fields (a substring "
    "of a name, an email, an id, an order number, an external id, a SKU, a product code...). "
    'A phrase in double quotes (`"Willard Donnelly"`) must equal a whole field: a name, the '
    "full name (first last, or first middle last), an email... A date of birth may be typed "
    "`MM/DD/YYYY` (the whole date only), `YYYY-MM-DD` or `YYYYMMDD` (also their beginnings, "
    "e.g. `1990-01` or `199001`); a phone number may be typed with any formatting "
    "(`(641) 738-3445`, `+1 641.738.3445`): its digits are searched. Results are sorted by "
    "`rank` (then oldest first); a customer user finds only its customer's rows, pharmacy "
    "staff every customer's. Inferred: `q` blank or `limit` outside 1..100 is a 422."
)
Q = Annotated[
    str,
    Query(min_length=1, max_length=200, description="The search text.", examples=["Donnelly"]),
]
Limit = Annotated[int, Query(ge=1, le=100, description="At most this many results.")]
_REFUSED: Responses = {422: error_response(BlankQuery)}


@router.get(
    "",
    summary="Search every kind of record",
    response_model=schemas.GlobalResults,
    responses=_REFUSED,
    description=(
        "Searches patients, orders, prescribers, prescriptions and products at once. "
        + _HOW
        + " Inferred `result_type` values: `patient`, `order`, `prescriber`, `prescription` "
        "(the prescription itself), and for products `prescription_product`, "
        "`non_prescription` and `order_material` (so that a prescription product cannot be "
        "taken for a prescription). Prescribers are found by name, email, phone, NPI, DEA "
        "or SPI; prescriptions by id, drug name, product name, product code or serial number."
    ),
)
async def search(
    q: Q, session: SessionDep, principal: AnyUser, limit: Limit = 50
) -> schemas.GlobalResults:
    """Search every kind of record."""
    results = await search_service.everything(session, principal, q, limit)
    return schemas.GlobalResults(results=results)


@router.get(
    "/orders",
    summary="Search orders",
    response_model=schemas.OrderResults,
    responses=_REFUSED,
    description=(
        "Inferred: orders match by id, order number or external id, or by their patient's "
        "id, name, email, phone or date of birth. " + _HOW
    ),
)
async def search_orders(
    q: Q, session: SessionDep, principal: AnyUser, limit: Limit = 50
) -> schemas.OrderResults:
    """Search orders."""
    return schemas.OrderResults(results=await search_service.orders(session, principal, q, limit))


@router.get(
    "/patients",
    summary="Search patients",
    response_model=schemas.PatientResults,
    responses=_REFUSED,
    description="Patients match by id, name, email, phone, date of birth or external id. " + _HOW,
)
async def search_patients(
    q: Q, session: SessionDep, principal: AnyUser, limit: Limit = 50
) -> schemas.PatientResults:
    """Search patients."""
    results = await search_service.patients(session, principal, q, limit)
    return schemas.PatientResults(results=results)


@router.get(
    "/products",
    summary="Search products",
    response_model=schemas.ProductResults,
    responses=_REFUSED,
    description=(
        "Products of all three families match by id, name, SKU or product code; "
        "`result_type` is the family (`prescription`, `non_prescription`, "
        "`order_material`). A customer also finds the pharmacy's global order materials. " + _HOW
    ),
)
async def search_products(
    q: Q, session: SessionDep, principal: AnyUser, limit: Limit = 50
) -> schemas.ProductResults:
    """Search products."""
    results = await search_service.products(session, principal, q, limit)
    return schemas.ProductResults(results=results)
