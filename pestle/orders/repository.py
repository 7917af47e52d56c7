"""SQL of the Orders area."""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select, update

from pestle import models
from pestle.kit.ids import parse_uuid
from pestle.kit.repository import TenantRepository


@dataclass(frozen=True)
class OrderFilters:
    status_code: str | None = None
    # A status name or legacy value (`status`), checked and turned into a code by the service.
    status: str | None = None
    patient_id: uuid.UUID | None = None
    external_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    stuck: bool | None = None


@dataclass(frozen=True)
class HistoryRow:
    change: models.OrderStatusChange
    first_name: str | None
    last_name: str | None


@dataclass(frozen=True)
class LotUse:
    order_line_id: uuid.UUID
    lot_id: uuid.UUID
    batch_number: str | None
    expiration_date: datetime | None
    product_units: int


class OrderRepository(TenantRepository[models.Order]):
    model = models.Order

    def filtered(self, filters: OrderFilters) -> Select[models.Order]:
        order = models.Order
        statement = self.select().order_by(order.id)
        for code in (filters.status_code, filters.status):
            if code is not None:
                statement = statement.where(order.status_code == code)
        if filters.patient_id is not None:
            statement = statement.where(order.patient_id == filters.patient_id)
        if filters.external_id is not None:
            statement = statement.where(order.external_id == filters.external_id)
        if filters.created_after is not None:
            statement = statement.where(order.created_at >= filters.created_after)
        if filters.created_before is not None:
            statement = statement.where(order.created_at < filters.created_before)
        if filters.stuck is not None:
            statement = statement.where(
                order.stuck_reason.is_not(None) if filters.stuck else order.stuck_reason.is_(None)
            )
        return statement

    async def by_ref(self, ref: str) -> list[models.Order]:
        """Orders whose id, order number or external_id is ``ref``; at most two."""
        order = models.Order
        conditions = [order.order_number == ref, order.external_id == ref]
        order_id = parse_uuid(ref)
        if order_id is not None:
            conditions.append(order.id == order_id)
        statement = self.select().where(or_(*conditions)).order_by(order.id).limit(2)
        return list(await self.session.scalars(statement))

    async def mergeable(self, customer_id: uuid.UUID, patient_id: uuid.UUID) -> list[models.Order]:
        """The patient's orders still in N01, newest first."""
        order = models.Order
        statement = (
            select(order)
            .where(
                order.customer_id == customer_id,
                order.patient_id == patient_id,
                order.status_code == "N01",
            )
            .order_by(order.id.desc())
        )
        return list(await self.session.scalars(statement))

    async def awaiting_prescriptions(
        self, customer_id: uuid.UUID, patient_id: uuid.UUID
    ) -> list[models.Order]:
        """The patient's orders whose lines have not used a fill yet (before P03)."""
        order = models.Order
        statement = (
            select(order)
            .where(
                order.customer_id == customer_id,
                order.patient_id == patient_id,
                order.status_code.in_(("N01", "H01", "P01", "P02")),
            )
            .order_by(order.id)
        )
        return list(await self.session.scalars(statement))

    async def external_id_taken(
        self, customer_id: uuid.UUID, external_id: str, other_than: uuid.UUID | None = None
    ) -> bool:
        order = models.Order
        statement = select(order.id).where(
            order.customer_id == customer_id, order.external_id == external_id
        )
        if other_than is not None:
            statement = statement.where(order.id != other_than)
        return await self.session.scalar(statement.limit(1)) is not None

    async def order_number_taken(self, number: str) -> bool:
        statement = select(models.Order.id).where(models.Order.order_number == number)
        return await self.session.scalar(statement.limit(1)) is not None

    async def move(
        self, order_id: uuid.UUID, source: str, target: str, now: datetime
    ) -> models.Order | None:
        """Moves the order from ``source`` to ``target`` in one guarded UPDATE: of two
        concurrent moves from the same status, one wins and the other changes nothing."""
        order = models.Order
        statement = (
            update(order)
            .where(order.id == order_id, order.status_code == source)
            .values(status_code=target, status_changed_at=now, updated_at=now)
            .returning(order.id)
        )
        if await self.session.scalar(statement) is None:
            return None
        return await self.reread(order_id)

    async def locked(self, order_id: uuid.UUID) -> models.Order:
        """The order as last committed, once this transaction holds its row: a concurrent
        change of it waits for this transaction, and one already under way is waited for and
        then seen. A no-op UPDATE takes that lock on both engines (SQLite has no FOR UPDATE)."""
        order = models.Order
        await self.session.execute(
            update(order)
            .where(order.id == order_id)
            .values(status_code=order.status_code)
            .execution_options(synchronize_session=False)
        )
        found = await self.reread(order_id)
        assert found is not None  # orders are never deleted
        return found

    async def reread(self, order_id: uuid.UUID) -> models.Order | None:
        order = models.Order
        return await self.one_or_none(
            select(order).where(order.id == order_id).execution_options(populate_existing=True)
        )

    async def lines(self, order_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[models.OrderLine]]:
        line = models.OrderLine
        found: dict[uuid.UUID, list[models.OrderLine]] = defaultdict(list)
        if not order_ids:
            return found
        statement = select(line).where(line.order_id.in_(order_ids)).order_by(line.id)
        for row in await self.session.scalars(statement):
            found[row.order_id].append(row)
        return found

    async def lot_uses(self, line_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[LotUse]]:
        used, lot = models.OrderLineLot, models.InventoryLot
        found: dict[uuid.UUID, list[LotUse]] = defaultdict(list)
        if not line_ids:
            return found
        statement = (
            select(
                used.order_line_id,
                used.lot_id,
                lot.batch_number,
                lot.expiration_date,
                used.product_units,
            )
            .join(lot, lot.id == used.lot_id)
            .where(used.order_line_id.in_(line_ids))
            .order_by(used.id)
        )
        for row in await self.session.execute(statement):
            found[row[0]].append(LotUse(*row))
        return found

    async def shipments(self, order_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[models.Shipment]]:
        shipment = models.Shipment
        found: dict[uuid.UUID, list[models.Shipment]] = defaultdict(list)
        if not order_ids:
            return found
        statement = select(shipment).where(shipment.order_id.in_(order_ids)).order_by(shipment.id)
        for row in await self.session.scalars(statement):
            found[row.order_id].append(row)
        return found

    async def replacements(self, order_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        order = models.Order
        found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        if not order_ids:
            return found
        statement = (
            select(order.original_order_id, order.id)
            .where(order.original_order_id.in_(order_ids))
            .order_by(order.id)
        )
        for original, replacement in await self.session.execute(statement):
            if original is not None:
                found[original].append(replacement)
        return found

    async def patients(self, patient_ids: set[uuid.UUID]) -> dict[uuid.UUID, models.Patient]:
        if not patient_ids:
            return {}
        patient = models.Patient
        rows = await self.session.scalars(select(patient).where(patient.id.in_(patient_ids)))
        return {row.id: row for row in rows}

    async def history(self, order_id: uuid.UUID) -> list[HistoryRow]:
        change, user = models.OrderStatusChange, models.User
        statement = (
            select(change, user.first_name, user.last_name)
            .outerjoin(user, user.id == change.user_id)
            .where(change.order_id == order_id)
            .order_by(change.entered_at, change.id)
        )
        return [HistoryRow(*row) for row in await self.session.execute(statement)]

    async def flush(self, *new: object) -> None:
        self.session.add_all(new)
        await self.session.flush()
