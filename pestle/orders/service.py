"""The rules of the Orders area: creation and merging, the customer's changes, and `move`, the
one place an order changes status (the pharmacy workflow in `pestle.fulfilment` uses it too).

Decisions where the contract is silent:
- An open order is *mergeable* for a new request when it is the same patient's, still N01, ships
  to the same address, and nothing the request sets (external_id, shipping, custom_shipping)
  contradicts it; the newest such order takes the new lines. Otherwise a new order is made.
- Product references that match nothing, or more than one product, are a 422 naming the line.
- A prescription line is linked to the patient's soonest-expiring usable prescription for the
  product (preferring those of the eRx ids sent); its fill is used at data verification.
- The last line of an order cannot be removed: cancel the order instead.
- An eRx named in `electronic_prescription_ids` must be the order's patient's, or not yet
  matched to any patient.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.service import Principal
from pestle.events import service as events
from pestle.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    UnknownReference,
    Unprocessable,
)
from pestle.kit.crypto import FieldCipher
from pestle.kit.ids import new_id, order_number
from pestle.kit.pagination import Page, PageRequest
from pestle.kit.time import utcnow
from pestle.orders import schemas, shipping, statuses
from pestle.orders.repository import HistoryRow, OrderFilters, OrderRepository
from pestle.patients.schemas import PatientUpdate
from pestle.patients.service import AmbiguousPatientRef, PatientNotFound, patient_service
from pestle.prescriptions.service import ElectronicPrescriptionNotFound, prescription_service
from pestle.products.service import product_service

ADDRESS_FIELDS = ("address_1", "address_2", "city", "state", "zip_code", "country")


class OrderNotFound(NotFound):
    def __init__(self, ref: object) -> None:
        super().__init__(f"No order {ref}.")


class AmbiguousOrderRef(Conflict):
    def __init__(self, ref: str) -> None:
        super().__init__(f"{ref!r} names more than one order; use the order's id.")


class OrdersBelongToCustomers(Forbidden):
    def __init__(self) -> None:
        super().__init__("Pharmacy staff cannot create orders: an order belongs to a customer.")


class OrderExists(Conflict):
    def __init__(self, external_id: str) -> None:
        super().__init__(f"An order with external_id {external_id!r} already exists.")


class PatientIdNotFound(NotFound):
    def __init__(self, patient_id: uuid.UUID) -> None:
        super().__init__(f"patient_id: no patient {patient_id}.")


class InactiveProduct(Unprocessable):
    def __init__(self, field: str, product: models.Product) -> None:
        super().__init__(f"{field}: product {product.id} ({product.name}) is not active.")


class ErxOfAnotherPatient(Unprocessable):
    def __init__(self, field: str, erx_id: uuid.UUID) -> None:
        super().__init__(f"{field}: e-prescription {erx_id} is for another patient.")


class OrderOfAnotherPatient(Unprocessable):
    def __init__(self, field: str, ref: str) -> None:
        super().__init__(f"{field}: order {ref} is for another patient.")


class AddressRequired(Unprocessable):
    def __init__(self) -> None:
        super().__init__("address: the patient has no address on file; send the ship-to address.")


class InvalidTransition(Conflict):
    def __init__(self, source: str, target: str, hint: str = "") -> None:
        allowed = ", ".join(t.target for t in statuses.transitions_from(source)) or "none"
        super().__init__(
            f"An order in {source} ({statuses.status_name(source)}) cannot move to {target} "
            f"({statuses.status_name(target)}); allowed next: {allowed}.{hint}"
        )


class UnknownOrderStatus(Unprocessable):
    def __init__(self, field: str, value: str) -> None:
        codes = ", ".join(status.code for status in statuses.STATUSES)
        super().__init__(f"{field}: {value!r} is not an order status; one of {codes}.")


class RoleCannotMove(Forbidden):
    def __init__(self, role: str, transition: statuses.Transition) -> None:
        allowed = ", ".join(sorted(transition.roles))
        super().__init__(
            f"A {role} cannot move an order from {transition.source} to {transition.target}; "
            f"this step is for: {allowed}."
        )


class ProductsLocked(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"Products can change only while the order is N01 (Received) or H01 (Paused); "
            f"it is {code} ({statuses.status_name(code)})."
        )


class ShippingLocked(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"The address and shipping can no longer change: the order is {code} "
            f"({statuses.status_name(code)})."
        )


class CancellationAlreadyRequested(Conflict):
    def __init__(self) -> None:
        super().__init__("A cancellation was already requested for this order.")


class CancellationNotRequestable(Conflict):
    def __init__(self, code: str) -> None:
        hint = (
            " Cancel it instead: PUT /api/v1/orders/{order_id}/cancel."
            if code in statuses.EDITABLE
            else ""
        )
        super().__init__(
            f"A cancellation can be requested only while the pharmacy works on an order; "
            f"it is {code} ({statuses.status_name(code)}).{hint}"
        )


class LineNotFound(NotFound):
    def __init__(self, product_type: str, product_id: object) -> None:
        super().__init__(f"The order has no {product_type} line for product {product_id}.")


class AmbiguousLine(BadRequest):
    def __init__(self, product_id: object) -> None:
        super().__init__(
            f"Product {product_id} is on more than one line of this order; "
            "send order_item_id to choose one."
        )


class LastLine(Conflict):
    def __init__(self) -> None:
        super().__init__("An order keeps at least one line; cancel the order instead.")


@dataclass(frozen=True)
class LineRequest:
    kind: str
    product: models.Product
    quantity: int


def summary(order: models.Order, patient: models.Patient, app_url: str) -> dict[str, Any]:
    """The order summary of the `order.created` webhook, exactly as the contract shows it."""
    return {
        "id": order.id,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "url": f"{app_url.rstrip('/')}/orders/{order.id}",
        "order_number": order.order_number,
        "last_name": patient.last_name,
        "first_name": patient.first_name,
        "status_name": statuses.status_name(order.status_code),
        "status_code": order.status_code,
    }


def _address_of(source: object) -> dict[str, Any]:
    return {field: getattr(source, field, None) for field in ADDRESS_FIELDS}


class OrderService:
    # -- reading ------------------------------------------------------------------------------

    async def get(self, session: AsyncSession, principal: Principal, ref: str) -> models.Order:
        """The order with this id, order number or external_id, in the caller's tenant."""
        found = await OrderRepository(session, principal.customer_id).by_ref(ref)
        if not found:
            raise OrderNotFound(ref)
        exact = [order for order in found if str(order.id) == ref.lower()]
        if exact:
            return exact[0]
        if len(found) > 1:
            raise AmbiguousOrderRef(ref)
        return found[0]

    async def page(
        self,
        session: AsyncSession,
        principal: Principal,
        filters: OrderFilters,
        wanted: PageRequest,
    ) -> Page[models.Order]:
        if filters.status_code is not None and filters.status_code not in statuses.BY_CODE:
            raise UnknownOrderStatus("status_code", filters.status_code)
        if filters.status is not None:
            code = statuses.code_named(filters.status)
            if code is None:
                raise UnknownOrderStatus("status", filters.status)
            filters = replace(filters, status=code)
        repository = OrderRepository(session, principal.customer_id)
        return await repository.page(repository.filtered(filters), wanted)

    async def views(
        self, session: AsyncSession, orders: Sequence[models.Order]
    ) -> list[schemas.Order]:
        """The wire form of ``orders``, in a fixed number of queries however many there are."""
        repository = OrderRepository(session, None)
        order_ids = [order.id for order in orders]
        lines = await repository.lines(order_ids)
        all_lines = [line for found in lines.values() for line in found]
        products = await product_service.views_by_id(
            session, {line.product_id for line in all_lines}
        )
        lots = await repository.lot_uses([line.id for line in all_lines])
        shipments = await repository.shipments(order_ids)
        replacements = await repository.replacements(order_ids)
        patients = await repository.patients({order.patient_id for order in orders})
        views = []
        for order in orders:
            grouped: dict[str, list[Any]] = {kind: [] for kind in schemas.LINE_TYPES}
            for line in lines[order.id]:
                line_type = schemas.LINE_TYPES[line.kind]
                product = schemas.PRODUCT_TYPES[line.kind].model_validate(products[line.product_id])
                grouped[line.kind].append(
                    line_type(
                        **product.model_dump(),
                        order_item_id=line.id,
                        quantity=line.quantity,
                        prescription_id=line.prescription_id,
                        beyond_use_date=line.beyond_use_date,
                        lots=[
                            schemas.LineLot(
                                lot_id=use.lot_id,
                                batch_number=use.batch_number,
                                expiration_date=use.expiration_date,
                                product_units=use.product_units,
                            )
                            for use in lots[line.id]
                        ],
                    )
                )
            views.append(
                self._view(
                    order,
                    patients[order.patient_id],
                    schemas.OrderProducts.model_validate(grouped),
                    shipments[order.id],
                    replacements[order.id],
                )
            )
        return views

    async def view(self, session: AsyncSession, order: models.Order) -> schemas.Order:
        return (await self.views(session, [order]))[0]

    def _view(
        self,
        order: models.Order,
        patient: models.Patient,
        products: schemas.OrderProducts,
        shipments: list[models.Shipment],
        replacement_ids: list[uuid.UUID],
    ) -> schemas.Order:
        name = statuses.status_name(order.status_code)
        has_shipping = (
            order.shipping_carrier is not None or order.shipping_service_level is not None
        )
        return schemas.Order(
            id=order.id,
            created_at=order.created_at,
            updated_at=order.updated_at,
            status_code=order.status_code,
            status_name=name,
            status=name,
            order_number=order.order_number,
            customer_id=order.customer_id,
            external_id=order.external_id,
            address=schemas.OrderAddress(id=order.address_id, **_address_of(order)),
            custom_shipping=(
                schemas.CustomShipping.model_validate(order.custom_shipping)
                if order.custom_shipping
                else None
            ),
            shipping=(
                schemas.Shipping(
                    carrier=order.shipping_carrier, service_level=order.shipping_service_level
                )
                if has_shipping
                else None
            ),
            patient=schemas.OrderPatient(
                id=patient.id,
                created_at=patient.created_at,
                updated_at=patient.updated_at,
                first_name=patient.first_name,
                middle_name=patient.middle_name,
                last_name=patient.last_name,
                date_of_birth=patient.date_of_birth.isoformat(),
                external_id=patient.external_id,
                email=patient.email,
                phone=patient.phone,
            ),
            products=products,
            prescription_count=sum(1 for line in products.prescription if line.prescription_id),
            priority_requested=order.priority_requested,
            cancellation_requested=order.cancellation_requested,
            is_replacement=order.is_replacement,
            original_order_id=order.original_order_id,
            replacement_order_ids=replacement_ids,
            replacement_reason=order.replacement_reason,
            replacement_requested=order.replacement_request_status is not None,
            replacement_request_status=order.replacement_request_status,
            electronic_prescription_ids=list(order.electronic_prescription_ids),
            allowed_transitions=allowed_transitions(order.status_code),
            stuck_reason=order.stuck_reason,
            stuck_detail=order.stuck_detail,
            stuck_resolves_at=order.stuck_resolves_at,
            shipments=[shipment_view(shipment) for shipment in shipments],
        )

    async def history(
        self, session: AsyncSession, principal: Principal, ref: str
    ) -> list[schemas.StatusHistoryEntry]:
        order = await self.get(session, principal, ref)
        rows = await OrderRepository(session, principal.customer_id).history(order.id)
        return history_entries(rows, utcnow())

    async def patient(self, session: AsyncSession, order: models.Order) -> models.Patient:
        patients = await OrderRepository(session, None).patients({order.patient_id})
        return patients[order.patient_id]

    # -- creating -----------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        cipher: FieldCipher,
        body: schemas.OrderCreate,
        app_url: str,
        *,
        force_new: bool = False,
    ) -> tuple[models.Order, bool]:
        """A new order, or the patient's open order with the new lines merged in; the flag
        says whether the order was created."""
        customer_id = principal.customer_id
        if customer_id is None:
            raise OrdersBelongToCustomers()
        # Everything that can refuse the request is checked before the order is written.
        wanted = await self._line_requests(session, customer_id, body.products, "products")
        carrier, level = (
            shipping.resolve("shipping", body.shipping.carrier, body.shipping.service_level)
            if body.shipping is not None
            else (None, None)
        )
        repository = OrderRepository(session, customer_id)
        if body.external_id is not None and await repository.external_id_taken(
            customer_id, body.external_id
        ):
            raise OrderExists(body.external_id)
        patient = await self._patient(session, principal, cipher, body)
        erx_ids = await self._checked_erx_ids(
            session, principal, patient, body.electronic_prescription_ids
        )
        address = body.address.model_dump() if body.address is not None else _address_of(patient)
        if address["address_1"] is None:
            raise AddressRequired()
        custom = body.custom_shipping.model_dump() if body.custom_shipping is not None else None
        if not force_new:
            for candidate in await repository.mergeable(customer_id, patient.id):
                if not _mergeable(candidate, address, body.external_id, carrier, level, custom):
                    continue
                order = await repository.locked(candidate.id)
                # Again under the lock: a pause or an update may have come first.
                if order.status_code == "N01" and _mergeable(
                    order, address, body.external_id, carrier, level, custom
                ):
                    await self._merge(session, order, body, wanted, erx_ids, carrier, level, custom)
                    await self.link_prescriptions(session, order)
                    await events.emit(
                        session, "order.updated", summary(order, patient, app_url), customer_id
                    )
                    return order, False
        order = await self._new_order(session, principal, patient, body, address, erx_ids)
        order.shipping_carrier, order.shipping_service_level = carrier, level
        order.custom_shipping = custom
        await _flush(session, body.external_id, order)
        await repository.flush(*self._lines(order, wanted))
        await repository.flush(
            models.OrderStatusChange(
                order_id=order.id,
                status_code="N01",
                entered_at=order.created_at,
                user_id=principal.user.id,
            )
        )
        await self.link_prescriptions(session, order)
        await events.emit(session, "order.created", summary(order, patient, app_url), customer_id)
        return order, True

    async def _patient(
        self,
        session: AsyncSession,
        principal: Principal,
        cipher: FieldCipher,
        body: schemas.OrderCreate,
    ) -> models.Patient:
        if body.patient_id is None:
            patient = await patient_service.resolve(session, principal, cipher, body.patient)
            assert patient is not None  # the schema requires patient_id or patient
            return patient
        try:
            return await patient_service.get(session, principal, str(body.patient_id))
        except (PatientNotFound, AmbiguousPatientRef):
            raise PatientIdNotFound(body.patient_id) from None

    async def _new_order(
        self,
        session: AsyncSession,
        principal: Principal,
        patient: models.Patient,
        body: schemas.OrderCreate,
        address: dict[str, Any],
        erx_ids: list[str],
    ) -> models.Order:
        now = utcnow()
        repository = OrderRepository(session, principal.customer_id)
        number = order_number(now)
        # 36^4 suffixes per second: a clash is rare, but an order number must be unique.
        while await repository.order_number_taken(number):
            number = order_number(now)
        return models.Order(
            customer_id=patient.customer_id,
            order_number=number,
            external_id=body.external_id,
            patient_id=patient.id,
            status_code="N01",
            status_changed_at=now,
            created_at=now,
            updated_at=now,
            **address,
            electronic_prescription_ids=erx_ids,
            priority_requested=body.priority_requested,
            created_by_id=principal.user.id,
        )

    async def _merge(
        self,
        session: AsyncSession,
        order: models.Order,
        body: schemas.OrderCreate,
        wanted: list[LineRequest],
        erx_ids: list[str],
        carrier: str | None,
        level: str | None,
        custom: dict[str, Any] | None,
    ) -> None:
        order.external_id = order.external_id or body.external_id
        order.shipping_carrier = order.shipping_carrier or carrier
        order.shipping_service_level = order.shipping_service_level or level
        order.custom_shipping = order.custom_shipping or custom
        order.priority_requested = order.priority_requested or body.priority_requested
        order.electronic_prescription_ids = list(
            dict.fromkeys([*order.electronic_prescription_ids, *erx_ids])
        )
        order.updated_at = utcnow()
        await _flush(session, body.external_id, *self._lines(order, wanted))

    def _lines(self, order: models.Order, wanted: list[LineRequest]) -> list[models.OrderLine]:
        return [
            models.OrderLine(
                order_id=order.id,
                product_id=request.product.id,
                kind=request.kind,
                quantity=request.quantity,
            )
            for request in wanted
        ]

    async def _line_requests(
        self,
        session: AsyncSession,
        customer_id: uuid.UUID,
        products: schemas.OrderProductsIn,
        field: str,
    ) -> list[LineRequest]:
        wanted = []
        positions: dict[str, int] = {}
        for kind, line in products.lines():
            index = positions[kind] = positions.get(kind, -1) + 1
            ((name, value),) = line.references().items()
            product = await product_service.orderable(
                session,
                customer_id,
                kind,
                product_id=line.id,
                sku=line.sku,
                product_code=getattr(line, "product_code", None),
            )
            where = f"{field}.{kind}[{index}]"
            if product is None:
                raise UnknownReference(f"{where}.{name}", value)
            if not product.is_active:
                raise InactiveProduct(where, product)
            wanted.append(LineRequest(kind, product, line.quantity))
        return wanted

    async def _checked_erx_ids(
        self,
        session: AsyncSession,
        principal: Principal,
        patient: models.Patient,
        erx_ids: list[uuid.UUID],
    ) -> list[str]:
        for index, erx_id in enumerate(erx_ids):
            field = f"electronic_prescription_ids[{index}]"
            try:
                erx = await prescription_service.electronic_prescription(
                    session, principal, str(erx_id)
                )
            except ElectronicPrescriptionNotFound:
                raise UnknownReference(field, str(erx_id)) from None
            # An eRx not yet matched to a patient may still be this one's.
            if erx.patient_id is not None and erx.patient_id != patient.id:
                raise ErxOfAnotherPatient(field, erx_id)
        return list(dict.fromkeys(str(erx_id) for erx_id in erx_ids))

    async def link_prescriptions(
        self, session: AsyncSession, order: models.Order, now: datetime | None = None
    ) -> list[models.Prescription]:
        """Links each prescription line that has used no fill to a usable prescription of the
        patient for its product (relinking lines whose prescription has since ended or gone
        on hold); returns every prescription considered (the stuck scan reads them)."""
        repository = OrderRepository(session, order.customer_id)
        lines = [
            line
            for line in (await repository.lines([order.id]))[order.id]
            if line.kind == "prescription"
        ]
        candidates = await prescription_service.for_patient(
            session, order.customer_id, order.patient_id, {line.product_id for line in lines}
        )
        hinted = set(order.electronic_prescription_ids)
        now = now or utcnow()
        active = {p.id for p in candidates if p.status_at(now) == "active"}
        for line in lines:
            if line.prescription_fill_id is None and line.prescription_id not in active:
                line.prescription_id = None
        taken = {line.prescription_id for line in lines if line.prescription_id is not None}
        for line in lines:
            if line.prescription_id is not None:
                continue
            usable = [
                p
                for p in candidates
                if p.prescription_product_id == line.product_id
                and p.id in active
                and p.id not in taken
            ]
            usable.sort(key=lambda p: str(p.electronic_prescription_id) not in hinted)
            if usable:
                line.prescription_id = usable[0].id
                taken.add(usable[0].id)
        await session.flush()
        return candidates

    async def prescriptions_arrived(
        self, session: AsyncSession, principal: Principal, erx: models.ElectronicPrescription
    ) -> None:
        """A new eRx: the order it names (`order`: id or order number) lists it, and the
        patient's orders that have not used a fill yet link its prescriptions to their lines,
        so `prescription_count` shows them at once."""
        if erx.order_ref_id is not None or erx.order_number is not None:
            named = await self._named_by_erx(session, principal, erx)
            named.electronic_prescription_ids = list(
                dict.fromkeys([*named.electronic_prescription_ids, str(erx.id)])
            )
        if erx.patient_id is None:
            return
        repository = OrderRepository(session, erx.customer_id)
        for order in await repository.awaiting_prescriptions(erx.customer_id, erx.patient_id):
            await self.link_prescriptions(session, order)

    async def _named_by_erx(
        self, session: AsyncSession, principal: Principal, erx: models.ElectronicPrescription
    ) -> models.Order:
        field, ref = (
            ("order.id", erx.order_ref_id)
            if erx.order_ref_id is not None
            else ("order.order_number", erx.order_number)
        )
        assert ref is not None
        try:
            order = await self.get(session, principal, ref)
        except (OrderNotFound, AmbiguousOrderRef):
            raise UnknownReference(field, ref) from None
        if erx.order_number is not None and order.order_number != erx.order_number:
            raise UnknownReference("order.order_number", erx.order_number)
        if erx.patient_id is not None and erx.patient_id != order.patient_id:
            raise OrderOfAnotherPatient(field, ref)
        return order

    # -- the customer's changes ---------------------------------------------------------------

    async def update(
        self,
        session: AsyncSession,
        principal: Principal,
        cipher: FieldCipher,
        ref: str,
        body: schemas.OrderUpdate,
        app_url: str,
        *,
        update_patient: bool = False,
    ) -> models.Order:
        order = await self._locked(session, principal, ref)
        changes = body.model_dump(exclude_unset=True)
        shipping_fields = {"address", "shipping", "custom_shipping"} & changes.keys()
        if shipping_fields and order.status_code not in statuses.SHIPPING_EDITABLE:
            raise ShippingLocked(order.status_code)
        if "external_id" in changes:
            external_id = changes["external_id"]
            if external_id is not None and await OrderRepository(
                session, principal.customer_id
            ).external_id_taken(order.customer_id, external_id, other_than=order.id):
                raise OrderExists(external_id)
            order.external_id = external_id
        if body.shipping is not None:
            order.shipping_carrier, order.shipping_service_level = shipping.resolve(
                "shipping", body.shipping.carrier, body.shipping.service_level
            )
        elif "shipping" in changes:
            order.shipping_carrier = order.shipping_service_level = None
        if "custom_shipping" in changes:
            order.custom_shipping = changes["custom_shipping"]
        if body.address is not None:
            for field, value in body.address.model_dump().items():
                setattr(order, field, value)
            order.address_id = new_id()
        order.updated_at = utcnow()
        # Before any query: one would flush the order without turning a clash into a 409.
        await _flush(session, order.external_id)
        if body.address is not None and update_patient:
            # Through the patients' service, so that the change is announced as theirs.
            await patient_service.update(
                session,
                principal,
                cipher,
                str(order.patient_id),
                PatientUpdate(address=body.address),
            )
        patient = await self.patient(session, order)
        await events.emit(
            session, "order.updated", summary(order, patient, app_url), order.customer_id
        )
        return order

    async def cancel(
        self, session: AsyncSession, principal: Principal, ref: str, app_url: str
    ) -> models.Order:
        order = await self.get(session, principal, ref)
        return await self.move(session, principal, order, "X01", app_url, via="cancel")

    async def pause(
        self, session: AsyncSession, principal: Principal, ref: str, app_url: str
    ) -> models.Order:
        order = await self.get(session, principal, ref)
        return await self.move(session, principal, order, "H01", app_url, via="pause")

    async def unpause(
        self, session: AsyncSession, principal: Principal, ref: str, app_url: str
    ) -> models.Order:
        order = await self.get(session, principal, ref)
        return await self.move(session, principal, order, "N01", app_url, via="unpause")

    async def request_cancellation(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        body: schemas.CancellationRequest,
        app_url: str,
    ) -> models.Order:
        order = await self._locked(session, principal, ref)
        if order.cancellation_requested:
            raise CancellationAlreadyRequested()
        if order.status_code not in statuses.IN_PROCESS:
            raise CancellationNotRequestable(order.status_code)
        order.cancellation_requested = True
        order.cancellation_comments = body.comments
        order.cancellation_requested_at = utcnow()
        return await self._touched(session, order, app_url)

    async def add_products(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        body: schemas.OrderProductsIn,
        app_url: str,
    ) -> models.Order:
        order = await self._editable(session, principal, ref)
        wanted = await self._line_requests(session, order.customer_id, body, "products")
        if not wanted:
            raise NoProductsSent()
        await OrderRepository(session, order.customer_id).flush(*self._lines(order, wanted))
        await self.link_prescriptions(session, order)
        return await self._touched(session, order, app_url)

    async def set_quantity(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        product_type: str,
        product_id: uuid.UUID,
        order_item_id: uuid.UUID | None,
        quantity: int,
        app_url: str,
    ) -> models.Order:
        order = await self._editable(session, principal, ref)
        line = await self._line(session, order, product_type, product_id, order_item_id)
        line.quantity = quantity
        line.updated_at = utcnow()
        return await self._touched(session, order, app_url)

    async def remove_line(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        product_type: str,
        product_id: uuid.UUID,
        order_item_id: uuid.UUID | None,
        app_url: str,
    ) -> str:
        order = await self._editable(session, principal, ref)
        line = await self._line(session, order, product_type, product_id, order_item_id)
        repository = OrderRepository(session, order.customer_id)
        if len((await repository.lines([order.id]))[order.id]) == 1:
            raise LastLine()
        await session.delete(line)
        await self._touched(session, order, app_url)
        return f"{product_type.capitalize()} product removed from order"

    async def _editable(
        self, session: AsyncSession, principal: Principal, ref: str
    ) -> models.Order:
        order = await self._locked(session, principal, ref)
        if order.status_code not in statuses.EDITABLE:
            raise ProductsLocked(order.status_code)
        return order

    async def _locked(self, session: AsyncSession, principal: Principal, ref: str) -> models.Order:
        """The order ``ref`` names, held for this request's change: its status is checked
        after the lock, so that a status move cannot slip between check and write."""
        order = await self.get(session, principal, ref)
        return await OrderRepository(session, order.customer_id).locked(order.id)

    async def _line(
        self,
        session: AsyncSession,
        order: models.Order,
        product_type: str,
        product_id: uuid.UUID,
        order_item_id: uuid.UUID | None,
    ) -> models.OrderLine:
        lines = [
            line
            for line in (await OrderRepository(session, order.customer_id).lines([order.id]))[
                order.id
            ]
            if line.kind == product_type
            and line.product_id == product_id
            and (order_item_id is None or line.id == order_item_id)
        ]
        if not lines:
            raise LineNotFound(product_type, product_id)
        if len(lines) > 1:
            raise AmbiguousLine(product_id)
        return lines[0]

    async def _touched(
        self, session: AsyncSession, order: models.Order, app_url: str
    ) -> models.Order:
        order.updated_at = utcnow()
        await session.flush()
        patient = await self.patient(session, order)
        await events.emit(
            session, "order.updated", summary(order, patient, app_url), order.customer_id
        )
        return order

    # -- status -------------------------------------------------------------------------------

    def check_move(
        self, principal: Principal, order: models.Order, target: str, via: str = "transitions"
    ) -> statuses.Transition:
        """The transition ``principal`` asks for, if the table allows it by this route and
        role; raises what `move` would, without writing anything."""
        if target not in statuses.BY_CODE:
            raise UnknownOrderStatus("to", target)
        transition = statuses.find_transition(order.status_code, target)
        if transition is None:
            raise InvalidTransition(order.status_code, target)
        if transition.via != via:
            raise InvalidTransition(
                order.status_code, target, _route_hint(transition, principal.role)
            )
        if principal.role not in transition.roles:
            raise RoleCannotMove(principal.role, transition)
        return transition

    async def move(
        self,
        session: AsyncSession,
        principal: Principal,
        order: models.Order,
        target: str,
        app_url: str,
        *,
        via: str = "transitions",
        note: str | None = None,
        override_reason: str | None = None,
        conflicts: list[dict[str, Any]] | None = None,
    ) -> models.Order:
        """Moves ``order`` to ``target`` if the table allows it by this route and role:
        one guarded UPDATE, a history row, `order.status_changed` (and `order.cancelled`) in
        the caller's transaction. A move that lost a race to another is refused with 409."""
        self.check_move(principal, order, target, via)
        source = order.status_code
        now = utcnow()
        repository = OrderRepository(session, order.customer_id)
        moved = await repository.move(order.id, source, target, now)
        if moved is None:
            # Reread, not get(): the session still holds the status this move started from.
            current = await repository.reread(order.id)
            assert current is not None  # orders are never deleted
            raise InvalidTransition(current.status_code, target, " Another change came first.")
        await repository.flush(
            models.OrderStatusChange(
                order_id=moved.id,
                status_code=target,
                previous_status_code=source,
                entered_at=now,
                user_id=principal.user.id,
                note=note,
                override_reason=override_reason,
                conflicts=conflicts,
            )
        )
        patient = await self.patient(session, moved)
        payload = summary(moved, patient, app_url) | {
            "previous_status_code": source,
            "previous_status_name": statuses.status_name(source),
        }
        await events.emit(session, "order.status_changed", payload, moved.customer_id)
        if target == "X01":
            await events.emit(
                session, "order.cancelled", summary(moved, patient, app_url), moved.customer_id
            )
        return moved


