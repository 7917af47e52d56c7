"""POST /api/v1/prescriptions/electronic_prescriptions/composite on both engines: what each part
creates or references, where the parts fall back to the top-level ones, and that any refusal
writes nothing at all."""

import json
from typing import Any

import httpx

from pestle import models
from tests.conftest import Db
from tests.orders.support import (
    ORDERS,
    create_order,
    make_patient,
    make_product,
    ok,
    order_body,
    outbox,
)
from tests.prescriptions.test_json import NPI, PATIENT, make_prescriber, medication

COMPOSITE = "/api/v1/prescriptions/electronic_prescriptions/composite"
ERX = "/api/v1/prescriptions/electronic_prescriptions"
PRESCRIBER = {"first_name": "Willard", "last_name": "Donnelly", "npi": NPI}
UNKNOWN_ID = "0227d1e5-ba9a-42b5-8fe2-38882aa65708"


def erx_part(product: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "medication": medication(prescription_product_id=product["id"], drug_name=None),
        **extra,
    }


def order_part(product: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"products": {"prescription": [{"id": product["id"], "quantity": 1}]}, **extra}


async def composite(
    client: httpx.AsyncClient, body: dict[str, Any], status: int = 201, **params: Any
) -> Any:
    return ok(await client.post(COMPOSITE, json=body, params=params), status)


async def test_all_four_created_and_linked(clinic_a: httpx.AsyncClient, db: Db) -> None:
    product = await make_product(clinic_a)
    body = {
        "patient": PATIENT,
        "prescriber": PRESCRIBER,
        "electronic_prescription": erx_part(product),
        "order": order_part(product),
    }
    result = await composite(clinic_a, body)

    assert set(result) == {"patient", "prescriber", "electronic_prescription", "order", "summary"}
    assert all(result[part]["created"] is True for part in result if part != "summary")
    assert result["summary"] == {"entities_created": 4, "entities_referenced": 0}
    patient_id = result["patient"]["id"]
    erx = ok(await clinic_a.get(f"{ERX}/{result['electronic_prescription']['id']}"))
    # The eRx named no patient or prescriber of its own: it took the top-level ones.
    assert (erx["patient_id"], erx["prescriber_id"]) == (patient_id, result["prescriber"]["id"])
    order = ok(await clinic_a.get(f"{ORDERS}/{result['order']['id']}"))
    assert order["patient"]["id"] == patient_id
    assert order["electronic_prescription_ids"] == [erx["id"]]
    [line] = order["products"]["prescription"]
    assert line["prescription_id"] == erx["prescriptions"][0]["id"]
    assert order["prescription_count"] == 1
    [stored] = await db.all(models.ElectronicPrescription)
    assert json.loads(stored.raw_document) == body["electronic_prescription"]
    assert len(await outbox(db, "patient.created")) == 1
    assert len(await outbox(db, "prescription.created")) == 1
    assert [event["id"] for event in await outbox(db, "order.created")] == [order["id"]]


async def test_references_instead_of_new_data(clinic_a: httpx.AsyncClient, db: Db) -> None:
    product = await make_product(clinic_a)
    patient = await make_patient(clinic_a)
    prescriber = await make_prescriber(clinic_a)
    body = {
        "patient": {"external_id": PATIENT["external_id"]},
        "prescriber": {"npi": NPI},
        "electronic_prescription": erx_part(product),
        "order": order_part(product),
    }
    result = await composite(clinic_a, body)

    assert result["patient"] == {"id": patient["id"], "created": False}
    assert result["prescriber"] == {"id": prescriber["id"], "created": False}
    assert result["electronic_prescription"]["created"] is True
    assert result["order"]["created"] is True
    assert result["summary"] == {"entities_created": 2, "entities_referenced": 2}
    assert await db.count(models.Patient) == 1
    assert await db.count(models.Prescriber) == 1

    by_id = await composite(
        clinic_a,
        {"patient": {"id": patient["id"]}, "prescriber": {"id": prescriber["id"]}},
    )
    assert by_id == {
        "patient": {"id": patient["id"], "created": False},
        "prescriber": {"id": prescriber["id"], "created": False},
        "summary": {"entities_created": 0, "entities_referenced": 2},
    }


