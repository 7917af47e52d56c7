"""Links between lots and products: list, create, remove, and who may do which."""

import httpx
import pytest

from pestle import models
from tests.conftest import Db
from tests.inventory.support import (
    API,
    association,
    by_type,
    create_lot,
    create_product_lot,
    events,
    make_product,
)

UNKNOWN = "0227d1e5-ba9a-42b5-8fe2-38882aa65708"


class TestList:
    async def test_grouped_by_kind(self, pharmacist: httpx.AsyncClient, db: Db) -> None:
        await db.create_user("admin@clinic-a.pestle.dev", "admin", "Clinic A")
        cream = await make_product(db, "Clinic A", "prescription", "RX", "Cream")
        balm = await make_product(db, "Clinic A", "non_prescription", "OTC", "Balm")
        lot = await create_product_lot(pharmacist, cream, 100)
        link = {"product_id": str(balm.id), "units_per_product": 3}
        await pharmacist.post(f"{API}/{lot['id']}/associations", json=link)
        response = await pharmacist.get(f"{API}/{lot['id']}/associations")
        assert response.status_code == 200
        assert response.json() == by_type(
            prescription=[association(cream, "Clinic A", 100)],
            non_prescription=[association(balm, "Clinic A", 3)],
        )

    async def test_unknown_lot_is_404(self, pharmacist: httpx.AsyncClient) -> None:
        response = await pharmacist.get(f"{API}/{UNKNOWN}/associations")
        assert response.status_code == 404

    async def test_other_customers_links_are_hidden(
        self,
        pharmacist: httpx.AsyncClient,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        db: Db,
    ) -> None:
        mine = await make_product(db, "Clinic A", sku="A")
        theirs = await make_product(db, "Clinic B", sku="B")
        lot = await create_product_lot(pharmacist, mine, 1)
        await pharmacist.post(
            f"{API}/{lot['id']}/associations",
            json={"product_id": str(theirs.id), "units_per_product": 2},
        )
        seen_by_a = (await clinic_a.get(f"{API}/{lot['id']}/associations")).json()
        seen_by_b = (await clinic_b.get(f"{API}/{lot['id']}/associations")).json()
        assert seen_by_a == by_type(non_prescription=[association(mine, "Clinic A", 1)])
        assert seen_by_b == by_type(non_prescription=[association(theirs, "Clinic B", 2)])


