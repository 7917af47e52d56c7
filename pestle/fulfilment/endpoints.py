"""HTTP for the pharmacy workflow: staff transitions, shipments and deliveries."""

import uuid
from typing import Annotated

from fastapi import APIRouter

from pestle.auth.dependencies import AnyUser, RoleNotAllowed, StaffUser
from pestle.db import SessionDep
from pestle.exceptions import Responses, error_response
from pestle.fulfilment import schemas
from pestle.fulfilment.service import (
    GenericServiceLevel,
    NotEnoughStock,
    OverrideNotApplicable,
    PrescriptionsNotUsable,
    RiskFactorConflicts,
    ShipmentAlreadyDelivered,
    ShipmentNotAllowed,
    ShipmentNotFound,
    fulfilment_service,
)
from pestle.kit.links import AppUrl
from pestle.orders import shipping
from pestle.orders.service import (
    AmbiguousOrderRef,
    InvalidTransition,
    OrderNotFound,
    RoleCannotMove,
    UnknownOrderStatus,
    order_service,
    shipment_view,
)

router = APIRouter(prefix="/orders", tags=["Pharmacy workflow"])

OrderRef = Annotated[str, "The order's id, its order_number or the customer's external_id."]

_FOUND: Responses = {404: error_response(OrderNotFound), 409: error_response(AmbiguousOrderRef)}


@router.post(
    "/{order_id}/transitions",
    response_model=schemas.Order,
    responses={
        403: error_response(RoleNotAllowed, RoleCannotMove),
        404: error_response(OrderNotFound),
        409: error_response(
            InvalidTransition,
            PrescriptionsNotUsable,
            RiskFactorConflicts,
            NotEnoughStock,
            AmbiguousOrderRef,
        ),
        422: error_response(UnknownOrderStatus, OverrideNotApplicable),
    },
)
async def transition(
    order_id: OrderRef,
    body: schemas.TransitionRequest,
    session: SessionDep,
    principal: StaffUser,
    app_url: AppUrl,
) -> schemas.Order:
    """Move an order to its next pharmacy status (staff; see the order's allowed_transitions)."""
    order = await fulfilment_service.transition(session, principal, order_id, body, app_url)
    return await order_service.view(session, order)


@router.get("/{order_id}/shipments", response_model=list[schemas.ShipmentOut], responses=_FOUND)
async def list_shipments(
    order_id: OrderRef, session: SessionDep, principal: AnyUser
) -> list[schemas.ShipmentOut]:
    """The order's shipments, oldest first."""
    found = await fulfilment_service.shipments(session, principal, order_id)
    return [shipment_view(shipment) for shipment in found]


@router.post(
    "/{order_id}/shipments",
    status_code=201,
    response_model=schemas.ShipmentOut,
    responses={
        403: error_response(RoleNotAllowed, RoleCannotMove),
        404: error_response(OrderNotFound),
        409: error_response(ShipmentNotAllowed, InvalidTransition, AmbiguousOrderRef),
        422: error_response(
            shipping.UnknownCarrier,
            shipping.UnknownServiceLevel,
            shipping.CarrierServiceMismatch,
            GenericServiceLevel,
        ),
    },
)
async def create_shipment(
    order_id: OrderRef,
    body: schemas.ShipmentCreate,
    session: SessionDep,
    principal: StaffUser,
    app_url: AppUrl,
) -> schemas.ShipmentOut:
    """Attach a shipment (staff); the first one moves the order from S01 to S02."""
    shipment = await fulfilment_service.ship(session, principal, order_id, body, app_url)
    return shipment_view(shipment)


@router.post(
    "/{order_id}/shipments/{shipment_id}/delivered",
    response_model=schemas.ShipmentOut,
    responses={
        403: error_response(RoleNotAllowed),
        404: error_response(OrderNotFound, ShipmentNotFound),
        409: error_response(ShipmentAlreadyDelivered, InvalidTransition, AmbiguousOrderRef),
    },
)
async def deliver_shipment(
    order_id: OrderRef,
    shipment_id: uuid.UUID,
    session: SessionDep,
    principal: StaffUser,
    app_url: AppUrl,
) -> schemas.ShipmentOut:
    """Mark a shipment delivered (staff); the order's last one moves it from S02 to S03."""
    shipment = await fulfilment_service.deliver(session, principal, order_id, shipment_id, app_url)
    return shipment_view(shipment)
