"""Prescription lifecycle: expiry, controlled substances, fills and cancellation."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pestle import models
from pestle.kit.time import utcnow
from pestle.prescriptions.service import (
    PrescriptionAlreadyCancelled,
    PrescriptionCancelled,
    PrescriptionExhausted,
    PrescriptionExpired,
    PrescriptionForAnotherPatient,
    PrescriptionNotFound,
    PrescriptionNotMatched,
    PrescriptionOnHold,
    add_months,
    prescription_service,
)
from tests.conftest import Db
from tests.prescriptions.test_json import (
    API,
    MEDICATION,
    WRITTEN_AT,
    make_patient,
    make_prescriber,
    make_product,
    medication,
    submit,
)

WRITTEN = datetime.fromisoformat(WRITTEN_AT)


def naive(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


async def customer_id(db: Db, name: str = "Clinic A") -> uuid.UUID:
    [customer] = await db.all(models.Customer, name=name)
    return uuid.UUID(str(customer.id))


async def matched(
    client: httpx.AsyncClient,
    schedule: str | None = None,
    prescriber: dict[str, Any] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A prescription whose patient (in MA), prescriber and product all match."""
    patient = await make_patient(client)
    prescriber = prescriber or await make_prescriber(client)
    await make_product(client, schedule=schedule)
    erx = await submit(
        client,
        medication=medication(**changes),
        patient={"id": patient["id"]},
        prescriber={"id": prescriber["id"]},
    )
    rx: dict[str, Any] = erx["medications"][0]
    return rx


