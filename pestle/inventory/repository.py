"""The SQL of the Inventory area. Quantities change only through guarded SQL expressions."""

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    exists,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.kit.pagination import Page, PageRequest, fetch_page
from pestle.kit.time import utcnow

# The largest quantity a lot holds: the column is a 32-bit integer on PostgreSQL.
MAX_QUANTITY = 2**31 - 1

Lot = models.InventoryLot
Link = models.LotAssociation
Product = models.Product


@dataclass(frozen=True)
class LinkRow:
    """An association with what its wire form shows of the product and its customer."""

    lot_id: uuid.UUID
    product_id: uuid.UUID
    kind: str
    name: str
    customer_id: uuid.UUID | None
    customer: str | None
    units_per_product: int


@dataclass(frozen=True)
class Candidate:
    """A lot a product may draw from, in the order it should be drawn."""

    product_id: uuid.UUID
    lot_id: uuid.UUID
    units_per_product: int


@dataclass(frozen=True)
class LowStockChange:
    product_id: uuid.UUID
    customer_id: uuid.UUID | None
    kind: str
    sku: str
    name: str
    reorder_threshold: int
    is_low_stock: bool


def usable(now: datetime) -> ColumnElement[bool]:
    """Lots that count as stock: active and not expired."""
    return and_(Lot.is_active, or_(Lot.expiration_date.is_(None), Lot.expiration_date > now))


