"""JSON electronic prescriptions over HTTP on both engines: matching, reading, tenancy, events."""

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from pestle import models
from pestle.kit.time import utcnow
from tests.conftest import Db

API = "/api/v1/prescriptions"
SUBMIT = f"{API}/electronic_prescriptions"
NPI = "1234567893"
PATIENT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "2125550100",
    "date_of_birth": "1985-12-10",
    "external_id": "HEALTHCO_PATIENT_9271227",
    "address": {"address_1": "1 Main St", "city": "Boston", "state": "MA", "zip_code": "02108"},
}
# Ten days ago at midnight: recent enough to be valid for the tests' lifetime.
WRITTEN_AT = (utcnow() - timedelta(days=10)).strftime("%Y-%m-%dT00:00:00")
MEDICATION = {
    "days_supply": 30,
    "drug_name": "Levothyroxine",
    "quantity": 30,
    "refills": 4,
    "sig": "Apply thin layer nightly",
    "substitution_allowed": True,
    "units": "C48480",
    "written_at": WRITTEN_AT,
}


def medication(**changes: Any) -> dict[str, Any]:
    return {**MEDICATION, **changes}


async def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_patient(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    return await created(await client.post("/api/v1/patients", json={**PATIENT, **changes}))


async def make_prescriber(
    client: httpx.AsyncClient, *, dea: str | None = "FD1234563", states: tuple[str, ...] = ("MA",)
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "Willard",
        "last_name": "Donnelly",
        "npi": NPI,
        "qualifications": [
            {"state": state, "license_number": f"L-{state}", "expiration_date": "2099-01-01"}
            for state in states
        ],
    }
    if dea is not None:
        body["dea"] = dea
    return await created(await client.post("/api/v1/prescribers", json=body))


async def make_product(
    client: httpx.AsyncClient,
    name: str = "Levothyroxine",
    code: str = "HC-RAPA31",
    schedule: str | None = None,
) -> dict[str, Any]:
    body = {
        "name": name,
        "product_code": code,
        "is_controlled_substance": schedule is not None,
        "dea_schedule": schedule,
    }
    return await created(await client.post("/api/v1/products/prescription", json=body))


async def submit(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    return await created(await client.post(SUBMIT, json=body))


class TestMatching:
    async def test_all_matched_by_id_is_active(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        prescriber = await make_prescriber(clinic_a)
        product = await make_product(clinic_a)
        erx = await submit(
            clinic_a,
            medication=medication(prescription_product_id=product["id"], drug_name=None),
            patient={"id": patient["id"]},
            prescriber={"id": prescriber["id"]},
        )
        assert erx["source"] == "api_json"
        assert erx["type"] == "NewRx"
        assert erx["patient_id"] == patient["id"]
        assert erx["prescriber_id"] == prescriber["id"]
        assert erx["order"] is None
        assert erx["patient"] == {"id": patient["id"]}
        [rx] = erx["medications"]
        assert erx["prescriptions"] == erx["medications"]
        assert rx["electronic_prescription_id"] == erx["id"]
        assert rx["patient_id"] == patient["id"]
        assert rx["prescriber_id"] == prescriber["id"]
        assert rx["prescription_product_id"] == product["id"]
        assert rx["name"] == "Levothyroxine"
        assert rx["status"] == "active"
        assert rx["refills"] == 4
        assert rx["fills_remaining"] == 5
        assert rx["quantity"] == 30
        assert rx["units"] == "Capsule"
        assert rx["written_at"] == WRITTEN_AT
        assert rx["needs_clarification"] is False
        assert rx["clarification_reason"] is None

    async def test_by_external_id_npi_and_product_code(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        prescriber = await make_prescriber(clinic_a)
        product = await make_product(clinic_a, name="Topical Rapamycin")
        erx = await submit(
            clinic_a,
            medication=medication(product_code="HC-RAPA31"),
            patient={"external_id": PATIENT["external_id"]},
            prescriber={"npi": NPI},
        )
        [rx] = erx["medications"]
        assert (rx["patient_id"], rx["prescriber_id"]) == (patient["id"], prescriber["id"])
        assert rx["prescription_product_id"] == product["id"]
        assert rx["name"] == "Topical Rapamycin"
        assert rx["drug_name"] == "Levothyroxine"

    async def test_product_by_exact_name_in_any_case(self, clinic_a: httpx.AsyncClient) -> None:
        product = await make_product(clinic_a)
        erx = await submit(clinic_a, medication=medication(drug_name="LEVOTHYROXINE"))
        assert erx["medications"][0]["prescription_product_id"] == product["id"]
        erx = await submit(clinic_a, medication=medication(drug_name="Levothyroxine 50"))
        assert erx["medications"][0]["prescription_product_id"] is None

    async def test_new_patient_data_creates_the_patient(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        erx = await submit(
            clinic_a, medication=medication(), patient={**PATIENT, "ssn": "123456789"}
        )
        [row] = await db.all(models.Patient)
        assert erx["patient_id"] == str(row.id)
        assert erx["medications"][0]["patient_id"] == str(row.id)
        assert "ssn" not in erx["patient"]
        assert erx["patient"]["last_name"] == "Lovelace"
        codes = [e.event_code for e in await db.all(models.OutboxEvent)]
        assert sorted(codes) == ["patient.created", "prescription.created"]

    async def test_several_medications_unmatched_stay_null(
        self, clinic_a: httpx.AsyncClient
    ) -> None:
        erx = await submit(
            clinic_a, medications=[medication(), medication(drug_name="Semaglutide", refills=0)]
        )
        assert [rx["drug_name"] for rx in erx["medications"]] == ["Levothyroxine", "Semaglutide"]
        for rx in erx["medications"]:
            assert rx["patient_id"] is None
            assert rx["prescriber_id"] is None
            assert rx["prescription_product_id"] is None
            assert rx["status"] == "new"
        assert [rx["fills_remaining"] for rx in erx["medications"]] == [5, 1]

    async def test_legacy_path_is_the_same_call(self, clinic_a: httpx.AsyncClient) -> None:
        erx = await created(
            await clinic_a.post("/api/v1/electronic_prescriptions", json={"medication": MEDICATION})
        )
        assert erx["medications"][0]["status"] == "new"
        paths = (await clinic_a.get("/openapi.json")).json()["paths"]
        assert SUBMIT in paths
        assert "/api/v1/electronic_prescriptions" not in paths

    async def test_raw_document_is_kept(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        document = json.dumps({"medication": MEDICATION})
        response = await clinic_a.post(
            SUBMIT, content=document, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 201
        [row] = await db.all(models.ElectronicPrescription)
        assert row.raw_document == document
        assert row.content_type == "application/json"


class TestRefused:
    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            (
                {"patient": {"id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708"}},
                "patient.id: no match for 0227d1e5-ba9a-42b5-8fe2-38882aa65708 in this account.",
            ),
            (
                {"patient": {"external_id": "nobody"}},
                "patient.external_id: no match for nobody in this account.",
            ),
            (
                {"prescriber": {"npi": NPI}},
                f"prescriber.npi: no match for {NPI} in this account.",
            ),
        ],
    )
    async def test_unknown_reference_is_422_and_writes_nothing(
        self, clinic_a: httpx.AsyncClient, db: Db, body: dict[str, Any], detail: str
    ) -> None:
        await clinic_a.get("/api/v1/prescriptions/statuses")  # the user exists before counting
        async with db.writes_nothing():
            response = await clinic_a.post(SUBMIT, json={"medication": MEDICATION, **body})
        assert response.status_code == 422
        assert response.json() == {"error": "UnknownReference", "detail": detail}

    async def test_unknown_product_id_names_the_medication(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        product_id = "0227d1e5-ba9a-42b5-8fe2-38882aa65708"
        body = {"medications": [MEDICATION, medication(prescription_product_id=product_id)]}
        async with db.writes_nothing():
            response = await clinic_a.post(SUBMIT, json=body)
        assert response.status_code == 422
        assert response.json()["detail"] == (
            f"medications[1].prescription_product_id: no match for {product_id} in this account."
        )

    async def test_another_customers_rows_are_not_found(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_b)
        prescriber = await make_prescriber(clinic_b)
        product = await make_product(clinic_b)
        async with db.writes_nothing():
            for body, field in (
                ({"patient": {"id": patient["id"]}}, "patient.id"),
                ({"prescriber": {"id": prescriber["id"]}}, "prescriber.id"),
                (
                    {"medication": medication(prescription_product_id=product["id"])},
                    "medication.prescription_product_id",
                ),
            ):
                response = await clinic_a.post(SUBMIT, json={"medication": MEDICATION, **body})
                assert response.status_code == 422, response.text
                assert response.json()["detail"].startswith(f"{field}: no match")
        erx = await submit(clinic_a, medication=medication(product_code="HC-RAPA31"))
        assert erx["medications"][0]["prescription_product_id"] is None

    async def test_both_or_neither_medication_fields_is_422(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        await clinic_a.get("/api/v1/prescriptions/statuses")
        async with db.writes_nothing():
            both = await clinic_a.post(
                SUBMIT, json={"medication": MEDICATION, "medications": [MEDICATION]}
            )
            neither = await clinic_a.post(SUBMIT, json={})
            no_product = await clinic_a.post(
                SUBMIT, json={"medication": medication(drug_name=None)}
            )
        assert (both.status_code, neither.status_code, no_product.status_code) == (422, 422, 422)

    async def test_staff_cannot_submit(self, pharmacist: httpx.AsyncClient) -> None:
        response = await pharmacist.post(SUBMIT, json={"medication": MEDICATION})
        assert response.status_code == 403
        assert response.json()["error"] == "PrescriptionsBelongToCustomers"


class TestUnits:
    async def test_code_or_term_in_term_out(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        erx = await submit(
            clinic_a, medications=[medication(units="C28254"), medication(units="milliliter")]
        )
        assert [rx["units"] for rx in erx["medications"]] == ["Milliliter", "Milliliter"]
        assert {row.units for row in await db.all(models.Prescription)} == {"C28254"}

    async def test_unknown_unit_is_422(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        await clinic_a.get(f"{API}/statuses")
        async with db.writes_nothing():
            response = await clinic_a.post(SUBMIT, json={"medication": medication(units="XYZ")})
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "medication", "units"]

    async def test_quantity_units_list(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.get(f"{API}/quantity_units")
        assert response.status_code == 200
        units = {unit["code"]: unit for unit in response.json()}
        assert len(units) >= 40
        assert units["C28253"] == {
            "code": "C28253",
            "term": "Milligram",
            "type": "Quantity Unit of Measure",
            "type_code": "C89510",
            "current": False,
        }
        assert units["C48480"]["term"] == "Capsule"


class TestReading:
    async def test_null_filters_list_unmatched(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        prescriber = await make_prescriber(clinic_a)
        await make_product(clinic_a)
        matched = await submit(
            clinic_a,
            medication=MEDICATION,
            patient={"id": patient["id"]},
            prescriber={"id": prescriber["id"]},
        )
        loose = await submit(clinic_a, medication=medication(drug_name="Unknown drug"))
        matched_id, loose_id = matched["medications"][0]["id"], loose["medications"][0]["id"]

        async def ids(**params: str) -> list[str]:
            response = await clinic_a.get(API, params=params)
            assert response.status_code == 200, response.text
            return [rx["id"] for rx in response.json()]

        assert await ids() == [matched_id, loose_id]
        assert await ids(patient_id="null") == [loose_id]
        assert await ids(prescriber_id="null") == [loose_id]
        assert await ids(prescription_product_id="null") == [loose_id]
        assert await ids(patient_id=patient["id"]) == [matched_id]
        assert await ids(status="active") == [matched_id]
        assert await ids(status="new") == [loose_id]
        assert await ids(status="expired") == []
        bad = await clinic_a.get(API, params={"patient_id": "x"})
        assert bad.status_code == 422
        assert bad.json()["detail"] == "patient_id: 'x' is neither a UUID nor null."
        assert (await clinic_a.get(API, params={"status": "done"})).status_code == 422

    async def test_list_is_paginated(self, clinic_a: httpx.AsyncClient) -> None:
        await submit(clinic_a, medications=[MEDICATION, MEDICATION, MEDICATION])
        response = await clinic_a.get(API, params={"page_size": 2})
        assert response.headers["X-Total-Count"] == "3"
        assert len(response.json()) == 2
        assert 'rel="next"' in response.headers["Link"]

    async def test_include_all_embeds_related(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        prescriber = await make_prescriber(clinic_a)
        product = await make_product(clinic_a)
        erx = await submit(
            clinic_a,
            medication=MEDICATION,
            patient={"id": patient["id"]},
            prescriber={"id": prescriber["id"]},
        )
        rx_id = erx["medications"][0]["id"]
        plain = (await clinic_a.get(f"{API}/{rx_id}")).json()
        assert "patient" not in plain
        assert "customer" not in plain
        assert plain == erx["medications"][0] | {"updated_at": plain["updated_at"]}
        full = (await clinic_a.get(f"{API}/{rx_id}", params={"include_all": "true"})).json()
        assert full["customer"]["name"] == "Clinic A"
        assert full["electronic_prescription"]["id"] == erx["id"]
        assert full["patient"]["id"] == patient["id"]
        assert full["patient"]["address"]["state"] == "MA"
        assert full["prescriber"]["npi"] == NPI
        assert full["prescription_product"]["id"] == product["id"]
        [listed] = (await clinic_a.get(API, params={"include": "all"})).json()
        assert listed == full

    async def test_get_electronic_prescription(self, clinic_a: httpx.AsyncClient) -> None:
        erx = await submit(clinic_a, medications=[MEDICATION, MEDICATION])
        read = (await clinic_a.get(f"{SUBMIT}/{erx['id']}")).json()
        assert read == erx

    async def test_statuses(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.get(f"{API}/statuses")
        assert response.status_code == 200
        codes = [status["code"] for status in response.json()]
        assert codes == ["new", "active", "on_hold", "expired", "exhausted", "cancelled"]
        assert response.json()[2]["name"] == "On Hold"

    async def test_other_customer_gets_404_staff_see_all(
        self,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
    ) -> None:
        erx = await submit(clinic_a, medication=MEDICATION)
        rx_id = erx["medications"][0]["id"]
        for path in (f"{API}/{rx_id}", f"{SUBMIT}/{erx['id']}"):
            response = await clinic_b.get(path)
            assert response.status_code == 404, path
            assert (await pharmacist.get(path)).status_code == 200
        assert (await clinic_b.get(API)).json() == []
        assert [rx["id"] for rx in (await pharmacist.get(API)).json()] == [rx_id]
        assert (await clinic_a.get(f"{API}/not-an-id")).status_code == 404


class TestEvents:
    async def test_one_created_event_per_prescription(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        erx = await submit(clinic_a, medications=[MEDICATION, medication(drug_name="B")])
        rows = await db.all(models.OutboxEvent, event_code="prescription.created")
        assert sorted(row.data["id"] for row in rows) == sorted(
            rx["id"] for rx in erx["medications"]
        )
        assert {row.data["electronic_prescription_id"] for row in rows} == {erx["id"]}
        assert rows[0].data["written_at"] == f"{WRITTEN_AT}.000000"
