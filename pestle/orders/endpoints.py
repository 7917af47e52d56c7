import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.exceptions import Responses, UnknownReference, error_response, invalid_response
from pestle.kit.crypto import Cipher
from pestle.kit.links import AppUrl
from pestle.kit.pagination import PAGINATION_HEADERS, PageParams, serve_page
from pestle.orders import schemas, shipping, statuses
from pestle.orders.repository import OrderFilters
from pestle.orders.service import (
    AddressRequired,
    AmbiguousLine,
    AmbiguousOrderRef,
    CancellationAlreadyRequested,
    CancellationNotRequestable,
    ErxOfAnotherPatient,
    InactiveProduct,
    InvalidTransition,
    LastLine,
    LineNotFound,
    NoProductsSent,
    OrderExists,
    OrderNotFound,
    OrdersBelongToCustomers,
    PatientIdNotFound,
    ProductsLocked,
    RoleCannotMove,
    ShippingLocked,
    UnknownOrderStatus,
    allowed_transitions,
    order_service,
)
from pestle.patients.service import MinorNeedsGuardian, PatientExists

router = APIRouter(prefix="/orders", tags=["Orders"])

OrderRef = Annotated[str, "The order's id, its order_number or the customer's external_id."]
ForceNew = Annotated[
    bool, Query(description="Always create a new order instead of merging into an open one.")
]

_FOUND: Responses = {404: error_response(OrderNotFound), 409: error_response(AmbiguousOrderRef)}
_SHIPPING_ERRORS = (
    shipping.UnknownCarrier,
    shipping.UnknownServiceLevel,
    shipping.CarrierServiceMismatch,
    shipping.ShippingChoiceEmpty,
)
_MOVE: Responses = {
    **_FOUND,
    403: error_response(RoleCannotMove),
    409: error_response(InvalidTransition, AmbiguousOrderRef),
}
_LINES: Responses = {
    **_FOUND,
    400: error_response(AmbiguousLine),
    404: error_response(OrderNotFound, LineNotFound),
    409: error_response(ProductsLocked, LastLine, AmbiguousOrderRef),
}


@router.get("/statuses", response_model=list[schemas.OrderStatusOut])
async def list_statuses(principal: AnyUser) -> list[schemas.OrderStatusOut]:
    """Every order status, with the moves out of it and who may make them."""
    return [
        schemas.OrderStatusOut(
            status_code=status.code,
            status_name=status.name,
            description=status.description,
            next=allowed_transitions(status.code),
        )
        for status in statuses.STATUSES
    ]


@router.get("/shipping_options", response_model=schemas.ShippingOptions)
async def shipping_options(principal: AnyUser) -> schemas.ShippingOptions:
    """The carriers and service levels an order's `shipping` may name."""
    return schemas.ShippingOptions.model_validate(
        {
            "carriers": [
                {
                    "code": carrier.code,
                    "name": carrier.name,
                    "service_levels": [vars(level) for level in carrier.service_levels],
                }
                for carrier in shipping.CARRIERS
            ],
            "generic_service_levels": [vars(level) for level in shipping.GENERIC_LEVELS],
        }
    )


@router.get(
    "",
    response_model=list[schemas.Order],
    responses={200: {"headers": PAGINATION_HEADERS}, 422: invalid_response(UnknownOrderStatus)},
)
async def list_orders(
    request: Request,
    response: Response,
    page: PageParams,
    session: SessionDep,
    principal: AnyUser,
    status_code: Annotated[str | None, Query(max_length=3)] = None,
    status: Annotated[
        str | None,
        Query(
            max_length=40,
            description=(
                "A status name in any case (`Received`, `data entry`), or Blend's legacy value "
                "(received, paused, shipped, delivered, cancelled)."
            ),
        ),
    ] = None,
    patient_id: uuid.UUID | None = None,
    external_id: Annotated[str | None, Query(max_length=200)] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    stuck: Annotated[bool | None, Query(description="Only stuck (true) or unstuck orders.")] = None,
) -> list[schemas.Order]:
    """List orders, oldest first, optionally filtered."""
    filters = OrderFilters(
        status_code=status_code.upper() if status_code else None,
        status=status,
        patient_id=patient_id,
        external_id=external_id,
        created_after=created_after,
        created_before=created_before,
        stuck=stuck,
    )
    found = serve_page(
        await order_service.page(session, principal, filters, page), request, response
    )
    return await order_service.views(session, found)


@router.post(
    "",
    status_code=201,
    response_model=schemas.Order,
    responses={
        200: {"model": schemas.Order, "description": "Merged into the patient's open order."},
        403: error_response(OrdersBelongToCustomers),
        404: error_response(PatientIdNotFound),
        409: error_response(OrderExists, PatientExists),
        422: invalid_response(
            UnknownReference,
            ErxOfAnotherPatient,
            InactiveProduct,
            AddressRequired,
            MinorNeedsGuardian,
            *_SHIPPING_ERRORS,
        ),
    },
)
async def create_order(
    body: schemas.OrderCreate,
    response: Response,
    session: SessionDep,
    principal: AnyUser,
    cipher: Cipher,
    app_url: AppUrl,
    force_new: ForceNew = False,
) -> schemas.Order:
    """Create an order (201), or merge it into the patient's open N01 order (200)."""
    order, created = await order_service.create(
        session, principal, cipher, body, app_url, force_new=force_new
    )
    response.status_code = 201 if created else 200
    return await order_service.view(session, order)


