"""The rules of the pharmacy workflow: the staff transitions of DESIGN.md §3 with the work two of
them carry, and shipments.

Every move goes through `order_service.move` (one guarded UPDATE, a history row, the events).
Decisions where the contract is silent:
- Data verification (P02 -> P03) refuses before writing when a prescription line has no usable
  prescription or the patient's risk factors conflict with a formula (unless the pharmacist
  sends `override_reason`); then it moves, then uses one fill per line. A line that already
  holds a fill (the order went back to P01 and came round again) never takes another.
- Compounding (P03 -> P04) moves first, so that of two concurrent requests only one consumes
  stock; a line compounded once (the order came back from P04) is not consumed again: stock
  spoiled by a remake is recorded as an inventory adjustment.
- `compounded_at` is set on every line the step prepared; a line whose product has a formula
  gets a beyond-use date from the formula's category, capped by the earliest expiry of the
  lots that line used; other lines keep a null beyond-use date.
- A shipment names a carrier's own service level (not a generic one): it is what went out.
  The first shipment moves S01 -> S02; more may follow while S02 (a split order). The order
  is delivered (S02 -> S03) when its last shipment is.
"""

import uuid
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.service import Principal
from pestle.events import service as events
from pestle.exceptions import Conflict, NotFound, Unprocessable
from pestle.fulfilment.repository import FulfilmentRepository, LineProduct
from pestle.fulfilment.schemas import RiskConflict, ShipmentCreate, TransitionRequest
from pestle.inventory.service import Draw, InsufficientStock, Shortage, inventory_service
from pestle.kit.time import rest_format, utcnow
from pestle.orders import shipping, statuses
from pestle.orders.service import OrderNotFound, order_service
from pestle.patients.service import patient_service
from pestle.prescriptions.service import PrescriptionNotFillable, prescription_service
from pestle.products.service import beyond_use_date

DATA_VERIFICATION = ("P02", "P03")
COMPOUNDING = ("P03", "P04")


class OverrideNotApplicable(Unprocessable):
    def __init__(self, source: str, target: str) -> None:
        super().__init__(
            f"override_reason applies only to data verification (P02 to P03), not to {source} "
            f"to {target}."
        )


class PrescriptionsNotUsable(Conflict):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "Data verification needs a usable prescription for every prescription line: "
            + "; ".join(problems)
            + "."
        )


class RiskFactorConflicts(Conflict):
    def __init__(self, conflicts: list[RiskConflict]) -> None:
        self.conflicts = conflicts
        listed = "; ".join(conflict.describe() for conflict in conflicts)
        super().__init__(
            f"The patient's risk factors conflict with the order: {listed}. "
            "Send override_reason to go on despite them."
        )


class NotEnoughStock(Conflict):
    def __init__(self, shortages: list[Shortage], names: dict[uuid.UUID, str]) -> None:
        listed = "; ".join(
            f"{names.get(s.product_id, 'product')} (product {s.product_id}) needs {s.needed}, "
            f"{s.available} available"
            for s in shortages
        )
        super().__init__(f"Not enough stock to compound this order: {listed}.")


class ShipmentNotAllowed(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"Shipments can be added only while the order is S01 (Shipping) or S02 (Shipped); "
            f"it is {code} ({statuses.status_name(code)})."
        )


class GenericServiceLevel(Unprocessable):
    def __init__(self, level: str) -> None:
        super().__init__(
            f"service_level: {level!r} leaves the carrier open; a shipment names the carrier's "
            "own service level, e.g. 'usps_ground_advantage'."
        )


class ShipmentNotFound(NotFound):
    def __init__(self, shipment_id: uuid.UUID) -> None:
        super().__init__(f"The order has no shipment {shipment_id}.")


class ShipmentAlreadyDelivered(Conflict):
    def __init__(self, shipment_id: uuid.UUID) -> None:
        super().__init__(f"Shipment {shipment_id} is already delivered.")


@dataclass(frozen=True)
class _Take:
    lot_id: uuid.UUID
    product_units: int
    lot_units: int


def shipment_payload(
    shipment: models.Shipment, order: models.Order, app_url: str
) -> dict[str, Any]:
    """The `order.shipped` / `order.delivered` data: the contract's shipment object exactly,
    plus `order_id` and `order_number`."""
    carrier, level = shipping.display_names(shipment.carrier, shipment.service_level)
    return {
        "carrier": carrier,
        "service_level": level,
        "status": shipment.status,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
        "estimated_delivery_date": shipment.estimated_delivery_date,
        "created_at": shipment.created_at,
        "updated_at": shipment.updated_at,
        "url": f"{app_url.rstrip('/')}/shipments/{shipment.id}",
        "order_id": order.id,
        "order_number": order.order_number,
    }


