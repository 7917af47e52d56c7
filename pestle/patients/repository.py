import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, or_, select

from pestle import models
from pestle.kit.ids import parse_uuid
from pestle.kit.repository import TenantRepository


@dataclass(frozen=True)
class PatientFilters:
    external_id: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None


class PatientRepository(TenantRepository[models.Patient]):
    model = models.Patient

    async def by_ref(self, ref: str) -> list[models.Patient]:
        """Patients whose id or ``external_id`` is ``ref``: at most two, to detect ambiguity."""
        by_external_id = models.Patient.external_id == ref
        patient_id = parse_uuid(ref)
        if patient_id is None:
            statement = self.select().where(by_external_id).order_by(models.Patient.id)
        else:
            # An exact id comes first, before an external_id that happens to spell a uuid.
            statement = (
                self.select()
                .where(or_(models.Patient.id == patient_id, by_external_id))
                .order_by((models.Patient.id == patient_id).desc(), models.Patient.id)
            )
        return list(await self.session.scalars(statement.limit(2)))

    async def by_name_and_birth(
        self, first_name: str | None, last_name: str, date_of_birth: date
    ) -> list[models.Patient]:
        """Patients with this last name (and first name, when given) in any case, born that
        day: at most two, to detect ambiguity."""
        statement = self.select().where(
            func.lower(models.Patient.last_name) == last_name.strip().lower(),
            models.Patient.date_of_birth == date_of_birth,
        )
        if first_name is not None:
            statement = statement.where(
                func.lower(models.Patient.first_name) == first_name.strip().lower()
            )
        return list(await self.session.scalars(statement.order_by(models.Patient.id).limit(2)))

    async def external_id_taken(
        self, customer_id: uuid.UUID, external_id: str, other_than: uuid.UUID | None = None
    ) -> bool:
        statement = select(models.Patient.id).where(
            models.Patient.customer_id == customer_id, models.Patient.external_id == external_id
        )
        if other_than is not None:
            statement = statement.where(models.Patient.id != other_than)
        return await self.session.scalar(statement.limit(1)) is not None

    def filtered(self, filters: PatientFilters) -> Select[models.Patient]:
        statement = self.select().order_by(models.Patient.id)
        if filters.external_id is not None:
            statement = statement.where(models.Patient.external_id == filters.external_id)
        if filters.last_name is not None:
            statement = statement.where(
                func.lower(models.Patient.last_name) == filters.last_name.strip().lower()
            )
        if filters.date_of_birth is not None:
            statement = statement.where(models.Patient.date_of_birth == filters.date_of_birth)
        return statement


class RiskFactorRepository(TenantRepository[models.RiskFactorMapping]):
    model = models.RiskFactorMapping

    async def active_for(
        self, patient_id: uuid.UUID, risk_type: str | None = None
    ) -> list[models.RiskFactorMapping]:
        statement = self.select().where(
            models.RiskFactorMapping.patient_id == patient_id,
            models.RiskFactorMapping.is_active.is_(True),
        )
        if risk_type is not None:
            statement = statement.where(models.RiskFactorMapping.type == risk_type)
        return list(await self.session.scalars(statement.order_by(models.RiskFactorMapping.id)))

    async def of_patient(
        self, patient_id: uuid.UUID, mapping_ref: str
    ) -> models.RiskFactorMapping | None:
        """The patient's mapping with id ``mapping_ref`` (or, leniently, its concept id)."""
        ref = parse_uuid(mapping_ref)
        if ref is None:
            return None
        statement = (
            self.select()
            .where(
                models.RiskFactorMapping.patient_id == patient_id,
                or_(
                    models.RiskFactorMapping.id == ref,
                    models.RiskFactorMapping.risk_factor_id == ref,
                ),
            )
            .order_by(
                (models.RiskFactorMapping.id == ref).desc(),
                models.RiskFactorMapping.is_active.desc(),
            )
            .limit(1)
        )
        return await self.one_or_none(statement)

    async def add_text(self, text: models.RiskFactorText) -> models.RiskFactorText:
        self.session.add(text)
        await self.session.flush()
        return text

    async def add_all(self, mappings: list[models.RiskFactorMapping]) -> None:
        self.session.add_all(mappings)
        await self.session.flush()
