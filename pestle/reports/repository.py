"""The SQL of the reports: every figure is aggregated by the database, never in Python.

Each report is a statement built here; the service runs it whole for JSON or streams it in
chunks for CSV (``stream``), so a report of a million orders never sits in memory.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Row, Select, and_, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models

Order = models.Order
Line = models.OrderLine
LineLot = models.OrderLineLot
Lot = models.InventoryLot
Link = models.LotAssociation
Product = models.Product
Prescription = models.Prescription
Prescriber = models.Prescriber

_Ts = TypeVarTuple("_Ts")

# Rows fetched per round trip when streaming: large enough to be fast, small enough to stay flat.
STREAM_CHUNK = 2_000


class ReportRepository:
    """Reports as ``customer_id`` sees them: None is pharmacy staff, who see every customer."""

    def __init__(self, session: AsyncSession, customer_id: uuid.UUID | None) -> None:
        self.session = session
        self.customer_id = customer_id
        self._tuned = False

    async def _tune(self) -> None:
        """Plans for a report on PostgreSQL, once per transaction.

        asyncpg prepares every statement, and after five runs PostgreSQL may switch to a generic
        plan that does not know the window: for a year of a million orders it chose index scans
        over the seq scans a custom plan uses (3.0 s against 1.0 s, bench/README.md,
        reports.py). Planning costs milliseconds; a report runs for many more. A cursor is
        planned for its first 10% of rows; a report reads every row.
        """
        if self._tuned or self.session.get_bind().dialect.name != "postgresql":
            return
        await self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        await self.session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
        self._tuned = True

    def _orders_in(self, start: datetime, end: datetime) -> ColumnElement[bool]:
        """Orders created in [start, end): the caller's, or everyone's for staff."""
        window = and_(Order.created_at >= start, Order.created_at < end)
        if self.customer_id is None:
            return window
        return and_(Order.customer_id == self.customer_id, window)

    async def total_orders(self, start: datetime, end: datetime) -> int:
        statement = select(func.count()).select_from(Order).where(self._orders_in(start, end))
        await self._tune()
        return (await self.session.scalar(statement)) or 0

    def orders_by_status(self, start: datetime, end: datetime) -> Select[str, int]:
        return (
            select(Order.status_code, func.count())
            .where(self._orders_in(start, end))
            .group_by(Order.status_code)
        )

    def orders_by_product(self, start: datetime, end: datetime) -> Select[str, uuid.UUID, str, int]:
        """Summed line quantity per product, ordered by family, then largest count first."""
        count = func.sum(Line.quantity).label("count")
        return (
            select(Product.kind, Product.id, Product.name, count)
            .select_from(Line)
            .join(Order, Order.id == Line.order_id)
            .join(Product, Product.id == Line.product_id)
            .where(self._orders_in(start, end))
            .group_by(Product.kind, Product.id, Product.name)
            .order_by(Product.kind, count.desc(), Product.name, Product.id)
        )

    def inventory(
        self, expiring_before: datetime | None
    ) -> Select[models.InventoryLot, uuid.UUID, str, str]:
        """One row per active lot and product it feeds (a lot feeding none: one row of nulls),
        ordered by expiry (soonest first, none last) then lot.

        A customer sees the lots it recorded or that feed one of its products, and of their
        links only those to its own or global products.
        """
        visible_product = Link.product_id == Product.id
        if self.customer_id is not None:
            visible_product = and_(
                visible_product,
                or_(Product.customer_id == self.customer_id, Product.is_global),
            )
        statement = (
            select(Lot, Product.id, Product.name, Product.kind)
            .outerjoin(Link, Link.lot_id == Lot.id)
            .outerjoin(Product, visible_product)
            .where(Lot.is_active)
            .order_by(Lot.expiration_date.is_(None), Lot.expiration_date, Lot.id, Product.name)
        )
        if self.customer_id is not None:
            feeds_ours = (
                select(Link.id)
                .join(Product, Product.id == Link.product_id)
                .where(Link.lot_id == Lot.id, Product.customer_id == self.customer_id)
            )
            statement = statement.where(
                or_(Lot.customer_id == self.customer_id, exists(feeds_ours))
            )
            # A link to another customer's product is hidden, not shown as an empty product.
            statement = statement.where(or_(Link.id.is_(None), Product.id.is_not(None)))
        if expiring_before is not None:
            statement = statement.where(Lot.expiration_date < expiring_before)
        return statement

    def stuck_orders(self) -> Select[models.Order]:
        statement = (
            select(Order)
            .where(Order.stuck_reason.is_not(None))
            .order_by(Order.stuck_reason, Order.stuck_since, Order.id)
        )
        if self.customer_id is not None:
            statement = statement.where(Order.customer_id == self.customer_id)
        return statement

    def stuck_by_reason(self) -> Select[str | None, int]:
        statement = (
            select(Order.stuck_reason, func.count())
            .where(Order.stuck_reason.is_not(None))
            .group_by(Order.stuck_reason)
        )
        if self.customer_id is not None:
            statement = statement.where(Order.customer_id == self.customer_id)
        return statement

    def controlled_dispensing(self, start: datetime, end: datetime) -> Select[*tuple[Any, ...]]:
        """One row per lot drawn by a controlled line compounded in [start, end) (a line with
        no lot recorded: one row with no lot), in compounding order. Staff only: no tenant."""
        controlled = or_(Product.is_controlled_substance, Product.dea_schedule.is_not(None))
        return (
            select(
                Line.compounded_at,
                Order.id.label("order_id"),
                Order.order_number,
                Order.created_at.label("order_created_at"),
                Order.customer_id,
                Order.patient_id,
                Line.id.label("order_line_id"),
                Product.id.label("product_id"),
                Product.name.label("product_name"),
                Product.dea_schedule,
                Line.quantity,
                Lot.id.label("lot_id"),
                Lot.batch_number,
                LineLot.lot_units,
                Line.prescription_id,
                Prescriber.first_name.label("prescriber_first_name"),
                Prescriber.last_name.label("prescriber_last_name"),
                Prescriber.npi.label("prescriber_npi"),
                Prescriber.dea.label("prescriber_dea"),
            )
            .select_from(Line)
            .join(Order, Order.id == Line.order_id)
            .join(Product, Product.id == Line.product_id)
            .outerjoin(LineLot, LineLot.order_line_id == Line.id)
            .outerjoin(Lot, Lot.id == LineLot.lot_id)
            .outerjoin(Prescription, Prescription.id == Line.prescription_id)
            .outerjoin(Prescriber, Prescriber.id == Prescription.prescriber_id)
            .where(controlled, Line.compounded_at >= start, Line.compounded_at < end)
            .order_by(Line.compounded_at, Line.id, Lot.id)
        )

    async def rows(self, statement: Select[*_Ts]) -> Sequence[Row[*_Ts]]:
        await self._tune()
        return list((await self.session.execute(statement)).all())

    async def stream(self, statement: Select[*_Ts]) -> AsyncIterator[Sequence[Row[*_Ts]]]:
        """The statement's rows in chunks, through a server-side cursor where the engine has one."""
        await self._tune()
        result = await self.session.stream(statement.execution_options(yield_per=STREAM_CHUNK))
        async for chunk in result.partitions(STREAM_CHUNK):
            yield chunk
