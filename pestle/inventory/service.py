"""The rules of the Inventory area: lots, their links to products, the quantity ledger,
consumption for orders and the stock events.

Who may do what: a customer sees the lots it recorded and the lots linked to its products;
changing a lot (its fields, its quantity, its links) is for pharmacy staff and, for a lot a
customer recorded, that customer. A customer links only its own products; staff link any.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from pestle import models
from pestle.auth.service import Principal
from pestle.events.service import emit
from pestle.exceptions import Conflict, Forbidden, NotFound, RequiredFieldCleared
from pestle.inventory import schemas
from pestle.inventory.repository import MAX_QUANTITY, Candidate, InventoryRepository, LinkRow
from pestle.kit.ndc import NdcSegments, parse_ndc
from pestle.kit.pagination import Page, PageRequest
from pestle.kit.time import utcnow
from pestle.products.service import product_service
from pestle.tasks.service import task_service

LOW_STOCK = "inventory.low_stock"
LOT_EXPIRING = "inventory.lot_expiring"


class LotNotFound(NotFound):
    def __init__(self, lot_id: object) -> None:
        super().__init__(f"No inventory lot {str(lot_id)!r}.")


class ProductNotFound(NotFound):
    def __init__(self, product_id: object, kind: str | None = None) -> None:
        what = f"{kind} product" if kind else "product"
        super().__init__(f"No {what} {str(product_id)!r}.")


class AssociationNotFound(NotFound):
    def __init__(self, lot_id: object, product_id: object) -> None:
        super().__init__(f"Inventory lot {lot_id} is not linked to product {product_id}.")


class AssociationExists(Conflict):
    def __init__(self, lot_id: object, product_id: object) -> None:
        super().__init__(f"Inventory lot {lot_id} is already linked to product {product_id}.")


class LotNotOwned(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "Only pharmacy staff, or the customer that recorded the lot, may change it."
        )


class InsufficientLotQuantity(Conflict):
    def __init__(self, lot_id: object, current: int, delta: int) -> None:
        super().__init__(
            f"Inventory lot {lot_id} holds {current}; removing {-delta} would leave it below 0."
        )


class LotQuantityTooLarge(Conflict):
    def __init__(self, lot_id: object, current: int, delta: int) -> None:
        super().__init__(
            f"Inventory lot {lot_id} holds {current}; adding {delta} would exceed "
            f"{MAX_QUANTITY}, the most a lot can hold."
        )


@dataclass(frozen=True)
class Shortage:
    product_id: uuid.UUID
    needed: int
    available: int


class InsufficientStock(Conflict):
    def __init__(self, shortages: list[Shortage]) -> None:
        self.shortages = shortages
        listed = "; ".join(
            f"product {s.product_id} needs {s.needed}, {s.available} available" for s in shortages
        )
        super().__init__(f"Not enough stock: {listed}.")


@dataclass(frozen=True)
class Draw:
    """Product units taken from one lot, and the lot units they used."""

    lot_id: uuid.UUID
    product_units: int
    lot_units: int


@dataclass(frozen=True)
class Consumption:
    draws: dict[uuid.UUID, list[Draw]] = field(default_factory=dict)


def _ndc_columns(ndc: str | None) -> dict[str, str | None]:
    segments = parse_ndc(ndc) if ndc is not None else None
    return {
        "ndc_labeler": segments.labeler if segments else None,
        "ndc_product": segments.product if segments else None,
        "ndc_package": segments.package if segments else None,
    }


def _lot_fields(lot: models.InventoryLot) -> dict[str, Any]:
    segments = (
        NdcSegments(lot.ndc_labeler, lot.ndc_product, lot.ndc_package)
        if lot.ndc_labeler and lot.ndc_product and lot.ndc_package
        else None
    )
    return {
        "id": lot.id,
        "created_at": lot.created_at,
        "updated_at": lot.updated_at,
        "batch_number": lot.batch_number,
        "cost_per_unit": lot.cost_per_unit,
        "current_quantity": lot.current_quantity,
        "initial_quantity": lot.initial_quantity,
        "expiration_date": lot.expiration_date,
        "received_date": lot.received_date,
        "is_active": lot.is_active,
        "manufacturer": lot.manufacturer,
        "mpn": lot.mpn,
        "notes": lot.notes,
        "unit_type": lot.unit_type,
        "upc": lot.upc,
        "type": lot.type,
        "ndc": segments.hyphenated if segments else None,
        "ndc_11": segments.eleven if segments else None,
        "gtin": lot.gtin,
    }


def _by_type(links: Iterable[LinkRow]) -> schemas.AssociationsByType:
    grouped: dict[str, list[schemas.Association]] = {kind: [] for kind in schemas.KINDS}
    for link in links:
        grouped[link.kind].append(
            schemas.Association(
                customer=link.customer,
                customer_id=link.customer_id,
                name=link.name,
                product_id=link.product_id,
                units_per_product=link.units_per_product,
            )
        )
    return schemas.AssociationsByType(**grouped)


def _wire(lot: models.InventoryLot, links: Iterable[LinkRow]) -> schemas.InventoryLot:
    return schemas.InventoryLot(**_lot_fields(lot), associations=_by_type(links))


class InventoryService:
    # -- reading ----------------------------------------------------------------------------

    async def list_lots(
        self, session: AsyncSession, principal: Principal
    ) -> schemas.InventoryByType:
        repository = InventoryRepository(session, principal.customer_id)
        lots = await repository.all_lots()
        links = await self._links_by_lot(repository, [lot.id for lot in lots])
        grouped: dict[str, list[schemas.InventoryLot]] = {kind: [] for kind in schemas.KINDS}
        for lot in lots:
            grouped[lot.type].append(_wire(lot, links[lot.id]))
        return schemas.InventoryByType(**grouped)

    async def get_lot(
        self, session: AsyncSession, principal: Principal, lot_id: uuid.UUID
    ) -> schemas.InventoryLot:
        repository = InventoryRepository(session, principal.customer_id)
        lot = await self._lot(repository, lot_id)
        return await self._wire(repository, lot)

    async def associations(
        self, session: AsyncSession, principal: Principal, lot_id: uuid.UUID
    ) -> schemas.AssociationsByType:
        repository = InventoryRepository(session, principal.customer_id)
        lot = await self._lot(repository, lot_id)
        return _by_type(await repository.links([lot.id]))

    async def product_lots(
        self, session: AsyncSession, principal: Principal, kind: str, product_id: uuid.UUID
    ) -> list[schemas.ProductLot]:
        repository = InventoryRepository(session, principal.customer_id)
        product = await repository.product(product_id, kind=kind)
        if product is None:
            raise ProductNotFound(product_id, kind)
        return [
            schemas.ProductLot(**_lot_fields(lot), units_per_product=units)
            for lot, units in await repository.product_lots(product.id)
        ]

    async def adjustments(
        self, session: AsyncSession, principal: Principal, lot_id: uuid.UUID, wanted: PageRequest
    ) -> Page[models.LotAdjustment]:
        repository = InventoryRepository(session, principal.customer_id)
        lot = await self._lot(repository, lot_id)
        return await repository.adjustments(lot.id, wanted)

    # -- recording lots ---------------------------------------------------------------------

    async def create_lot(
        self, session: AsyncSession, principal: Principal, body: schemas.LotCreate
    ) -> schemas.InventoryLot:
        repository = InventoryRepository(session, principal.customer_id)
        links = [(item.product_id, item.type, item.units_per_product) for item in body.associations]
        products = await self._linkable(repository, [(p, kind) for p, kind, _ in links])
        lot = await self._record(repository, principal, body, body.type)
        await repository.flush(
            *(
                models.LotAssociation(lot_id=lot.id, product_id=product_id, units_per_product=units)
                for product_id, _, units in links
            )
        )
        await self._check_low_stock(repository, [p.id for p in products])
        return await self._wire(repository, lot)

    async def create_product_lot(
        self,
        session: AsyncSession,
        principal: Principal,
        kind: str,
        product_id: uuid.UUID,
        body: schemas.ProductLotCreate,
    ) -> schemas.ProductLot:
        repository = InventoryRepository(session, principal.customer_id)
        product = await repository.product(product_id, kind=kind, own=True)
        if product is None:
            raise ProductNotFound(product_id, kind)
        lot = await self._record(repository, principal, body, body.type or kind)
        await repository.flush(
            models.LotAssociation(
                lot_id=lot.id, product_id=product.id, units_per_product=body.units_per_product
            )
        )
        await self._check_low_stock(repository, [product.id])
        return schemas.ProductLot(**_lot_fields(lot), units_per_product=body.units_per_product)

    async def _record(
        self,
        repository: InventoryRepository,
        principal: Principal,
        body: schemas.LotCreate | schemas.ProductLotCreate,
        kind: str,
    ) -> models.InventoryLot:
        """The lot and its receipt in the ledger, so that the ledger sums to its quantity."""
        assert body.initial_quantity is not None
        assert body.current_quantity is not None
        fields = body.model_dump(
            include=set(schemas.LotFields.model_fields) - {"ndc", "received_date"}
        )
        lot = models.InventoryLot(
            **fields,
            **_ndc_columns(body.ndc),
            customer_id=principal.customer_id,
            type=kind,
            initial_quantity=body.initial_quantity,
            current_quantity=body.current_quantity,
            received_date=body.received_date or utcnow(),
        )
        await repository.flush(lot)
        entries: list[tuple[int, str, str | None]] = [(body.initial_quantity, "received", None)]
        if body.current_quantity != body.initial_quantity:
            entries.append(
                (
                    body.current_quantity - body.initial_quantity,
                    "correction",
                    "current_quantity sent with the lot",
                )
            )
        resulting = 0
        for delta, reason, note in entries:
            resulting += delta
            await repository.add_adjustment(
                models.LotAdjustment(
                    lot_id=lot.id,
                    delta=delta,
                    resulting_quantity=resulting,
                    reason=reason,
                    note=note,
                    user_id=principal.user.id,
                )
            )
        return lot

    async def update_lot(
        self,
        session: AsyncSession,
        principal: Principal,
        lot_id: uuid.UUID,
        body: schemas.LotUpdate,
    ) -> schemas.InventoryLot:
        repository = InventoryRepository(session, principal.customer_id)
        lot = await self._owned_lot(repository, principal, lot_id)
        changes = body.model_dump(exclude_unset=True)
        for name in schemas.REQUIRED_FIELDS:
            if name in changes and changes[name] is None:
                raise RequiredFieldCleared(name)
        if "ndc" in changes:
            changes.update(_ndc_columns(changes.pop("ndc")))
        for name, value in changes.items():
            setattr(lot, name, value)
        lot.updated_at = utcnow()
        await repository.flush()
        if {"is_active", "expiration_date"} & changes.keys():
            await self._check_low_stock(repository, await repository.linked_products([lot.id]))
        return await self._wire(repository, lot)

    # -- quantities -------------------------------------------------------------------------

    async def adjust_quantity(
        self,
        session: AsyncSession,
        principal: Principal,
        lot_id: uuid.UUID,
        body: schemas.QuantityAdjustment,
    ) -> schemas.InventoryLot:
        repository = InventoryRepository(session, principal.customer_id)
        lot = await self._owned_lot(repository, principal, lot_id)
        delta = body.additional_quantity
        changed = await repository.add_to_quantity(lot.id, delta)
        if changed is None:
            await session.refresh(lot)
            if delta > 0:
                raise LotQuantityTooLarge(lot.id, lot.current_quantity, delta)
            raise InsufficientLotQuantity(lot.id, lot.current_quantity, delta)
        resulting, updated_at = changed
        # What the statement wrote, without reading the row again.
        set_committed_value(lot, "current_quantity", resulting)
        set_committed_value(lot, "updated_at", updated_at)
        await repository.add_adjustment(
            models.LotAdjustment(
                lot_id=lot.id,
                delta=delta,
                resulting_quantity=resulting,
                reason=body.reason,
                note=body.note,
                user_id=principal.user.id,
            )
        )
        await self._check_low_stock(repository, await repository.linked_products([lot.id]))
        return await self._wire(repository, lot)

    async def consume(
        self,
        session: AsyncSession,
        product_units: Mapping[uuid.UUID, int],
        user_id: uuid.UUID | None,
    ) -> Consumption:
        """Takes ``product_units`` from each product's usable lots, earliest expiration first;
        all or nothing. Raises one InsufficientStock naming every product that is short.

        For the order workflow: no tenancy here, the caller has checked the order's products.
        """
        wanted = {product: units for product, units in product_units.items() if units > 0}
        if any(units < 0 for units in product_units.values()):
            raise ValueError("product units to consume must not be negative")
        if not wanted:
            return Consumption()
        repository = InventoryRepository(session, None)
        now = utcnow()
        candidates = await repository.candidates(list(wanted), now)
        # Locked before planning: the plan is made from quantities no one else can change.
        remaining = await repository.lock_quantities({c.lot_id for c in candidates})
        draws: dict[uuid.UUID, list[Draw]] = {}
        shortages = []
        by_product: dict[uuid.UUID, list[Candidate]] = defaultdict(list)
        for candidate in candidates:
            by_product[candidate.product_id].append(candidate)
        for product_id in sorted(wanted):
            need = wanted[product_id]
            lots = by_product[product_id]
            available = sum(remaining[c.lot_id] // c.units_per_product for c in lots)
            if available < need:
                shortages.append(Shortage(product_id, need, available))
                continue
            plan = []
            for candidate in lots:
                if need == 0:
                    break
                take = min(need, remaining[candidate.lot_id] // candidate.units_per_product)
                if take == 0:
                    continue
                lot_units = take * candidate.units_per_product
                remaining[candidate.lot_id] -= lot_units
                need -= take
                plan.append(Draw(candidate.lot_id, take, lot_units))
            draws[product_id] = plan
        if shortages:
            raise InsufficientStock(shortages)
        for product_id, plan in draws.items():
            for draw in plan:
                changed = await repository.add_to_quantity(draw.lot_id, -draw.lot_units)
                if changed is None:
                    # Only without row locks (SQLite, where a writer came first between the
                    # read and this write): the plan counted stock that is gone. The caller's
                    # transaction rolls back what this call already took.
                    raise InsufficientStock([Shortage(product_id, wanted[product_id], 0)])
                await repository.add_adjustment(
                    models.LotAdjustment(
                        lot_id=draw.lot_id,
                        delta=-draw.lot_units,
                        resulting_quantity=changed[0],
                        reason="dispensed",
                        note=f"{draw.product_units} of product {product_id}",
                        user_id=user_id,
                    )
                )
        touched = {draw.lot_id for plan in draws.values() for draw in plan}
        await self._check_low_stock(repository, await repository.linked_products(touched))
        return Consumption(draws)

    # -- associations -----------------------------------------------------------------------

    async def add_association(
        self,
        session: AsyncSession,
        principal: Principal,
        lot_id: uuid.UUID,
        body: schemas.AssociationIn,
    ) -> schemas.AssociationsByType:
        repository = InventoryRepository(session, principal.customer_id)
        lot = await self._owned_lot(repository, principal, lot_id)
        await self._linkable(repository, [(body.product_id, body.type)])
        if await repository.link(lot.id, body.product_id) is not None:
            raise AssociationExists(lot.id, body.product_id)
        link = models.LotAssociation(
            lot_id=lot.id, product_id=body.product_id, units_per_product=body.units_per_product
        )
        try:
            await repository.flush(link)
        except IntegrityError:
            # A concurrent request linked the pair between our check and our write; the
            # request's transaction rolls back with the error.
            raise AssociationExists(lot.id, body.product_id) from None
        await self._check_low_stock(repository, [body.product_id])
        return _by_type(await repository.links([lot.id]))

    async def remove_association(
        self, session: AsyncSession, principal: Principal, lot_id: uuid.UUID, product_id: uuid.UUID
    ) -> None:
        repository = InventoryRepository(session, principal.customer_id)
        lot = await self._owned_lot(repository, principal, lot_id)
        link = await repository.link(lot.id, product_id)
        if link is None or await repository.product(product_id, own=True) is None:
            raise AssociationNotFound(lot.id, product_id)
        await session.delete(link)
        await repository.flush()
        await self._check_low_stock(repository, [product_id])

    # -- expiring lots ----------------------------------------------------------------------

    async def scan_expiring(self, session: AsyncSession, days: int) -> int:
        """Emits inventory.lot_expiring once per lot and customer for active lots with stock
        that expire within ``days``; returns how many events it emitted."""
        now = utcnow()
        repository = InventoryRepository(session, None)
        lots = await repository.expiring(now, now + timedelta(days=days))
        owners = await repository.owners([lot.id for lot in lots])
        links = await self._links_by_lot(repository, [lot.id for lot in lots])
        emitted = 0
        for lot in lots:
            for customer_id in sorted(owners.get(lot.id, ())):
                if await repository.expiring_notified(lot.id, customer_id):
                    continue
                products = [link for link in links[lot.id] if link.customer_id == customer_id]
                await emit(session, LOT_EXPIRING, _expiring_data(lot, products, now), customer_id)
                emitted += 1
        return emitted

    # -- helpers ----------------------------------------------------------------------------

    async def _lot(self, repository: InventoryRepository, lot_id: uuid.UUID) -> models.InventoryLot:
        lot = await repository.lot(lot_id)
        if lot is None:
            raise LotNotFound(lot_id)
        return lot

    async def _owned_lot(
        self, repository: InventoryRepository, principal: Principal, lot_id: uuid.UUID
    ) -> models.InventoryLot:
        lot = await self._lot(repository, lot_id)
        if principal.customer_id is not None and lot.customer_id != principal.customer_id:
            raise LotNotOwned()
        return lot

    async def _linkable(
        self, repository: InventoryRepository, wanted: list[tuple[uuid.UUID, str | None]]
    ) -> list[models.Product]:
        """The products to link, each the caller's own (staff: any), of the kind sent."""
        found = {p.id: p for p in await repository.products([p for p, _ in wanted])}
        for product_id, kind in wanted:
            product = found.get(product_id)
            if product is None or (kind is not None and product.kind != kind):
                raise ProductNotFound(product_id, kind)
        return list(found.values())

    async def _links_by_lot(
        self, repository: InventoryRepository, lot_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[LinkRow]]:
        grouped: dict[uuid.UUID, list[LinkRow]] = defaultdict(list)
        for link in await repository.links(lot_ids):
            grouped[link.lot_id].append(link)
        return grouped

    async def _wire(
        self, repository: InventoryRepository, lot: models.InventoryLot
    ) -> schemas.InventoryLot:
        return _wire(lot, await repository.links([lot.id]))

    async def _check_low_stock(
        self, repository: InventoryRepository, product_ids: Iterable[uuid.UUID]
    ) -> None:
        """Flags products whose stock crossed their reorder threshold and emits
        inventory.low_stock on the way down, once per crossing. Rows change in id order."""
        ids = sorted(set(product_ids))
        if not ids:
            return
        now = utcnow()
        levels = await product_service.stock_levels(repository.session, ids, now)
        for product_id, threshold, was_low in await repository.thresholds(ids):
            stock = levels[product_id].current_stock
            if (stock < threshold) == was_low:
                continue
            # Conditional: of concurrent requests that saw the same crossing, one changes it.
            changed = await repository.flag_low_stock(product_id, stock < threshold)
            if changed is None or not changed.is_low_stock:
                continue
            await task_service.open_automatic(
                repository.session,
                source_key=f"low_stock:{changed.product_id}",
                category_code="T04",
                name=f"Reorder {changed.name} ({changed.sku}): low on stock",
                description=f"{stock} in stock, below the reorder threshold of "
                f"{changed.reorder_threshold}.",
                customer_id=changed.customer_id,
            )
            if changed.customer_id is None:
                continue
            data = {
                "product_id": changed.product_id,
                "product_type": changed.kind,
                "sku": changed.sku,
                "name": changed.name,
                "current_stock": stock,
                "reorder_threshold": changed.reorder_threshold,
                "detected_at": now,
            }
            await emit(repository.session, LOW_STOCK, data, changed.customer_id)


def _expiring_data(
    lot: models.InventoryLot, products: list[LinkRow], now: datetime
) -> dict[str, Any]:
    assert lot.expiration_date is not None
    return {
        "lot_id": lot.id,
        "type": lot.type,
        "batch_number": lot.batch_number,
        "expiration_date": lot.expiration_date,
        "days_left": (lot.expiration_date - now).days,
        "current_quantity": lot.current_quantity,
        "unit_type": lot.unit_type,
        "products": [
            {"product_id": p.product_id, "product_type": p.kind, "name": p.name} for p in products
        ],
    }


inventory_service = InventoryService()