@router.get("/{order_id}", response_model=schemas.Order, responses=_FOUND)
async def get_order(order_id: OrderRef, session: SessionDep, principal: AnyUser) -> schemas.Order:
    """Get an order by id, order number or external_id."""
    return await order_service.view(session, await order_service.get(session, principal, order_id))


@router.put(
    "/{order_id}",
    response_model=schemas.Order,
    responses={
        **_FOUND,
        409: error_response(ShippingLocked, OrderExists, AmbiguousOrderRef),
        422: invalid_response(*_SHIPPING_ERRORS),
    },
)
async def update_order(
    order_id: OrderRef,
    body: schemas.OrderUpdate,
    session: SessionDep,
    principal: AnyUser,
    cipher: Cipher,
    app_url: AppUrl,
    update_patient: Annotated[
        bool, Query(description="Also write the new address to the patient's record.")
    ] = False,
) -> schemas.Order:
    """Change the address, external_id, shipping or custom_shipping."""
    order = await order_service.update(
        session, principal, cipher, order_id, body, app_url, update_patient=update_patient
    )
    return await order_service.view(session, order)


@router.put("/{order_id}/cancel", response_model=schemas.Order, responses=_MOVE)
async def cancel_order(
    order_id: OrderRef, session: SessionDep, principal: AnyUser, app_url: AppUrl
) -> schemas.Order:
    """Cancel an order that is still N01 or H01; later, request a cancellation instead."""
    order = await order_service.cancel(session, principal, order_id, app_url)
    return await order_service.view(session, order)


@router.put("/{order_id}/pause", response_model=schemas.Order, responses=_MOVE)
async def pause_order(
    order_id: OrderRef, session: SessionDep, principal: AnyUser, app_url: AppUrl
) -> schemas.Order:
    """Pause an order that is still N01."""
    order = await order_service.pause(session, principal, order_id, app_url)
    return await order_service.view(session, order)


@router.put("/{order_id}/unpause", response_model=schemas.Order, responses=_MOVE)
async def unpause_order(
    order_id: OrderRef, session: SessionDep, principal: AnyUser, app_url: AppUrl
) -> schemas.Order:
    """Return a paused order to N01."""
    order = await order_service.unpause(session, principal, order_id, app_url)
    return await order_service.view(session, order)


@router.post(
    "/{order_id}/request_cancellation",
    response_model=schemas.Order,
    responses={
        **_FOUND,
        409: error_response(
            CancellationAlreadyRequested, CancellationNotRequestable, AmbiguousOrderRef
        ),
    },
)
async def request_cancellation(
    order_id: OrderRef,
    session: SessionDep,
    principal: AnyUser,
    app_url: AppUrl,
    body: schemas.CancellationRequest | None = None,
) -> schemas.Order:
    """Ask the pharmacy to cancel an order it is working on; once per order."""
    order = await order_service.request_cancellation(
        session, principal, order_id, body or schemas.CancellationRequest(), app_url
    )
    return await order_service.view(session, order)


@router.get(
    "/{order_id}/status_history",
    response_model=list[schemas.StatusHistoryEntry],
    responses=_FOUND,
)
async def status_history(
    order_id: OrderRef, session: SessionDep, principal: AnyUser
) -> list[schemas.StatusHistoryEntry]:
    """Every status the order entered, oldest first, with who and how long (seconds)."""
    return await order_service.history(session, principal, order_id)


@router.post(
    "/{order_id}/products",
    response_model=schemas.Order,
    responses={
        **_FOUND,
        409: error_response(ProductsLocked, AmbiguousOrderRef),
        422: invalid_response(UnknownReference, InactiveProduct, NoProductsSent),
    },
)
async def add_products(
    order_id: OrderRef,
    body: schemas.OrderProductsIn,
    session: SessionDep,
    principal: AnyUser,
    app_url: AppUrl,
) -> schemas.Order:
    """Add product lines to an order that is still N01 or H01."""
    order = await order_service.add_products(session, principal, order_id, body, app_url)
    return await order_service.view(session, order)


@router.patch(
    "/{order_id}/products/{product_type}/{product_id}",
    response_model=schemas.Order,
    responses=_LINES,
)
async def change_quantity(
    order_id: OrderRef,
    product_type: schemas.ProductType,
    product_id: uuid.UUID,
    body: schemas.QuantityUpdate,
    session: SessionDep,
    principal: AnyUser,
    app_url: AppUrl,
    order_item_id: Annotated[
        uuid.UUID | None, Query(description="Chooses the line when the product is on two.")
    ] = None,
) -> schemas.Order:
    """Change one line's quantity while the order is N01 or H01."""
    order = await order_service.set_quantity(
        session,
        principal,
        order_id,
        product_type,
        product_id,
        order_item_id,
        body.quantity,
        app_url,
    )
    return await order_service.view(session, order)


@router.delete(
    "/{order_id}/products/{product_type}/{product_id}",
    response_model=schemas.RemovedMessage,
    responses=_LINES,
)
async def remove_line(
    order_id: OrderRef,
    product_type: schemas.ProductType,
    product_id: uuid.UUID,
    session: SessionDep,
    principal: AnyUser,
    app_url: AppUrl,
    order_item_id: Annotated[
        uuid.UUID | None, Query(description="Chooses the line when the product is on two.")
    ] = None,
) -> schemas.RemovedMessage:
    """Remove one line while the order is N01 or H01."""
    message = await order_service.remove_line(
        session, principal, order_id, product_type, product_id, order_item_id, app_url
    )
    return schemas.RemovedMessage(message=message)
