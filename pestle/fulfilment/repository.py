"""SQL of the pharmacy workflow: an order's lines and shipments, and the catalogue, vocabulary
and lot facts the clinical check and compounding read."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from pestle import models
from pestle.kit.repository import TenantRepository


@dataclass(frozen=True)
class LineProduct:
    product: models.Product
    formula: models.Formula | None


class FulfilmentRepository(TenantRepository[models.Shipment]):
    model = models.Shipment

    async def lock_order(self, order_id: uuid.UUID) -> models.Order | None:
        """The order as it is now, its row locked until the transaction ends (PostgreSQL;
        SQLite serialises writers): shipping and delivering one order take turns."""
        statement = (
            select(models.Order)
            .where(models.Order.id == order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        result: models.Order | None = await self.session.scalar(statement)
        return result

    async def lines(self, order_id: uuid.UUID) -> list[models.OrderLine]:
        """The order's lines in line order (their ids sort by creation)."""
        line = models.OrderLine
        statement = select(line).where(line.order_id == order_id).order_by(line.id)
        return list(await self.session.scalars(statement))

    async def products(self, product_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, LineProduct]:
        """Each product with its formula, whoever owns them: the order's lines were checked."""
        if not product_ids:
            return {}
        product, formula = models.Product, models.Formula
        statement = (
            select(product, formula)
            .outerjoin(formula, formula.id == product.formula_id)
            .where(product.id.in_(product_ids))
        )
        return {row[0].id: LineProduct(*row) for row in await self.session.execute(statement)}

    async def concepts(
        self, concept_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, models.RiskFactorConcept]:
        if not concept_ids:
            return {}
        concept = models.RiskFactorConcept
        rows = await self.session.scalars(select(concept).where(concept.id.in_(concept_ids)))
        return {row.id: row for row in rows}

    async def lot_expirations(
        self, lot_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, datetime | None]:
        if not lot_ids:
            return {}
        lot = models.InventoryLot
        statement = select(lot.id, lot.expiration_date).where(lot.id.in_(lot_ids))
        return {lot_id: expires for lot_id, expires in await self.session.execute(statement)}

    async def shipments(self, order_id: uuid.UUID) -> list[models.Shipment]:
        statement = self.select().where(models.Shipment.order_id == order_id)
        return list(await self.session.scalars(statement.order_by(models.Shipment.id)))

    async def shipment(self, order_id: uuid.UUID, shipment_id: uuid.UUID) -> models.Shipment | None:
        statement = self.select().where(
            models.Shipment.order_id == order_id, models.Shipment.id == shipment_id
        )
        return await self.one_or_none(statement)

    async def deliver(self, shipment_id: uuid.UUID, now: datetime) -> models.Shipment | None:
        """Marks a shipped shipment delivered in one guarded UPDATE; None if it already was."""
        shipment = models.Shipment
        statement = (
            update(shipment)
            .where(shipment.id == shipment_id, shipment.status == "shipped")
            .values(status="delivered", delivered_at=now, updated_at=now)
            .returning(shipment.id)
        )
        if await self.session.scalar(statement) is None:
            return None
        return await self.one_or_none(
            select(shipment)
            .where(shipment.id == shipment_id)
            .execution_options(populate_existing=True)
        )

    async def undelivered(self, order_id: uuid.UUID) -> int:
        shipment = models.Shipment
        statement = select(func.count()).where(
            shipment.order_id == order_id, shipment.status != "delivered"
        )
        return await self.session.scalar(statement) or 0

    async def flush(self, *new: object) -> None:
        self.session.add_all(new)
        await self.session.flush()