class TestExpiry:
    def test_add_months_keeps_the_day_or_takes_the_last(self) -> None:
        leap = datetime(2024, 2, 29, tzinfo=UTC)
        assert add_months(leap, 12) == datetime(2025, 2, 28, tzinfo=UTC)
        assert add_months(datetime(2025, 8, 31, tzinfo=UTC), 6) == datetime(2026, 2, 28, tzinfo=UTC)

    async def test_one_year_by_default(self, clinic_a: httpx.AsyncClient) -> None:
        rx = await matched(clinic_a)
        assert rx["expires_at"] == naive(add_months(WRITTEN, 12))

    async def test_the_erx_expiration_is_kept(self, clinic_a: httpx.AsyncClient) -> None:
        expires = naive(WRITTEN + timedelta(days=90))
        rx = await matched(clinic_a, expires_at=expires)
        assert rx["expires_at"] == expires

    @pytest.mark.parametrize("schedule", ["CIII", "CIV", "CV"])
    async def test_six_months_at_most_for_ciii_to_cv(
        self, clinic_a: httpx.AsyncClient, schedule: str
    ) -> None:
        rx = await matched(clinic_a, schedule, expires_at=naive(add_months(WRITTEN, 9)))
        assert rx["expires_at"] == naive(add_months(WRITTEN, 6))
        assert rx["status"] == "active"
        assert rx["dea_schedule"] == schedule

    async def test_expires_before_written_is_422(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.post(
            f"{API}/electronic_prescriptions",
            json={"medication": medication(expires_at=naive(WRITTEN - timedelta(days=1)))},
        )
        assert response.status_code == 422
        assert response.json()["detail"] == "medication: expires_at must be after written_at."

    async def test_expired_when_read_after_expires_at(self, clinic_a: httpx.AsyncClient) -> None:
        old = utcnow() - timedelta(days=800)
        rx = await matched(clinic_a, written_at=naive(old))
        assert rx["status"] == "expired"
        listed = (await clinic_a.get(API, params={"status": "expired"})).json()
        assert [item["id"] for item in listed] == [rx["id"]]
        assert (await clinic_a.get(API, params={"status": "active"})).json() == []


class TestControlledSubstances:
    async def test_cii_refills_are_set_to_zero_and_held(self, clinic_a: httpx.AsyncClient) -> None:
        rx = await matched(clinic_a, "CII", refills=3)
        assert rx["refills"] == 0
        assert rx["fills_remaining"] == 1
        assert rx["status"] == "on_hold"
        assert rx["needs_clarification"] is True
        assert rx["clarification_reason"] == (
            "CII prescriptions cannot be refilled: 3 refills set to 0"
        )
        assert rx["expires_at"] == naive(add_months(WRITTEN, 12))

    async def test_cii_without_refills_is_active(self, clinic_a: httpx.AsyncClient) -> None:
        rx = await matched(clinic_a, "CII", refills=0)
        assert (rx["status"], rx["needs_clarification"]) == ("active", False)

    async def test_prescriber_without_dea(self, clinic_a: httpx.AsyncClient) -> None:
        prescriber = await make_prescriber(clinic_a, dea=None)
        rx = await matched(clinic_a, "CIV", prescriber)
        assert rx["status"] == "on_hold"
        assert rx["clarification_reason"] == (
            "controlled substance: the prescriber has no DEA number"
        )

    async def test_no_licence_in_the_patients_state(self, clinic_a: httpx.AsyncClient) -> None:
        prescriber = await make_prescriber(clinic_a, states=("CA",))
        rx = await matched(clinic_a, "CIV", prescriber)
        assert rx["status"] == "on_hold"
        assert rx["clarification_reason"] == (
            "controlled substance: the prescriber has no active, unexpired licence in MA"
        )

    async def test_expired_licence_counts_as_none(self, clinic_a: httpx.AsyncClient) -> None:
        prescriber = await make_prescriber(clinic_a, states=())
        licence = {"state": "MA", "license_number": "OLD", "expiration_date": "2020-01-01"}
        response = await clinic_a.post(
            f"/api/v1/prescribers/{prescriber['id']}/qualifications", json=licence
        )
        assert response.status_code == 201
        rx = await matched(clinic_a, "CV", prescriber)
        assert rx["clarification_reason"] == (
            "controlled substance: the prescriber has no active, unexpired licence in MA"
        )

    async def test_unmatched_prescriber_of_a_controlled_product(
        self, clinic_a: httpx.AsyncClient
    ) -> None:
        await make_product(clinic_a, schedule="CIII")
        erx = await submit(clinic_a, medication=MEDICATION)
        rx = erx["medications"][0]
        assert (rx["status"], rx["needs_clarification"]) == ("on_hold", True)
        assert rx["clarification_reason"] == "controlled substance: the prescriber is not matched"

    async def test_uncontrolled_product_needs_no_dea(self, clinic_a: httpx.AsyncClient) -> None:
        prescriber = await make_prescriber(clinic_a, dea=None, states=())
        rx = await matched(clinic_a, None, prescriber)
        assert (rx["status"], rx["needs_clarification"]) == ("active", False)


class TestFills:
    async def test_fills_until_exhausted(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        rx = await matched(clinic_a, refills=1)
        owner = await customer_id(db)
        rx_id, patient_id = uuid.UUID(rx["id"]), uuid.UUID(rx["patient_id"])
        for line in ("line-1", "line-2"):
            async with db.database.transaction() as session:
                fill = await prescription_service.use_fill(session, owner, rx_id, patient_id, line)
                assert fill.order_line_ref == line
        read = (await clinic_a.get(f"{API}/{rx['id']}")).json()
        assert (read["fills_used"], read["fills_remaining"], read["status"]) == (2, 0, "exhausted")
        with pytest.raises(PrescriptionExhausted):
            async with db.database.transaction() as session:
                await prescription_service.use_fill(session, owner, rx_id, patient_id, "line-3")
        fills = await db.all(models.PrescriptionFill, prescription_id=rx_id)
        assert sorted(fill.order_line_ref for fill in fills) == ["line-1", "line-2"]
        listed = (await clinic_a.get(API, params={"status": "exhausted"})).json()
        assert [item["id"] for item in listed] == [rx["id"]]

    async def test_refused_fills(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        owner, other = await customer_id(db), uuid.uuid4()
        held = await matched(clinic_a, "CII", refills=2)
        refs = {"patient": {"id": held["patient_id"]}, "prescriber": {"id": held["prescriber_id"]}}
        old = naive(utcnow() - timedelta(days=800))
        expired = (await submit(clinic_a, medication=medication(written_at=old), **refs))[
            "medications"
        ][0]
        loose = (await submit(clinic_a, medication=MEDICATION))["medications"][0]
        patient_id = uuid.UUID(held["patient_id"])
        cases: list[tuple[dict[str, Any], uuid.UUID, uuid.UUID | None, type[Exception]]] = [
            (held, patient_id, owner, PrescriptionOnHold),
            (expired, uuid.UUID(expired["patient_id"]), owner, PrescriptionExpired),
            (held, other, owner, PrescriptionForAnotherPatient),
            (held, patient_id, uuid.uuid4(), PrescriptionNotFound),
        ]
        for rx, patient, tenant, error in cases:
            with pytest.raises(error):
                async with db.database.transaction() as session:
                    await prescription_service.use_fill(
                        session, tenant, uuid.UUID(rx["id"]), patient, None
                    )
        async with db.database.transaction() as session:
            with pytest.raises(PrescriptionForAnotherPatient):
                # An unmatched prescription has no patient: it is nobody's yet.
                await prescription_service.use_fill(
                    session, owner, uuid.UUID(loose["id"]), patient_id, None
                )
        assert await db.count(models.PrescriptionFill) == 0
        assert PrescriptionNotMatched().status_code == 409

    async def test_unmatched_product_is_not_fillable(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        erx = await submit(clinic_a, medication=MEDICATION, patient={"id": patient["id"]})
        rx = erx["medications"][0]
        with pytest.raises(PrescriptionNotMatched) as refused:
            async with db.database.transaction() as session:
                await prescription_service.use_fill(
                    session,
                    await customer_id(db),
                    uuid.UUID(rx["id"]),
                    uuid.UUID(patient["id"]),
                    None,
                )
        assert refused.value.status_code == 409


class TestCancel:
    async def test_cancel_by_prescriber_order_number(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        rx = await matched(clinic_a, prescriber_order_number="PON-77")
        owner = await customer_id(db)
        async with db.database.transaction() as session:
            cancelled = await prescription_service.cancel(
                session, owner, prescriber_order_number="PON-77"
            )
            assert [str(p.id) for p in cancelled] == [rx["id"]]
        read = (await clinic_a.get(f"{API}/{rx['id']}")).json()
        assert read["status"] == "cancelled"
        assert read["cancelled_at"] is not None
        [event] = await db.all(models.OutboxEvent, event_code="prescription.cancelled")
        assert event.data["id"] == rx["id"]
        assert event.data["status"] == "cancelled"
        with pytest.raises(PrescriptionCancelled):
            async with db.database.transaction() as session:
                await prescription_service.use_fill(
                    session, owner, uuid.UUID(rx["id"]), uuid.UUID(rx["patient_id"]), None
                )
        with pytest.raises(PrescriptionAlreadyCancelled):
            async with db.database.transaction() as session:
                await prescription_service.cancel(
                    session, owner, prescription_id=uuid.UUID(rx["id"])
                )

    async def test_cancel_is_tenant_scoped(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        rx = await matched(clinic_a, prescriber_order_number="PON-1")
        await clinic_b.get(API)
        with pytest.raises(PrescriptionNotFound):
            async with db.database.transaction() as session:
                await prescription_service.cancel(
                    session, await customer_id(db, "Clinic B"), prescriber_order_number="PON-1"
                )
        assert (await clinic_a.get(f"{API}/{rx['id']}")).json()["status"] == "active"
        assert await db.count(models.OutboxEvent, event_code="prescription.cancelled") == 0
