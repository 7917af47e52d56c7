"""Lots over HTTP on both engines: create, read, update, per-product routes and tenancy."""

from typing import Any

import httpx
import pytest

from pestle import models
from pestle.kit.time import rest_format
from tests.conftest import Db
from tests.inventory.support import (
    API,
    LOT,
    association,
    by_type,
    create_lot,
    create_product_lot,
    lot_json,
    make_product,
)

UNKNOWN = "0227d1e5-ba9a-42b5-8fe2-38882aa65708"


def stored(created: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The lot as the server returns it: the contract's example plus ids and identifiers."""
    lot = {key: value for key, value in LOT.items()}
    lot.update(
        id=created["id"],
        created_at=created["created_at"],
        updated_at=created["updated_at"],
        ndc=None,
        ndc_11=None,
        gtin=None,
    )
    lot.update(fields)
    return lot


class TestCreate:
    async def test_the_contract_example_round_trips(self, pharmacist: httpx.AsyncClient) -> None:
        created = await create_lot(pharmacist)
        assert created == stored(created, associations=by_type())
        assert created["created_at"].endswith("Z")
        fetched = await pharmacist.get(f"{API}/{created['id']}")
        assert fetched.status_code == 200
        assert fetched.json() == created

    async def test_staff_lot_belongs_to_the_pharmacy_and_receipt_is_in_the_ledger(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        created = await create_lot(pharmacist)
        [lot] = await db.all(models.InventoryLot)
        assert lot.customer_id is None
        entries = await db.all(models.LotAdjustment, lot_id=lot.id)
        entries.sort(key=lambda entry: entry.created_at)
        # Received 100, 80 left when recorded: the ledger sums to the lot's quantity.
        assert [(e.delta, e.resulting_quantity, e.reason) for e in entries] == [
            (100, 100, "received"),
            (-20, 80, "correction"),
        ]
        assert sum(e.delta for e in entries) == created["current_quantity"]

    async def test_quantities_default_to_each_other(self, pharmacist: httpx.AsyncClient) -> None:
        only_initial = await create_lot(pharmacist, current_quantity=...)
        only_current = await create_lot(pharmacist, initial_quantity=..., current_quantity=7)
        assert (only_initial["initial_quantity"], only_initial["current_quantity"]) == (100, 100)
        assert (only_current["initial_quantity"], only_current["current_quantity"]) == (7, 7)

    async def test_minimal_lot_defaults(self, pharmacist: httpx.AsyncClient) -> None:
        response = await pharmacist.post(
            API, json={"unit_type": "each", "type": "order_material", "initial_quantity": 5}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["is_active"] is True
        assert body["expiration_date"] is None
        assert body["received_date"][4] == "-"
        assert not body["received_date"].endswith("Z")
        assert [body[k] for k in ("batch_number", "cost_per_unit", "upc", "notes")] == [None] * 4

    async def test_zoned_dates_are_stored_as_utc_and_returned_without_zone(
        self, pharmacist: httpx.AsyncClient
    ) -> None:
        created = await create_lot(
            pharmacist,
            expiration_date="2030-06-30T02:00:00+02:00",
            received_date="2025-01-01T18:21:45Z",
        )
        assert created["expiration_date"] == "2030-06-30T00:00:00"
        assert created["received_date"] == "2025-01-01T18:21:45"

    async def test_ndc_and_gtin(self, pharmacist: httpx.AsyncClient, db: Db) -> None:
        created = await create_lot(pharmacist, ndc="0002-1433-80", gtin="036000291452")
        assert (created["ndc"], created["ndc_11"], created["gtin"]) == (
            "0002-1433-80",
            "00002143380",
            "00036000291452",
        )
        [lot] = await db.all(models.InventoryLot)
        assert (lot.ndc_labeler, lot.ndc_product, lot.ndc_package) == ("0002", "1433", "80")

    async def test_eleven_digit_ndc_is_stored_in_its_ten_digit_layout(
        self, pharmacist: httpx.AsyncClient
    ) -> None:
        created = await create_lot(pharmacist, ndc="12345067810")
        assert (created["ndc"], created["ndc_11"]) == ("12345-678-10", "12345067810")

    async def test_with_associations(
        self, pharmacist: httpx.AsyncClient, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        cream = await make_product(db, "Clinic A", "prescription", "RX-1", "Cream")
        leaflet = await make_product(db, None, "order_material", "LEAF", "Leaflet")
        created = await create_lot(
            pharmacist,
            associations=[
                {"product_id": str(cream.id), "units_per_product": 100, "type": "prescription"},
                {"product_id": str(leaflet.id), "units_per_product": 1},
            ],
        )
        assert created["associations"] == by_type(
            prescription=[association(cream, "Clinic A", 100)],
            order_material=[association(leaflet, None, 1)],
        )
        assert await db.count(models.LotAssociation) == 2

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"type": "drug"}, "type"),
            ({"type": ...}, "type"),
            ({"unit_type": ...}, "unit_type"),
            ({"unit_type": "two words"}, "unit_type"),
            ({"unit_type": "x" * 17}, "unit_type"),
            ({"cost_per_unit": -0.01}, "cost_per_unit"),
            ({"initial_quantity": -1}, "initial_quantity"),
            ({"current_quantity": -1}, "current_quantity"),
            ({"expiration_date": "next year"}, "expiration_date"),
            ({"ndc": "1234-5678-9"}, "ndc"),
            ({"ndc": "123456789"}, "ndc"),
            ({"gtin": "036000291453"}, "gtin"),
            ({"associations": [{"product_id": UNKNOWN, "units_per_product": 0}]}, "associations"),
        ],
    )
    async def test_invalid_field_is_422_and_writes_nothing(
        self, pharmacist: httpx.AsyncClient, db: Db, overrides: dict[str, Any], field: str
    ) -> None:
        async with db.writes_nothing():
            response = await pharmacist.post(API, json=lot_json(**overrides))
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error"] == "ValidationError"
        assert field in body["detail"][0]["loc"]

    async def test_no_quantity_at_all_is_422(self, pharmacist: httpx.AsyncClient, db: Db) -> None:
        async with db.writes_nothing():
            response = await pharmacist.post(
                API, json=lot_json(initial_quantity=..., current_quantity=...)
            )
        assert response.status_code == 422
        assert "initial_quantity or current_quantity is required" in str(response.json()["detail"])

    async def test_ndc_error_names_the_rule(self, pharmacist: httpx.AsyncClient) -> None:
        response = await pharmacist.post(API, json=lot_json(ndc="12-34-56"))
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "ndc"]
        assert error["msg"] == (
            "Value error, an NDC is 10 digits in hyphenated segments 4-4-2, 5-3-2 or 5-4-1 "
            "(e.g. 1234-5678-90), or 11 digits as 5-4-2, with or without hyphens "
            "(e.g. 12345-6789-01)"
        )

    async def test_unknown_or_foreign_product_is_404_and_writes_nothing(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        foreign = await make_product(db, "Clinic B")
        for product_id in (UNKNOWN, str(foreign.id)):
            async with db.writes_nothing():
                response = await clinic_a.post(
                    API,
                    json=lot_json(
                        associations=[{"product_id": product_id, "units_per_product": 1}]
                    ),
                )
            assert response.status_code == 404
            assert response.json() == {
                "error": "ProductNotFound",
                "detail": f"No product {product_id!r}.",
            }

    async def test_product_of_another_kind_than_sent_is_404(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, None, "order_material")
        body = lot_json(
            associations=[
                {"product_id": str(product.id), "type": "prescription", "units_per_product": 1}
            ]
        )
        async with db.writes_nothing():
            response = await pharmacist.post(API, json=body)
        assert response.status_code == 404
        assert response.json()["detail"] == f"No prescription product {str(product.id)!r}."

    async def test_a_product_linked_twice_is_422(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, None, "order_material")
        link = {"product_id": str(product.id), "units_per_product": 1}
        async with db.writes_nothing():
            response = await pharmacist.post(API, json=lot_json(associations=[link, link]))
        assert response.status_code == 422


class TestList:
    async def test_grouped_by_kind_with_all_three_keys(self, pharmacist: httpx.AsyncClient) -> None:
        empty = await pharmacist.get(API)
        assert empty.status_code == 200
        assert empty.json() == by_type()
        first = await create_lot(pharmacist)
        second = await create_lot(pharmacist, type="order_material")
        listed = (await pharmacist.get(API)).json()
        assert listed == by_type(non_prescription=[first], order_material=[second])

    async def test_customer_sees_its_lots_and_lots_linked_to_its_products_only(
        self,
        pharmacist: httpx.AsyncClient,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        db: Db,
    ) -> None:
        mine = await make_product(db, "Clinic A", sku="A-1", name="A cream")
        theirs = await make_product(db, "Clinic B", sku="B-1", name="B cream")
        shared = await create_lot(
            pharmacist,
            associations=[
                {"product_id": str(mine.id), "units_per_product": 1},
                {"product_id": str(theirs.id), "units_per_product": 2},
            ],
        )
        await create_lot(pharmacist, batch_number="pharmacy only")
        own = await create_lot(clinic_a, batch_number="A's own")
        b_own = await create_lot(clinic_b, batch_number="B's own")

        listed = (await clinic_a.get(API)).json()
        # Clinic B's link on the shared lot is not shown to Clinic A.
        shared_for_a = {
            **shared,
            "associations": by_type(non_prescription=[association(mine, "Clinic A", 1)]),
        }
        assert listed == by_type(non_prescription=[shared_for_a, own])
        assert (await clinic_a.get(f"{API}/{b_own['id']}")).status_code == 404
        assert (await clinic_b.get(f"{API}/{own['id']}")).json() == {
            "error": "LotNotFound",
            "detail": f"No inventory lot {own['id']!r}.",
        }
        staff_view = (await pharmacist.get(API)).json()
        assert len(staff_view["non_prescription"]) == 4


class TestGet:
    async def test_unknown_lot_is_404(self, pharmacist: httpx.AsyncClient) -> None:
        response = await pharmacist.get(f"{API}/{UNKNOWN}")
        assert response.status_code == 404
        assert response.json() == {
            "error": "LotNotFound",
            "detail": f"No inventory lot {UNKNOWN!r}.",
        }

    async def test_malformed_id_is_422(self, pharmacist: httpx.AsyncClient) -> None:
        assert (await pharmacist.get(f"{API}/not-a-uuid")).status_code == 422


class TestUpdate:
    async def test_partial_update(self, pharmacist: httpx.AsyncClient, db: Db) -> None:
        created = await create_lot(pharmacist)
        response = await pharmacist.put(
            f"{API}/{created['id']}",
            json={
                "expiration_date": "2026-06-30T00:00:00Z",
                "notes": "Expiry corrected from CoA",
                "initial_quantity": 120,
                "ndc": "12345-6789-1",
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body == stored(
            created,
            expiration_date="2026-06-30T00:00:00",
            notes="Expiry corrected from CoA",
            initial_quantity=120,
            ndc="12345-6789-1",
            ndc_11="12345678901",
            updated_at=body["updated_at"],
            associations=by_type(),
        )
        [lot] = await db.all(models.InventoryLot)
        assert lot.current_quantity == 80
        assert rest_format(lot.updated_at) == body["updated_at"]

    async def test_clearing_a_field(self, pharmacist: httpx.AsyncClient) -> None:
        created = await create_lot(pharmacist)
        body = (await pharmacist.put(f"{API}/{created['id']}", json={"notes": None})).json()
        assert body["notes"] is None

    @pytest.mark.parametrize(
        ("body", "status", "error"),
        [
            ({"current_quantity": 5}, 422, "ValidationError"),
            ({"unit_type": None}, 422, "RequiredFieldCleared"),
            ({"is_active": None}, 422, "RequiredFieldCleared"),
            ({"initial_quantity": -1}, 422, "ValidationError"),
            ({"type": "drug"}, 422, "ValidationError"),
            ({"ndc": "1-2-3"}, 422, "ValidationError"),
        ],
    )
    async def test_refused_update_writes_nothing(
        self, pharmacist: httpx.AsyncClient, db: Db, body: dict[str, Any], status: int, error: str
    ) -> None:
        created = await create_lot(pharmacist)
        response = await pharmacist.put(f"{API}/{created['id']}", json=body)
        assert (response.status_code, response.json()["error"]) == (status, error)
        assert (await pharmacist.get(f"{API}/{created['id']}")).json() == created

    async def test_current_quantity_message(self, pharmacist: httpx.AsyncClient) -> None:
        created = await create_lot(pharmacist)
        response = await pharmacist.put(f"{API}/{created['id']}", json={"current_quantity": 5})
        assert "PATCH /products/inventory/{lot_id}/quantity" in response.json()["detail"][0]["msg"]

    async def test_customer_cannot_change_a_pharmacy_lot_it_sees(
        self, pharmacist: httpx.AsyncClient, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A")
        created = await create_product_lot(pharmacist, product)
        response = await clinic_a.put(f"{API}/{created['id']}", json={"notes": "mine now"})
        assert response.status_code == 403
        assert response.json() == {
            "error": "LotNotOwned",
            "detail": "Only pharmacy staff, or the customer that recorded the lot, may change it.",
        }

    async def test_customer_updates_its_own_lot_and_not_another_customers(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient
    ) -> None:
        created = await create_lot(clinic_a)
        assert (
            await clinic_a.put(f"{API}/{created['id']}", json={"notes": "ok"})
        ).status_code == 200
        assert (
            await clinic_b.put(f"{API}/{created['id']}", json={"notes": "x"})
        ).status_code == 404


class TestProductInventory:
    @pytest.mark.parametrize("kind", ["prescription", "non_prescription", "order_material"])
    async def test_create_and_list_for_each_kind(
        self, clinic_a: httpx.AsyncClient, db: Db, kind: str
    ) -> None:
        product = await make_product(db, "Clinic A", kind)
        body = lot_json(units_per_product=100)
        del body["type"]
        response = await clinic_a.post(f"/api/v1/products/{kind}/{product.id}/inventory", json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created == stored(created, type=kind, units_per_product=100)
        listed = await clinic_a.get(f"/api/v1/products/{kind}/{product.id}/inventory")
        assert listed.status_code == 200
        assert listed.json() == [created]
        [lot] = await db.all(models.InventoryLot)
        assert lot.customer_id == product.customer_id
        lot_view = (await clinic_a.get(f"{API}/{created['id']}")).json()
        assert lot_view["associations"] == by_type(
            **{kind: [association(product, "Clinic A", 100)]}
        )

    async def test_wrong_kind_foreign_or_unknown_product_is_404(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A", "prescription")
        body = lot_json(units_per_product=1)
        cases = [
            (clinic_a, "non_prescription", str(product.id)),
            (clinic_b, "prescription", str(product.id)),
            (clinic_a, "prescription", UNKNOWN),
        ]
        for client, kind, product_id in cases:
            path = f"/api/v1/products/{kind}/{product_id}/inventory"
            async with db.writes_nothing():
                created = await client.post(path, json=body)
            assert created.status_code == 404
            assert created.json() == {
                "error": "ProductNotFound",
                "detail": f"No {kind} product {product_id!r}.",
            }
            assert (await client.get(path)).status_code == 404

    @pytest.mark.parametrize("units", [0, -1, None])
    async def test_units_per_product_must_be_positive(
        self, clinic_a: httpx.AsyncClient, db: Db, units: int | None
    ) -> None:
        product = await make_product(db, "Clinic A")
        body = lot_json(units_per_product=units)
        async with db.writes_nothing():
            response = await clinic_a.post(
                f"/api/v1/products/non_prescription/{product.id}/inventory", json=body
            )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "units_per_product"]

    async def test_staff_lot_for_a_customer_product_is_the_pharmacys(
        self, pharmacist: httpx.AsyncClient, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A")
        created = await create_product_lot(pharmacist, product, 10)
        [lot] = await db.all(models.InventoryLot)
        assert lot.customer_id is None
        # The customer sees it through its product.
        listed = (
            await clinic_a.get(f"/api/v1/products/non_prescription/{product.id}/inventory")
        ).json()
        assert listed == [created]

    async def test_customer_cannot_add_lots_to_global_materials(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        material = await make_product(db, None, "order_material")
        path = f"/api/v1/products/order_material/{material.id}/inventory"
        async with db.writes_nothing():
            response = await clinic_a.post(path, json=lot_json(units_per_product=1))
        assert response.status_code == 404
        assert (await clinic_a.get(path)).json() == []


class TestApiDescription:
    async def test_every_route_is_documented_under_the_inventory_tag(
        self, anon: httpx.AsyncClient
    ) -> None:
        schema = (await anon.get("/openapi.json")).json()
        inventory = {
            (method.upper(), path)
            for path, operations in schema["paths"].items()
            for method, operation in operations.items()
            if operation.get("tags") == ["Inventory"]
        }
        kinds = ("prescription", "non_prescription", "order_material")
        assert inventory == {
            ("GET", "/api/v1/products/inventory"),
            ("POST", "/api/v1/products/inventory"),
            ("GET", "/api/v1/products/inventory/{lot_id}"),
            ("PUT", "/api/v1/products/inventory/{lot_id}"),
            ("PATCH", "/api/v1/products/inventory/{lot_id}/quantity"),
            ("GET", "/api/v1/products/inventory/{lot_id}/adjustments"),
            ("GET", "/api/v1/products/inventory/{lot_id}/associations"),
            ("POST", "/api/v1/products/inventory/{lot_id}/associations"),
            ("DELETE", "/api/v1/products/inventory/{lot_id}/associations/{product_id}"),
            *(
                (m, f"/api/v1/products/{k}/{{product_id}}/inventory")
                for k in kinds
                for m in ("GET", "POST")
            ),
        }
        patch = schema["paths"]["/api/v1/products/inventory/{lot_id}/quantity"]["patch"]
        assert set(patch["responses"]) == {"201", "403", "404", "409", "422"}

    async def test_the_openapi_examples_are_accepted(
        self, anon: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        schemas = (await anon.get("/openapi.json")).json()["components"]["schemas"]
        product = await make_product(db, None, "order_material")
        lot = dict(schemas["LotCreate"]["example"])
        lot["associations"] = [{**lot["associations"][0], "product_id": str(product.id)}]
        created = await pharmacist.post(API, json=lot)
        assert created.status_code == 201, created.text
        lot_id = created.json()["id"]
        per_product = await pharmacist.post(
            f"/api/v1/products/order_material/{product.id}/inventory",
            json=schemas["ProductLotCreate"]["example"],
        )
        assert per_product.status_code == 201, per_product.text
        adjusted = await pharmacist.patch(
            f"{API}/{lot_id}/quantity", json=schemas["QuantityAdjustment"]["example"]
        )
        assert adjusted.status_code == 201, adjusted.text
        updated = await pharmacist.put(f"{API}/{lot_id}", json=schemas["LotUpdate"]["example"])
        assert updated.status_code == 200, updated.text
