"""The rules of the Patients area: validation across fields, tenancy, risk-factor matching."""

import uuid
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.service import Principal
from pestle.events import service as events
from pestle.exceptions import (
    Conflict,
    Forbidden,
    NotFound,
    RequiredFieldCleared,
    Unprocessable,
)
from pestle.kit.crypto import FieldCipher
from pestle.kit.ids import parse_uuid
from pestle.kit.pagination import Page, PageRequest
from pestle.kit.references import find_named
from pestle.kit.time import utcnow
from pestle.patients import schemas
from pestle.patients.repository import PatientFilters, PatientRepository, RiskFactorRepository
from pestle.vocabulary.service import ConceptMatch, split_text, vocabulary_service

ADDRESS_FIELDS = ("address_1", "address_2", "city", "state", "zip_code", "country")
_TYPE_ALIASES = {
    "allergy": "allergy",
    "allergies": "allergy",
    "condition": "condition",
    "conditions": "condition",
    "medication": "medication",
    "medications": "medication",
}
# What people write when there is nothing to record: no risk factor comes of it.
NOTHING_TO_RECORD = frozenset(
    {
        "none",
        "nkda",
        "nka",
        "nkfa",
        "no known allergies",
        "no known drug allergies",
        "denies",
        "nil",
    }
)
_TEXT_FIELDS: tuple[tuple[schemas.RiskFactorType, str], ...] = (
    ("allergy", "allergies"),
    ("condition", "conditions"),
    ("medication", "medications"),
)


class PatientNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No patient {ref!r}.")


class AmbiguousPatientRef(Conflict):
    def __init__(self, ref: str) -> None:
        super().__init__(
            f"external_id {ref!r} names patients of several customers; use the patient's id."
        )


class PatientExists(Conflict):
    def __init__(self, external_id: str) -> None:
        super().__init__(f"A patient with external_id {external_id!r} already exists.")


class PatientsBelongToCustomers(Forbidden):
    def __init__(self) -> None:
        super().__init__("Pharmacy staff cannot create patients: a patient belongs to a customer.")


class MinorNeedsGuardian(Unprocessable):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"The patient is a minor: {' and '.join(missing)} required.")


class UnknownRiskFactorType(Unprocessable):
    def __init__(self, value: str) -> None:
        super().__init__(
            f"Unknown risk factor type {value!r}; use allergy, condition or medication."
        )


class UnknownConcept(Unprocessable):
    def __init__(self, concept_id: uuid.UUID) -> None:
        super().__init__(f"risk_factor_id {concept_id} is not in the risk factor vocabulary.")


class UnknownRiskFactorText(Unprocessable):
    def __init__(self, text_id: uuid.UUID) -> None:
        super().__init__(f"risk_factor_text_id {text_id} is not a text of this patient.")


class RiskFactorNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No risk factor {ref!r} on this patient.")


def parse_risk_type(value: str) -> str:
    try:
        return _TYPE_ALIASES[value.strip().lower()]
    except KeyError:
        raise UnknownRiskFactorType(value) from None


def _copy_concept(mapping: models.RiskFactorMapping, concept: models.RiskFactorConcept) -> None:
    mapping.risk_factor_id = concept.id
    mapping.name = concept.name
    for field in schemas.MEDICATION_DETAIL_FIELDS:
        if field != "name":
            setattr(mapping, field, getattr(concept, field))


