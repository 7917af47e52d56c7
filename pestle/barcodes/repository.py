"""The SQL of the Barcoding area: barcodes, the entities they are issued for, and the lots a
GS1 scan names."""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.inventory.repository import InventoryRepository
from pestle.kit.pagination import Page, PageRequest, fetch_page
from pestle.kit.time import utcnow

Lot = models.InventoryLot
Link = models.LotAssociation
Product = models.Product

# Each entity type's table, and for the three product types the kind the product must be.
_ENTITIES: dict[str, tuple[Any, str | None]] = {
    "user": (models.User, None),
    "order": (models.Order, None),
    "patient": (models.Patient, None),
    "prescription": (models.Prescription, None),
    "prescription_product": (Product, "prescription"),
    "non_prescription_product": (Product, "non_prescription"),
    "order_material": (Product, "order_material"),
    "inventory": (Lot, None),
}


@dataclass(frozen=True)
class Entity:
    id: uuid.UUID
    customer_id: uuid.UUID | None
    is_active: bool


class BarcodeRepository:
    """Barcodes and entities as ``customer_id`` sees them: None is pharmacy staff, who see
    all; a customer sees only rows that carry its id (not staff users, global products or
    the pharmacy's own lots)."""

    def __init__(self, session: AsyncSession, customer_id: uuid.UUID | None) -> None:
        self.session = session
        self.customer_id = customer_id

    # -- entities ---------------------------------------------------------------------------

    async def entity(self, entity_type: str, ref: uuid.UUID | str) -> Entity | None:
        """The entity, by id (orders also by order number), if the caller's tenant holds it."""
        model, kind = _ENTITIES[entity_type]
        is_active = model.is_active if entity_type == "user" else literal(True)
        statement = select(model.id, model.customer_id, is_active)
        if isinstance(ref, uuid.UUID):
            statement = statement.where(model.id == ref)
        elif entity_type == "order":
            statement = statement.where(model.order_number == ref)
        else:
            return None
        if kind is not None:
            statement = statement.where(model.kind == kind)
        if self.customer_id is not None:
            statement = statement.where(model.customer_id == self.customer_id)
        row = (await self.session.execute(statement)).first()
        return None if row is None else Entity(row[0], row[1], bool(row[2]))

    # -- barcodes ---------------------------------------------------------------------------

    def _barcodes(self) -> Select[models.Barcode]:
        statement = select(models.Barcode)
        if self.customer_id is not None:
            statement = statement.where(models.Barcode.customer_id == self.customer_id)
        return statement

    async def add(self, barcode: models.Barcode) -> models.Barcode:
        self.session.add(barcode)
        await self.session.flush()
        return barcode

    async def by_value(self, value: str) -> models.Barcode | None:
        found: models.Barcode | None = await self.session.scalar(
            self._barcodes().where(models.Barcode.barcode_value == value)
        )
        return found

    async def of_entity(
        self, entity_type: str, entity_id: uuid.UUID, barcode_id: uuid.UUID
    ) -> models.Barcode | None:
        found: models.Barcode | None = await self.session.scalar(
            self._barcodes().where(
                models.Barcode.id == barcode_id,
                models.Barcode.entity_type == entity_type,
                models.Barcode.entity_id == entity_id,
            )
        )
        return found

    def _issued_for(self, entity_type: str, entity_id: uuid.UUID) -> Select[models.Barcode]:
        return self._barcodes().where(
            models.Barcode.entity_type == entity_type, models.Barcode.entity_id == entity_id
        )

    async def issued_for(
        self, entity_type: str, entity_id: uuid.UUID, wanted: PageRequest, *, only_active: bool
    ) -> Page[models.Barcode]:
        """Newest first."""
        statement = self._issued_for(entity_type, entity_id)
        if only_active:
            statement = statement.where(models.Barcode.is_active)
        return await fetch_page(self.session, statement.order_by(models.Barcode.id.desc()), wanted)

    async def newest_usable(self, entity_type: str, entity_id: uuid.UUID) -> models.Barcode | None:
        """The newest active barcode that has not expired."""
        barcode = models.Barcode
        statement = (
            self._issued_for(entity_type, entity_id)
            .where(
                barcode.is_active,
                or_(barcode.expires_at.is_(None), barcode.expires_at > utcnow()),
            )
            .order_by(barcode.id.desc())
            .limit(1)
        )
        found: models.Barcode | None = await self.session.scalar(statement)
        return found

    # -- GS1 scans --------------------------------------------------------------------------

    async def lots_of_item(
        self, gtin: str | None, ndc_digits: str | None, upc: str | None, batch: str | None
    ) -> list[models.InventoryLot]:
        """Lots the caller sees (as Inventory shows them: a customer's own and those linked to
        its products) carrying the item's GTIN, NDC or UPC (with no item: the batch alone)."""
        identifies = []
        if gtin is not None:
            identifies.append(Lot.gtin == gtin)
        if ndc_digits is not None:
            identifies.append(Lot.ndc_labeler + Lot.ndc_product + Lot.ndc_package == ndc_digits)
        if upc is not None:
            bare = func.replace(func.replace(Lot.upc, "-", ""), " ", "")
            identifies.append(bare == upc)
        if not identifies:
            if batch is None:
                return []
            identifies.append(Lot.batch_number == batch)
        # The lots the caller sees are the Inventory area's to say: one rule, not a copy.
        visible = InventoryRepository(self.session, self.customer_id).lots()
        statement = visible.where(or_(*identifies)).order_by(Lot.id)
        return list(await self.session.scalars(statement))

    async def products_fed_by(
        self, lot_ids: list[uuid.UUID]
    ) -> tuple[list[models.Product], dict[uuid.UUID, list[uuid.UUID]]]:
        """The products the lots feed that the caller sees (its own and global ones), and
        each lot's product ids."""
        if not lot_ids:
            return [], {}
        statement = (
            select(Link.lot_id, Product)
            .join(Product, Product.id == Link.product_id)
            .where(Link.lot_id.in_(lot_ids))
            .order_by(Product.id)
        )
        if self.customer_id is not None:
            statement = statement.where(
                or_(Product.customer_id == self.customer_id, Product.customer_id.is_(None))
            )
        products: dict[uuid.UUID, models.Product] = {}
        by_lot: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for lot_id, product in (await self.session.execute(statement)).all():
            products[product.id] = product
            by_lot[lot_id].append(product.id)
        return list(products.values()), by_lot
