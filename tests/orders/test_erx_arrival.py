"""An eRx that arrives after its order: the order it names lists it, and the patient's orders
waiting for a prescription link it at once (JSON and SCRIPT XML alike)."""

import httpx

from tests.conftest import Db
from tests.orders.support import ORDERS, create_order, make_patient, make_product, ok, order_body
from tests.prescriptions.test_json import SUBMIT, make_prescriber, medication
from tests.prescriptions.test_xml_submission import NEW_RX, XML, willard


def erx_body(patient: dict, product: dict, prescriber: dict, **extra: object) -> dict:
    return {
        "medication": medication(prescription_product_id=product["id"], drug_name=None),
        "patient": {"id": patient["id"]},
        "prescriber": {"id": prescriber["id"]},
        **extra,
    }


async def test_a_later_erx_is_linked_to_the_order_it_names(clinic_a: httpx.AsyncClient) -> None:
    patient = await make_patient(clinic_a)
    product = await make_product(clinic_a)
    prescriber = await make_prescriber(clinic_a)
    order = await create_order(clinic_a, order_body(patient, product))
    assert (order["prescription_count"], order["electronic_prescription_ids"]) == (0, [])

    body = erx_body(patient, product, prescriber, order={"order_number": order["order_number"]})
    erx = ok(await clinic_a.post(SUBMIT, json=body), 201)

    got = ok(await clinic_a.get(f"{ORDERS}/{order['id']}"))
    assert got["prescription_count"] == 1
    assert got["electronic_prescription_ids"] == [erx["id"]]
    assert got["products"]["prescription"][0]["prescription_id"] == erx["prescriptions"][0]["id"]


async def test_an_erx_naming_no_order_still_links_the_patients_waiting_orders(
    clinic_a: httpx.AsyncClient,
) -> None:
    patient = await make_patient(clinic_a)
    product = await make_product(clinic_a)
    prescriber = await make_prescriber(clinic_a)
    order = await create_order(clinic_a, order_body(patient, product))
    erx = ok(await clinic_a.post(SUBMIT, json=erx_body(patient, product, prescriber)), 201)
    got = ok(await clinic_a.get(f"{ORDERS}/{order['id']}"))
    assert got["prescription_count"] == 1
    assert got["electronic_prescription_ids"] == []
    assert got["products"]["prescription"][0]["prescription_id"] == erx["prescriptions"][0]["id"]


async def test_a_script_newrx_links_the_patients_waiting_order(
    clinic_a: httpx.AsyncClient,
) -> None:
    patient = await willard(clinic_a)
    await make_prescriber(clinic_a, states=("CA",))
    product = await make_product(clinic_a, name="Mupirocin 2%", product_code="HC-MUPI2-30")
    order = await create_order(clinic_a, order_body(patient, product))
    erx = ok(await clinic_a.post(SUBMIT, content=NEW_RX, headers=XML), 201)
    got = ok(await clinic_a.get(f"{ORDERS}/{order['id']}"))
    assert got["products"]["prescription"][0]["prescription_id"] == erx["prescriptions"][0]["id"]


class TestRefused:
    async def test_an_unknown_order(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        patient = await make_patient(clinic_a)
        product = await make_product(clinic_a)
        prescriber = await make_prescriber(clinic_a)
        body = erx_body(patient, product, prescriber, order={"order_number": "ORD250312003548IAU4"})
        async with db.writes_nothing():
            response = await clinic_a.post(SUBMIT, json=body)
        assert response.status_code == 422
        assert response.json() == {
            "detail": "order.order_number: no match for ORD250312003548IAU4 in this account.",
            "error": "UnknownReference",
        }

    async def test_an_id_and_a_number_of_two_orders(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        product = await make_product(clinic_a)
        prescriber = await make_prescriber(clinic_a)
        first = await create_order(clinic_a, order_body(patient, product))
        second = await create_order(clinic_a, order_body(patient, product), force_new="true")
        named = {"id": first["id"], "order_number": second["order_number"]}
        async with db.writes_nothing():
            response = await clinic_a.post(
                SUBMIT, json=erx_body(patient, product, prescriber, order=named)
            )
        assert response.status_code == 422
        assert response.json()["detail"] == (
            f"order.order_number: no match for {second['order_number']} in this account."
        )

    async def test_another_patients_order(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        patient = await make_patient(clinic_a)
        other = await make_patient(clinic_a, external_id="OTHER-1", first_name="Bea")
        product = await make_product(clinic_a)
        prescriber = await make_prescriber(clinic_a)
        order = await create_order(clinic_a, order_body(other, product))
        body = erx_body(patient, product, prescriber, order={"id": order["id"]})
        async with db.writes_nothing():
            response = await clinic_a.post(SUBMIT, json=body)
        assert response.status_code == 422
        assert response.json() == {
            "detail": f"order.id: order {order['id']} is for another patient.",
            "error": "OrderOfAnotherPatient",
        }

    async def test_another_customers_order(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        product = await make_product(clinic_a)
        order = await create_order(clinic_a, order_body(patient, product))
        their_patient = await make_patient(clinic_b)
        their_product = await make_product(clinic_b)
        prescriber = await make_prescriber(clinic_b)
        body = erx_body(
            their_patient, their_product, prescriber, order={"order_number": order["order_number"]}
        )
        async with db.writes_nothing():
            response = await clinic_b.post(SUBMIT, json=body)
        assert response.status_code == 422
        assert response.json()["error"] == "UnknownReference"
