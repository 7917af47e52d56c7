"""The rules of the Prescriptions area: matching, expiry, controlled substances, fills.

Decisions where the contract is silent:
- A JSON eRx may omit `patient` or `prescriber`: that part stays unmatched (null). One that is
  sent must name a row of the caller's account, else 422 naming the field and nothing is written.
- A product is matched by `prescription_product_id` (which must exist, else 422), else by
  `product_code`, else by the exact drug name (any case); no unique match leaves it null.
- Status: `active` when patient, prescriber and product are matched and nothing needs
  clarification; `on_hold` when something needs clarification; `new` otherwise. `expired` and
  `exhausted` are computed when read.
- A CII prescription with refills is accepted with refills set to 0 and put on hold.
"""

import calendar
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from pestle import models
from pestle.auth.service import Principal
from pestle.events import service as events
from pestle.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    UnknownReference,
    Unprocessable,
)
from pestle.kit.crypto import FieldCipher
from pestle.kit.ids import parse_uuid
from pestle.kit.pagination import Page, PageRequest
from pestle.kit.time import as_utc, utcnow
from pestle.patients.schemas import PatientRef
from pestle.patients.service import patient_service
from pestle.prescribers.service import (
    AmbiguousPrescriberRef,
    PrescriberNotFound,
    prescriber_service,
)
from pestle.prescriptions import schemas
from pestle.prescriptions.repository import (
    ElectronicPrescriptionRepository,
    PrescriptionFilters,
    PrescriptionRepository,
)
from pestle.prescriptions.script_xml import ScriptMessage, parse_script
from pestle.products.service import product_service

LIMITED_SCHEDULES = frozenset({"CIII", "CIV", "CV"})


class PrescriptionNotFound(NotFound):
    def __init__(self, ref: object) -> None:
        super().__init__(f"No prescription {ref}.")


class ElectronicPrescriptionNotFound(NotFound):
    def __init__(self, ref: object) -> None:
        super().__init__(f"No electronic prescription {ref}.")


class PrescriptionsBelongToCustomers(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "Pharmacy staff cannot submit electronic prescriptions: "
            "a prescription belongs to a customer."
        )


class ExpiresBeforeWritten(Unprocessable):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: expires_at must be after written_at.")


class UnusableScriptMedication(BadRequest):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"The SCRIPT MedicationPrescribed cannot be used: {field}: {problem}.")


class PrescriptionNotFillable(Conflict):
    """The base of every reason a fill is refused."""


class PrescriptionExpired(PrescriptionNotFillable):
    def __init__(self, expires_at: datetime) -> None:
        super().__init__(f"The prescription expired at {as_utc(expires_at):%Y-%m-%dT%H:%M:%SZ}.")


class PrescriptionExhausted(PrescriptionNotFillable):
    def __init__(self) -> None:
        super().__init__("The prescription has no fills remaining.")


class PrescriptionCancelled(PrescriptionNotFillable):
    def __init__(self) -> None:
        super().__init__("The prescription was cancelled.")


class PrescriptionOnHold(PrescriptionNotFillable):
    def __init__(self, reason: str | None) -> None:
        super().__init__(f"The prescription needs clarification: {reason}")


class PrescriptionNotMatched(PrescriptionNotFillable):
    def __init__(self) -> None:
        super().__init__(
            "The prescription is not active: its patient, prescriber or product is not matched."
        )


class PrescriptionForAnotherPatient(PrescriptionNotFillable):
    def __init__(self) -> None:
        super().__init__("The prescription is for another patient.")


class PrescriptionAlreadyCancelled(Conflict):
    def __init__(self) -> None:
        super().__init__("The prescription is already cancelled.")


def add_months(value: datetime, months: int) -> datetime:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    index = value.month - 1 + months
    year, month = value.year + index // 12, index % 12 + 1
    return value.replace(
        year=year, month=month, day=min(value.day, calendar.monthrange(year, month)[1])
    )


def expiry(written_at: datetime, sent: datetime | None, dea_schedule: str | None) -> datetime:
    """written_at + 1 year unless the eRx says otherwise; at most 6 months for CIII-CV."""
    expires_at = sent if sent is not None else add_months(written_at, 12)
    if dea_schedule in LIMITED_SCHEDULES:
        expires_at = min(expires_at, add_months(written_at, 6))
    return expires_at


