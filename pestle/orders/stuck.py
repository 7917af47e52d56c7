"""Stuck orders (DESIGN.md §3): orders that cannot go on for want of a usable prescription.

Not a status: a pharmacy-wide scan sets or clears ``stuck_reason`` on the orders not yet past
data verification and raises ``order.stuck`` once per episode, when an order becomes stuck or
its reason changes.

Decisions where the contract is silent:
- A prescription line is judged by the prescription linked to it, else by the patient's
  prescriptions for its product that no other line of the order holds. A line that already
  used its fill is not judged again.
- Reasons, first wins: ``needs_clarification`` (the prescription is on hold, or not matched to
  its prescriber yet), ``no_refills_or_expired`` (every candidate expired, exhausted or was
  cancelled), ``too_early_to_fill`` (last filled less than 75% of its days_supply ago; it
  resolves then; without days_supply never too early), ``missing_prescription`` (no candidate
  and the order is 24 h old; younger orders may still get one).
- Among lines with the same reason the first line names the order's; for ``too_early_to_fill``
  the line that resolves last does, since the order waits for it.
- An order that moved out of the scanned statuses (paused, cancelled, past P02) while stuck is
  cleared; clearing raises no event.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.events import service as events
from pestle.kit.time import as_utc, utcnow
from pestle.orders.repository import OrderRepository
from pestle.orders.service import order_service, summary
from pestle.prescriptions.service import prescription_service
from pestle.tasks.service import task_service

SCANNED_STATUSES = ("N01", "P01", "P02")
MISSING_AFTER = timedelta(hours=24)
EARLY_FILL_SHARE = 0.75
# The order of the reasons is their priority: the first found wins.
REASONS = (
    "needs_clarification",
    "no_refills_or_expired",
    "too_early_to_fill",
    "missing_prescription",
)
_UNCLEAR = frozenset({"on_hold", "new"})


@dataclass(frozen=True)
class Stuck:
    reason: str
    detail: str
    resolves_at: datetime | None = None


@dataclass(frozen=True)
class ScanCounts:
    stuck: int = 0  # newly stuck, or stuck for a new reason: one event each
    cleared: int = 0
    still_stuck: int = 0


class StuckRepository:
    """The scan's SQL: every customer's orders, as the pharmacy sees them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def to_scan(self) -> list[models.Order]:
        """Orders in the scanned statuses, and stuck ones that have left them."""
        order = models.Order
        statement = (
            select(order)
            .where(order.status_code.in_(SCANNED_STATUSES) | order.stuck_reason.is_not(None))
            .order_by(order.id)
        )
        return list(await self.session.scalars(statement))

    async def product_names(self, product_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not product_ids:
            return {}
        product = models.Product
        rows = await self.session.execute(
            select(product.id, product.name).where(product.id.in_(product_ids))
        )
        return {row[0]: row[1] for row in rows}

    async def mark(
        self, order: models.Order, stuck: Stuck | None, since: datetime | None
    ) -> models.Order | None:
        """Writes the stuck fields unless the order changed status or stuck reason since it
        was read (another scan, a move): of two concurrent scans only one raises the event."""
        table = models.Order
        statement = (
            update(table)
            .where(
                table.id == order.id,
                table.status_code == order.status_code,
                table.stuck_reason.is_not_distinct_from(order.stuck_reason),
            )
            .values(
                stuck_reason=stuck.reason if stuck else None,
                stuck_detail=stuck.detail if stuck else None,
                stuck_since=since,
                stuck_resolves_at=stuck.resolves_at if stuck else None,
                updated_at=utcnow(),
            )
            .returning(table.id)
        )
        if await self.session.scalar(statement) is None:
            return None
        return await OrderRepository(self.session, None).reread(order.id)


def _too_early(
    prescription: models.Prescription, last_fill: datetime | None, now: datetime
) -> datetime | None:
    """When the prescription may be filled again, if that is still to come."""
    if prescription.days_supply is None or last_fill is None:
        return None
    eligible = last_fill + timedelta(days=prescription.days_supply * EARLY_FILL_SHARE)
    return eligible if eligible > now else None


def classify_line(
    pool: list[models.Prescription],
    linked: models.Prescription | None,
    last_fills: dict[uuid.UUID, datetime],
    order_created_at: datetime,
    product: str,
    now: datetime,
) -> Stuck | None:
    """Why a prescription line of ``product`` cannot be filled, if it cannot: judged by the
    prescription ``linked`` to it, else by ``pool``, the patient's prescriptions for the
    product that no other line of the order holds."""
    considered = [linked] if linked is not None else pool
    if not considered:
        if now - as_utc(order_created_at) >= MISSING_AFTER:
            return Stuck("missing_prescription", f"{product}: no prescription received.")
        return None
    states = {p.id: p.status_at(now) for p in considered}
    usable = [p for p in considered if states[p.id] == "active"]
    if not usable:
        unclear = [p for p in considered if states[p.id] in _UNCLEAR]
        if unclear:
            held = unclear[0]
            why = held.clarification_reason or (
                "its prescriber is not matched yet"
                if held.prescriber_id is None
                else "it is not matched yet"
            )
            return Stuck(
                "needs_clarification", f"{product}: the prescription needs clarification: {why}."
            )
        ended = sorted({states[p.id] for p in considered})
        return Stuck(
            "no_refills_or_expired",
            f"{product}: no usable prescription (the patient's are {' or '.join(ended)}).",
        )
    prescription = usable[0]
    resolves_at = _too_early(prescription, last_fills.get(prescription.id), now)
    if resolves_at is not None:
        return Stuck(
            "too_early_to_fill",
            f"{product}: too early to refill; it can be filled from "
            f"{resolves_at:%Y-%m-%dT%H:%M:%SZ}.",
            resolves_at,
        )
    return None


def _order_reason(found: list[Stuck], now: datetime) -> Stuck | None:
    for reason in REASONS:
        same = [stuck for stuck in found if stuck.reason == reason]
        if same and reason == "too_early_to_fill":
            return max(same, key=lambda stuck: stuck.resolves_at or now)
        if same:
            return same[0]
    return None


async def classify(session: AsyncSession, order: models.Order, now: datetime) -> Stuck | None:
    """Why ``order`` cannot go on, if it cannot; links its lines first."""
    candidates = await order_service.link_prescriptions(session, order, now)
    lines = [
        line
        for line in (await OrderRepository(session, None).lines([order.id]))[order.id]
        if line.kind == "prescription" and line.prescription_fill_id is None
    ]
    if not lines:
        return None
    by_id = {p.id: p for p in candidates}
    last_fills = await prescription_service.last_fills(session, set(by_id))
    names = await StuckRepository(session).product_names({line.product_id for line in lines})
    held = {line.prescription_id for line in lines if line.prescription_id is not None}
    found = []
    for line in lines:
        linked = by_id.get(line.prescription_id) if line.prescription_id is not None else None
        pool = [
            p
            for p in candidates
            if p.prescription_product_id == line.product_id and p.id not in held
        ]
        stuck = classify_line(
            pool,
            linked,
            last_fills,
            order.created_at,
            names.get(line.product_id, str(line.product_id)),
            now,
        )
        if stuck is not None:
            found.append(stuck)
    return _order_reason(found, now)


async def scan_stuck(
    session: AsyncSession, app_url: str, now: datetime | None = None
) -> ScanCounts:
    """Sets or clears the stuck fields of every order the pharmacy has not yet verified, and
    raises ``order.stuck`` when an order becomes stuck or its reason changes."""
    now = as_utc(now) if now is not None else utcnow()
    repository = StuckRepository(session)
    newly = cleared = still = 0
    for order in await repository.to_scan():
        stuck = (
            await classify(session, order, now) if order.status_code in SCANNED_STATUSES else None
        )
        if stuck is None:
            if order.stuck_reason is not None and await repository.mark(order, None, None):
                cleared += 1
            continue
        if stuck.reason == order.stuck_reason:
            since = order.stuck_since
            unchanged = (order.stuck_detail, order.stuck_resolves_at) == (
                stuck.detail,
                stuck.resolves_at,
            )
            if unchanged or await repository.mark(order, stuck, since) is not None:
                still += 1
            continue
        marked = await repository.mark(order, stuck, now)
        if marked is None:
            continue
        newly += 1
        patient = await order_service.patient(session, marked)
        payload = summary(marked, patient, app_url) | {
            "stuck_reason": stuck.reason,
            "stuck_detail": stuck.detail,
            "resolves_at": stuck.resolves_at,
        }
        await events.emit(session, "order.stuck", payload, marked.customer_id)
        await task_service.open_automatic(
            session,
            source_key=f"stuck:{marked.id}",
            category_code="T01",
            name=f"Order {marked.order_number} is stuck: {stuck.reason.replace('_', ' ')}",
            description=stuck.detail,
            customer_id=marked.customer_id,
            order_id=marked.id,
            patient_id=marked.patient_id,
        )
    return ScanCounts(stuck=newly, cleared=cleared, still_stuck=still)
