"""NCPDP SCRIPT XML on the eRx endpoint: NewRx creates, CancelRx cancels, hostile XML harms
nothing. The parser itself is tested in test_script_xml.py."""

from pathlib import Path

import httpx

from pestle import models
from tests.conftest import Db
from tests.prescriptions.test_json import (
    API,
    SUBMIT,
    WRITTEN_AT,
    make_patient,
    make_prescriber,
    make_product,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
XML = {"Content-Type": "application/xml"}
# The fixtures were written on 2025-04-25; moved to a recent day so that they have not expired.
NEW_RX = (FIXTURES / "newrx_2017071.xml").read_text().replace("2025-04-25", WRITTEN_AT[:10])
CANCEL_RX = (FIXTURES / "cancelrx_2017071.xml").read_text()
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Message xmlns="http://www.ncpdp.org/schema/SCRIPT"><Header>&lol3;</Header></Message>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Message xmlns="http://www.ncpdp.org/schema/SCRIPT"><Header>&xxe;</Header></Message>"""


async def willard(client: httpx.AsyncClient) -> dict[str, str]:
    """The fixture's patient (Willard Donnelly, 1990-01-01, CA) in the caller's account."""
    address = {"address_1": "1450 Mission St", "city": "San Francisco", "state": "CA"}
    patient = await make_patient(
        client,
        first_name="Willard",
        last_name="Donnelly",
        date_of_birth="1990-01-01",
        external_id=None,
        address={**address, "zip_code": "94103"},
    )
    return patient


class TestNewRx:
    async def test_matched_newrx_is_active(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        patient = await willard(clinic_a)
        prescriber = await make_prescriber(clinic_a, states=("CA",))
        product = await make_product(clinic_a, name="Mupirocin 2%", code="HC-MUPI2-30")
        response = await clinic_a.post(SUBMIT, content=NEW_RX, headers=XML)
        assert response.status_code == 201, response.text
        erx = response.json()
        assert (erx["source"], erx["type"], erx["content_type"]) == (
            "surescripts",
            "NewRx",
            "application/xml",
        )
        assert erx["reference_number"] == "f2a1c9d04e3b4b6a9d1e2c3b4a596870"
        assert erx["patient"]["last_name"] == "Donnelly"
        [rx] = erx["medications"]
        assert rx["patient_id"] == patient["id"]
        assert rx["prescriber_id"] == prescriber["id"]
        assert rx["prescription_product_id"] == product["id"]
        assert (rx["status"], rx["refills"], rx["fills_remaining"]) == ("active", 2, 3)
        assert (rx["quantity"], rx["units"], rx["days_supply"]) == (30, "Gram", 30)
        assert rx["prescriber_order_number"] == "NW-ORD-2025-000417"
        assert rx["written_at"] == WRITTEN_AT
        [row] = await db.all(models.ElectronicPrescription)
        assert row.raw_document == NEW_RX
        assert await db.count(models.OutboxEvent, event_code="prescription.created") == 1

    async def test_unmatched_newrx_stays_null(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.post(
            "/api/v1/electronic_prescriptions", content=NEW_RX, headers=XML
        )
        assert response.status_code == 201, response.text
        [rx] = response.json()["medications"]
        assert (rx["patient_id"], rx["prescriber_id"], rx["prescription_product_id"]) == (
            None,
            None,
            None,
        )
        assert rx["status"] == "new"
        listed = (await clinic_a.get(API, params={"patient_id": "null"})).json()
        assert [item["id"] for item in listed] == [rx["id"]]

    async def test_another_customers_patient_is_not_matched(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient
    ) -> None:
        await willard(clinic_b)
        response = await clinic_a.post(SUBMIT, content=NEW_RX, headers=XML)
        assert response.json()["medications"][0]["patient_id"] is None

    async def test_two_patients_with_the_name_and_birth_date_match_neither(
        self, clinic_a: httpx.AsyncClient
    ) -> None:
        await willard(clinic_a)
        await willard(clinic_a)
        response = await clinic_a.post(SUBMIT, content=NEW_RX, headers=XML)
        assert response.json()["medications"][0]["patient_id"] is None


class TestCancelRx:
    async def test_cancelrx_cancels_by_prescriber_order_number(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        created = (await clinic_a.post(SUBMIT, content=NEW_RX, headers=XML)).json()
        response = await clinic_a.post(SUBMIT, content=CANCEL_RX, headers=XML)
        assert response.status_code == 201, response.text
        cancel = response.json()
        assert cancel["type"] == "CancelRx"
        [rx] = cancel["medications"]
        assert rx["id"] == created["medications"][0]["id"]
        assert rx["status"] == "cancelled"
        [event] = await db.all(models.OutboxEvent, event_code="prescription.cancelled")
        assert event.data["id"] == rx["id"]
        again = await clinic_a.post(SUBMIT, content=CANCEL_RX, headers=XML)
        assert again.status_code == 409
        assert again.json()["error"] == "PrescriptionAlreadyCancelled"

    async def test_cancelrx_for_nothing_is_404_and_writes_nothing(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        await clinic_a.get(API)
        async with db.writes_nothing():
            response = await clinic_a.post(SUBMIT, content=CANCEL_RX, headers=XML)
        assert response.status_code == 404
        assert response.json() == {
            "error": "PrescriptionNotFound",
            "detail": "No prescription NW-ORD-2025-000417.",
        }


class TestHostile:
    async def test_refused_without_harm(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        await clinic_a.get(API)
        big = "<Message>" + "<a>x</a>" * (5 * 1024 * 1024 // 8) + "</Message>"
        async with db.writes_nothing():
            for document, status in (
                (BILLION_LAUGHS, 400),
                (EXTERNAL_ENTITY, 400),
                ("<NotScript/>", 400),
                ("not xml at all", 400),
                (big, 413),
            ):
                response = await clinic_a.post(SUBMIT, content=document, headers=XML)
                assert response.status_code == status, (document[:40], response.text)
        assert "passwd" not in response.text

    async def test_openapi_documents_both_bodies(self, clinic_a: httpx.AsyncClient) -> None:
        paths = (await clinic_a.get("/openapi.json")).json()["paths"]
        content = paths[SUBMIT]["post"]["requestBody"]["content"]
        assert set(content) == {"application/json", "application/xml"}
