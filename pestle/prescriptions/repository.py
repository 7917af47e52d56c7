import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, Select, and_, func, select, update
from sqlalchemy.orm import selectinload

from pestle import models
from pestle.kit.repository import TenantRepository
from pestle.kit.time import as_utc

NULL: Literal["null"] = "null"
# A filter value: an id, or the literal "null" for "not matched".
IdFilter = uuid.UUID | Literal["null"] | None

_P = models.Prescription

_RELATED = (
    selectinload(_P.customer),
    selectinload(_P.electronic_prescription),
    selectinload(_P.patient),
    selectinload(_P.prescription_product),
    selectinload(_P.prescriber).options(
        selectinload(models.Prescriber.addresses),
        selectinload(models.Prescriber.credentials),
        selectinload(models.Prescriber.restrictions),
        selectinload(models.Prescriber.qualifications),
    ),
)


@dataclass(frozen=True)
class PrescriptionFilters:
    status: str | None = None
    patient_id: IdFilter = None
    prescriber_id: IdFilter = None
    prescription_product_id: IdFilter = None
    include_related: bool = False


def _live(now: datetime) -> ColumnElement[bool]:
    return and_(_P.expires_at > now, _P.fills_used < _P.refills + 1)


def status_is(status: str, now: datetime) -> ColumnElement[bool]:
    """The SQL form of `Prescription.current_status == status`."""
    if status == "cancelled":
        return _P.status == "cancelled"
    if status == "expired":
        return and_(_P.status != "cancelled", _P.expires_at <= now)
    if status == "exhausted":
        return and_(_P.status != "cancelled", _P.expires_at > now, _P.fills_used >= _P.refills + 1)
    return and_(_P.status == status, _live(now))


class PrescriptionRepository(TenantRepository[models.Prescription]):
    model = models.Prescription

    def filtered(self, filters: PrescriptionFilters, now: datetime) -> Select[models.Prescription]:
        statement = self.select().order_by(_P.id)
        if filters.status is not None:
            statement = statement.where(status_is(filters.status, now))
        for column, wanted in (
            (_P.patient_id, filters.patient_id),
            (_P.prescriber_id, filters.prescriber_id),
            (_P.prescription_product_id, filters.prescription_product_id),
        ):
            if wanted == NULL:
                statement = statement.where(column.is_(None))
            elif wanted is not None:
                statement = statement.where(column == wanted)
        if filters.include_related:
            statement = statement.options(*_RELATED)
        return statement

    async def get_whole(self, prescription_id: uuid.UUID) -> models.Prescription | None:
        return await self.one_or_none(
            self.select().where(_P.id == prescription_id).options(*_RELATED)
        )

    async def by_order_number(self, prescriber_order_number: str) -> list[models.Prescription]:
        statement = self.select().where(_P.prescriber_order_number == prescriber_order_number)
        return list(await self.session.scalars(statement.order_by(_P.id)))

    async def for_patient(
        self, patient_id: uuid.UUID, product_ids: set[uuid.UUID]
    ) -> list[models.Prescription]:
        prescription = models.Prescription
        statement = (
            self.select()
            .where(
                prescription.patient_id == patient_id,
                prescription.prescription_product_id.in_(product_ids),
            )
            .order_by(prescription.expires_at, prescription.id)
        )
        return list(await self.session.scalars(statement))

    async def last_fills(self, prescription_ids: set[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        fill = models.PrescriptionFill
        statement = (
            select(fill.prescription_id, func.max(fill.filled_at))
            .where(fill.prescription_id.in_(prescription_ids))
            .group_by(fill.prescription_id)
        )
        return {row[0]: as_utc(row[1]) for row in await self.session.execute(statement)}

    async def take_fill(self, prescription_id: uuid.UUID, now: datetime) -> int | None:
        """Uses one fill if the prescription is still fillable; the new fills_used, or None.
        One guarded UPDATE: concurrent fills cannot overdraw the refills."""
        statement = (
            update(_P)
            .where(
                _P.id == prescription_id,
                _P.status == "active",
                _P.cancelled_at.is_(None),
                _P.needs_clarification.is_(False),
                _live(now),
            )
            .values(fills_used=_P.fills_used + 1, updated_at=now)
            .returning(_P.fills_used)
            .execution_options(synchronize_session=False)
        )
        result: int | None = (await self.session.execute(statement)).scalar_one_or_none()
        return result

    async def flush(self, *new: models.Prescription | models.PrescriptionFill) -> None:
        self.session.add_all(new)
        await self.session.flush()


class ElectronicPrescriptionRepository(TenantRepository[models.ElectronicPrescription]):
    model = models.ElectronicPrescription

    async def get_whole(self, erx_id: uuid.UUID) -> models.ElectronicPrescription | None:
        return await self.one_or_none(
            self.select()
            .where(models.ElectronicPrescription.id == erx_id)
            .options(selectinload(models.ElectronicPrescription.prescriptions))
        )