def scdg_codes(
    mapping: models.RiskFactorMapping, concept: models.RiskFactorConcept | None
) -> set[str]:
    """The RxNorm SCDG codes a risk factor stands for, which a formula's SCDG lists name.

    How the identifiers correspond:
    - `formula.allergen_scdgs` and `formula.medication_scdgs` are RxNorm SCDG rxcuis. A risk
      factor carries its SCDG rxcui in `scdg_rxcui`: on the mapping (copied from its concept
      when matched, or sent by the customer) and on the concept itself; a concept whose own
      term type is SCDG carries it as its `rxcui`. All of these count. Ingredient, product
      and SCDF rxcuis are other RxNorm levels and never equal an SCDG code, so they are not
      compared (no RxNorm relations are loaded to walk from one level to another).
    - An allergy is screened against `allergen_scdgs`; an allergy to a single drug maps to a
      medication concept of the vocabulary, which is where its SCDG comes from. A medication
      is screened against `medication_scdgs`. Conditions have no codes on a formula.
    - `formula.allergen_snomeds` are SNOMED CT codes, and nothing in Pestle's vocabulary or on
      a mapping carries a SNOMED CT code (the vocabulary is RxNorm plus allergen classes
      named, not coded), so those codes cannot be matched yet; see `clinical_conflicts`.
    """
    codes = {mapping.scdg_rxcui}
    if concept is not None:
        codes.add(concept.scdg_rxcui)
        if concept.tty == "SCDG":
            codes.add(concept.rxcui)
    return {code.strip() for code in codes if code and code.strip()}


def clinical_conflicts(
    lines: Iterable[models.OrderLine],
    products: dict[uuid.UUID, LineProduct],
    mappings: Iterable[models.RiskFactorMapping],
    concepts: dict[uuid.UUID, models.RiskFactorConcept],
) -> list[RiskConflict]:
    """Every (product, active risk factor, code) where a prescription product's formula
    screens for a code the risk factor carries (see `scdg_codes`), in line order.

    `allergen_snomeds` take no part: no risk factor carries a SNOMED CT code to compare."""
    screened = [
        (
            mapping,
            scdg_codes(
                mapping,
                concepts.get(mapping.risk_factor_id) if mapping.risk_factor_id else None,
            ),
        )
        for mapping in mappings
        if mapping.type in ("allergy", "medication")
    ]
    conflicts = []
    seen: set[uuid.UUID] = set()
    for line in lines:
        found = products[line.product_id]
        if found.formula is None or line.product_id in seen:
            continue
        seen.add(line.product_id)
        for mapping, codes in screened:
            field = "allergen_scdgs" if mapping.type == "allergy" else "medication_scdgs"
            listed: list[str] = getattr(found.formula, field)
            for code in listed:
                if code.strip() in codes:
                    conflicts.append(
                        RiskConflict(
                            product_id=found.product.id,
                            product_name=found.product.name,
                            risk_factor_id=mapping.id,
                            risk_factor_name=mapping.name or mapping.original_name or "unnamed",
                            risk_factor_type=mapping.type,
                            formula_codes=field,
                            code=code.strip(),
                        )
                    )
    return conflicts


def _why_not(prescription: models.Prescription, taken: set[uuid.UUID]) -> str:
    name = f"prescription {prescription.id}"
    match prescription.current_status:
        case "expired":
            return f"{name} expired at {rest_format(prescription.expires_at)}"
        case "exhausted":
            return f"{name} has no fills remaining"
        case "cancelled":
            return f"{name} was cancelled"
        case "on_hold":
            return f"{name} is on hold: {prescription.clarification_reason}"
        case "new":
            return f"{name} is not active: its patient, prescriber or product is not matched"
    if prescription.id in taken:
        return f"{name} already fills another line of this order"
    return f"{name} is not usable"


