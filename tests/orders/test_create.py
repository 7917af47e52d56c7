"""POST /api/v1/orders: patients, products, merging, shipping, eRx hints and refusals."""

from typing import Any

import httpx
import pytest

from pestle import models
from tests.conftest import Db
from tests.orders.customer_support import (
    ORDER_NUMBER,
    WEBHOOK_INSTANT,
    catalogue,
    force_status,
    one_of_each,
    order_url,
    refused,
)
from tests.orders.support import (
    ADDRESS,
    ORDERS,
    create_order,
    make_patient,
    make_product,
    ok,
    order_body,
    outbox,
    prescribe,
    staff,
)
from tests.prescriptions.test_json import PATIENT, make_prescriber

PATIENT_ADDRESS = {**PATIENT["address"], "address_2": None, "country": "US"}


def lines(order: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """Each kind's lines as (product id, quantity)."""
    return {
        kind: [(line["id"], line["quantity"]) for line in found]
        for kind, found in order["products"].items()
    }


class TestCreate:
    async def test_by_patient_id_with_one_product_of_each_kind(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        body = {"patient_id": patient["id"], "products": one_of_each(products, 2)}
        order = await create_order(clinic_a, body)

        assert order["status_code"] == "N01"
        assert order["status_name"] == order["status"] == "Received"
        assert order["patient"]["id"] == patient["id"]
        [customer] = await db.all(models.Customer, name="Clinic A")
        assert order["customer_id"] == str(customer.id)
        assert order["external_id"] is None
        assert lines(order) == {kind: [(p["id"], 2)] for kind, p in products.items()}
        for kind, product in products.items():
            [line] = order["products"][kind]
            assert line["sku"] == product["sku"]
            assert line["name"] == product["name"]
            assert line["prescription_id"] is None
            assert line["lots"] == []
        assert order["prescription_count"] == 0
        # No address sent: the patient's.
        address = dict(order["address"])
        assert address.pop("type") == "shipping"
        assert address.pop("id")
        assert address == PATIENT_ADDRESS
        assert order["shipping"] is None
        assert order["custom_shipping"] is None
        assert order["cancellation_requested"] is False
        assert order["electronic_prescription_ids"] == []
        assert ok(await clinic_a.get(order_url(order))) == order

    async def test_order_number_is_ord_creation_time_and_four_characters(
        self, clinic_a: httpx.AsyncClient
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        body = {"patient_id": patient["id"], "products": one_of_each(products)}
        numbers = set()
        for _ in range(3):
            order = await create_order(clinic_a, body, force_new="true")
            assert ORDER_NUMBER.fullmatch(order["order_number"]), order["order_number"]
            created = order["created_at"]  # 2025-03-16T22:55:37Z
            stamp = created[2:4] + created[5:7] + created[8:10] + created[11:13] + created[14:16]
            assert order["order_number"][3:15] == stamp + created[17:19]
            numbers.add(order["order_number"])
        assert len(numbers) == 3

    async def test_order_created_event_is_the_contracts_summary(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        order = await create_order(
            clinic_a, {"patient_id": patient["id"], "products": one_of_each(products)}
        )
        [event] = await outbox(db, "order.created")
        assert set(event) == {
            "id",
            "created_at",
            "updated_at",
            "url",
            "order_number",
            "last_name",
            "first_name",
            "status_name",
            "status_code",
        }
        assert WEBHOOK_INSTANT.fullmatch(event.pop("created_at"))
        assert WEBHOOK_INSTANT.fullmatch(event.pop("updated_at"))
        assert event == {
            "id": order["id"],
            "url": f"http://127.0.0.1:8000/orders/{order['id']}",
            "order_number": order["order_number"],
            "last_name": "Lovelace",
            "first_name": "Ada",
            "status_name": "Received",
            "status_code": "N01",
        }
        [change] = await db.all(models.OrderStatusChange)
        assert (change.status_code, change.previous_status_code) == ("N01", None)

    async def test_inline_new_patient_is_created(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        products = await catalogue(clinic_a)
        patient = {**PATIENT, "external_id": "NEW-1", "first_name": "Grace"}
        order = await create_order(
            clinic_a, {"patient": patient, "products": one_of_each(products)}
        )
        [stored] = await db.all(models.Patient)
        assert str(stored.id) == order["patient"]["id"]
        assert (stored.first_name, stored.external_id) == ("Grace", "NEW-1")
        [created] = await outbox(db, "patient.created")
        assert created["id"] == order["patient"]["id"]
        assert created["first_name"] == "Grace"

    @pytest.mark.parametrize("field", ["id", "external_id"])
    async def test_patient_by_reference(
        self, clinic_a: httpx.AsyncClient, db: Db, field: str
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        order = await create_order(
            clinic_a, {"patient": {field: patient[field]}, "products": one_of_each(products)}
        )
        assert order["patient"]["id"] == patient["id"]
        assert await db.count(models.Patient) == 1
        # Only the POST /patients that made it announced a patient.
        assert len(await outbox(db, "patient.created")) == 1

    @pytest.mark.parametrize("reference", ["id", "sku", "product_code"])
    async def test_prescription_product_reference(
        self, clinic_a: httpx.AsyncClient, reference: str
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        product = products["prescription"]
        body = {
            "patient_id": patient["id"],
            "products": {"prescription": [{reference: product[reference], "quantity": 3}]},
        }
        order = await create_order(clinic_a, body)
        assert lines(order)["prescription"] == [(product["id"], 3)]

    @pytest.mark.parametrize("kind", ["non_prescription", "order_material"])
    @pytest.mark.parametrize("reference", ["id", "sku"])
    async def test_other_product_references(
        self, clinic_a: httpx.AsyncClient, kind: str, reference: str
    ) -> None:
        patient = await make_patient(clinic_a)
        product = (await catalogue(clinic_a))[kind]
        body = {
            "patient_id": patient["id"],
            "products": {kind: [{reference: product[reference], "quantity": 4}]},
        }
        order = await create_order(clinic_a, body)
        assert lines(order)[kind] == [(product["id"], 4)]

    async def test_pharmacy_wide_order_material(
        self, server: str, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        async with staff(server, db, "pharmacy_admin") as admin:
            insert = await make_product(
                admin, "order_material", name="Pharmacy insert", sku="INSERT-1", is_global=True
            )
        patient = await make_patient(clinic_a)
        body = {"patient_id": patient["id"], "products": {"order_material": [{"sku": "INSERT-1"}]}}
        order = await create_order(clinic_a, body)
        assert lines(order)["order_material"] == [(insert["id"], 1)]
        assert order["products"]["order_material"][0]["is_global"] is True

    async def test_address_sent_is_the_ship_to(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        order = await create_order(
            clinic_a,
            {"patient_id": patient["id"], "address": ADDRESS, "products": one_of_each(products)},
        )
        address = dict(order["address"])
        del address["id"], address["type"]
        assert address == ADDRESS
        # The patient's own address is untouched.
        got = ok(await clinic_a.get(f"/api/v1/patients/{patient['id']}"))
        assert got["address"] == patient["address"]

    async def test_external_id_and_priority(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        body = {
            "patient_id": patient["id"],
            "external_id": "my-system-128318AA2",
            "priority_requested": True,
            "products": one_of_each(products),
        }
        order = await create_order(clinic_a, body)
        assert order["external_id"] == "my-system-128318AA2"
        assert order["priority_requested"] is True


class TestMerge:
    async def _first(
        self, client: httpx.AsyncClient, **extra: Any
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        patient = await make_patient(client)
        products = await catalogue(client)
        body = {"patient_id": patient["id"], "products": one_of_each(products), **extra}
        return patient, products, await create_order(client, body)

    async def test_second_request_merges_into_the_open_order(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient, products, first = await self._first(clinic_a)
        rx = products["prescription"]
        body = {"patient_id": patient["id"], "products": {"prescription": [{"id": rx["id"]}]}}
        merged = await create_order(clinic_a, body, 200)
        assert merged["id"] == first["id"]
        assert merged["order_number"] == first["order_number"]
        assert lines(merged)["prescription"] == [(rx["id"], 1), (rx["id"], 1)]
        assert await db.count(models.Order) == 1
        assert len(await outbox(db, "order.created")) == 1
        [updated] = await outbox(db, "order.updated")
        assert updated["id"] == first["id"]

    async def test_merge_fills_what_the_open_order_lacks(self, clinic_a: httpx.AsyncClient) -> None:
        patient, products, first = await self._first(clinic_a)
        body = {
            "patient_id": patient["id"],
            "external_id": "EXT-2",
            "shipping": {"service_level": "usps_priority_mail"},
            "products": {"order_material": [{"sku": "DEC_AD_001", "quantity": 2}]},
        }
        merged = await create_order(clinic_a, body, 200)
        assert merged["id"] == first["id"]
        assert merged["external_id"] == "EXT-2"
        assert merged["shipping"] == {"carrier": "usps", "service_level": "usps_priority_mail"}
        assert lines(merged)["order_material"] == [
            (products["order_material"]["id"], 1),
            (products["order_material"]["id"], 2),
        ]

    async def test_retried_merge_with_an_idempotency_key_merges_once(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient, _, first = await self._first(clinic_a)
        body = {
            "patient_id": patient["id"],
            "products": {"order_material": [{"sku": "DEC_AD_001"}]},
        }
        headers = {"Idempotency-Key": "merge-1"}
        merged = ok(await clinic_a.post(ORDERS, json=body, headers=headers), 200)
        assert merged["id"] == first["id"]
        async with db.writes_nothing():
            again = await clinic_a.post(ORDERS, json=body, headers=headers)
        assert ok(again, 200) == merged
        assert await db.count(models.OrderLine) == 4
        assert len(await outbox(db, "order.updated")) == 1

    async def test_force_new_always_creates(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        patient, products, first = await self._first(clinic_a)
        body = {"patient_id": patient["id"], "products": one_of_each(products)}
        second = await create_order(clinic_a, body, 201, force_new="true")
        assert second["id"] != first["id"]
        assert await db.count(models.Order) == 2
        assert len(await outbox(db, "order.created")) == 2

    async def test_paused_order_is_not_merged(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        patient, products, first = await self._first(clinic_a)
        ok(await clinic_a.put(order_url(first, "pause")))
        body = {"patient_id": patient["id"], "products": one_of_each(products)}
        second = await create_order(clinic_a, body, 201)
        assert second["id"] != first["id"]

    async def test_order_in_the_pharmacy_is_not_merged(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient, products, first = await self._first(clinic_a)
        await force_status(db, first, "P01")
        body = {"patient_id": patient["id"], "products": one_of_each(products)}
        assert (await create_order(clinic_a, body, 201))["id"] != first["id"]

    async def test_different_address_makes_a_new_order(self, clinic_a: httpx.AsyncClient) -> None:
        patient, products, first = await self._first(clinic_a)
        body = {"patient_id": patient["id"], "address": ADDRESS, "products": one_of_each(products)}
        second = await create_order(clinic_a, body, 201)
        assert second["id"] != first["id"]
        # The same address as the open order's, sent explicitly, merges.
        body["address"] = PATIENT["address"]
        assert (await create_order(clinic_a, body, 200))["id"] == first["id"]

    async def test_other_patient_makes_a_new_order(self, clinic_a: httpx.AsyncClient) -> None:
        _, products, first = await self._first(clinic_a)
        other = await make_patient(clinic_a, external_id="OTHER")
        body = {"patient_id": other["id"], "products": one_of_each(products)}
        assert (await create_order(clinic_a, body, 201))["id"] != first["id"]

    @pytest.mark.parametrize(
        ("first_extra", "second_extra"),
        [
            ({"external_id": "EXT-1"}, {"external_id": "EXT-2"}),
            ({"shipping": {"carrier": "usps"}}, {"shipping": {"carrier": "ups"}}),
            (
                {"shipping": {"service_level": "ground"}},
                {"shipping": {"service_level": "two_day"}},
            ),
            (
                {
                    "custom_shipping": {
                        "label_url": "https://example.com/1.pdf",
                        "tracking_number": "T1",
                        "tracking_url": "https://example.com/t/1",
                        "carrier": "UPS",
                    }
                },
                {
                    "custom_shipping": {
                        "label_url": "https://example.com/2.pdf",
                        "tracking_number": "T2",
                        "tracking_url": "https://example.com/t/2",
                        "carrier": "UPS",
                    }
                },
            ),
        ],
    )
    async def test_conflicting_request_makes_a_new_order(
        self,
        clinic_a: httpx.AsyncClient,
        first_extra: dict[str, Any],
        second_extra: dict[str, Any],
    ) -> None:
        patient, products, first = await self._first(clinic_a, **first_extra)
        body = {"patient_id": patient["id"], "products": one_of_each(products), **second_extra}
        second = await create_order(clinic_a, body, 201)
        assert second["id"] != first["id"]


class TestShipping:
    async def _create(
        self, client: httpx.AsyncClient, status: int = 201, **extra: Any
    ) -> httpx.Response:
        patient = await make_patient(client)
        products = await catalogue(client)
        body = {"patient_id": patient["id"], "products": one_of_each(products), **extra}
        response = await client.post(ORDERS, json=body)
        assert response.status_code == status, response.text
        return response

    @pytest.mark.parametrize(
        ("sent", "stored"),
        [
            (
                {"carrier": "usps", "service_level": "usps_ground_advantage"},
                {"carrier": "usps", "service_level": "usps_ground_advantage"},
            ),
            (
                {"service_level": "ups_2nd_day_air"},
                {"carrier": "ups", "service_level": "ups_2nd_day_air"},
            ),
            ({"service_level": "two_day"}, {"carrier": None, "service_level": "two_day"}),
            ({"carrier": "FedEx"}, {"carrier": "fedex", "service_level": None}),
            (
                {"carrier": "fedex", "service_level": "next_day"},
                {"carrier": "fedex", "service_level": "next_day"},
            ),
        ],
    )
    async def test_accepted(
        self, clinic_a: httpx.AsyncClient, sent: dict[str, str], stored: dict[str, Any]
    ) -> None:
        order = (await self._create(clinic_a, shipping=sent)).json()
        assert order["shipping"] == stored

    @pytest.mark.parametrize(
        ("sent", "error", "detail"),
        [
            (
                {"carrier": "dhl"},
                "UnknownCarrier",
                "shipping.carrier: unknown carrier 'dhl'; one of usps, ups, fedex.",
            ),
            (
                {"service_level": "usps_teleport"},
                "UnknownServiceLevel",
                "shipping.service_level: unknown service level 'usps_teleport'; "
                "see GET /api/v1/orders/shipping_options.",
            ),
            (
                {"carrier": "ups", "service_level": "usps_ground_advantage"},
                "CarrierServiceMismatch",
                "shipping: service level 'usps_ground_advantage' is not offered by carrier 'ups'.",
            ),
            (
                {},
                "ShippingChoiceEmpty",
                "shipping: give a carrier, a service level or both.",
            ),
        ],
    )
    async def test_refused(
        self,
        clinic_a: httpx.AsyncClient,
        db: Db,
        sent: dict[str, str],
        error: str,
        detail: str,
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        body = {"patient_id": patient["id"], "products": one_of_each(products), "shipping": sent}
        async with db.writes_nothing():
            await refused(await clinic_a.post(ORDERS, json=body), 422, error, detail)

    async def test_custom_shipping(self, clinic_a: httpx.AsyncClient) -> None:
        custom = {
            "label_url": "https://example.com/label.pdf",
            "tracking_number": "TEST123456",
            "tracking_url": "https://example.com/track/TEST123456",
            "carrier": "UPS",
        }
        order = (await self._create(clinic_a, custom_shipping=custom)).json()
        assert order["custom_shipping"] == custom

    @pytest.mark.parametrize("missing", ["label_url", "tracking_number", "tracking_url", "carrier"])
    async def test_custom_shipping_needs_all_four(
        self, clinic_a: httpx.AsyncClient, db: Db, missing: str
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        custom = {
            "label_url": "https://example.com/label.pdf",
            "tracking_number": "TEST123456",
            "tracking_url": "https://example.com/track/TEST123456",
            "carrier": "UPS",
        }
        del custom[missing]
        body = {
            "patient_id": patient["id"],
            "products": one_of_each(products),
            "custom_shipping": custom,
        }
        async with db.writes_nothing():
            [error] = await refused(await clinic_a.post(ORDERS, json=body), 422, "ValidationError")
        assert error["loc"] == ["body", "custom_shipping", missing]
        assert error["type"] == "missing"


class TestPrescriptions:
    async def test_usable_prescription_is_linked(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        erx = await prescribe(clinic_a, patient, products["prescription"])
        [rx] = erx["prescriptions"]
        order = await create_order(clinic_a, order_body(patient, products["prescription"]))
        [line] = order["products"]["prescription"]
        assert line["prescription_id"] == rx["id"]
        assert order["prescription_count"] == 1

    async def test_other_patients_prescription_is_not_linked(
        self, clinic_a: httpx.AsyncClient
    ) -> None:
        patient = await make_patient(clinic_a)
        other = await make_patient(clinic_a, external_id="OTHER", first_name="Grace")
        products = await catalogue(clinic_a)
        await prescribe(clinic_a, other, products["prescription"])
        order = await create_order(clinic_a, order_body(patient, products["prescription"]))
        [line] = order["products"]["prescription"]
        assert line["prescription_id"] is None
        assert order["prescription_count"] == 0

    async def test_one_prescription_links_one_line(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        erx = await prescribe(clinic_a, patient, products["prescription"])
        rx = products["prescription"]
        order = await create_order(clinic_a, order_body(patient, rx, rx))
        assert [line["prescription_id"] for line in order["products"]["prescription"]] == [
            erx["prescriptions"][0]["id"],
            None,
        ]
        assert order["prescription_count"] == 1

    async def test_soonest_expiry_first_unless_an_erx_is_named(
        self, clinic_a: httpx.AsyncClient
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        rx = products["prescription"]
        prescriber = await make_prescriber(clinic_a)
        later = await prescribe(clinic_a, patient, rx, prescriber, expires_at="2099-06-01T00:00:00")
        sooner = await prescribe(
            clinic_a, patient, rx, prescriber, expires_at="2098-06-01T00:00:00"
        )
        first = await create_order(clinic_a, order_body(patient, rx))
        assert (
            first["products"]["prescription"][0]["prescription_id"]
            == (sooner["prescriptions"][0]["id"])
        )
        body = order_body(patient, rx, electronic_prescription_ids=[later["id"]])
        named = await create_order(clinic_a, body, force_new="true")
        assert (
            named["products"]["prescription"][0]["prescription_id"]
            == (later["prescriptions"][0]["id"])
        )

    async def test_electronic_prescription_ids_any_case(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        erx = await prescribe(clinic_a, patient, products["prescription"])
        body = order_body(
            patient, products["prescription"], electronic_prescription_ids=[erx["id"].upper()]
        )
        order = await create_order(clinic_a, body)
        assert order["electronic_prescription_ids"] == [erx["id"]]
        assert order["prescription_count"] == 1

    async def test_electronic_prescription_of_another_patient(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        other = await make_patient(clinic_a, external_id="OTHER", first_name="Grace")
        products = await catalogue(clinic_a)
        theirs = await prescribe(clinic_a, other, products["prescription"])
        body = order_body(
            patient, products["prescription"], electronic_prescription_ids=[theirs["id"]]
        )
        async with db.writes_nothing():
            await refused(
                await clinic_a.post(ORDERS, json=body),
                422,
                "ErxOfAnotherPatient",
                f"electronic_prescription_ids[0]: e-prescription {theirs['id']} "
                "is for another patient.",
            )
        # An inline new patient cannot be the patient of an existing eRx either.
        del body["patient_id"]
        body["patient"] = {**PATIENT, "external_id": "NEW"}
        async with db.writes_nothing():
            await refused(await clinic_a.post(ORDERS, json=body), 422, "ErxOfAnotherPatient")

    async def test_unknown_electronic_prescription_id(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        products = await catalogue(clinic_a)
        theirs = await prescribe(
            clinic_b, await make_patient(clinic_b), await make_product(clinic_b)
        )
        for erx_id in ("0227d1e5-ba9a-42b5-8fe2-38882aa65708", theirs["id"]):
            body = order_body(
                patient, products["prescription"], electronic_prescription_ids=[erx_id]
            )
            async with db.writes_nothing():
                await refused(
                    await clinic_a.post(ORDERS, json=body),
                    422,
                    "UnknownReference",
                    f"electronic_prescription_ids[0]: no match for {erx_id} in this account.",
                )


class TestRefused:
    async def _body(self, client: httpx.AsyncClient) -> dict[str, Any]:
        patient = await make_patient(client)
        products = await catalogue(client)
        return {"patient_id": patient["id"], "products": one_of_each(products)}

    async def test_both_or_neither_patient(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        body = await self._body(clinic_a)
        both = {**body, "patient": {"external_id": PATIENT["external_id"]}}
        neither = {"products": body["products"]}
        for sent in (both, neither):
            async with db.writes_nothing():
                [error] = await refused(
                    await clinic_a.post(ORDERS, json=sent), 422, "ValidationError"
                )
            assert error["msg"] == "Value error, send exactly one of patient_id or patient"

    async def test_no_products(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        body = await self._body(clinic_a)
        body["products"] = {"prescription": []}
        async with db.writes_nothing():
            [error] = await refused(await clinic_a.post(ORDERS, json=body), 422, "ValidationError")
        assert error["msg"] == ("Value error, products: an order needs at least one product line")

    async def test_unknown_patient_id(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        body = await self._body(clinic_a)
        theirs = await make_patient(clinic_b)
        for patient_id in ("0227d1e5-ba9a-42b5-8fe2-38882aa65708", theirs["id"]):
            async with db.writes_nothing():
                await refused(
                    await clinic_a.post(ORDERS, json={**body, "patient_id": patient_id}),
                    404,
                    "PatientIdNotFound",
                    f"patient_id: no patient {patient_id}.",
                )

    async def test_unknown_patient_reference(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        body = await self._body(clinic_a)
        del body["patient_id"]
        body["patient"] = {"external_id": "NOBODY"}
        async with db.writes_nothing():
            await refused(
                await clinic_a.post(ORDERS, json=body),
                422,
                "UnknownReference",
                "patient.external_id: no match for NOBODY in this account.",
            )

    @pytest.mark.parametrize(
        ("kind", "reference"),
        [
            ("prescription", "sku"),
            ("prescription", "product_code"),
            ("prescription", "id"),
            ("non_prescription", "sku"),
            ("order_material", "id"),
        ],
    )
    async def test_unknown_product(
        self, clinic_a: httpx.AsyncClient, db: Db, kind: str, reference: str
    ) -> None:
        body = await self._body(clinic_a)
        value = "0227d1e5-ba9a-42b5-8fe2-38882aa65708" if reference == "id" else "NOPE"
        body["products"][kind].append({reference: value, "quantity": 1})
        async with db.writes_nothing():
            await refused(
                await clinic_a.post(ORDERS, json=body),
                422,
                "UnknownReference",
                f"products.{kind}[1].{reference}: no match for {value} in this account.",
            )

    async def test_product_of_the_wrong_kind(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        body = await self._body(clinic_a)
        body["products"]["non_prescription"] = [{"sku": "RX-1"}]
        async with db.writes_nothing():
            await refused(
                await clinic_a.post(ORDERS, json=body),
                422,
                "UnknownReference",
                "products.non_prescription[0].sku: no match for RX-1 in this account.",
            )

    async def test_other_customers_product(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        body = await self._body(clinic_a)
        theirs = await make_product(clinic_b, sku="B-ONLY", product_code="B-CODE")
        body["products"]["prescription"] = [{"id": theirs["id"]}]
        async with db.writes_nothing():
            await refused(await clinic_a.post(ORDERS, json=body), 422, "UnknownReference")

    async def test_inactive_product(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        body = await self._body(clinic_a)
        retired = await make_product(
            clinic_a, "non_prescription", name="Old", sku="OLD", is_active=False
        )
        body["products"]["non_prescription"] = [{"sku": "OLD"}]
        async with db.writes_nothing():
            await refused(
                await clinic_a.post(ORDERS, json=body),
                422,
                "InactiveProduct",
                f"products.non_prescription[0]: product {retired['id']} (Old) is not active.",
            )

    @pytest.mark.parametrize(
        "line",
        [
            {},
            {"id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708", "sku": "X"},
            {"sku": "X", "quantity": 0},
        ],
    )
    async def test_malformed_line(
        self, clinic_a: httpx.AsyncClient, db: Db, line: dict[str, Any]
    ) -> None:
        body = await self._body(clinic_a)
        body["products"]["order_material"] = [line]
        async with db.writes_nothing():
            await refused(await clinic_a.post(ORDERS, json=body), 422, "ValidationError")

    async def test_duplicate_external_id(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        body = {**await self._body(clinic_a), "external_id": "EXT-1"}
        await create_order(clinic_a, body)
        for params in ({}, {"force_new": "true"}):
            async with db.writes_nothing():
                await refused(
                    await clinic_a.post(ORDERS, json=body, params=params),
                    409,
                    "OrderExists",
                    "An order with external_id 'EXT-1' already exists.",
                )

    async def test_external_id_is_per_customer(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient
    ) -> None:
        await create_order(clinic_a, {**await self._body(clinic_a), "external_id": "EXT-1"})
        theirs = await create_order(
            clinic_b, {**await self._body(clinic_b), "external_id": "EXT-1"}
        )
        assert theirs["external_id"] == "EXT-1"

    async def test_duplicate_inline_patient_writes_nothing(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        body = await self._body(clinic_a)
        del body["patient_id"]
        body["patient"] = PATIENT
        async with db.writes_nothing():
            await refused(await clinic_a.post(ORDERS, json=body), 409, "PatientExists")

    async def test_staff_cannot_create(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        body = await self._body(clinic_a)
        async with db.writes_nothing():
            await refused(
                await pharmacist.post(ORDERS, json=body),
                403,
                "OrdersBelongToCustomers",
                "Pharmacy staff cannot create orders: an order belongs to a customer.",
            )

    async def test_malformed_json(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        async with db.writes_nothing():
            response = await clinic_a.post(
                ORDERS, content=b'{"patient_id": ', headers={"Content-Type": "application/json"}
            )
            await refused(response, 400, "MalformedBody")

    async def test_technician_cannot_create(
        self, server: str, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        body = await self._body(clinic_a)
        async with staff(server, db, "technician") as technician, db.writes_nothing():
            await refused(await technician.post(ORDERS, json=body), 403, "OrdersBelongToCustomers")
