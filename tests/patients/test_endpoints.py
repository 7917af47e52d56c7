"""Patients over HTTP on both engines: the contract's fields, validation, tenancy, events."""

import copy
from datetime import date, timedelta
from typing import Any

import pytest

from pestle import models
from pestle.kit.crypto import FieldCipher
from pestle.kit.time import rest_format, utcnow
from tests.conftest import TEST_SECRET_KEY

ADDRESS = {
    "address_1": "140 Lindgren Streets",
    "address_2": "Apt 227",
    "city": "North Consueloburgh",
    "state": "CA",
    "country": "US",
    "zip_code": "02108",
}
WILLARD = {
    "first_name": "Willard",
    "middle_name": "Moises",
    "last_name": "Donnelly",
    "gender": "male",
    "email": "Harmon43@gmail.com",
    "phone": "6417383445",
    "date_of_birth": "1990-01-01",
    "driver_license_number": "B49188319",
    "driver_license_state": "CA",
    "ssn": "123456789",
    "primary_language": "en",
    "guardian_name": "John Guardian",
    "guardian_phone": "6417383445",
    "guardian_email": "parent@example.com",
    "guardian_relationship": "parent",
    "height_inches": 72,
    "weight_pounds": 180,
    "external_id": "1234567890",
    "is_smoker": False,
    "is_diabetic": False,
    "is_pregnant": False,
    "receive_sms": True,
    "receive_email": True,
    "address": ADDRESS,
}
MINIMAL = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "2125550100",
    "date_of_birth": "1985-12-10",
    "address": {"address_1": "1 Main St", "city": "Boston", "state": "MA", "zip_code": "02108"},
}


