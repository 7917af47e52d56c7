import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from pestle import models
from pestle.kit.ids import parse_uuid
from pestle.kit.repository import TenantRepository

NPI_LENGTH = 10

_WHOLE = (
    selectinload(models.Prescriber.addresses),
    selectinload(models.Prescriber.credentials),
    selectinload(models.Prescriber.restrictions),
    selectinload(models.Prescriber.qualifications),
)


def looks_like_npi(ref: str) -> bool:
    return len(ref) == NPI_LENGTH and ref.isascii() and ref.isdigit()


@dataclass(frozen=True)
class PrescriberFilters:
    npi: str | None = None
    last_name: str | None = None


class PrescriberRepository(TenantRepository[models.Prescriber]):
    """Prescribers are always read whole: one query per collection, however many rows."""

    model = models.Prescriber

    def whole(self) -> Select[models.Prescriber]:
        return self.select().options(*_WHOLE)

    async def by_ref(self, ref: str) -> list[models.Prescriber]:
        """The prescribers whose id or NPI is ``ref``: at most two, to detect ambiguity."""
        if looks_like_npi(ref):
            condition = models.Prescriber.npi == ref
        elif (prescriber_id := parse_uuid(ref)) is not None:
            condition = models.Prescriber.id == prescriber_id
        else:
            return []
        statement = self.whole().where(condition).order_by(models.Prescriber.id).limit(2)
        return list(await self.session.scalars(statement))

    async def npi_taken(
        self, customer_id: uuid.UUID, npi: str, other_than: uuid.UUID | None = None
    ) -> bool:
        statement = select(models.Prescriber.id).where(
            models.Prescriber.customer_id == customer_id, models.Prescriber.npi == npi
        )
        if other_than is not None:
            statement = statement.where(models.Prescriber.id != other_than)
        return await self.session.scalar(statement.limit(1)) is not None

    def filtered(self, filters: PrescriberFilters) -> Select[models.Prescriber]:
        statement = self.whole().order_by(models.Prescriber.id)
        if filters.npi is not None:
            statement = statement.where(models.Prescriber.npi == filters.npi.strip())
        if filters.last_name is not None:
            statement = statement.where(
                func.lower(models.Prescriber.last_name) == filters.last_name.strip().lower()
            )
        return statement

    async def flush(self, *new: models.Prescriber) -> None:
        """Writes the pending changes, and ``new`` prescribers with them."""
        self.session.add_all(new)
        await self.session.flush()
