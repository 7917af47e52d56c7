"""The rules of the Prescribers area: tenancy, identifiers across fields, licence history."""

import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.service import Principal
from pestle.exceptions import (
    Conflict,
    Forbidden,
    NotFound,
    RequiredFieldCleared,
    Unprocessable,
)
from pestle.kit.ids import parse_uuid
from pestle.kit.pagination import Page, PageRequest
from pestle.kit.references import find_named
from pestle.kit.time import utcnow
from pestle.kit.validators import US_STATES
from pestle.prescribers import schemas
from pestle.prescribers.repository import PrescriberFilters, PrescriberRepository

# DEA registrant types whose second letter is the registrant's last-name initial: A, B, F and G
# are practitioners, M mid-level practitioners; X is the DATA-waiver number, which repeats the
# practitioner's own number after the X. Other types (manufacturers, distributors, ...) carry a
# business-name initial that a prescriber's name cannot confirm, so they are not checked.
PRACTITIONER_DEA_TYPES = frozenset("ABFGMX")


class PrescriberNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No prescriber {ref!r}.")


class AmbiguousPrescriberRef(Conflict):
    def __init__(self, npi: str) -> None:
        super().__init__(f"NPI {npi} names prescribers of several customers; use the id.")


class PrescriberExists(Conflict):
    def __init__(self, npi: str) -> None:
        super().__init__(f"A prescriber with NPI {npi} already exists.")


class PrescribersBelongToCustomers(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "Pharmacy staff cannot create prescribers: a prescriber belongs to a customer."
        )


class DeaNameMismatch(Unprocessable):
    def __init__(self, dea: str, initial: str) -> None:
        super().__init__(
            f"dea {dea} does not match the last name: the second letter of a practitioner's "
            f"DEA number (types A, B, F, G, M, X) is the last name's initial, {initial}."
        )


class QualificationNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No qualification {ref!r} on this prescriber.")


class QualificationStateMismatch(Unprocessable):
    def __init__(self, sent: str, stored: str) -> None:
        super().__init__(
            f"state {sent} does not match {stored}, the state of the qualification in the "
            "path; a licence for another state is a new qualification (POST)."
        )


class QualificationExists(Conflict):
    def __init__(self, state: str) -> None:
        super().__init__(
            f"The prescriber already has an active {state} licence; "
            f"change it with PUT .../qualifications/{state}."
        )


class QualificationReplaced(Conflict):
    def __init__(self, replaced_by: object) -> None:
        super().__init__(f"This licence was replaced by qualification {replaced_by}; change that.")


def last_name_initial(last_name: str) -> str | None:
    """The first letter of the name, without accents: Ávila -> A, O'Brien -> O."""
    for char in unicodedata.normalize("NFKD", last_name):
        if char.isascii() and char.isalpha():
            return char.upper()
    return None


def check_dea_matches_name(dea: str | None, last_name: str) -> None:
    if dea is None or dea[0] not in PRACTITIONER_DEA_TYPES:
        return
    initial = last_name_initial(last_name)
    if initial is not None and dea[1] != initial:
        raise DeaNameMismatch(dea, initial)


async def _flush(
    repository: PrescriberRepository,
    *new: models.Prescriber,
    npi: str | None = None,
    state: str | None = None,
) -> None:
    """Flushes; a concurrent request that took the NPI or the state's active licence between
    our check and our write is the same conflict the check reports."""
    try:
        await repository.flush(*new)
    except IntegrityError as error:
        # SQLite names the columns ("prescriber.customer_id, prescriber.npi"), PostgreSQL the
        # constraint ("uq_prescriber_customer_id_npi", "ix_qualification_prescriber_id_state").
        message = str(error.orig)
        if npi is not None and "npi" in message:
            raise PrescriberExists(npi) from None
        if state is not None and "qualification" in message and "state" in message:
            raise QualificationExists(state) from None
        raise