class TestCreate:
    async def test_links_and_answers_201_with_the_lots_associations(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A", "order_material", name="Insert")
        lot = await create_lot(clinic_a)
        response = await clinic_a.post(
            f"{API}/{lot['id']}/associations",
            json={
                "product_id": str(product.id),
                "type": "order_material",
                "units_per_product": 100,
            },
        )
        assert response.status_code == 201, response.text
        assert response.json() == by_type(order_material=[association(product, "Clinic A", 100)])
        [link] = await db.all(models.LotAssociation)
        assert (str(link.lot_id), link.product_id, link.units_per_product) == (
            lot["id"],
            product.id,
            100,
        )

    async def test_duplicate_pair_is_409_and_writes_nothing(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A")
        lot = await create_product_lot(clinic_a, product, 1)
        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{API}/{lot['id']}/associations",
                json={"product_id": str(product.id), "units_per_product": 5},
            )
        assert response.status_code == 409
        assert response.json() == {
            "error": "AssociationExists",
            "detail": f"Inventory lot {lot['id']} is already linked to product {product.id}.",
        }

    @pytest.mark.parametrize("units", [0, -3, 1.5, None])
    async def test_units_per_product_must_be_a_positive_integer(
        self, clinic_a: httpx.AsyncClient, db: Db, units: float | None
    ) -> None:
        product = await make_product(db, "Clinic A")
        lot = await create_lot(clinic_a)
        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{API}/{lot['id']}/associations",
                json={"product_id": str(product.id), "units_per_product": units},
            )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "units_per_product"]

    async def test_customer_links_only_its_own_products(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        theirs = await make_product(db, "Clinic B")
        material = await make_product(db, None, "order_material", sku="GLOBAL")
        lot = await create_lot(clinic_a)
        for product_id in (str(theirs.id), str(material.id), UNKNOWN):
            async with db.writes_nothing():
                response = await clinic_a.post(
                    f"{API}/{lot['id']}/associations",
                    json={"product_id": product_id, "units_per_product": 1},
                )
            assert response.status_code == 404
            assert response.json() == {
                "error": "ProductNotFound",
                "detail": f"No product {product_id!r}.",
            }

    async def test_staff_link_any_customers_product(
        self, pharmacist: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic B")
        lot = await create_lot(pharmacist)
        response = await pharmacist.post(
            f"{API}/{lot['id']}/associations",
            json={"product_id": str(product.id), "units_per_product": 1},
        )
        assert response.status_code == 201
        # Clinic B now sees the pharmacy's lot through its product.
        assert (await clinic_b.get(f"{API}/{lot['id']}")).status_code == 200

    async def test_customer_cannot_link_to_a_pharmacy_lot(
        self, pharmacist: httpx.AsyncClient, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        first = await make_product(db, "Clinic A", sku="A1")
        second = await make_product(db, "Clinic A", sku="A2")
        lot = await create_product_lot(pharmacist, first, 1)
        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{API}/{lot['id']}/associations",
                json={"product_id": str(second.id), "units_per_product": 1},
            )
        assert response.status_code == 403
        assert response.json()["error"] == "LotNotOwned"

    async def test_kind_sent_must_match_the_product(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A", "prescription")
        lot = await create_lot(clinic_a)
        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{API}/{lot['id']}/associations",
                json={
                    "product_id": str(product.id),
                    "type": "order_material",
                    "units_per_product": 1,
                },
            )
        assert response.status_code == 404
        assert response.json()["detail"] == f"No order_material product {str(product.id)!r}."

    async def test_another_customers_lot_is_404(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic B")
        lot = await create_lot(clinic_a)
        async with db.writes_nothing():
            response = await clinic_b.post(
                f"{API}/{lot['id']}/associations",
                json={"product_id": str(product.id), "units_per_product": 1},
            )
        assert response.status_code == 404
        assert response.json()["error"] == "LotNotFound"

    async def test_linking_stock_clears_low_stock(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A", reorder_threshold=5)
        empty = await create_product_lot(
            clinic_a, product, 1, initial_quantity=0, current_quantity=...
        )
        assert len(await events(db, "inventory.low_stock")) == 1
        full = await create_lot(clinic_a, batch_number="full")
        await clinic_a.post(
            f"{API}/{full['id']}/associations",
            json={"product_id": str(product.id), "units_per_product": 1},
        )
        [stored] = await db.all(models.Product, id=product.id)
        assert stored.is_low_stock is False
        assert empty["current_quantity"] == 0


class TestDelete:
    async def test_removes_the_link_and_keeps_the_lot(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A")
        lot = await create_product_lot(clinic_a, product, 1)
        response = await clinic_a.delete(f"{API}/{lot['id']}/associations/{product.id}")
        assert response.status_code == 200
        assert response.json() == {"message": "Inventory association removed"}
        assert await db.count(models.LotAssociation) == 0
        assert await db.count(models.InventoryLot) == 1
        assert (await clinic_a.get(f"{API}/{lot['id']}")).json()["associations"] == by_type()

    async def test_no_such_link_is_404(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        product = await make_product(db, "Clinic A")
        lot = await create_lot(clinic_a)
        async with db.writes_nothing():
            response = await clinic_a.delete(f"{API}/{lot['id']}/associations/{product.id}")
        assert response.status_code == 404
        assert response.json() == {
            "error": "AssociationNotFound",
            "detail": f"Inventory lot {lot['id']} is not linked to product {product.id}.",
        }

    async def test_unlinking_another_customers_product_is_404(
        self,
        pharmacist: httpx.AsyncClient,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
        db: Db,
    ) -> None:
        theirs = await make_product(db, "Clinic B")
        lot = await create_lot(clinic_a)
        await pharmacist.post(
            f"{API}/{lot['id']}/associations",
            json={"product_id": str(theirs.id), "units_per_product": 1},
        )
        async with db.writes_nothing():
            response = await clinic_a.delete(f"{API}/{lot['id']}/associations/{theirs.id}")
        assert response.status_code == 404
        assert (
            await pharmacist.delete(f"{API}/{lot['id']}/associations/{theirs.id}")
        ).status_code == 200

    async def test_unlinking_the_last_stock_raises_low_stock(
        self, pharmacist: httpx.AsyncClient, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A", reorder_threshold=1)
        lot = await create_product_lot(pharmacist, product, 1)
        await pharmacist.delete(f"{API}/{lot['id']}/associations/{product.id}")
        [event] = await events(db, "inventory.low_stock")
        assert event.data["current_stock"] == 0