async def test_a_retry_with_the_same_idempotency_key_writes_once(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    product = await make_product(clinic_a)
    body = {"patient": PATIENT, "order": order_part(product)}
    headers = {"Idempotency-Key": "composite-1"}
    first = await clinic_a.post(COMPOSITE, json=body, headers=headers)
    again = await clinic_a.post(COMPOSITE, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert (await db.count(models.Patient), await db.count(models.Order)) == (1, 1)


async def test_only_the_parts_sent_are_answered(clinic_a: httpx.AsyncClient, db: Db) -> None:
    result = await composite(clinic_a, {"prescriber": PRESCRIBER})
    assert set(result) == {"prescriber", "summary"}
    assert result["prescriber"]["created"] is True
    assert result["summary"] == {"entities_created": 1, "entities_referenced": 0}


async def test_parts_with_their_own_patient_and_prescriber(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    product = await make_product(clinic_a)
    patient = await make_patient(clinic_a)
    prescriber = await make_prescriber(clinic_a)
    body = {
        "electronic_prescription": erx_part(
            product, patient={"id": patient["id"]}, prescriber={"id": prescriber["id"]}
        ),
        "order": order_part(product, patient_id=patient["id"]),
    }
    result = await composite(clinic_a, body)
    assert set(result) == {"electronic_prescription", "order", "summary"}
    erx = ok(await clinic_a.get(f"{ERX}/{result['electronic_prescription']['id']}"))
    assert (erx["patient_id"], erx["prescriber_id"]) == (patient["id"], prescriber["id"])
    order = ok(await clinic_a.get(f"{ORDERS}/{result['order']['id']}"))
    assert order["patient"]["id"] == patient["id"]
    assert order["products"]["prescription"][0]["prescription_id"] == erx["prescriptions"][0]["id"]


async def test_order_merges_into_the_open_order(clinic_a: httpx.AsyncClient, db: Db) -> None:
    product = await make_product(clinic_a)
    patient = await make_patient(clinic_a)
    existing = await create_order(clinic_a, order_body(patient, product))
    body = {
        "patient": {"id": patient["id"]},
        "prescriber": PRESCRIBER,
        "electronic_prescription": erx_part(product),
        "order": order_part(product),
    }
    result = await composite(clinic_a, body)

    assert result["order"] == {"id": existing["id"], "created": False}
    assert result["summary"] == {"entities_created": 2, "entities_referenced": 2}
    assert await db.count(models.Order) == 1
    merged = ok(await clinic_a.get(f"{ORDERS}/{existing['id']}"))
    assert len(merged["products"]["prescription"]) == 2
    assert merged["electronic_prescription_ids"] == [result["electronic_prescription"]["id"]]
    assert len(await outbox(db, "order.updated")) == 1


async def test_force_new_creates_a_second_order(clinic_a: httpx.AsyncClient, db: Db) -> None:
    product = await make_product(clinic_a)
    patient = await make_patient(clinic_a)
    existing = await create_order(clinic_a, order_body(patient, product))
    body = {"patient": {"id": patient["id"]}, "order": order_part(product)}
    result = await composite(clinic_a, body, force_new="true")

    assert result["order"]["created"] is True
    assert result["order"]["id"] != existing["id"]
    assert result["summary"] == {"entities_created": 1, "entities_referenced": 1}
    assert await db.count(models.Order) == 2


async def test_bad_product_after_new_patient_and_prescriber_writes_nothing(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    product = await make_product(clinic_a)
    body = {
        "patient": PATIENT,
        "prescriber": PRESCRIBER,
        "electronic_prescription": erx_part(product),
        "order": {"products": {"prescription": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}},
    }
    async with db.writes_nothing():
        response = await clinic_a.post(COMPOSITE, json=body)
    assert response.status_code == 422
    assert response.json() == {
        "detail": "order.products.prescription[0].sku: no match for NO-SUCH-SKU in this account.",
        "error": "UnknownReference",
    }
    assert await outbox(db, "patient.created") == []


async def test_bad_prescriber_reference_writes_nothing(clinic_a: httpx.AsyncClient, db: Db) -> None:
    product = await make_product(clinic_a)
    body = {
        "patient": PATIENT,
        "prescriber": {"npi": NPI},
        "electronic_prescription": erx_part(product),
        "order": order_part(product),
    }
    async with db.writes_nothing():
        response = await clinic_a.post(COMPOSITE, json=body)
    assert response.status_code == 422
    assert response.json() == {
        "detail": f"prescriber.npi: no match for {NPI} in this account.",
        "error": "UnknownReference",
    }


async def test_invalid_electronic_prescription_writes_nothing(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    product = await make_product(clinic_a)
    bad = erx_part(product)
    bad["medication"]["expires_at"] = "2000-01-01T00:00:00"
    body = {"patient": PATIENT, "prescriber": PRESCRIBER, "electronic_prescription": bad}
    async with db.writes_nothing():
        response = await clinic_a.post(COMPOSITE, json=body)
    assert response.status_code == 422
    assert response.json() == {
        "detail": "electronic_prescription.medication: expires_at must be after written_at.",
        "error": "ExpiresBeforeWritten",
    }

    unknown_product = erx_part(product)
    unknown_product["medication"]["prescription_product_id"] = UNKNOWN_ID
    body["electronic_prescription"] = unknown_product
    async with db.writes_nothing():
        response = await clinic_a.post(COMPOSITE, json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"electronic_prescription.medication.prescription_product_id: "
        f"no match for {UNKNOWN_ID} in this account."
    )

    # Refused by the schema before anything runs: no medication at all.
    body["electronic_prescription"] = {"patient": {"id": UNKNOWN_ID}}
    async with db.writes_nothing():
        response = await clinic_a.post(COMPOSITE, json=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "electronic_prescription"]


async def test_an_order_needs_a_patient_somewhere(clinic_a: httpx.AsyncClient, db: Db) -> None:
    product = await make_product(clinic_a)
    async with db.writes_nothing():
        response = await clinic_a.post(
            COMPOSITE, json={"prescriber": PRESCRIBER, "order": order_part(product)}
        )
        empty = await clinic_a.post(COMPOSITE, json={})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert "top-level patient" in error["msg"]
    assert empty.status_code == 422


async def test_staff_are_refused(pharmacist: httpx.AsyncClient, db: Db) -> None:
    async with db.writes_nothing():
        response = await pharmacist.post(COMPOSITE, json={"prescriber": PRESCRIBER})
    assert response.status_code == 403
    assert response.json()["error"] == "CompositeBelongsToCustomers"


async def test_another_customers_rows_are_unknown(
    clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
) -> None:
    product = await make_product(clinic_a)
    patient = await make_patient(clinic_a)
    prescriber = await make_prescriber(clinic_a)
    own_product = await make_product(clinic_b)
    unknown = "no match for {} in this account."
    cases = [
        ({"patient": {"id": patient["id"]}}, 422, f"patient.id: {unknown}", patient["id"]),
        (
            {"patient": {"external_id": PATIENT["external_id"]}},
            422,
            f"patient.external_id: {unknown}",
            PATIENT["external_id"],
        ),
        (
            {"prescriber": {"id": prescriber["id"]}},
            422,
            f"prescriber.id: {unknown}",
            prescriber["id"],
        ),
        ({"prescriber": {"npi": NPI}}, 422, f"prescriber.npi: {unknown}", NPI),
        (
            {"patient": PATIENT, "electronic_prescription": erx_part(product)},
            422,
            f"electronic_prescription.medication.prescription_product_id: {unknown}",
            product["id"],
        ),
        (
            {"patient": PATIENT, "order": order_part(product)},
            422,
            f"order.products.prescription[0].id: {unknown}",
            product["id"],
        ),
        # The order's own patient_id keeps POST /orders' answer for an unknown patient_id.
        (
            {"patient": PATIENT, "order": order_part(own_product, patient_id=patient["id"])},
            404,
            "order.patient_id: no patient {}.",
            patient["id"],
        ),
    ]
    for body, status, message, value in cases:
        async with db.writes_nothing():
            response = await clinic_b.post(COMPOSITE, json=body)
        assert response.status_code == status, response.text
        assert response.json()["detail"] == message.format(value)


async def test_an_order_and_an_erx_of_different_patients_are_refused(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    product = await make_product(clinic_a)
    other = await make_patient(clinic_a, external_id="OTHER", email="other@example.com")
    body = {
        "patient": PATIENT,
        "prescriber": PRESCRIBER,
        "electronic_prescription": erx_part(product, patient={"id": other["id"]}),
        "order": order_part(product),
    }
    async with db.writes_nothing():
        response = await clinic_a.post(COMPOSITE, json=body)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ErxOfAnotherPatient"
    assert body["detail"].startswith("order.electronic_prescription_ids[0]: e-prescription ")


async def test_the_schema_declares_the_errors_and_the_examples(
    anon: httpx.AsyncClient,
) -> None:
    operation = ok(await anon.get("/openapi.json"))["paths"][COMPOSITE]["post"]
    assert set(operation["responses"]) == {"201", "403", "404", "409", "422"}
    assert operation["responses"]["422"]["description"].startswith(
        "ValidationError, UnknownReference, "
    )
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert set(examples) == {"all_new", "references", "own_parts"}
    assert [parameter["name"] for parameter in operation["parameters"]] == ["force_new"]