class PrescriberService:
    # -- prescribers ------------------------------------------------------------------------

    async def create(
        self, session: AsyncSession, principal: Principal, body: schemas.PrescriberCreate
    ) -> models.Prescriber:
        if principal.customer_id is None:
            raise PrescribersBelongToCustomers()
        check_dea_matches_name(body.dea, body.last_name)
        repository = PrescriberRepository(session, principal.customer_id)
        if await repository.npi_taken(principal.customer_id, body.npi):
            raise PrescriberExists(body.npi)
        prescriber = models.Prescriber(
            customer_id=principal.customer_id,
            **body.model_dump(exclude=set(schemas.COLLECTIONS)),
            addresses=[models.PrescriberAddress(**a.model_dump()) for a in body.addresses],
            credentials=[models.PrescriberCredential(**c.model_dump()) for c in body.credentials],
            restrictions=[
                models.PrescriberRestriction(restriction_id=r.id) for r in body.restrictions
            ],
            qualifications=[models.Qualification(**q.model_dump()) for q in body.qualifications],
        )
        await _flush(repository, prescriber, npi=body.npi)
        return prescriber

    async def page(
        self,
        session: AsyncSession,
        principal: Principal,
        filters: PrescriberFilters,
        wanted: PageRequest,
    ) -> Page[models.Prescriber]:
        repository = PrescriberRepository(session, principal.customer_id)
        return await repository.page(repository.filtered(filters), wanted)

    async def get(self, session: AsyncSession, principal: Principal, ref: str) -> models.Prescriber:
        found = await PrescriberRepository(session, principal.customer_id).by_ref(ref)
        if not found:
            raise PrescriberNotFound(ref)
        # An NPI is unique within a customer, so only staff can meet two of them.
        if len(found) > 1:
            raise AmbiguousPrescriberRef(ref)
        return found[0]

    async def resolve(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: schemas.PrescriberById | schemas.PrescriberByNpi | schemas.PrescriberCreate | None,
        field: str = "prescriber",
    ) -> models.Prescriber | None:
        """The prescriber a request body names: created from new data, else found by the id
        or NPI sent. Unknown ones are a 422 naming ``field``."""
        if ref is None:
            return None
        if isinstance(ref, schemas.PrescriberCreate):
            return await self.create(session, principal, ref)
        identifier_of: Callable[[models.Prescriber], str | None]
        if isinstance(ref, schemas.PrescriberById):
            key, value, identifier_of = "id", str(ref.id), lambda prescriber: str(prescriber.id)
        else:
            key, value, identifier_of = "npi", ref.npi, lambda prescriber: prescriber.npi
        return await find_named(
            lambda sent: self.get(session, principal, sent), f"{field}.{key}", value, identifier_of
        )

    async def update(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        body: schemas.PrescriberUpdate,
    ) -> models.Prescriber:
        prescriber = await self.get(session, principal, ref)
        changes = body.model_dump(exclude_unset=True, exclude=set(schemas.COLLECTIONS))
        for field in schemas.REQUIRED_FIELDS:
            if field in changes and changes[field] is None:
                raise RequiredFieldCleared(field)
        if "dea" in changes or "last_name" in changes:
            check_dea_matches_name(
                changes.get("dea", prescriber.dea), changes.get("last_name", prescriber.last_name)
            )
        repository = PrescriberRepository(session, principal.customer_id)
        npi = changes.get("npi")
        if npi is not None and await repository.npi_taken(
            prescriber.customer_id, npi, other_than=prescriber.id
        ):
            raise PrescriberExists(npi)
        for field, value in changes.items():
            setattr(prescriber, field, value)
        sent = body.model_fields_set
        if "addresses" in sent:
            prescriber.addresses = [
                models.PrescriberAddress(**a.model_dump()) for a in body.addresses or []
            ]
        if "credentials" in sent or "restrictions" in sent:
            await self._replace_sets(repository, prescriber, body)
        if "qualifications" in sent:
            await self._sync_qualifications(repository, prescriber, body.qualifications or [])
        prescriber.updated_at = utcnow()
        await _flush(repository, npi=npi)
        return prescriber

    async def _replace_sets(
        self,
        repository: PrescriberRepository,
        prescriber: models.Prescriber,
        body: schemas.PrescriberUpdate,
    ) -> None:
        sent = body.model_fields_set
        # The old rows go first: a flush inserts before it deletes, and a code sent again
        # would collide with its old row.
        if "credentials" in sent:
            prescriber.credentials = []
        if "restrictions" in sent:
            prescriber.restrictions = []
        await repository.flush()
        if "credentials" in sent:
            prescriber.credentials = [
                models.PrescriberCredential(**c.model_dump()) for c in body.credentials or []
            ]
        if "restrictions" in sent:
            prescriber.restrictions = [
                models.PrescriberRestriction(restriction_id=r.id) for r in body.restrictions or []
            ]

    async def _sync_qualifications(
        self,
        repository: PrescriberRepository,
        prescriber: models.Prescriber,
        sent: list[schemas.QualificationIn],
    ) -> None:
        """The licences sent become the active ones; history is kept, never deleted."""
        states = {item.state for item in sent}
        for qualification in prescriber.qualifications:
            if qualification.is_active and qualification.state not in states:
                qualification.is_active = False
        await repository.flush()
        for item in sent:
            current = self._active(prescriber, item.state)
            if current is None:
                await self._add(repository, prescriber, item)
            else:
                await self._revise(repository, prescriber, current, item, item.model_fields_set)

    # -- qualifications ---------------------------------------------------------------------

    async def qualifications(
        self, session: AsyncSession, principal: Principal, ref: str
    ) -> list[models.Qualification]:
        return list((await self.get(session, principal, ref)).qualifications)

    async def add_qualification(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        body: schemas.QualificationIn,
    ) -> models.Qualification:
        prescriber = await self.get(session, principal, ref)
        repository = PrescriberRepository(session, principal.customer_id)
        qualification = await self._add(repository, prescriber, body)
        prescriber.updated_at = utcnow()
        await repository.flush()
        return qualification

    async def update_qualification(
        self,
        session: AsyncSession,
        principal: Principal,
        ref: str,
        qualification_ref: str,
        body: schemas.QualificationIn,
    ) -> models.Qualification:
        """A new licence number replaces the qualification (a new record); the same number
        updates it in place. Fields not sent keep their values."""
        prescriber = await self.get(session, principal, ref)
        path_state = qualification_ref.upper()
        if path_state in US_STATES and body.state != path_state:
            raise QualificationStateMismatch(body.state, path_state)
        target = self._find(prescriber, qualification_ref)
        if body.state != target.state:
            raise QualificationStateMismatch(body.state, target.state)
        if target.replaced_by_id is not None:
            raise QualificationReplaced(target.replaced_by_id)
        repository = PrescriberRepository(session, principal.customer_id)
        revised = await self._revise(repository, prescriber, target, body, body.model_fields_set)
        prescriber.updated_at = utcnow()
        await repository.flush()
        return revised

    def _find(self, prescriber: models.Prescriber, ref: str) -> models.Qualification:
        """By id, or by state code: the state's active licence."""
        state = ref.upper()
        if state in US_STATES:
            found = self._active(prescriber, state)
        else:
            qualification_id = parse_uuid(ref)
            found = next((q for q in prescriber.qualifications if q.id == qualification_id), None)
        if found is None:
            raise QualificationNotFound(ref)
        return found

    def _active(
        self,
        prescriber: models.Prescriber,
        state: str,
        other_than: models.Qualification | None = None,
    ) -> models.Qualification | None:
        return next(
            (
                q
                for q in prescriber.qualifications
                if q.is_active and q.state == state and q is not other_than
            ),
            None,
        )

    async def _add(
        self,
        repository: PrescriberRepository,
        prescriber: models.Prescriber,
        body: schemas.QualificationIn,
    ) -> models.Qualification:
        if body.is_active and self._active(prescriber, body.state) is not None:
            raise QualificationExists(body.state)
        qualification = models.Qualification(**body.model_dump())
        prescriber.qualifications.append(qualification)
        await _flush(repository, state=body.state)
        return qualification

    async def _revise(
        self,
        repository: PrescriberRepository,
        prescriber: models.Prescriber,
        target: models.Qualification,
        body: schemas.QualificationIn,
        sent: set[str],
    ) -> models.Qualification:
        in_place = body.license_number == target.license_number
        will_be_active = body.is_active if "is_active" in sent or not in_place else target.is_active
        if will_be_active and self._active(prescriber, body.state, other_than=target):
            raise QualificationExists(body.state)
        if in_place:
            changes: dict[str, Any] = body.model_dump(include=sent - {"state", "license_number"})
            for field, value in changes.items():
                setattr(target, field, value)
            await _flush(repository, state=body.state)
            return target
        # A new number is a new licence: its data is what was sent, nothing inherited.
        target.is_active = False
        target.replaced_at = utcnow()
        # Flushed before the new row: the state's unique active licence must be free first.
        await repository.flush()
        replacement = models.Qualification(**body.model_dump())
        prescriber.qualifications.append(replacement)
        # And the new row exists before the old one points at it.
        await _flush(repository, state=body.state)
        target.replaced_by_id = replacement.id
        return replacement


prescriber_service = PrescriberService()
