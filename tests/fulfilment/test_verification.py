"""Data verification (P02 -> P03) over HTTP on both engines: usable prescriptions, one fill per
line, and the clinical check of the patient's risk factors."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from pestle import models
from pestle.fulfilment.service import scdg_codes
from pestle.kit.time import utcnow
from tests.conftest import Db
from tests.fulfilment.support import Staff, advance, history, lines
from tests.orders.support import (
    ORDERS,
    create_order,
    make_formula,
    make_patient,
    make_product,
    ok,
    order_body,
    prescribe,
    ready_order,
    stock,
    transition,
)
from tests.prescriptions.test_json import make_prescriber

ALLERGY = {"type": "allergy", "name": "Sulfonamide antibiotics", "scdg_rxcui": "1160157"}
MEDICATION = {"type": "medication", "name": "estradiol Oral Product", "scdg_rxcui": "1156982"}


async def prescription(db: Db, erx: dict[str, Any]) -> models.Prescription:
    [found] = await db.all(models.Prescription, id=uuid.UUID(erx["medications"][0]["id"]))
    return found


class TestPrescriptions:
    async def test_each_unusable_line_is_named_and_nothing_written(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        patient = await make_patient(clinic_a)
        unprescribed = await make_product(clinic_a, name="Unprescribed", product_code="NONE1")
        expired = await make_product(clinic_a, name="Expired", product_code="OLD1")
        fine = await make_product(clinic_a, name="Fine", product_code="FINE1")
        old = (utcnow() - timedelta(days=800)).strftime("%Y-%m-%dT00:00:00")
        prescriber = await make_prescriber(clinic_a)
        old_erx = await prescribe(clinic_a, patient, expired, prescriber, written_at=old)
        await prescribe(clinic_a, patient, fine, prescriber)
        order = await create_order(clinic_a, order_body(patient, unprescribed, expired, fine))
        await advance(Staff(technician, pharmacist), order, "P02")
        first, second, _ = await lines(db, order)
        rx = old_erx["medications"][0]
        async with db.writes_nothing():
            body = await transition(pharmacist, order, "P03", 409)
        assert body == {
            "error": "PrescriptionsNotUsable",
            "detail": "Data verification needs a usable prescription for every prescription "
            f"line: line {first.id} (Unprescribed): the patient has no prescription for this "
            f"product; line {second.id} (Expired): prescription {rx['id']} expired at "
            f"{rx['expires_at']}Z.",
        }
        assert await db.count(models.PrescriptionFill) == 0
        assert [line.prescription_fill_id for line in await lines(db, order)] == [None] * 3

    async def test_linked_prescription_expired_since(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        ready = await ready_order(clinic_a)
        await advance(Staff(technician, pharmacist), ready.order, "P02")
        rx_id = uuid.UUID(ready.erx["medications"][0]["id"])
        past = utcnow().replace(microsecond=0) - timedelta(days=1)
        async with db.database.transaction() as session:
            statement = update(models.Prescription).where(models.Prescription.id == rx_id)
            await session.execute(statement.values(expires_at=past))
        [line] = await lines(db, ready.order)
        assert line.prescription_id == rx_id
        async with db.writes_nothing():
            body = await transition(pharmacist, ready.order, "P03", 409)
        assert body["detail"] == (
            "Data verification needs a usable prescription for every prescription line: "
            f"line {line.id} (Mupirocin): prescription {rx_id} expired at "
            f"{past:%Y-%m-%dT%H:%M:%SZ}."
        )
        [unchanged] = await lines(db, ready.order)
        assert unchanged.prescription_id == rx_id

    async def test_exhausted_by_an_earlier_order(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        staff = Staff(technician, pharmacist)
        patient = await make_patient(clinic_a)
        product = await make_product(clinic_a)
        await stock(clinic_a, product)
        erx = await prescribe(clinic_a, patient, product, refills=0)
        first = await create_order(clinic_a, order_body(patient, product))
        second = await create_order(clinic_a, order_body(patient, product), force_new="true")
        await advance(staff, first, "P03")
        await advance(staff, second, "P02")
        [line] = await lines(db, second)
        rx_id = erx["medications"][0]["id"]
        async with db.writes_nothing():
            body = await transition(pharmacist, second, "P03", 409)
        assert body["detail"] == (
            "Data verification needs a usable prescription for every prescription line: "
            f"line {line.id} (Mupirocin): prescription {rx_id} has no fills remaining."
        )

    async def test_a_newer_prescription_replaces_an_unusable_link(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        ready = await ready_order(clinic_a)
        await advance(Staff(technician, pharmacist), ready.order, "P02")
        old_id = uuid.UUID(ready.erx["medications"][0]["id"])
        async with db.database.transaction() as session:
            statement = update(models.Prescription).where(models.Prescription.id == old_id)
            await session.execute(statement.values(expires_at=utcnow() - timedelta(days=1)))
        prescriber = {"id": ready.erx["prescriber_id"]}
        newer = await prescribe(clinic_a, ready.patient, ready.product, prescriber)
        body = await transition(pharmacist, ready.order, "P03")
        new_id = newer["medications"][0]["id"]
        assert body["products"]["prescription"][0]["prescription_id"] == new_id
        [fill] = await db.all(models.PrescriptionFill)
        assert fill.prescription_id == uuid.UUID(new_id)


class TestFills:
    async def test_one_fill_per_line_however_often_the_order_comes_round(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        ready = await ready_order(clinic_a)
        staff = Staff(technician, pharmacist)
        await advance(staff, ready.order, "P02")
        for _ in range(2):
            await transition(pharmacist, ready.order, "P01", note="recheck")
            await transition(technician, ready.order, "P02")
        assert await db.count(models.PrescriptionFill) == 0
        await transition(pharmacist, ready.order, "P03")
        await transition(technician, ready.order, "P04")
        await transition(pharmacist, ready.order, "P03")
        await transition(technician, ready.order, "P04")
        [line] = await lines(db, ready.order)
        [fill] = await db.all(models.PrescriptionFill)
        assert (fill.order_line_ref, fill.prescription_id) == (str(line.id), line.prescription_id)
        assert line.prescription_fill_id == fill.id
        assert (await prescription(db, ready.erx)).fills_used == 1
        [verified] = [row for row in await history(db, ready.order) if row.status_code == "P03"][:1]
        assert fill.user_id == verified.user_id

    async def test_two_verifications_at_once_use_one_fill(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        ready = await ready_order(clinic_a)
        await advance(Staff(technician, pharmacist), ready.order, "P02")
        url = f"{ORDERS}/{ready.order['id']}/transitions"
        responses = await asyncio.gather(
            pharmacist.post(url, json={"to": "P03"}), pharmacist.post(url, json={"to": "P03"})
        )
        assert sorted(r.status_code for r in responses) == [200, 409]
        assert await db.count(models.PrescriptionFill) == 1
        assert (await prescription(db, ready.erx)).fills_used == 1
        assert [row.status_code for row in await history(db, ready.order)].count("P03") == 1

    async def test_a_line_that_holds_a_fill_takes_no_other(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        """A line filled before (by an earlier verification or an import) keeps its fill,
        even when its prescription has none left."""
        ready = await ready_order(clinic_a)
        await advance(Staff(technician, pharmacist), ready.order, "P02")
        [line] = await lines(db, ready.order)
        rx_id = uuid.UUID(ready.erx["medications"][0]["id"])
        fill = models.PrescriptionFill(prescription_id=rx_id, order_line_ref=str(line.id))
        async with db.database.transaction() as session:
            session.add(fill)
            await session.flush()
            await session.execute(
                update(models.OrderLine)
                .where(models.OrderLine.id == line.id)
                .values(prescription_fill_id=fill.id)
            )
            await session.execute(
                update(models.Prescription)
                .where(models.Prescription.id == rx_id)
                .values(fills_used=models.Prescription.refills + 1)
            )
        body = await transition(pharmacist, ready.order, "P03")
        assert body["status_code"] == "P03"
        assert [row.id for row in await db.all(models.PrescriptionFill)] == [fill.id]
        [after] = await lines(db, ready.order)
        assert after.prescription_fill_id == fill.id


async def screened_order(
    client: httpx.AsyncClient, *risk_factors: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """An N01 order of a product whose formula screens for a sulfonamide allergy and an
    estradiol medication, for a patient with ``risk_factors``."""
    patient = await make_patient(client)
    formula = await make_formula(
        client,
        allergen_snomeds=["387406002"],
        allergen_scdgs=["1165648", "1160157"],
        medication_scdgs=["1156982"],
    )
    product = await make_product(client, name="Compounded cream", formula_id=formula["number"])
    await stock(client, product)
    await prescribe(client, patient, product)
    url = f"/api/v1/patients/{patient['id']}/risk_factors"
    mappings = ok(await client.post(url, json=list(risk_factors)), 201)
    order = await create_order(client, order_body(patient, product))
    found = [*mappings["allergies"], *mappings["conditions"], *mappings["medications"]]
    return order, product, found


class TestClinicalCheck:
    async def test_conflicts_refused_then_overridden(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        condition = {"type": "condition", "name": "Hypertension", "scdg_rxcui": "1160157"}
        order, product, found = await screened_order(clinic_a, ALLERGY, condition, MEDICATION)
        allergy = next(m for m in found if m["name"] == ALLERGY["name"])
        medication = next(m for m in found if m["name"] == MEDICATION["name"])
        await advance(Staff(technician, pharmacist), order, "P02")
        async with db.writes_nothing():
            body = await transition(pharmacist, order, "P03", 409, note="checked")
        assert body == {
            "error": "RiskFactorConflicts",
            "detail": "The patient's risk factors conflict with the order: "
            f"Compounded cream (product {product['id']}): allergy 'Sulfonamide antibiotics' "
            "matches the formula's allergen SCDG 1160157; "
            f"Compounded cream (product {product['id']}): medication 'estradiol Oral Product' "
            "matches the formula's medication SCDG 1156982. "
            "Send override_reason to go on despite them.",
        }
        assert await db.count(models.PrescriptionFill) == 0

        reason = "Prescriber confirmed: topical, negligible absorption"
        moved = await transition(pharmacist, order, "P03", note="checked", override_reason=reason)
        assert moved["status_code"] == "P03"
        last = (await history(db, order))[-1]
        assert (last.status_code, last.note, last.override_reason) == ("P03", "checked", reason)
        common = {"product_id": product["id"], "product_name": "Compounded cream"}
        assert last.conflicts == [
            {
                **common,
                "risk_factor_id": allergy["id"],
                "risk_factor_name": "Sulfonamide antibiotics",
                "risk_factor_type": "allergy",
                "formula_codes": "allergen_scdgs",
                "code": "1160157",
            },
            {
                **common,
                "risk_factor_id": medication["id"],
                "risk_factor_name": "estradiol Oral Product",
                "risk_factor_type": "medication",
                "formula_codes": "medication_scdgs",
                "code": "1156982",
            },
        ]
        entries = ok(await clinic_a.get(f"{ORDERS}/{order['id']}/status_history"))
        assert entries[-1]["override_reason"] == reason
        assert await db.count(models.PrescriptionFill) == 1

    async def test_deactivated_risk_factors_do_not_count(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order, _, found = await screened_order(clinic_a, ALLERGY)
        patient_id = order["patient"]["id"]
        url = f"/api/v1/patients/{patient_id}/risk_factors/{found[0]['id']}"
        ok(await clinic_a.delete(url))
        await advance(Staff(technician, pharmacist), order, "P02")
        moved = await transition(pharmacist, order, "P03")
        assert moved["status_code"] == "P03"
        last = (await history(db, order))[-1]
        assert (last.override_reason, last.conflicts) == (None, None)

    async def test_no_conflict_without_a_shared_code(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
    ) -> None:
        other = {**MEDICATION, "scdg_rxcui": "999999", "ingredient_rxcui": "1156982"}
        order, _, _ = await screened_order(clinic_a, other)
        await advance(Staff(technician, pharmacist), order, "P02")
        assert (await transition(pharmacist, order, "P03"))["status_code"] == "P03"


def test_scdg_codes_come_from_the_mapping_and_its_concept() -> None:
    mapping = models.RiskFactorMapping(type="allergy", scdg_rxcui=" 1160157 ")
    scdg = models.RiskFactorConcept(type="medication", rxcui="1165648", tty="SCDG")
    ingredient = models.RiskFactorConcept(
        type="medication", rxcui="10180", tty="IN", scdg_rxcui="1156982"
    )
    assert scdg_codes(mapping, None) == {"1160157"}
    assert scdg_codes(mapping, scdg) == {"1160157", "1165648"}
    assert scdg_codes(models.RiskFactorMapping(type="allergy"), ingredient) == {"1156982"}