class NoProductsSent(Unprocessable):
    def __init__(self) -> None:
        super().__init__("Send at least one product line.")


async def _flush(session: AsyncSession, external_id: str | None, *new: object) -> None:
    """Flushes; a concurrent request that took the external_id between our check and our
    write is the same conflict the check reports."""
    try:
        await OrderRepository(session, None).flush(*new)
    except IntegrityError as error:
        if external_id is not None and "external_id" in str(error.orig):
            raise OrderExists(external_id) from None
        raise


def _route_hint(transition: statuses.Transition, role: str) -> str:
    if transition.target == "X01" and role not in transition.roles:
        # A customer cannot stop the pharmacy's work, only ask it to.
        return (
            " Request a cancellation instead: POST /api/v1/orders/{order_id}/request_cancellation."
        )
    routes = {
        "pause": "PUT /api/v1/orders/{order_id}/pause",
        "unpause": "PUT /api/v1/orders/{order_id}/unpause",
        "cancel": "PUT /api/v1/orders/{order_id}/cancel",
        "shipments": "POST /api/v1/orders/{order_id}/shipments",
        "delivered": "POST /api/v1/orders/{order_id}/shipments/{shipment_id}/delivered",
        "transitions": "POST /api/v1/orders/{order_id}/transitions",
    }
    return f" Use {routes[transition.via]}."


