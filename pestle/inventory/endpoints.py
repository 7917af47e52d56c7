"""Products and Materials Inventory: lots, their links to products, and quantity changes."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from pestle import models
from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.exceptions import RequiredFieldCleared, Responses, error_response
from pestle.inventory import schemas
from pestle.inventory.service import (
    AssociationExists,
    AssociationNotFound,
    InsufficientLotQuantity,
    LotNotFound,
    LotNotOwned,
    LotQuantityTooLarge,
    ProductNotFound,
    inventory_service,
)
from pestle.kit.pagination import PAGINATION_HEADERS, PageParams, serve_page

router = APIRouter(prefix="/products", tags=["Inventory"])

LotId = Annotated[uuid.UUID, Path(description="The lot's id.")]
ProductId = Annotated[uuid.UUID, Path(description="The product's id.")]

_LOT_FOUND: Responses = {404: error_response(LotNotFound)}
_LOT_OWNED: Responses = {403: error_response(LotNotOwned), 404: error_response(LotNotFound)}


@router.get("/inventory", response_model=schemas.InventoryByType)
async def list_inventory(session: SessionDep, principal: AnyUser) -> schemas.InventoryByType:
    """List every lot the caller sees, grouped by kind, each with its associations."""
    return await inventory_service.list_lots(session, principal)


@router.post(
    "/inventory",
    status_code=201,
    response_model=schemas.InventoryLot,
    responses={404: error_response(ProductNotFound)},
)
async def create_inventory(
    body: schemas.LotCreate, session: SessionDep, principal: AnyUser
) -> schemas.InventoryLot:
    """Record a received lot, optionally linked to several products."""
    return await inventory_service.create_lot(session, principal, body)


@router.get("/inventory/{lot_id}", response_model=schemas.InventoryLot, responses=_LOT_FOUND)
async def get_inventory_lot(
    lot_id: LotId, session: SessionDep, principal: AnyUser
) -> schemas.InventoryLot:
    """Get a lot with its associations."""
    return await inventory_service.get_lot(session, principal, lot_id)


@router.put(
    "/inventory/{lot_id}",
    response_model=schemas.InventoryLot,
    responses={**_LOT_OWNED, 422: error_response(RequiredFieldCleared)},
)
async def update_inventory_lot(
    lot_id: LotId, body: schemas.LotUpdate, session: SessionDep, principal: AnyUser
) -> schemas.InventoryLot:
    """Update a lot: only the fields sent change (retire it with is_active false)."""
    return await inventory_service.update_lot(session, principal, lot_id, body)


@router.patch(
    "/inventory/{lot_id}/quantity",
    status_code=201,
    response_model=schemas.InventoryLot,
    responses={**_LOT_OWNED, 409: error_response(InsufficientLotQuantity, LotQuantityTooLarge)},
)
async def adjust_inventory_quantity(
    lot_id: LotId, body: schemas.QuantityAdjustment, session: SessionDep, principal: AnyUser
) -> schemas.InventoryLot:
    """Add a signed amount to a lot's on-hand quantity, and record it in the lot's ledger."""
    return await inventory_service.adjust_quantity(session, principal, lot_id, body)


@router.get(
    "/inventory/{lot_id}/adjustments",
    response_model=list[schemas.Adjustment],
    responses={200: {"headers": PAGINATION_HEADERS}, **_LOT_FOUND},
)
async def list_inventory_adjustments(
    lot_id: LotId,
    request: Request,
    response: Response,
    page: PageParams,
    session: SessionDep,
    principal: AnyUser,
) -> list[models.LotAdjustment]:
    """List a lot's quantity ledger, oldest first; it sums to the lot's current_quantity."""
    found = await inventory_service.adjustments(session, principal, lot_id, page)
    return serve_page(found, request, response)


@router.get(
    "/inventory/{lot_id}/associations",
    response_model=schemas.AssociationsByType,
    responses=_LOT_FOUND,
)
async def list_inventory_associations(
    lot_id: LotId, session: SessionDep, principal: AnyUser
) -> schemas.AssociationsByType:
    """List the products a lot feeds, grouped by kind."""
    return await inventory_service.associations(session, principal, lot_id)


@router.post(
    "/inventory/{lot_id}/associations",
    status_code=201,
    response_model=schemas.AssociationsByType,
    responses={
        403: error_response(LotNotOwned),
        404: error_response(LotNotFound, ProductNotFound),
        409: error_response(AssociationExists),
    },
)
async def create_inventory_association(
    lot_id: LotId, body: schemas.AssociationIn, session: SessionDep, principal: AnyUser
) -> schemas.AssociationsByType:
    """Link a lot to a product; returns the lot's associations."""
    return await inventory_service.add_association(session, principal, lot_id, body)


@router.delete(
    "/inventory/{lot_id}/associations/{product_id}",
    response_model=schemas.Message,
    responses={
        403: error_response(LotNotOwned),
        404: error_response(LotNotFound, AssociationNotFound),
    },
)
async def delete_inventory_association(
    lot_id: LotId, product_id: ProductId, session: SessionDep, principal: AnyUser
) -> schemas.Message:
    """Unlink a lot from a product; the lot is kept."""
    await inventory_service.remove_association(session, principal, lot_id, product_id)
    return schemas.Message(message="Inventory association removed")


def _product_routes(kind: schemas.ProductKind) -> None:
    """GET and POST /products/{kind}/{product_id}/inventory for one kind."""
    label = {
        "prescription": "a prescription product",
        "non_prescription": "a non-prescription product",
        "order_material": "an order material",
    }[kind]

    async def list_lots(
        product_id: ProductId, session: SessionDep, principal: AnyUser
    ) -> list[schemas.ProductLot]:
        return await inventory_service.product_lots(session, principal, kind, product_id)

    async def create_lot(
        product_id: ProductId,
        body: schemas.ProductLotCreate,
        session: SessionDep,
        principal: AnyUser,
    ) -> schemas.ProductLot:
        return await inventory_service.create_product_lot(
            session, principal, kind, product_id, body
        )

    path = f"/{kind}/{{product_id}}/inventory"
    routes: list[tuple[str, Callable[..., Awaitable[Any]], dict[str, Any]]] = [
        (
            "GET",
            list_lots,
            {
                "response_model": list[schemas.ProductLot],
                "summary": f"List the lots behind {label}",
                "responses": {404: error_response(ProductNotFound)},
            },
        ),
        (
            "POST",
            create_lot,
            {
                "status_code": 201,
                "response_model": schemas.ProductLot,
                "summary": f"Record a lot for {label} and link it",
                "responses": {404: error_response(ProductNotFound)},
            },
        ),
    ]
    for method, endpoint, options in routes:
        name = f"{endpoint.__name__}_{kind}"
        router.add_api_route(path, endpoint, methods=[method], name=name, **options)


for _kind in schemas.KINDS:
    _product_routes(_kind)
