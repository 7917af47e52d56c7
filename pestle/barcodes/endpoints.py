"""Barcoding: barcodes issued for entities, verified from a scan, printed as labels; GS1
element strings from drug packages resolved to products and lots."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response

from pestle.auth.dependencies import AnyUser
from pestle.barcodes import schemas
from pestle.barcodes.gs1 import InvalidGs1Element, NotGs1
from pestle.barcodes.service import (
    BarcodeEntityGone,
    BarcodeExpired,
    BarcodeInactive,
    BarcodeNotFound,
    EntityNotFound,
    NoActiveBarcode,
    barcode_service,
)
from pestle.db import SessionDep
from pestle.exceptions import Responses, error_response, invalid_response
from pestle.kit.pagination import PAGINATION_HEADERS, PageParams, serve_page

router = APIRouter(prefix="/barcodes", tags=["Barcodes"])

EntityTypeParam = Annotated[
    schemas.EntityType,
    Path(
        description="What the barcode is for. Another value is a 422 naming the allowed ones.",
    ),
]
EntityRef = Annotated[
    str,
    Path(
        description="The entity's id (an inventory lot's for `inventory`); an order's "
        "order_number works too.",
    ),
]
BarcodeId = Annotated[uuid.UUID, Path(description="The barcode's id.")]

_ENTITY: Responses = {404: error_response(EntityNotFound)}
_VALUE_EXAMPLE = "USER-3da03bd9-26cd-487c-9619-d4e1b0c26f24-7172173f"


@router.post(
    "/verify",
    response_model=schemas.Barcode,
    responses={
        404: error_response(BarcodeNotFound),
        410: error_response(BarcodeInactive, BarcodeExpired, BarcodeEntityGone),
    },
    description="Inferred: a value unknown to the caller's tenant is 404; a barcode that was "
    "deactivated, has expired, or whose entity is gone (a deactivated user, a deleted row) "
    "is 410 with a detail saying which. Surrounding whitespace is ignored.",
)
async def verify_barcode(
    body: schemas.BarcodeVerify, session: SessionDep, principal: AnyUser
) -> schemas.Barcode:
    """Resolve a scanned barcode value to its barcode and entity."""
    return await barcode_service.verify(session, principal, body.barcode_value)


@router.post(
    "/parse",
    response_model=schemas.Gs1Parsed,
    responses={422: invalid_response(NotGs1, InvalidGs1Element)},
    description="Pestle's addition: reads the GS1 element string of a drug package's "
    "DataMatrix (GTIN, expiry, lot, serial) with biip and finds the caller's inventory lots "
    "of that item (by GTIN, the NDC inside an NDC-based GTIN, or the UPC-A inside the GTIN) "
    "and batch, and the products they feed. Writes nothing.",
)
async def parse_gs1(
    body: schemas.Gs1Scan, session: SessionDep, principal: AnyUser
) -> schemas.Gs1Parsed:
    """Parse a scanned GS1 element string and find its products and lots."""
    return await barcode_service.parse_gs1(session, principal, body.barcode_value)


@router.post(
    "/{entity_type}/{entity_id}",
    status_code=201,
    response_model=schemas.Barcode,
    responses=_ENTITY,
    description="Inferred: 201; earlier barcodes of the entity stay active. A `user` barcode "
    "expires after one hour, any other never, unless `expires_in` says otherwise. A customer "
    "user issues barcodes only for its own customer's entities (users included); pharmacy "
    "staff for any, staff users, global products and the pharmacy's lots too. Product types "
    "must match the product's kind.",
)
async def create_barcode(
    entity_type: EntityTypeParam,
    entity_id: EntityRef,
    session: SessionDep,
    principal: AnyUser,
    body: Annotated[schemas.BarcodeCreate | None, Body()] = None,
) -> schemas.Barcode:
    """Issue a new barcode for an entity."""
    return await barcode_service.create(session, principal, entity_type, entity_id, body)


@router.get(
    "/{entity_type}/{entity_id}",
    response_model=list[schemas.Barcode],
    responses={200: {"headers": PAGINATION_HEADERS}, **_ENTITY},
    description="Newest first, paginated like every list. `is_active=false` lists inactive "
    "barcodes too (inferred: it does not filter); expired ones stay listed while active.",
)
async def list_barcodes(
    entity_type: EntityTypeParam,
    entity_id: EntityRef,
    request: Request,
    response: Response,
    page: PageParams,
    session: SessionDep,
    principal: AnyUser,
    is_active: Annotated[
        bool, Query(description="true: active barcodes only; false: all of them.")
    ] = True,
    include_images: Annotated[
        bool, Query(description="false leaves `image` out of each barcode.")
    ] = True,
) -> list[schemas.Barcode]:
    """List the barcodes issued for an entity."""
    found = await barcode_service.listed(
        session,
        principal,
        entity_type,
        entity_id,
        page,
        only_active=is_active,
        include_images=include_images,
    )
    return serve_page(found, request, response)


@router.get(
    "/{entity_type}/{entity_id}/label.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The symbol as a PNG."},
        404: error_response(EntityNotFound, NoActiveBarcode),
    },
    description="Pestle's addition: the entity's newest active, unexpired barcode value as a "
    "printable symbol, `scale` px per module, with the symbology's quiet zone (Aztec needs "
    "none). With no such "
    "barcode it is 404: issue one first.",
)
async def barcode_label(
    entity_type: EntityTypeParam,
    entity_id: EntityRef,
    session: SessionDep,
    principal: AnyUser,
    format: Annotated[
        schemas.SymbolFormat, Query(description="The symbology.")
    ] = schemas.SymbolFormat.aztec,
    scale: Annotated[int, Query(ge=1, le=20, description="Pixels per module.")] = 4,
) -> Response:
    """Get a printable label of an entity's barcode."""
    image = await barcode_service.label(session, principal, entity_type, entity_id, format, scale)
    return Response(image, media_type="image/png")


@router.delete(
    "/{entity_type}/{entity_id}/{barcode_id}",
    status_code=204,
    response_class=Response,
    responses={404: error_response(EntityNotFound, BarcodeNotFound)},
    description="Pestle's addition: the barcode is kept with `is_active` false and "
    "`deactivated_at` set, and no longer verifies (410). Deactivating it again is a no-op "
    "that keeps the first `deactivated_at`.",
)
async def deactivate_barcode(
    entity_type: EntityTypeParam,
    entity_id: EntityRef,
    barcode_id: BarcodeId,
    session: SessionDep,
    principal: AnyUser,
) -> Response:
    """Deactivate one of an entity's barcodes."""
    await barcode_service.deactivate(session, principal, entity_type, entity_id, barcode_id)
    return Response(status_code=204)