def _mergeable(
    order: models.Order,
    address: dict[str, Any],
    external_id: str | None,
    carrier: str | None,
    level: str | None,
    custom: dict[str, Any] | None,
) -> bool:
    def agrees(current: object, wanted: object) -> bool:
        return wanted is None or current is None or current == wanted

    return (
        _address_of(order) == address
        and agrees(order.external_id, external_id)
        and agrees(order.shipping_carrier, carrier)
        and agrees(order.shipping_service_level, level)
        and agrees(order.custom_shipping, custom)
    )


def allowed_transitions(code: str) -> list[schemas.AllowedTransition]:
    return [
        schemas.AllowedTransition(
            status_code=transition.target,
            status_name=statuses.status_name(transition.target),
            roles=sorted(transition.roles),
            via=transition.via,
        )
        for transition in statuses.transitions_from(code)
    ]


def shipment_view(shipment: models.Shipment) -> schemas.ShipmentOut:
    carrier_name, level_name = shipping.display_names(shipment.carrier, shipment.service_level)
    return schemas.ShipmentOut(
        id=shipment.id,
        order_id=shipment.order_id,
        carrier=shipment.carrier,
        carrier_name=carrier_name,
        service_level=shipment.service_level,
        service_level_name=level_name,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        estimated_delivery_date=shipment.estimated_delivery_date,
        status=shipment.status,
        shipped_at=shipment.shipped_at,
        delivered_at=shipment.delivered_at,
        created_at=shipment.created_at,
        updated_at=shipment.updated_at,
    )


def history_entries(rows: list[HistoryRow], now: Any) -> list[schemas.StatusHistoryEntry]:
    entries = []
    for index, row in enumerate(rows):
        left = rows[index + 1].change.entered_at if index + 1 < len(rows) else now
        change = row.change
        entries.append(
            schemas.StatusHistoryEntry(
                status_code=change.status_code,
                status_name=statuses.status_name(change.status_code),
                updated_at=change.entered_at,
                updated_by=change.user_id,
                updated_by_first_name=row.first_name,
                updated_by_last_name=row.last_name,
                duration=max(0, int((left - change.entered_at).total_seconds())),
                note=change.note,
                override_reason=change.override_reason,
            )
        )
    return entries


order_service = OrderService()