def _split(draws: list[Draw], lines: list[models.OrderLine]) -> dict[uuid.UUID, list[_Take]]:
    """One product's draws shared out over its lines in line order, earliest lots first."""
    queue = deque(_Take(d.lot_id, d.product_units, d.lot_units) for d in draws)
    takes: dict[uuid.UUID, list[_Take]] = defaultdict(list)
    for line in lines:
        need = line.quantity
        while need:
            head = queue.popleft()
            per_unit = head.lot_units // head.product_units
            units = min(need, head.product_units)
            takes[line.id].append(_Take(head.lot_id, units, units * per_unit))
            if units < head.product_units:
                left = head.product_units - units
                queue.appendleft(_Take(head.lot_id, left, left * per_unit))
            need -= units
    return takes


class FulfilmentService:
    # -- transitions --------------------------------------------------------------------------

    async def transition(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        body: TransitionRequest,
        app_url: str,
    ) -> models.Order:
        """Moves the order as ``body`` asks, doing the work the step carries."""
        order = await order_service.get(session, principal, ref)
        source, target = order.status_code, body.to
        order_service.check_move(principal, order, target)
        if (source, target) == DATA_VERIFICATION:
            return await self._verify(session, principal, order, body, app_url)
        if body.override_reason is not None:
            raise OverrideNotApplicable(source, target)
        if (source, target) == COMPOUNDING:
            return await self._compound(session, principal, order, body, app_url)
        return await order_service.move(session, principal, order, target, app_url, note=body.note)

    async def _verify(
        self,
        session: AsyncSession,
        principal: Principal,
        order: models.Order,
        body: TransitionRequest,
        app_url: str,
    ) -> models.Order:
        repository = FulfilmentRepository(session, None)
        lines = [line for line in await repository.lines(order.id) if line.kind == "prescription"]
        products = await repository.products({line.product_id for line in lines})
        await self._link(session, order, lines, products)
        mappings = await patient_service.risk_factors(
            session, principal, str(order.patient_id), None
        )
        concepts = await repository.concepts(
            {m.risk_factor_id for m in mappings if m.risk_factor_id is not None}
        )
        conflicts = clinical_conflicts(lines, products, mappings, concepts)
        if conflicts and body.override_reason is None:
            raise RiskFactorConflicts(conflicts)
        # The move comes before the fills: a request that lost the race uses none.
        moved = await order_service.move(
            session,
            principal,
            order,
            "P03",
            app_url,
            note=body.note,
            override_reason=body.override_reason,
            conflicts=[c.model_dump(mode="json") for c in conflicts] if conflicts else None,
        )
        refused = []
        for line in lines:
            if line.prescription_fill_id is not None or line.prescription_id is None:
                continue
            try:
                fill = await prescription_service.use_fill(
                    session,
                    order.customer_id,
                    line.prescription_id,
                    order.patient_id,
                    str(line.id),
                    principal.user.id,
                )
            except PrescriptionNotFillable as error:
                name = products[line.product_id].product.name
                refused.append(f"line {line.id} ({name}): {error.message}")
                continue
            line.prescription_fill_id = fill.id
            line.updated_at = utcnow()
        if refused:
            raise PrescriptionsNotUsable(refused)
        await session.flush()
        return moved

    async def _link(
        self,
        session: AsyncSession,
        order: models.Order,
        lines: list[models.OrderLine],
        products: dict[uuid.UUID, LineProduct],
    ) -> None:
        """Every prescription line without a fill linked to a usable prescription, or a
        refusal naming each line that has none and why."""
        candidates = await order_service.link_prescriptions(session, order)
        taken = {line.prescription_id for line in lines if line.prescription_id is not None}
        problems = []
        for line in lines:
            if line.prescription_fill_id is not None or line.prescription_id is not None:
                continue
            reasons = [
                _why_not(p, taken)
                for p in candidates
                if p.prescription_product_id == line.product_id
            ] or ["the patient has no prescription for this product"]
            name = products[line.product_id].product.name
            problems.append(f"line {line.id} ({name}): {', '.join(reasons)}")
        if problems:
            raise PrescriptionsNotUsable(problems)

    async def _compound(
        self,
        session: AsyncSession,
        principal: Principal,
        order: models.Order,
        body: TransitionRequest,
        app_url: str,
    ) -> models.Order:
        # Moved first: the guarded UPDATE makes a concurrent second request wait and fail
        # before it can consume anything.
        moved = await order_service.move(session, principal, order, "P04", app_url, note=body.note)
        repository = FulfilmentRepository(session, None)
        lines = [line for line in await repository.lines(order.id) if line.compounded_at is None]
        products = await repository.products({line.product_id for line in lines})
        wanted: dict[uuid.UUID, int] = defaultdict(int)
        for line in lines:
            wanted[line.product_id] += line.quantity
        try:
            consumption = await inventory_service.consume(session, wanted, principal.user.id)
        except InsufficientStock as error:
            names = {product_id: found.product.name for product_id, found in products.items()}
            raise NotEnoughStock(error.shortages, names) from None
        takes: dict[uuid.UUID, list[_Take]] = {}
        for product_id, draws in consumption.draws.items():
            takes |= _split(draws, [line for line in lines if line.product_id == product_id])
        expirations = await repository.lot_expirations(
            {take.lot_id for found in takes.values() for take in found}
        )
        now = utcnow()
        used = []
        for line in lines:
            line_takes = takes.get(line.id, [])
            used += [
                models.OrderLineLot(
                    order_line_id=line.id,
                    lot_id=take.lot_id,
                    product_units=take.product_units,
                    lot_units=take.lot_units,
                    created_at=now,
                )
                for take in line_takes
            ]
            line.compounded_at = now
            line.updated_at = now
            formula = products[line.product_id].formula
            if formula is not None:
                line.beyond_use_date = beyond_use_date(
                    formula.bud_category, now, _earliest(expirations[t.lot_id] for t in line_takes)
                )
        await repository.flush(*used)
        return moved

    # -- shipments ----------------------------------------------------------------------------

    async def shipments(
        self, session: AsyncSession, principal: Principal, ref: str
    ) -> list[models.Shipment]:
        order = await order_service.get(session, principal, ref)
        return await FulfilmentRepository(session, principal.customer_id).shipments(order.id)

    async def ship(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        body: ShipmentCreate,
        app_url: str,
    ) -> models.Shipment:
        """Attaches a shipment; the first one moves the order to S02 and each emits
        `order.shipped`."""
        carrier, level = shipping.resolve("body", body.carrier, body.service_level)
        if carrier is None or level is None or level in {g.code for g in shipping.GENERIC_LEVELS}:
            raise GenericServiceLevel(body.service_level)
        order = await self._locked(session, principal, ref)
        if order.status_code == "S01":
            order_service.check_move(principal, order, "S02", via="shipments")
        elif order.status_code != "S02":
            raise ShipmentNotAllowed(order.status_code)
        now = utcnow()
        shipment = models.Shipment(
            customer_id=order.customer_id,
            order_id=order.id,
            carrier=carrier,
            service_level=level,
            tracking_number=body.tracking_number,
            tracking_url=body.tracking_url,
            estimated_delivery_date=body.estimated_delivery_date,
            status="shipped",
            shipped_at=now,
            created_at=now,
            updated_at=now,
            created_by_id=principal.user.id,
        )
        repository = FulfilmentRepository(session, None)
        await repository.flush(shipment)
        if order.status_code == "S01":
            order = await order_service.move(
                session, principal, order, "S02", app_url, via="shipments"
            )
        await events.emit(
            session, "order.shipped", shipment_payload(shipment, order, app_url), order.customer_id
        )
        return shipment

    async def deliver(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        shipment_id: uuid.UUID,
        app_url: str,
    ) -> models.Shipment:
        """Marks a shipment delivered (`order.delivered`); the order's last one moves it to
        S03."""
        order = await self._locked(session, principal, ref)
        repository = FulfilmentRepository(session, None)
        shipment = await repository.shipment(order.id, shipment_id)
        if shipment is None:
            raise ShipmentNotFound(shipment_id)
        delivered = await repository.deliver(shipment.id, utcnow())
        if delivered is None:
            raise ShipmentAlreadyDelivered(shipment_id)
        await events.emit(
            session,
            "order.delivered",
            shipment_payload(delivered, order, app_url),
            order.customer_id,
        )
        if order.status_code == "S02" and await repository.undelivered(order.id) == 0:
            await order_service.move(session, principal, order, "S03", app_url, via="delivered")
        return delivered

    async def _locked(self, session: AsyncSession, principal: Principal, ref: str) -> models.Order:
        """The order, its row locked: shipments and deliveries of one order take turns, so
        the last delivery always sees every other."""
        order = await order_service.get(session, principal, ref)
        locked = await FulfilmentRepository(session, None).lock_order(order.id)
        if locked is None:
            raise OrderNotFound(ref)
        return locked


def _earliest(expirations: Iterable[datetime | None]) -> datetime | None:
    known = [expires for expires in expirations if expires is not None]
    return min(known) if known else None


fulfilment_service = FulfilmentService()