class InventoryRepository:
    """Lots as ``customer_id`` sees them: None is pharmacy staff, who see every lot; a customer
    sees the lots it recorded and the lots linked to its products."""

    def __init__(self, session: AsyncSession, customer_id: uuid.UUID | None) -> None:
        self.session = session
        self.customer_id = customer_id

    # -- visibility -------------------------------------------------------------------------

    def _visible_lots(self) -> ColumnElement[bool] | None:
        if self.customer_id is None:
            return None
        linked = (
            select(Link.id)
            .join(Product, Product.id == Link.product_id)
            .where(Link.lot_id == Lot.id, Product.customer_id == self.customer_id)
        )
        return or_(Lot.customer_id == self.customer_id, exists(linked))

    def _visible_products(self) -> ColumnElement[bool] | None:
        """Products whose links the caller sees: its own and the global ones."""
        if self.customer_id is None:
            return None
        return or_(Product.customer_id == self.customer_id, Product.customer_id.is_(None))

    def lots(self) -> Select[models.InventoryLot]:
        statement = select(Lot)
        condition = self._visible_lots()
        return statement if condition is None else statement.where(condition)

    async def lot(self, lot_id: uuid.UUID) -> models.InventoryLot | None:
        found: models.InventoryLot | None = await self.session.scalar(
            self.lots().where(Lot.id == lot_id)
        )
        return found

    async def all_lots(self) -> list[models.InventoryLot]:
        return list(await self.session.scalars(self.lots().order_by(Lot.id)))

    async def product(
        self, product_id: uuid.UUID, *, kind: str | None = None, own: bool = False
    ) -> models.Product | None:
        """A product the caller sees (``own``: one it may link lots to, so not a global one
        for a customer)."""
        statement = select(Product).where(Product.id == product_id)
        if kind is not None:
            statement = statement.where(Product.kind == kind)
        if self.customer_id is not None:
            statement = statement.where(
                Product.customer_id == self.customer_id
                if own
                else or_(Product.customer_id == self.customer_id, Product.customer_id.is_(None))
            )
        found: models.Product | None = await self.session.scalar(statement)
        return found

    async def products(self, product_ids: Collection[uuid.UUID]) -> list[models.Product]:
        """Products by id, for linking: the caller's own (staff: any)."""
        statement = select(Product).where(Product.id.in_(product_ids))
        if self.customer_id is not None:
            statement = statement.where(Product.customer_id == self.customer_id)
        return list(await self.session.scalars(statement))

    # -- associations -----------------------------------------------------------------------

    async def links(self, lot_ids: Collection[uuid.UUID]) -> list[LinkRow]:
        """The links of ``lot_ids`` to products the caller sees, in one query."""
        if not lot_ids:
            return []
        statement = (
            select(
                Link.lot_id,
                Link.product_id,
                Product.kind,
                Product.name,
                Product.customer_id,
                models.Customer.name,
                Link.units_per_product,
            )
            .join(Product, Product.id == Link.product_id)
            .outerjoin(models.Customer, models.Customer.id == Product.customer_id)
            .where(Link.lot_id.in_(lot_ids))
            .order_by(Link.lot_id, Product.name, Product.id)
        )
        condition = self._visible_products()
        if condition is not None:
            statement = statement.where(condition)
        return [LinkRow(*row) for row in await self.session.execute(statement)]

    async def link(self, lot_id: uuid.UUID, product_id: uuid.UUID) -> models.LotAssociation | None:
        found: models.LotAssociation | None = await self.session.scalar(
            select(Link).where(Link.lot_id == lot_id, Link.product_id == product_id)
        )
        return found

    async def product_lots(self, product_id: uuid.UUID) -> list[tuple[models.InventoryLot, int]]:
        """The lots linked to a product, with its units_per_product, oldest lot first."""
        statement = (
            select(Lot, Link.units_per_product)
            .join(Link, Link.lot_id == Lot.id)
            .where(Link.product_id == product_id)
            .order_by(Lot.id)
        )
        return [(lot, units) for lot, units in await self.session.execute(statement)]

    async def linked_products(self, lot_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Every product fed by ``lot_ids``, whoever owns it: their stock changed."""
        statement = select(Link.product_id).where(Link.lot_id.in_(list(lot_ids)))
        return set(await self.session.scalars(statement))

    # -- quantities -------------------------------------------------------------------------

    async def add_to_quantity(self, lot_id: uuid.UUID, delta: int) -> tuple[int, datetime] | None:
        """Adds ``delta`` in one guarded statement: the new quantity and updated_at, or None
        (and no change) if the result would leave 0..MAX_QUANTITY. PostgreSQL re-checks the
        guard on the row it waited for."""
        # A 64-bit sum: an int4 column plus a large delta must not overflow before the guard.
        total = Lot.current_quantity + literal(delta, BigInteger)
        statement = (
            update(Lot)
            .where(Lot.id == lot_id, total >= 0, total <= MAX_QUANTITY)
            .values(current_quantity=Lot.current_quantity + delta, updated_at=utcnow())
            .returning(Lot.current_quantity, Lot.updated_at)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def candidates(
        self, product_ids: Collection[uuid.UUID], now: datetime
    ) -> list[Candidate]:
        """The usable lots of ``product_ids``, earliest expiration first (no expiry last)."""
        statement = (
            select(Link.product_id, Link.lot_id, Link.units_per_product)
            .join(Lot, Lot.id == Link.lot_id)
            .where(Link.product_id.in_(product_ids), usable(now))
            .order_by(
                Link.product_id,
                Lot.expiration_date.is_(None),
                Lot.expiration_date,
                Lot.id,
            )
        )
        return [Candidate(*row) for row in await self.session.execute(statement)]

    async def lock_quantities(self, lot_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Locks the lots in primary-key order (PostgreSQL; SQLite serialises writers) and
        reads their quantities as they are now."""
        statement = (
            select(Lot.id, Lot.current_quantity)
            .where(Lot.id.in_(lot_ids))
            .order_by(Lot.id)
            .with_for_update()
        )
        return {lot_id: quantity for lot_id, quantity in await self.session.execute(statement)}

    async def add_adjustment(self, adjustment: models.LotAdjustment) -> None:
        self.session.add(adjustment)
        await self.session.flush()

    async def adjustments(
        self, lot_id: uuid.UUID, wanted: PageRequest
    ) -> Page[models.LotAdjustment]:
        Entry = models.LotAdjustment
        statement = select(Entry).where(Entry.lot_id == lot_id).order_by(Entry.created_at, Entry.id)
        return await fetch_page(self.session, statement, wanted)

    async def thresholds(
        self, product_ids: Collection[uuid.UUID]
    ) -> list[tuple[uuid.UUID, int, bool]]:
        """(id, reorder_threshold, is_low_stock) of each product, by id."""
        statement = (
            select(Product.id, Product.reorder_threshold, Product.is_low_stock)
            .where(Product.id.in_(product_ids))
            .order_by(Product.id)
        )
        rows = await self.session.execute(statement)
        return [(product_id, threshold, low) for product_id, threshold, low in rows]

    async def flag_low_stock(self, product_id: uuid.UUID, low: bool) -> LowStockChange | None:
        """Sets is_low_stock to ``low`` if it was not already; the product when it changed.
        Concurrent crossings race on the row: only one of them changes it."""
        statement = (
            update(Product)
            .where(Product.id == product_id, Product.is_low_stock != low)
            .values(is_low_stock=low)
            .returning(
                Product.id,
                Product.customer_id,
                Product.kind,
                Product.sku,
                Product.name,
                Product.reorder_threshold,
                Product.is_low_stock,
            )
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else LowStockChange(*row)

    # -- expiring lots ----------------------------------------------------------------------

    async def expiring(self, now: datetime, horizon: datetime) -> list[models.InventoryLot]:
        """Active lots with stock whose expiration is before ``horizon``, not yet expired."""
        statement = (
            select(Lot)
            .where(
                Lot.is_active,
                Lot.current_quantity > 0,
                Lot.expiration_date.is_not(None),
                Lot.expiration_date > now,
                Lot.expiration_date <= horizon,
            )
            .order_by(Lot.expiration_date, Lot.id)
        )
        return list(await self.session.scalars(statement))

    async def owners(self, lot_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
        """The customers owning products linked to each lot."""
        statement = (
            select(Link.lot_id, Product.customer_id)
            .join(Product, Product.id == Link.product_id)
            .where(Link.lot_id.in_(lot_ids), Product.customer_id.is_not(None))
            .distinct()
        )
        owners: dict[uuid.UUID, set[uuid.UUID]] = {}
        for lot_id, customer_id in await self.session.execute(statement):
            if customer_id is not None:
                owners.setdefault(lot_id, set()).add(customer_id)
        return owners

    async def expiring_notified(self, lot_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
        Event = models.OutboxEvent
        statement = select(Event.id).where(
            Event.event_code == "inventory.lot_expiring",
            Event.customer_id == customer_id,
            Event.data["lot_id"].as_string() == str(lot_id),
        )
        return await self.session.scalar(statement.limit(1)) is not None

    async def flush(self, *new: object) -> None:
        self.session.add_all(new)
        await self.session.flush()