def controlled_substance_problems(
    prescriber: models.Prescriber | None, patient: models.Patient | None, today_: datetime
) -> list[str]:
    """Why the prescriber cannot be confirmed to prescribe a controlled substance here."""
    if prescriber is None:
        return ["controlled substance: the prescriber is not matched"]
    problems = []
    if prescriber.dea is None:
        problems.append("controlled substance: the prescriber has no DEA number")
    state = patient.state if patient is not None else None
    if state is None:
        problems.append("controlled substance: the patient's state is unknown")
    elif not any(
        q.is_active
        and q.state == state
        and (q.expiration_date is None or q.expiration_date >= today_.date())
        for q in prescriber.qualifications
    ):
        problems.append(
            f"controlled substance: the prescriber has no active, unexpired licence in {state}"
        )
    return problems


@dataclass(frozen=True)
class Matched:
    patient: models.Patient | None
    prescriber: models.Prescriber | None
    products: list[models.Product | None]


class PrescriptionService:
    # -- submission ---------------------------------------------------------------------------

    async def submit_json(
        self,
        session: AsyncSession,
        principal: Principal,
        cipher: FieldCipher,
        body: schemas.ElectronicPrescriptionCreate,
        raw_document: str,
    ) -> models.ElectronicPrescription:
        """Creates the eRx and one prescription per medication, matched where possible."""
        customer_id = principal.customer_id
        if customer_id is None:
            raise PrescriptionsBelongToCustomers()
        medications = body.all_medications
        field = "medication" if body.medication is not None else "medications"
        for index, medication in enumerate(medications):
            if medication.expires_at is not None and medication.expires_at <= medication.written_at:
                where = field if body.medication is not None else f"{field}[{index}]"
                raise ExpiresBeforeWritten(where)
        # Every lookup that can refuse the request comes before the first write.
        prescriber = await prescriber_service.resolve(session, principal, body.prescriber)
        products = [
            await self._product(session, customer_id, medication, field, index, len(medications))
            for index, medication in enumerate(medications)
        ]
        patient = await patient_service.resolve(session, principal, cipher, body.patient)
        erx = models.ElectronicPrescription(
            customer_id=customer_id,
            source="api_json",
            type="NewRx",
            content_type="application/json",
            raw_document=raw_document,
            patient_id=patient.id if patient is not None else None,
            prescriber_id=prescriber.id if prescriber is not None else None,
            patient_block=_patient_block(body.patient),
            order_ref_id=body.order.id if body.order is not None else None,
            order_number=body.order.order_number if body.order is not None else None,
        )
        session.add(erx)
        await session.flush()
        await self.create_prescriptions(
            session, erx, Matched(patient, prescriber, products), medications
        )
        return erx

    async def submit_script(
        self, session: AsyncSession, principal: Principal, document: bytes
    ) -> models.ElectronicPrescription:
        """An NCPDP SCRIPT NewRx creates its prescription; a CancelRx cancels the prescriptions
        with its prescriber order number. Both are kept as an eRx with the raw document."""
        message = parse_script(document)
        customer_id = principal.customer_id
        if customer_id is None:
            raise PrescriptionsBelongToCustomers()
        # A SCRIPT document matches what it can: an unknown prescriber or patient stays null.
        try:
            prescriber: models.Prescriber | None = await prescriber_service.get(
                session, principal, message.prescriber.npi
            )
        except (PrescriberNotFound, AmbiguousPrescriberRef):
            prescriber = None
        script_patient = message.patient
        patient = await patient_service.match_by_name(
            session,
            principal,
            script_patient.first_name,
            script_patient.last_name,
            script_patient.date_of_birth,
        )
        medication = _script_medication(message) if message.kind == "NewRx" else None
        product = None
        if medication is not None:
            product = await self._product(session, customer_id, medication, "medication", 0, 1)
        erx = models.ElectronicPrescription(
            customer_id=customer_id,
            source="surescripts",
            type=message.kind,
            content_type="application/xml",
            raw_document=document.decode("utf-8", errors="replace"),
            reference_number=message.message_id,
            patient_id=patient.id if patient is not None else None,
            prescriber_id=prescriber.id if prescriber is not None else None,
            patient_block=_script_patient_block(message),
        )
        session.add(erx)
        await session.flush()
        if medication is None:
            cancelled = await self.cancel(
                session, customer_id, prescriber_order_number=message.prescriber_order_number
            )
            set_committed_value(erx, "prescriptions", cancelled)
            return erx
        await self.create_prescriptions(
            session, erx, Matched(patient, prescriber, [product]), [medication]
        )
        return erx

    async def create_prescriptions(
        self,
        session: AsyncSession,
        erx: models.ElectronicPrescription,
        matched: Matched,
        medications: Sequence[schemas.MedicationIn],
    ) -> list[models.Prescription]:
        """The prescriptions of a flushed eRx, with the rules applied and their events; the
        XML path calls this too."""
        now = utcnow()
        created = []
        for medication, product in zip(medications, matched.products, strict=True):
            created.append(self._prescription(erx, matched, medication, product, now))
        repository = PrescriptionRepository(session, erx.customer_id)
        await repository.flush(*created)
        set_committed_value(erx, "prescriptions", created)
        for prescription in created:
            await events.emit(
                session, "prescription.created", _payload(prescription), erx.customer_id
            )
        return created

    def _prescription(
        self,
        erx: models.ElectronicPrescription,
        matched: Matched,
        medication: schemas.MedicationIn,
        product: models.Product | None,
        now: datetime,
    ) -> models.Prescription:
        schedule = product.dea_schedule if product is not None else None
        written_at = as_utc(medication.written_at)
        sent_expiry = as_utc(medication.expires_at) if medication.expires_at else None
        refills = medication.refills
        reasons: list[str] = []
        if schedule == "CII" and refills > 0:
            reasons.append(f"CII prescriptions cannot be refilled: {refills} refills set to 0")
            refills = 0
        if schedule is not None:
            reasons += controlled_substance_problems(matched.prescriber, matched.patient, now)
        all_matched = None not in (matched.patient, matched.prescriber, product)
        status = "on_hold" if reasons else ("active" if all_matched else "new")
        values = medication.model_dump(
            exclude={"prescription_product_id", "refills", "written_at", "expires_at"}
        )
        return models.Prescription(
            **values,
            customer_id=erx.customer_id,
            electronic_prescription_id=erx.id,
            patient_id=matched.patient.id if matched.patient is not None else None,
            prescriber_id=matched.prescriber.id if matched.prescriber is not None else None,
            prescription_product_id=product.id if product is not None else None,
            name=product.name if product is not None else None,
            dea_schedule=schedule,
            refills=refills,
            written_at=written_at,
            expires_at=expiry(written_at, sent_expiry, schedule),
            status=status,
            fills_used=0,
            needs_clarification=bool(reasons),
            clarification_reason="; ".join(reasons) or None,
        )

    async def _product(
        self,
        session: AsyncSession,
        customer_id: uuid.UUID,
        medication: schemas.MedicationIn,
        field: str,
        index: int,
        count: int,
    ) -> models.Product | None:
        if medication.prescription_product_id is not None:
            found = await product_service.match_prescription_product(
                session, customer_id, product_id=medication.prescription_product_id
            )
            if found is None:
                where = field if count == 1 and field == "medication" else f"{field}[{index}]"
                raise UnknownReference(
                    f"{where}.prescription_product_id", medication.prescription_product_id
                )
            return found
        found = None
        if medication.product_code is not None:
            found = await product_service.match_prescription_product(
                session, customer_id, product_code=medication.product_code
            )
        if found is None and medication.drug_name is not None:
            found = await product_service.match_prescription_product(
                session, customer_id, name=medication.drug_name
            )
        return found

    # -- reading ------------------------------------------------------------------------------

    async def page(
        self,
        session: AsyncSession,
        principal: Principal,
        filters: PrescriptionFilters,
        wanted: PageRequest,
    ) -> Page[models.Prescription]:
        repository = PrescriptionRepository(session, principal.customer_id)
        return await repository.page(repository.filtered(filters, utcnow()), wanted)

    async def get(
        self, session: AsyncSession, principal: Principal, ref: str, *, related: bool = False
    ) -> models.Prescription:
        repository = PrescriptionRepository(session, principal.customer_id)
        prescription_id = parse_uuid(ref)
        found = None
        if prescription_id is not None:
            found = await (
                repository.get_whole(prescription_id)
                if related
                else repository.get(prescription_id)
            )
        if found is None:
            raise PrescriptionNotFound(ref)
        return found

    async def electronic_prescription(
        self, session: AsyncSession, principal: Principal, ref: str
    ) -> models.ElectronicPrescription:
        erx_id = parse_uuid(ref)
        found = None
        if erx_id is not None:
            repository = ElectronicPrescriptionRepository(session, principal.customer_id)
            found = await repository.get_whole(erx_id)
        if found is None:
            raise ElectronicPrescriptionNotFound(ref)
        return found

    # -- the order workflow -------------------------------------------------------------------

    async def for_patient(
        self,
        session: AsyncSession,
        customer_id: uuid.UUID | None,
        patient_id: uuid.UUID,
        product_ids: set[uuid.UUID],
    ) -> list[models.Prescription]:
        """Every prescription of the patient for these products, soonest expiry first."""
        if not product_ids:
            return []
        return await PrescriptionRepository(session, customer_id).for_patient(
            patient_id, product_ids
        )

    async def last_fills(
        self, session: AsyncSession, prescription_ids: set[uuid.UUID]
    ) -> dict[uuid.UUID, datetime]:
        """When each prescription was last filled; absent when never."""
        if not prescription_ids:
            return {}
        return await PrescriptionRepository(session, None).last_fills(prescription_ids)

    async def use_fill(
        self,
        session: AsyncSession,
        customer_id: uuid.UUID | None,
        prescription_id: uuid.UUID,
        patient_id: uuid.UUID,
        order_line_ref: str | None,
        user_id: uuid.UUID | None = None,
    ) -> models.PrescriptionFill:
        """Uses one fill of the prescription for an order line of ``patient_id``'s order."""
        repository = PrescriptionRepository(session, customer_id)
        prescription = await repository.get(prescription_id)
        if prescription is None:
            raise PrescriptionNotFound(prescription_id)
        if prescription.patient_id != patient_id:
            raise PrescriptionForAnotherPatient()
        match prescription.current_status:
            case "cancelled":
                raise PrescriptionCancelled()
            case "expired":
                raise PrescriptionExpired(prescription.expires_at)
            case "exhausted":
                raise PrescriptionExhausted()
            case "on_hold":
                raise PrescriptionOnHold(prescription.clarification_reason)
            case "new":
                raise PrescriptionNotMatched()
        now = utcnow()
        fills_used = await repository.take_fill(prescription.id, now)
        if fills_used is None:
            # Another fill took the last one between the read and the update.
            raise PrescriptionExhausted()
        set_committed_value(prescription, "fills_used", fills_used)
        fill = models.PrescriptionFill(
            prescription_id=prescription.id,
            order_line_ref=order_line_ref,
            filled_at=now,
            user_id=user_id,
        )
        await repository.flush(fill)
        return fill

    async def cancel(
        self,
        session: AsyncSession,
        customer_id: uuid.UUID | None,
        *,
        prescriber_order_number: str | None = None,
        prescription_id: uuid.UUID | None = None,
    ) -> list[models.Prescription]:
        """Cancels the prescription(s) with this id or prescriber order number (CancelRx)."""
        repository = PrescriptionRepository(session, customer_id)
        if prescription_id is not None:
            one = await repository.get(prescription_id)
            found = [one] if one is not None else []
        elif prescriber_order_number is not None:
            found = await repository.by_order_number(prescriber_order_number)
        else:
            found = []
        if not found:
            raise PrescriptionNotFound(prescription_id or prescriber_order_number)
        open_ = [p for p in found if p.status != "cancelled"]
        if not open_:
            raise PrescriptionAlreadyCancelled()
        now = utcnow()
        for prescription in open_:
            prescription.status = "cancelled"
            prescription.cancelled_at = now
            prescription.updated_at = now
        await repository.flush()
        for prescription in open_:
            await events.emit(
                session, "prescription.cancelled", _payload(prescription), prescription.customer_id
            )
        return open_


