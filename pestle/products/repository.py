import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.kit.ids import parse_uuid
from pestle.kit.time import utcnow

_NEXT_NUMBER = select(func.coalesce(func.max(models.Formula.number), 0) + 1).scalar_subquery()
# Bound parameters per IN list: well under PostgreSQL's 32767 and SQLite's 32766.
_CHUNK = 1000


class StockLevel(NamedTuple):
    current_stock: int = 0
    has_inventory: bool = False


NO_STOCK = StockLevel()


async def stock_levels(
    session: AsyncSession, product_ids: Iterable[uuid.UUID], now: datetime | None = None
) -> dict[uuid.UUID, StockLevel]:
    """What the active, unexpired lots associated with each product can supply, in one grouped
    query per thousand products. Every id asked for is in the result (``NO_STOCK`` when no
    such lot is associated)."""
    ids = list(dict.fromkeys(product_ids))
    now = now or utcnow()
    lot, association = models.InventoryLot, models.LotAssociation
    levels = dict.fromkeys(ids, NO_STOCK)
    for start in range(0, len(ids), _CHUNK):
        # "//": SQLAlchemy's "/" is true division, which would sum fractions of units.
        statement = (
            select(
                association.product_id,
                func.sum(lot.current_quantity // association.units_per_product),
            )
            .join(lot, lot.id == association.lot_id)
            .where(
                association.product_id.in_(ids[start : start + _CHUNK]),
                lot.is_active,
                or_(lot.expiration_date.is_(None), lot.expiration_date > now),
            )
            .group_by(association.product_id)
        )
        for product_id, supply in await session.execute(statement):
            levels[product_id] = StockLevel(int(supply or 0), True)
    return levels


def visible_to(customer_id: uuid.UUID | None) -> ColumnElement[bool]:
    """A customer sees its own products and the global materials; staff see everything."""
    product = models.Product
    if customer_id is None:
        return true()
    return or_(
        product.customer_id == customer_id,
        and_(product.customer_id.is_(None), product.is_global),
    )


class ProductRepository:
    def __init__(self, session: AsyncSession, customer_id: uuid.UUID | None) -> None:
        """``customer_id`` None is pharmacy staff, who see every customer's products."""
        self.session = session
        self.customer_id = customer_id

    def select(self) -> Select[models.Product, int]:
        """Visible products with their formula's number, oldest first."""
        product, formula = models.Product, models.Formula
        return (
            select(product, formula.number)
            .outerjoin(formula, formula.id == product.formula_id)
            .where(visible_to(self.customer_id))
            .order_by(product.id)
        )

    async def listed(self, kind: str | None = None) -> list[tuple[models.Product, int | None]]:
        statement = self.select()
        if kind is not None:
            statement = statement.where(models.Product.kind == kind)
        return [(row[0], row[1]) for row in await self.session.execute(statement)]

    async def get(self, kind: str, ref: str) -> tuple[models.Product, int | None] | None:
        product_id = parse_uuid(ref)
        if product_id is None:
            return None
        statement = self.select().where(
            models.Product.id == product_id, models.Product.kind == kind
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else (row[0], row[1])

    async def by_ids(self, product_ids: set[uuid.UUID]) -> list[tuple[models.Product, int | None]]:
        if not product_ids:
            return []
        statement = self.select().where(models.Product.id.in_(product_ids))
        return [(row[0], row[1]) for row in await self.session.execute(statement)]

    async def orderable(
        self, kind: str, *, product_id: uuid.UUID | None, sku: str | None, code: str | None
    ) -> list[models.Product]:
        """Visible products of ``kind`` with this id, SKU or product code; at most two."""
        product = models.Product
        statement = select(product).where(visible_to(self.customer_id), product.kind == kind)
        if product_id is not None:
            statement = statement.where(product.id == product_id)
        elif sku is not None:
            statement = statement.where(product.sku == sku)
        else:
            statement = statement.where(product.product_code == code)
        return list(await self.session.scalars(statement.order_by(product.id).limit(2)))

    async def prescription_products(
        self,
        *,
        product_id: uuid.UUID | None = None,
        product_code: str | None = None,
        name: str | None = None,
    ) -> list[models.Product]:
        """Visible prescription products with this id, code or name (any case); at most two,
        to detect ambiguity. Code and name match active products only."""
        product = models.Product
        statement = select(product).where(
            visible_to(self.customer_id), product.kind == "prescription"
        )
        if product_id is not None:
            statement = statement.where(product.id == product_id)
        elif product_code is not None:
            statement = statement.where(product.product_code == product_code, product.is_active)
        elif name is not None:
            statement = statement.where(
                func.lower(product.name) == name.strip().lower(), product.is_active
            )
        else:
            return []
        return list(await self.session.scalars(statement.order_by(product.id).limit(2)))

    async def taken(
        self,
        owner: uuid.UUID | None,
        column: str,
        value: str,
        kind: str | None = None,
        other_than: uuid.UUID | None = None,
    ) -> bool:
        """Whether ``owner``'s products (the global ones when None) already use ``value``."""
        product = models.Product
        owned = product.customer_id.is_(None) if owner is None else product.customer_id == owner
        statement = select(product.id).where(owned, getattr(product, column) == value)
        if kind is not None:
            statement = statement.where(product.kind == kind)
        if other_than is not None:
            statement = statement.where(product.id != other_than)
        return await self.session.scalar(statement.limit(1)) is not None

    async def flush(self, *new: models.Product) -> None:
        self.session.add_all(new)
        await self.session.flush()


class FormulaRepository:
    def __init__(self, session: AsyncSession, customer_id: uuid.UUID | None) -> None:
        """``customer_id`` None is pharmacy staff, who see every formula."""
        self.session = session
        self.customer_id = customer_id

    def select(self) -> Select[models.Formula]:
        """A customer's own formulas and the pharmacy-wide ones, by number."""
        formula = models.Formula
        statement = select(formula).order_by(formula.number)
        if self.customer_id is not None:
            statement = statement.where(
                or_(formula.customer_id == self.customer_id, formula.customer_id.is_(None))
            )
        return statement

    async def listed(self) -> list[models.Formula]:
        return list(await self.session.scalars(self.select()))

    async def find(self, ref: int | uuid.UUID) -> models.Formula | None:
        formula = models.Formula
        condition = formula.id == ref if isinstance(ref, uuid.UUID) else formula.number == ref
        result: models.Formula | None = await self.session.scalar(self.select().where(condition))
        return result

    async def number_of(self, formula_id: uuid.UUID) -> int | None:
        statement = select(models.Formula.number).where(models.Formula.id == formula_id)
        result: int | None = await self.session.scalar(statement)
        return result

    async def add_numbered(self, formula: models.Formula) -> bool:
        """Inserts ``formula`` numbered one past the highest number; False when a concurrent
        insert took that number (the caller may retry with a new instance).

        The number is computed inside the INSERT. SQLite runs that statement under its single
        writer lock, so it cannot meet a conflict; and there a savepoint opened before any
        write would be the outermost transaction, whose release commits. PostgreSQL can meet
        a conflict, which a savepoint confines to this insert."""
        formula.number = _NEXT_NUMBER
        try:
            if self.session.get_bind().dialect.name == "sqlite":
                await self.flush(formula)
            else:
                async with self.session.begin_nested():
                    await self.flush(formula)
        except IntegrityError as error:
            if "number" not in str(error.orig):
                raise
            return False
        await self.session.refresh(formula, ["number"])
        return True

    async def flush(self, *new: models.Formula | models.FormulaIngredient) -> None:
        self.session.add_all(new)
        await self.session.flush()

    async def ingredients(
        self, formula_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[models.FormulaIngredient]]:
        found: dict[uuid.UUID, list[models.FormulaIngredient]] = {i: [] for i in formula_ids}
        ingredient = models.FormulaIngredient
        for start in range(0, len(formula_ids), _CHUNK):
            statement = (
                select(ingredient)
                .where(ingredient.formula_id.in_(formula_ids[start : start + _CHUNK]))
                .order_by(ingredient.formula_id, ingredient.position)
            )
            for row in await self.session.scalars(statement):
                found[row.formula_id].append(row)
        return found