class PatientService:
    # -- patients ---------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        cipher: FieldCipher,
        body: schemas.PatientCreate,
    ) -> models.Patient:
        if principal.customer_id is None:
            raise PatientsBelongToCustomers()
        repository = PatientRepository(session, principal.customer_id)
        if body.external_id is not None and await repository.external_id_taken(
            principal.customer_id, body.external_id
        ):
            raise PatientExists(body.external_id)
        patient = models.Patient(customer_id=principal.customer_id)
        self._apply(patient, body.model_dump(exclude={"risk_factors"}), cipher)
        self._check_guardian(patient)
        await repository.add(patient)
        if body.risk_factors is not None:
            await self._parse_text(session, patient, body.risk_factors)
        await events.emit(session, "patient.created", self._payload(patient), patient.customer_id)
        return patient

    async def page(
        self,
        session: AsyncSession,
        principal: Principal,
        filters: PatientFilters,
        wanted: PageRequest,
    ) -> Page[models.Patient]:
        repository = PatientRepository(session, principal.customer_id)
        return await repository.page(repository.filtered(filters), wanted)

    async def get(self, session: AsyncSession, principal: Principal, ref: str) -> models.Patient:
        found = await PatientRepository(session, principal.customer_id).by_ref(ref)
        if not found:
            raise PatientNotFound(ref)
        if found[0].id == parse_uuid(ref):
            return found[0]
        # external_id is unique within a customer, so only staff can meet two of them.
        if len(found) > 1:
            raise AmbiguousPatientRef(ref)
        return found[0]

    async def resolve(
        self,
        session: AsyncSession,
        principal: Principal,
        cipher: FieldCipher,
        ref: schemas.PatientRef | None,
        field: str = "patient",
    ) -> models.Patient | None:
        """The patient a request body names: created from new data, else found by the id or
        the external_id sent (and only that field). Unknown ones are a 422 naming ``field``."""
        if ref is None:
            return None
        if isinstance(ref, schemas.PatientCreate):
            return await self.create(session, principal, cipher, ref)
        identifier_of: Callable[[models.Patient], str | None]
        if isinstance(ref, schemas.PatientById):
            key, value, identifier_of = "id", str(ref.id), lambda patient: str(patient.id)
        else:
            key, value, identifier_of = (
                "external_id",
                ref.external_id,
                lambda patient: patient.external_id,
            )
        return await find_named(
            lambda sent: self.get(session, principal, sent), f"{field}.{key}", value, identifier_of
        )

    async def match_by_name(
        self,
        session: AsyncSession,
        principal: Principal,
        first_name: str | None,
        last_name: str,
        date_of_birth: date,
    ) -> models.Patient | None:
        """The one patient with this name and date of birth; None when none or several."""
        found = await PatientRepository(session, principal.customer_id).by_name_and_birth(
            first_name, last_name, date_of_birth
        )
        return found[0] if len(found) == 1 else None

    async def update(
        self,
        session: AsyncSession,
        principal: Principal,
        cipher: FieldCipher,
        ref: str,
        body: schemas.PatientUpdate,
    ) -> models.Patient:
        patient = await self.get(session, principal, ref)
        changes = body.model_dump(exclude_unset=True, exclude={"risk_factors"})
        for field in schemas.REQUIRED_FIELDS:
            if field in changes and changes[field] is None:
                raise RequiredFieldCleared(field)
        external_id = changes.get("external_id")
        if external_id is not None and await PatientRepository(
            session, principal.customer_id
        ).external_id_taken(patient.customer_id, external_id, other_than=patient.id):
            raise PatientExists(external_id)
        self._apply(patient, changes, cipher)
        self._check_guardian(patient)
        patient.updated_at = utcnow()
        await session.flush()
        if body.risk_factors is not None:
            await self._parse_text(session, patient, body.risk_factors)
        await events.emit(session, "patient.updated", self._payload(patient), patient.customer_id)
        return patient

    def _apply(self, patient: models.Patient, fields: dict[str, Any], cipher: FieldCipher) -> None:
        for field, value in fields.items():
            if field == "address":
                for address_field in ADDRESS_FIELDS:
                    setattr(patient, address_field, (value or {}).get(address_field))
            elif field == "ssn":
                patient.ssn_ciphertext = None if value is None else cipher.encrypt(value)
                patient.ssn_last4 = None if value is None else value[-4:]
            elif field in ("gender", "guardian_relationship") and value is not None:
                setattr(patient, field, str(value))
            else:
                setattr(patient, field, value)

    def _check_guardian(self, patient: models.Patient) -> None:
        if schemas.is_minor(patient.date_of_birth):
            missing = [
                field
                for field in ("guardian_name", "guardian_relationship")
                if getattr(patient, field) is None
            ]
            if missing:
                raise MinorNeedsGuardian(missing)

    def _payload(self, patient: models.Patient) -> dict[str, Any]:
        return schemas.Patient.of(patient).model_dump()

    # -- risk factors -----------------------------------------------------------------------

    async def risk_factors(
        self, session: AsyncSession, principal: Principal, ref: str, risk_type: str | None
    ) -> list[models.RiskFactorMapping]:
        patient = await self.get(session, principal, ref)
        wanted = None if risk_type is None else parse_risk_type(risk_type)
        return await RiskFactorRepository(session, patient.customer_id).active_for(
            patient.id, wanted
        )

    async def add_risk_factors(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        items: Iterable[schemas.RiskFactorCreate],
    ) -> tuple[models.Patient, list[models.RiskFactorMapping]]:
        patient = await self.get(session, principal, ref)
        repository = RiskFactorRepository(session, patient.customer_id)
        created = [await self._discrete(session, patient, item) for item in items]
        await repository.add_all(created)
        await self._touched(session, patient)
        return patient, created

    async def _discrete(
        self, session: AsyncSession, patient: models.Patient, item: schemas.RiskFactorCreate
    ) -> models.RiskFactorMapping:
        mapping = models.RiskFactorMapping(
            customer_id=patient.customer_id,
            patient_id=patient.id,
            **item.model_dump(exclude={"patient_id", "risk_factor_id", "matched"}),
        )
        if item.risk_factor_text_id is not None and not await self._text_of(
            session, patient, item.risk_factor_text_id
        ):
            raise UnknownRiskFactorText(item.risk_factor_text_id)
        if item.risk_factor_id is not None:
            concept = await vocabulary_service.get(session, item.risk_factor_id)
            if concept is None:
                raise UnknownConcept(item.risk_factor_id)
            sent = {field: getattr(item, field) for field in schemas.MEDICATION_DETAIL_FIELDS}
            _copy_concept(mapping, concept)
            for field, value in sent.items():
                if value is not None:
                    setattr(mapping, field, value)
        mapping.original_name = item.text_chunk or item.name
        mapping.name = mapping.name or item.text_chunk or item.ingredient_name
        # Blend: always matched for autocomplete and for confidence 1.0 against a concept.
        mapping.matched = (
            item.matched
            if item.matched is not None
            else item.match_source == "autocomplete"
            or (item.risk_factor_id is not None and item.confidence == 1.0)
        )
        return mapping

    async def _text_of(
        self, session: AsyncSession, patient: models.Patient, text_id: uuid.UUID
    ) -> bool:
        text = await session.get(models.RiskFactorText, text_id)
        return text is not None and text.patient_id == patient.id

    async def add_risk_factor_text(
        self, session: AsyncSession, principal: Principal, ref: str, text: schemas.RiskFactorsText
    ) -> models.Patient:
        patient = await self.get(session, principal, ref)
        await self._parse_text(session, patient, text)
        await self._touched(session, patient)
        return patient

    async def _parse_text(
        self, session: AsyncSession, patient: models.Patient, text: schemas.RiskFactorsText
    ) -> list[models.RiskFactorMapping]:
        """Keeps the text verbatim and adds an unconfirmed mapping for each new piece of it."""
        repository = RiskFactorRepository(session, patient.customer_id)
        record = await repository.add_text(
            models.RiskFactorText(
                customer_id=patient.customer_id,
                patient_id=patient.id,
                allergies=text.allergies,
                conditions=text.conditions,
                medications=text.medications,
            )
        )
        existing = await repository.active_for(patient.id)
        seen = {(m.type, m.risk_factor_id or (m.text_chunk or "").lower()) for m in existing}
        created = []
        for risk_type, field in _TEXT_FIELDS:
            for chunk in split_text(getattr(text, field) or ""):
                if " ".join(chunk.lower().split()) in NOTHING_TO_RECORD:
                    continue
                match = await vocabulary_service.match(session, risk_type, chunk)
                key = (risk_type, match.concept.id if match else chunk.lower())
                if key in seen:
                    continue
                seen.add(key)
                created.append(self._from_text(patient, record, risk_type, chunk, match))
        await repository.add_all(created)
        return created

    def _from_text(
        self,
        patient: models.Patient,
        record: models.RiskFactorText,
        risk_type: str,
        chunk: str,
        match: ConceptMatch | None,
    ) -> models.RiskFactorMapping:
        # Free text is never trusted on its own: even an exact match waits for confirmation.
        mapping = models.RiskFactorMapping(
            customer_id=patient.customer_id,
            patient_id=patient.id,
            type=risk_type,
            risk_factor_text_id=record.id,
            text_chunk=chunk,
            original_name=chunk,
            name=chunk,
            match_source="text",
            matched=False,
            matched_via_synonym=False,
            is_active=True,
        )
        if match is not None:
            _copy_concept(mapping, match.concept)
            mapping.confidence = match.confidence
            mapping.matched_via_synonym = match.via_synonym
            mapping.match_type = match.match_type
        return mapping

    async def confirm_risk_factor(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        mapping_ref: str,
        body: schemas.RiskFactorConfirm,
    ) -> models.RiskFactorMapping:
        patient, mapping = await self._mapping(session, principal, ref, mapping_ref)
        if body.risk_factor_id is not None:
            concept = await vocabulary_service.get(session, body.risk_factor_id)
            if concept is None:
                raise UnknownConcept(body.risk_factor_id)
            _copy_concept(mapping, concept)
        now = utcnow()
        mapping.matched = True
        mapping.match_source = "manual"
        mapping.confidence = 1.0
        mapping.confirmed_by_user_id = principal.user.id
        mapping.confirmed_at = now
        mapping.updated_at = now
        await self._touched(session, patient)
        return mapping

    async def deactivate_risk_factor(
        self, session: AsyncSession, principal: Principal, ref: str, mapping_ref: str
    ) -> models.RiskFactorMapping:
        patient, mapping = await self._mapping(session, principal, ref, mapping_ref)
        if mapping.is_active:
            mapping.is_active = False
            mapping.updated_at = utcnow()
            await self._touched(session, patient)
        return mapping

    async def _mapping(
        self, session: AsyncSession, principal: Principal, ref: str, mapping_ref: str
    ) -> tuple[models.Patient, models.RiskFactorMapping]:
        patient = await self.get(session, principal, ref)
        mapping = await RiskFactorRepository(session, patient.customer_id).of_patient(
            patient.id, mapping_ref
        )
        if mapping is None:
            raise RiskFactorNotFound(mapping_ref)
        return patient, mapping

    async def _touched(self, session: AsyncSession, patient: models.Patient) -> None:
        """A change of risk factors is a change of the patient, for webhooks too."""
        patient.updated_at = utcnow()
        await session.flush()
        await events.emit(session, "patient.updated", self._payload(patient), patient.customer_id)


patient_service = PatientService()