def _payload(prescription: models.Prescription) -> dict[str, object]:
    return schemas.PrescriptionOut.model_validate(prescription).model_dump()


def _at_midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), UTC)


def _script_medication(message: ScriptMessage) -> schemas.MedicationIn:
    drug = message.medication
    values = {
        "drug_name": drug.drug_description,
        "strength": drug.strength,
        "product_code": drug.product_code,
        "product_code_type": drug.product_code_qualifier,
        "quantity": float(drug.quantity),
        "units": drug.quantity_unit_code,
        "days_supply": drug.days_supply,
        "refills": drug.refills,
        # SCRIPT makes Sig optional; a prescription always shows directions.
        "sig": drug.sig or "(no directions on the eRx)",
        "notes": drug.note,
        "substitution_allowed": drug.substitution_allowed,
        "prescriber_order_number": message.prescriber_order_number,
        "written_at": _at_midnight(drug.written_date),
        "expires_at": _at_midnight(drug.expiration_date),
    }
    try:
        return schemas.MedicationIn.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "MedicationPrescribed"
        raise UnusableScriptMedication(field, first["msg"]) from None


def _script_patient_block(message: ScriptMessage) -> dict[str, object]:
    patient = message.patient
    address = patient.address
    block: dict[str, object] = {
        "first_name": patient.first_name,
        "middle_name": patient.middle_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "gender": patient.gender,
        "phone": patient.phone,
    }
    if address is not None:
        block |= {
            "address_1": address.address_1,
            "address_2": address.address_2,
            "city": address.city,
            "state": address.state,
            "zip_code": address.zip_code,
        }
    return {key: value for key, value in block.items() if value is not None}


def _patient_block(ref: PatientRef | None) -> dict[str, object] | None:
    if ref is None:
        return None
    # Identifiers that only the patient record may hold are not copied onto the eRx.
    return ref.model_dump(mode="json", exclude={"ssn"}, exclude_none=True)


prescription_service = PrescriptionService()
