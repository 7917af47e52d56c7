"""The composite call: a patient, a prescriber, an eRx and an order in one unit of work.

Each part is written by its own domain's service in the caller's session, which commits once
when the request succeeds: any refusal leaves nothing behind, events included (they are outbox
rows of the same transaction).

Decisions where the contract is silent:
- Parts are written in the order patient, prescriber, eRx, order, so that later parts can use
  earlier ones; an error from a part names its field under the part (``order.products...``).
- The eRx is always created; the order may be merged into the patient's open order, which then
  counts as referenced.
- The stored eRx document is the ``electronic_prescription`` object the caller sent
  (re-serialised, before any fallback is applied).
"""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.service import Principal
from pestle.exceptions import Forbidden, PestleError
from pestle.intake import schemas
from pestle.kit.crypto import FieldCipher
from pestle.orders.service import order_service
from pestle.patients.schemas import PatientById, PatientCreate
from pestle.patients.service import patient_service
from pestle.prescribers.schemas import PrescriberById, PrescriberCreate
from pestle.prescribers.service import prescriber_service
from pestle.prescriptions.schemas import ElectronicPrescriptionCreate
from pestle.prescriptions.service import prescription_service

# A message that starts with the field it is about: "products.prescription[0].id: ...".
_FIELD_FIRST = re.compile(r"^[A-Za-z_][\w.\[\]]*: ")


class CompositeBelongsToCustomers(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "Pharmacy staff cannot use the composite call: its rows belong to a customer."
        )


@contextmanager
def _part(name: str) -> Iterator[None]:
    """Names ``name`` in the message of an error raised while writing that part."""
    try:
        yield
    except PestleError as error:
        separator = "." if _FIELD_FIRST.match(error.message) else ": "
        error.message = f"{name}{separator}{error.message}"
        error.args = (error.message,)
        raise


@dataclass
class _Written:
    patient: models.Patient | None = None
    prescriber: models.Prescriber | None = None


class IntakeService:
    async def composite(
        self,
        session: AsyncSession,
        principal: Principal,
        cipher: FieldCipher,
        body: schemas.CompositeCreate,
        raw_body: bytes,
        app_url: str,
        *,
        force_new: bool = False,
    ) -> schemas.CompositeResult:
        if principal.customer_id is None:
            raise CompositeBelongsToCustomers()
        result = schemas.CompositeResult(
            summary=schemas.CompositeSummary(entities_created=0, entities_referenced=0)
        )
        written = _Written()
        # A top-level part's errors already name their field (patient.id, prescriber.npi).
        written.patient = await patient_service.resolve(session, principal, cipher, body.patient)
        if written.patient is not None:
            result.patient = self._result(result, written.patient, body.patient, PatientCreate)
        written.prescriber = await prescriber_service.resolve(session, principal, body.prescriber)
        if written.prescriber is not None:
            result.prescriber = self._result(
                result, written.prescriber, body.prescriber, PrescriberCreate
            )
        erx = None
        if body.electronic_prescription is not None:
            erx_body = self._erx_body(body.electronic_prescription, written)
            with _part("electronic_prescription"):
                erx = await prescription_service.submit_json(
                    session, principal, cipher, erx_body, _erx_document(raw_body)
                )
                await order_service.prescriptions_arrived(session, principal, erx)
            result.electronic_prescription = self._result(result, erx, None, None)
        if body.order is not None:
            order_body = self._order_body(body.order, written, erx)
            with _part("order"):
                order, created = await order_service.create(
                    session, principal, cipher, order_body, app_url, force_new=force_new
                )
            result.order = schemas.EntityResult(id=order.id, created=created)
            self._count(result, created)
        return result

    def _erx_body(
        self,
        erx: ElectronicPrescriptionCreate,
        written: _Written,
    ) -> ElectronicPrescriptionCreate:
        fallbacks: dict[str, object] = {}
        if erx.patient is None and written.patient is not None:
            fallbacks["patient"] = PatientById(id=written.patient.id)
        if erx.prescriber is None and written.prescriber is not None:
            fallbacks["prescriber"] = PrescriberById(id=written.prescriber.id)
        return erx.model_copy(update=fallbacks)

    def _order_body(
        self,
        order: schemas.CompositeOrder,
        written: _Written,
        erx: models.ElectronicPrescription | None,
    ) -> schemas.CompositeOrder:
        changes: dict[str, object] = {}
        if order.patient_id is None and order.patient is None:
            # The schema refuses an order with no patient of its own and none at the top.
            assert written.patient is not None
            changes["patient_id"] = written.patient.id
        if erx is not None and erx.id not in order.electronic_prescription_ids:
            changes["electronic_prescription_ids"] = [*order.electronic_prescription_ids, erx.id]
        return order.model_copy(update=changes)

    def _result(
        self,
        result: schemas.CompositeResult,
        row: models.Patient | models.Prescriber | models.ElectronicPrescription,
        ref: object,
        new_type: type | None,
    ) -> schemas.EntityResult:
        created = new_type is None or isinstance(ref, new_type)
        self._count(result, created)
        return schemas.EntityResult(id=row.id, created=created)

    def _count(self, result: schemas.CompositeResult, created: bool) -> None:
        if created:
            result.summary.entities_created += 1
        else:
            result.summary.entities_referenced += 1


def _erx_document(raw_body: bytes) -> str:
    """The ``electronic_prescription`` object the caller sent."""
    sent = json.loads(raw_body)
    return json.dumps(sent["electronic_prescription"], separators=(",", ":"))


intake_service = IntakeService()