def patient(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(MINIMAL)
    body.update(changes)
    return body


def child_birth_date() -> str:
    return (utcnow().date() - timedelta(days=365 * 10)).isoformat()


def expected(created: models.Patient, body: dict[str, Any]) -> dict[str, Any]:
    """The response for ``body`` as stored in ``created``."""
    return {
        "id": str(created.id),
        "created_at": rest_format(created.created_at),
        "updated_at": rest_format(created.updated_at),
        **{k: v for k, v in body.items() if k not in ("ssn", "risk_factors")},
        "ssn": "*****" + body["ssn"][-4:] if body.get("ssn") else None,
        "is_minor": False,
    }


async def only_patient(db) -> models.Patient:
    (found,) = await db.all(models.Patient)
    return found


class TestCreate:
    async def test_every_field_round_trips(self, clinic_a, db):
        response = await clinic_a.post("/api/v1/patients", json=WILLARD)
        assert response.status_code == 201, response.text
        stored = await only_patient(db)
        assert response.json() == {
            **expected(stored, WILLARD),
            "height_inches": 72.0,
            "weight_pounds": 180.0,
        }

    async def test_optional_fields_default(self, clinic_a, db):
        response = await clinic_a.post("/api/v1/patients", json=MINIMAL)
        assert response.status_code == 201
        body = response.json()
        for field in ("middle_name", "gender", "ssn", "guardian_name", "external_id"):
            assert body[field] is None
        assert (body["receive_sms"], body["receive_email"], body["is_smoker"]) == (
            True,
            True,
            False,
        )
        assert body["address"] == {**MINIMAL["address"], "address_2": None, "country": "US"}

    async def test_ssn_is_stored_encrypted_and_shown_masked(self, clinic_a, db):
        response = await clinic_a.post("/api/v1/patients", json=patient(ssn="123-45-6789"))
        assert response.json()["ssn"] == "*****6789"
        stored = await only_patient(db)
        assert "123456789" not in stored.ssn_ciphertext
        assert FieldCipher(TEST_SECRET_KEY).decrypt(stored.ssn_ciphertext) == "123456789"
        assert stored.ssn_last4 == "6789"

    async def test_event_is_written_with_the_patient(self, clinic_a, db):
        created = (await clinic_a.post("/api/v1/patients", json=MINIMAL)).json()
        (event,) = await db.all(models.OutboxEvent)
        stored = await only_patient(db)
        assert event.event_code == "patient.created"
        assert event.customer_id == stored.customer_id
        assert event.data == {
            **created,
            "created_at": stored.created_at.replace(tzinfo=None).isoformat(timespec="microseconds"),
            "updated_at": stored.updated_at.replace(tzinfo=None).isoformat(timespec="microseconds"),
        }

    async def test_minor_with_guardian(self, clinic_a):
        body = patient(
            date_of_birth=child_birth_date(),
            guardian_name="Mary Lovelace",
            guardian_relationship="legal_guardian",
        )
        response = await clinic_a.post("/api/v1/patients", json=body)
        assert response.status_code == 201
        assert response.json()["is_minor"] is True

    @pytest.mark.parametrize(
        ("guardian", "missing"),
        [
            ({}, "guardian_name and guardian_relationship"),
            ({"guardian_name": "Mary"}, "guardian_relationship"),
            ({"guardian_relationship": "parent"}, "guardian_name"),
        ],
    )
    async def test_minor_without_guardian_is_refused(self, clinic_a, db, guardian, missing):
        async with db.writes_nothing():
            response = await clinic_a.post(
                "/api/v1/patients", json=patient(date_of_birth=child_birth_date(), **guardian)
            )
        assert response.status_code == 422
        assert response.json() == {
            "detail": f"The patient is a minor: {missing} required.",
            "error": "MinorNeedsGuardian",
        }

    @pytest.mark.parametrize(
        ("changes", "location", "message"),
        [
            ({"phone": "641738344"}, ["phone"], "exactly 10 digits"),
            ({"phone": "(641) 738-3445"}, ["phone"], "exactly 10 digits"),
            ({"guardian_phone": "123"}, ["guardian_phone"], "exactly 10 digits"),
            ({"email": "not-an-email"}, ["email"], "email"),
            ({"date_of_birth": "2999-01-01"}, ["date_of_birth"], "cannot be in the future"),
            ({"date_of_birth": "1850-01-01"}, ["date_of_birth"], "not plausible"),
            ({"date_of_birth": "1990-02-30"}, ["date_of_birth"], "date"),
            ({"gender": "unknown"}, ["gender"], "'male' or 'female'"),
            ({"guardian_relationship": "neighbour"}, ["guardian_relationship"], "'parent'"),
            ({"driver_license_state": "XX"}, ["driver_license_state"], "not a USPS state"),
            ({"ssn": "12345678"}, ["ssn"], "9 digits"),
            ({"primary_language": "eng"}, ["primary_language"], "ISO 639-1"),
            ({"height_inches": 0}, ["height_inches"], "greater than 0"),
            ({"address": {**MINIMAL["address"], "state": "ZZ"}}, ["address", "state"], "USPS"),
            (
                {"address": {**MINIMAL["address"], "zip_code": "0210"}},
                ["address", "zip_code"],
                "ZIP",
            ),
            (
                {"address": {"city": "Boston", "state": "MA", "zip_code": "02108"}},
                ["address", "address_1"],
                "required",
            ),
            ({"first_name": ""}, ["first_name"], "at least 1"),
            ({"nickname": "Ada"}, ["nickname"], "not permitted"),
        ],
    )
    async def test_invalid_field_is_422_naming_it(self, clinic_a, db, changes, location, message):
        async with db.writes_nothing():
            response = await clinic_a.post("/api/v1/patients", json=patient(**changes))
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "ValidationError"
        (error,) = body["detail"]
        assert error["loc"] == ["body", *location]
        assert message in error["msg"]

    @pytest.mark.parametrize(
        "missing", ["first_name", "last_name", "email", "phone", "date_of_birth", "address"]
    )
    async def test_required_field_missing(self, clinic_a, db, missing):
        body = patient()
        del body[missing]
        async with db.writes_nothing():
            response = await clinic_a.post("/api/v1/patients", json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", missing]

    async def test_duplicate_external_id_is_409(self, clinic_a, clinic_b, db):
        await clinic_a.post("/api/v1/patients", json=patient(external_id="P-1"))
        async with db.writes_nothing():
            response = await clinic_a.post("/api/v1/patients", json=patient(external_id="P-1"))
        assert response.status_code == 409
        assert response.json() == {
            "detail": "A patient with external_id 'P-1' already exists.",
            "error": "PatientExists",
        }
        # external_id is unique per customer, not across customers.
        assert (
            await clinic_b.post("/api/v1/patients", json=patient(external_id="P-1"))
        ).status_code == 201

    async def test_staff_cannot_create(self, pharmacist, db):
        async with db.writes_nothing():
            response = await pharmacist.post("/api/v1/patients", json=MINIMAL)
        assert response.status_code == 403
        assert response.json()["error"] == "PatientsBelongToCustomers"


class TestRead:
    async def test_by_id_and_by_external_id(self, clinic_a):
        created = (
            await clinic_a.post("/api/v1/patients", json=patient(external_id="ext-7"))
        ).json()
        for ref in (created["id"], "ext-7"):
            response = await clinic_a.get(f"/api/v1/patients/{ref}")
            assert response.status_code == 200
            assert response.json() == created

    async def test_unknown_is_404(self, clinic_a):
        response = await clinic_a.get("/api/v1/patients/nope")
        assert response.status_code == 404
        assert response.json() == {"detail": "No patient 'nope'.", "error": "PatientNotFound"}

    async def test_another_customer_gets_404_everywhere(self, clinic_a, clinic_b, db):
        created = (
            await clinic_a.post("/api/v1/patients", json=patient(external_id="ext-7"))
        ).json()
        for ref in (created["id"], "ext-7"):
            for path in ("", "/orders", "/risk_factors"):
                response = await clinic_b.get(f"/api/v1/patients/{ref}{path}")
                assert response.status_code == 404, path
            async with db.writes_nothing():
                response = await clinic_b.put(f"/api/v1/patients/{ref}", json={"first_name": "X"})
            assert response.status_code == 404
        assert (await clinic_b.get("/api/v1/patients")).json() == []
        assert (await clinic_b.get("/api/v1/patients?external_id=ext-7")).json() == []

    async def test_staff_see_every_customer(self, clinic_a, clinic_b, pharmacist):
        a = (await clinic_a.post("/api/v1/patients", json=patient(first_name="A"))).json()
        b = (await clinic_b.post("/api/v1/patients", json=patient(first_name="B"))).json()
        listed = await pharmacist.get("/api/v1/patients")
        assert [p["id"] for p in listed.json()] == [a["id"], b["id"]]
        assert (await pharmacist.get(f"/api/v1/patients/{b['id']}")).json() == b

    async def test_list_filters_and_pages(self, clinic_a):
        ids = []
        for index, (last_name, birth) in enumerate(
            [("Curie", "1967-11-07"), ("curie", "1990-01-01"), ("Noether", "1982-03-23")]
        ):
            body = patient(last_name=last_name, date_of_birth=birth, external_id=f"e{index}")
            ids.append((await clinic_a.post("/api/v1/patients", json=body)).json()["id"])

        async def listed(query: str) -> list[str]:
            return [p["id"] for p in (await clinic_a.get(f"/api/v1/patients?{query}")).json()]

        assert await listed("last_name=CURIE") == ids[:2]
        assert await listed("date_of_birth=1990-01-01") == [ids[1]]
        assert await listed("external_id=e2") == [ids[2]]
        assert await listed("last_name=curie&date_of_birth=1967-11-07") == [ids[0]]
        page = await clinic_a.get("/api/v1/patients?page=2&page_size=2")
        assert [p["id"] for p in page.json()] == [ids[2]]
        assert page.headers["X-Total-Count"] == "3"
        bad = await clinic_a.get("/api/v1/patients?date_of_birth=01/01/1990")
        assert bad.status_code == 422

    async def test_orders_are_empty_until_orders_exist(self, clinic_a):
        created = (await clinic_a.post("/api/v1/patients", json=MINIMAL)).json()
        response = await clinic_a.get(f"/api/v1/patients/{created['id']}/orders")
        assert (response.status_code, response.json()) == (200, [])

    async def test_guardian_relationship_types(self, clinic_a):
        expected_types = [
            {"value": "parent", "label": "Parent"},
            {"value": "legal_guardian", "label": "Legal Guardian"},
            {"value": "grandparent", "label": "Grandparent"},
            {"value": "sibling", "label": "Sibling"},
            {"value": "spouse", "label": "Spouse"},
            {"value": "caregiver", "label": "Caregiver"},
            {"value": "other", "label": "Other"},
        ]
        for path in ("guardian_relationship_types", "relationship_types"):
            response = await clinic_a.get(f"/api/v1/patients/{path}")
            assert (response.status_code, response.json()) == (200, expected_types)


class TestUpdate:
    async def create(self, client, **changes):
        return (await client.post("/api/v1/patients", json=patient(**changes))).json()

    async def test_only_sent_fields_change(self, clinic_a, db):
        created = await self.create(clinic_a, middle_name="Augusta")
        response = await clinic_a.put(
            f"/api/v1/patients/{created['id']}", json={"email": "john.doe@example.com"}
        )
        assert response.status_code == 200
        stored = await only_patient(db)
        assert response.json() == {
            **created,
            "email": "john.doe@example.com",
            "updated_at": rest_format(stored.updated_at),
        }
        assert stored.updated_at >= stored.created_at

    async def test_null_clears_an_optional_field(self, clinic_a):
        created = await self.create(clinic_a, middle_name="Augusta", ssn="123456789")
        response = await clinic_a.put(
            f"/api/v1/patients/{created['id']}", json={"middle_name": None, "ssn": None}
        )
        assert (response.json()["middle_name"], response.json()["ssn"]) == (None, None)

    @pytest.mark.parametrize("field", ["first_name", "email", "date_of_birth", "address"])
    async def test_required_field_cannot_be_cleared(self, clinic_a, db, field):
        created = await self.create(clinic_a)
        async with db.writes_nothing():
            response = await clinic_a.put(f"/api/v1/patients/{created['id']}", json={field: None})
        assert response.status_code == 422
        assert response.json() == {
            "detail": f"{field} is required and cannot be cleared.",
            "error": "RequiredFieldCleared",
        }

    async def test_becoming_a_minor_needs_a_guardian(self, clinic_a, db):
        created = await self.create(clinic_a)
        async with db.writes_nothing():
            response = await clinic_a.put(
                f"/api/v1/patients/{created['id']}", json={"date_of_birth": child_birth_date()}
            )
        assert response.status_code == 422
        assert response.json()["error"] == "MinorNeedsGuardian"

    async def test_external_id_collision_is_409(self, clinic_a, db):
        await self.create(clinic_a, external_id="taken")
        other = await self.create(clinic_a, external_id="free")
        async with db.writes_nothing():
            response = await clinic_a.put(
                f"/api/v1/patients/{other['id']}", json={"external_id": "taken"}
            )
        assert response.status_code == 409
        same = await clinic_a.put(f"/api/v1/patients/{other['id']}", json={"external_id": "free"})
        assert same.status_code == 200

    async def test_update_emits_patient_updated(self, clinic_a, db):
        created = await self.create(clinic_a)
        await clinic_a.put(f"/api/v1/patients/{created['id']}", json={"is_pregnant": True})
        codes = [event.event_code for event in await db.all(models.OutboxEvent)]
        assert sorted(codes) == ["patient.created", "patient.updated"]
        updated = [e for e in await db.all(models.OutboxEvent) if e.event_code == "patient.updated"]
        assert updated[0].data["is_pregnant"] is True

    async def test_bad_value_is_422_and_changes_nothing(self, clinic_a, db):
        created = await self.create(clinic_a)
        async with db.writes_nothing():
            response = await clinic_a.put(f"/api/v1/patients/{created['id']}", json={"phone": "12"})
        assert response.status_code == 422
        assert (await clinic_a.get(f"/api/v1/patients/{created['id']}")).json() == created


def test_date_helpers():
    from pestle.patients.schemas import age_on

    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17
    assert age_on(date(2000, 2, 29), date(2018, 3, 1)) == 18
