"""The product catalogue over HTTP, on both engines: three kinds, tenancy, derived stock."""

import asyncio
import re
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pestle import models
from pestle.kit.time import rest_format, utcnow
from pestle.products import endpoints
from pestle.products.repository import stock_levels
from pestle.products.service import product_service
from tests.conftest import Db

API = "/api/v1/products"
KINDS = ("prescription", "non_prescription", "order_material")

# The contract's create examples (P3, P6, P9); the prescription's formula_id is filled in.
PRESCRIPTION = {
    "name": "Mupirocin",
    "description": "A topical cream that is used to treat skin infections.",
    "product_code": "SUPERSPRAY15",
    "category": "topicals",
    "form": "cream",
    "is_active": True,
    "is_controlled_substance": False,
    "price": 120,
    "strength": "1%",
}
NON_PRESCRIPTION = {
    "name": "Krill Farms Fish Oil",
    "description": "A fish oil supplement complementary to prescribed products.",
    "category": "nutrition",
    "form": "liquid",
    "is_active": True,
    "price": 39.99,
    "unit_count": 1000,
    "unit_type": "ml",
}
ORDER_MATERIAL = {
    "name": "Referral Brochure",
    "description": "Customer brochure included in every shipment.",
    "category": "marketing",
    "is_global": False,
}
EXAMPLES = {
    "prescription": PRESCRIPTION,
    "non_prescription": NON_PRESCRIPTION,
    "order_material": ORDER_MATERIAL,
}
SKU_PATTERNS = {
    "prescription": r"RX-[A-Z0-9]{8}",
    "non_prescription": r"OTC-[A-Z0-9]{8}",
    "order_material": r"MAT-[A-Z0-9]{8}",
}


async def create(client: httpx.AsyncClient, kind: str, **overrides: Any) -> dict[str, Any]:
    body = {**EXAMPLES[kind], **overrides}
    if kind == "order_material" and "is_global" not in overrides:
        body.pop("is_global")
    response = await client.post(f"{API}/{kind}", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def create_formula(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/formulas", json={"name": "Mupirocin 2%", **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def stored(db: Db, product_id: str) -> models.Product:
    (row,) = await db.all(models.Product, id=uuid.UUID(product_id))
    return row


async def customer_id(db: Db, email: str = "admin@clinic-a.pestle.dev") -> uuid.UUID:
    (user,) = await db.all(models.User, email=email)
    assert user.customer_id is not None
    return user.customer_id


def shown(row: models.Product, **fields: Any) -> dict[str, Any]:
    """The fields every kind shows, from ``row``; ``fields`` are the kind's own."""
    return {
        "id": str(row.id),
        "created_at": rest_format(row.created_at),
        "updated_at": rest_format(row.updated_at),
        "current_stock": 0,
        "reorder_threshold": 0,
        "has_inventory": False,
        "sku": row.sku,
        **fields,
    }


def validation_error(response: httpx.Response) -> tuple[list[Any], str]:
    """The location and type of the only problem a 422 reports."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationError"
    (problem,) = body["detail"]
    return problem["loc"], problem["type"]


class TestCreate:
    async def test_prescription_product_is_returned_whole(self, clinic_a, db):
        formula = await create_formula(clinic_a)

        response = await clinic_a.post(
            f"{API}/prescription", json={**PRESCRIPTION, "formula_id": formula["number"]}
        )

        assert response.status_code == 201
        created = response.json()
        row = await stored(db, created["id"])
        assert created == shown(
            row,
            **PRESCRIPTION,
            formula_id=formula["number"],
            formula_uuid=formula["id"],
            dea_schedule=None,
            label_orientation=None,
            unit_count=None,
            unit_type=None,
        )
        assert re.fullmatch(SKU_PATTERNS["prescription"], row.sku)
        assert (row.kind, row.customer_id, str(row.formula_id)) == (
            "prescription",
            await customer_id(db),
            formula["id"],
        )
        assert row.price == Decimal("120.00")

    async def test_non_prescription_product_is_returned_whole(self, clinic_a, db):
        created = await create(clinic_a, "non_prescription", sku="KRILL-1", reorder_threshold=10)

        row = await stored(db, created["id"])
        assert created == shown(row, **NON_PRESCRIPTION, sku="KRILL-1", reorder_threshold=10)
        assert row.kind == "non_prescription"

    async def test_order_material_is_returned_whole(self, clinic_a, db):
        response = await clinic_a.post(f"{API}/order_material", json=ORDER_MATERIAL)

        assert response.status_code == 201
        created = response.json()
        row = await stored(db, created["id"])
        assert created == shown(row, **ORDER_MATERIAL)
        assert (row.kind, row.customer_id) == ("order_material", await customer_id(db))

    async def test_only_the_name_is_required(self, clinic_a, db):
        response = await clinic_a.post(f"{API}/prescription", json={"name": "Bare"})

        assert response.status_code == 201
        created = response.json()
        row = await stored(db, created["id"])
        assert created == shown(
            row,
            name="Bare",
            description=None,
            product_code=None,
            category=None,
            form=None,
            formula_id=None,
            formula_uuid=None,
            is_active=True,
            is_controlled_substance=False,
            dea_schedule=None,
            price=None,
            strength=None,
            label_orientation=None,
            unit_count=None,
            unit_type=None,
        )

    @pytest.mark.parametrize("kind", KINDS)
    async def test_a_missing_sku_is_generated(self, clinic_a, kind):
        first = await create(clinic_a, kind)
        second = await create(
            clinic_a,
            kind,
            name="Another",
            **({"product_code": "OTHER"} if kind == "prescription" else {}),
        )

        assert re.fullmatch(SKU_PATTERNS[kind], first["sku"])
        assert re.fullmatch(SKU_PATTERNS[kind], second["sku"])
        assert first["sku"] != second["sku"]

    async def test_formula_id_may_be_the_uuid(self, clinic_a, pharmacist):
        pharmacy_wide = await create_formula(pharmacist, name="Shared")

        created = await create(clinic_a, "prescription", formula_id=pharmacy_wide["id"])

        assert (created["formula_id"], created["formula_uuid"]) == (
            pharmacy_wide["number"],
            pharmacy_wide["id"],
        )

    async def test_controlled_substance_with_its_schedule(self, clinic_a):
        created = await create(
            clinic_a, "prescription", is_controlled_substance=True, dea_schedule="CII"
        )

        assert (created["is_controlled_substance"], created["dea_schedule"]) == (True, "CII")

    async def test_sent_stock_figures_are_ignored(self, clinic_a, db):
        created = await create(clinic_a, "non_prescription", current_stock=927, has_inventory=True)

        assert (created["current_stock"], created["has_inventory"]) == (0, False)


class TestValidation:
    @pytest.mark.parametrize(
        ("kind", "changes", "location", "problem"),
        [
            ("prescription", {"name": None}, ["body", "name"], "string_type"),
            ("prescription", {"name": "  "}, ["body", "name"], "string_too_short"),
            ("prescription", {"colour": "red"}, ["body", "colour"], "extra_forbidden"),
            ("prescription", {"price": -1}, ["body", "price"], "greater_than_equal"),
            ("prescription", {"price": 1.234}, ["body", "price"], "decimal_max_places"),
            (
                "prescription",
                {"label_orientation": "sideways"},
                ["body", "label_orientation"],
                "literal_error",
            ),
            (
                "prescription",
                {"is_controlled_substance": True, "dea_schedule": "CI"},
                ["body", "dea_schedule"],
                "literal_error",
            ),
            (
                "prescription",
                {"reorder_threshold": -1},
                ["body", "reorder_threshold"],
                "greater_than_equal",
            ),
            (
                "non_prescription",
                {"product_code": "X"},
                ["body", "product_code"],
                "extra_forbidden",
            ),
            ("non_prescription", {"unit_count": -5}, ["body", "unit_count"], "greater_than_equal"),
            ("order_material", {"price": 1}, ["body", "price"], "extra_forbidden"),
            ("order_material", {"sku": ""}, ["body", "sku"], "string_too_short"),
        ],
    )
    async def test_invalid_field_is_422_naming_it(
        self, clinic_a, db, kind, changes, location, problem
    ):
        body = {**EXAMPLES[kind], **changes}
        async with db.writes_nothing():
            response = await clinic_a.post(f"{API}/{kind}", json=body)

        assert validation_error(response) == (location, problem)

    @pytest.mark.parametrize(
        ("changes", "error", "detail"),
        [
            (
                {"is_controlled_substance": True},
                "DeaScheduleRequired",
                "dea_schedule is required when is_controlled_substance is true.",
            ),
            (
                {"dea_schedule": "CIV"},
                "DeaScheduleNotAllowed",
                "dea_schedule is allowed only when is_controlled_substance is true.",
            ),
            (
                {"formula_id": 999},
                "UnknownFormula",
                "formula_id 999 names no formula this customer can use.",
            ),
        ],
    )
    async def test_rules_across_fields_are_422(self, clinic_a, db, changes, error, detail):
        async with db.writes_nothing():
            response = await clinic_a.post(f"{API}/prescription", json={**PRESCRIPTION, **changes})

        assert response.status_code == 422
        assert response.json() == {"error": error, "detail": detail}

    async def test_another_customers_formula_is_unknown(self, clinic_a, clinic_b, db):
        theirs = await create_formula(clinic_b)

        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{API}/prescription", json={**PRESCRIPTION, "formula_id": theirs["id"]}
            )

        assert response.status_code == 422
        assert response.json() == {
            "error": "UnknownFormula",
            "detail": f"formula_id {theirs['id']} names no formula this customer can use.",
        }


class TestUniqueness:
    async def test_duplicate_sku_is_409_and_writes_nothing(self, clinic_a, db):
        await create(clinic_a, "prescription", sku="SKU-1")

        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{API}/non_prescription", json={**NON_PRESCRIPTION, "sku": "SKU-1"}
            )

        assert response.status_code == 409
        assert response.json() == {
            "error": "ProductExists",
            "detail": "A product with sku SKU-1 already exists.",
        }

    async def test_another_customer_may_use_the_same_sku_and_code(self, clinic_a, clinic_b, db):
        await create(clinic_a, "prescription", sku="SKU-1")

        theirs = await create(clinic_b, "prescription", sku="SKU-1")

        assert (theirs["sku"], theirs["product_code"]) == ("SKU-1", "SUPERSPRAY15")
        assert await db.count(models.Product, sku="SKU-1") == 2

    async def test_duplicate_product_code_is_409(self, clinic_a, db):
        await create(clinic_a, "prescription")

        async with db.writes_nothing():
            response = await clinic_a.post(f"{API}/prescription", json=PRESCRIPTION)

        assert response.status_code == 409
        assert response.json() == {
            "error": "ProductExists",
            "detail": "A product with product_code SUPERSPRAY15 already exists.",
        }

    async def test_one_of_several_identical_creates_wins(self, clinic_a, db):
        body = {**NON_PRESCRIPTION, "sku": "RACE"}

        responses = await asyncio.gather(
            *(clinic_a.post(f"{API}/non_prescription", json=body) for _ in range(4))
        )

        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
        assert {r.json()["error"] for r in responses if r.status_code == 409} == {"ProductExists"}
        assert await db.count(models.Product, sku="RACE") == 1

    async def test_update_to_a_taken_sku_is_409(self, clinic_a, db):
        await create(clinic_a, "order_material", sku="TAKEN")
        mine = await create(clinic_a, "order_material", sku="MINE")

        async with db.writes_nothing():
            response = await clinic_a.put(
                f"{API}/order_material/{mine['id']}", json={"sku": "TAKEN"}
            )

        assert response.status_code == 409
        assert (await stored(db, mine["id"])).sku == "MINE"

    async def test_keeping_its_own_sku_is_fine(self, clinic_a):
        mine = await create(clinic_a, "prescription", sku="MINE")

        response = await clinic_a.put(
            f"{API}/prescription/{mine['id']}",
            json={"sku": "MINE", "product_code": "SUPERSPRAY15"},
        )

        assert response.status_code == 200


class TestUpdate:
    async def test_only_sent_fields_change(self, clinic_a, db):
        created = await create(clinic_a, "prescription")
        update = {
            "name": "Mupirocin",
            "sku": "MY-SKU_1234567890",
            "description": "Now stronger.",
            "product_code": "SUPERSPRAY20",
        }

        response = await clinic_a.put(f"{API}/prescription/{created['id']}", json=update)

        assert response.status_code == 200
        row = await stored(db, created["id"])
        assert response.json() == {**created, **update, "updated_at": rest_format(row.updated_at)}
        assert row.updated_at >= row.created_at

    async def test_contract_price_update(self, clinic_a):
        created = await create(clinic_a, "non_prescription")

        response = await clinic_a.put(
            f"{API}/non_prescription/{created['id']}", json={"price": 89.99}
        )

        assert response.json()["price"] == 89.99
        assert {k: v for k, v in response.json().items() if k not in ("price", "updated_at")} == {
            k: v for k, v in created.items() if k not in ("price", "updated_at")
        }

    async def test_null_clears_an_optional_field(self, clinic_a, db):
        created = await create(clinic_a, "non_prescription")

        response = await clinic_a.put(
            f"{API}/non_prescription/{created['id']}", json={"description": None, "price": None}
        )

        assert (response.json()["description"], response.json()["price"]) == (None, None)
        row = await stored(db, created["id"])
        assert (row.description, row.price) == (None, None)

    @pytest.mark.parametrize(
        "field", ["name", "sku", "is_active", "is_controlled_substance", "reorder_threshold"]
    )
    async def test_clearing_a_required_field_is_422(self, clinic_a, db, field):
        created = await create(clinic_a, "prescription")

        async with db.writes_nothing():
            response = await clinic_a.put(
                f"{API}/prescription/{created['id']}", json={"description": "New", field: None}
            )

        assert response.status_code == 422
        assert response.json() == {
            "error": "RequiredFieldCleared",
            "detail": f"{field} is required and cannot be cleared.",
        }
        assert (await stored(db, created["id"])).description == PRESCRIPTION["description"]

    async def test_controlled_without_schedule_is_422(self, clinic_a, db):
        created = await create(clinic_a, "prescription")

        response = await clinic_a.put(
            f"{API}/prescription/{created['id']}", json={"is_controlled_substance": True}
        )

        assert response.status_code == 422
        assert response.json()["error"] == "DeaScheduleRequired"
        assert (await stored(db, created["id"])).is_controlled_substance is False

    async def test_formula_is_changed_and_cleared(self, clinic_a):
        formula = await create_formula(clinic_a)
        created = await create(clinic_a, "prescription")
        url = f"{API}/prescription/{created['id']}"

        linked = (await clinic_a.put(url, json={"formula_id": formula["id"]})).json()
        cleared = (await clinic_a.put(url, json={"formula_id": None})).json()

        assert (linked["formula_id"], linked["formula_uuid"]) == (formula["number"], formula["id"])
        assert (cleared["formula_id"], cleared["formula_uuid"]) == (None, None)

    async def test_unknown_field_is_422(self, clinic_a, db):
        created = await create(clinic_a, "order_material")

        response = await clinic_a.put(
            f"{API}/order_material/{created['id']}", json={"strength": "1%"}
        )

        assert validation_error(response) == (["body", "strength"], "extra_forbidden")

    async def test_sent_stock_figures_are_ignored(self, clinic_a, db):
        created = await create(clinic_a, "order_material")

        response = await clinic_a.put(
            f"{API}/order_material/{created['id']}", json={"current_stock": 5}
        )

        assert response.status_code == 200
        assert response.json()["current_stock"] == 0


class TestKinds:
    async def test_lists_are_per_kind_and_grouped(self, clinic_a):
        made = {kind: await create(clinic_a, kind) for kind in KINDS}

        grouped = (await clinic_a.get(API)).json()

        assert grouped == {kind: [made[kind]] for kind in KINDS}
        for kind in KINDS:
            response = await clinic_a.get(f"{API}/{kind}")
            assert response.status_code == 200
            assert response.json() == [made[kind]]
            one = await clinic_a.get(f"{API}/{kind}/{made[kind]['id']}")
            assert one.json() == made[kind]

    async def test_grouped_has_every_key_when_empty(self, clinic_a):
        response = await clinic_a.get(API)

        assert response.json() == {"prescription": [], "non_prescription": [], "order_material": []}

    async def test_wrong_kind_is_404(self, clinic_a, db):
        created = await create(clinic_a, "prescription")
        url = f"{API}/non_prescription/{created['id']}"
        expected = {
            "error": "ProductNotFound",
            "detail": f"No non_prescription product {created['id']!r}.",
        }

        got = await clinic_a.get(url)
        async with db.writes_nothing():
            put = await clinic_a.put(url, json={"name": "Nope"})

        assert (got.status_code, got.json()) == (404, expected)
        assert (put.status_code, put.json()) == (404, expected)

    async def test_malformed_id_is_404(self, clinic_a):
        response = await clinic_a.get(f"{API}/prescription/not-a-uuid")

        assert response.status_code == 404
        assert response.json()["error"] == "ProductNotFound"

    def test_no_route_takes_the_kind_segment_as_a_parameter(self):
        paths = {route.path for route in endpoints.router.routes}

        assert not [path for path in paths if path.startswith("/products/{")]
        assert {
            "/products",
            "/products/formulas",
            "/products/formulas/{formula_id}",
            *(f"/products/{kind}" for kind in KINDS),
            *(f"/products/{kind}/{{product_id}}" for kind in KINDS),
        } == paths


class TestTenancy:
    async def test_another_customer_gets_404(self, clinic_a, clinic_b, db):
        created = await create(clinic_a, "prescription")
        url = f"{API}/prescription/{created['id']}"

        async with db.writes_nothing():
            put = await clinic_b.put(url, json={"name": "Stolen"})
        got = await clinic_b.get(url)

        assert (got.status_code, put.status_code) == (404, 404)
        assert (await clinic_b.get(f"{API}/prescription")).json() == []
        assert (await clinic_b.get(API)).json()["prescription"] == []

    async def test_staff_see_every_customer(self, clinic_a, clinic_b, pharmacist):
        a = await create(clinic_a, "non_prescription")
        b = await create(clinic_b, "non_prescription")

        listed = (await pharmacist.get(f"{API}/non_prescription")).json()
        edited = await pharmacist.put(f"{API}/non_prescription/{b['id']}", json={"price": 1})

        assert [p["id"] for p in listed] == [a["id"], b["id"]]
        assert edited.status_code == 200

    async def test_global_materials_are_visible_to_every_customer(
        self, clinic_a, clinic_b, pharmacist, db
    ):
        insert = await create(pharmacist, "order_material", name="Regulatory insert")

        row = await stored(db, insert["id"])
        assert (insert["is_global"], row.customer_id) == (True, None)
        for client in (clinic_a, clinic_b):
            assert (await client.get(f"{API}/order_material")).json() == [insert]
            assert (await client.get(API)).json()["order_material"] == [insert]
            got = await client.get(f"{API}/order_material/{insert['id']}")
            assert got.json() == insert

    async def test_customer_cannot_edit_a_global_material(self, clinic_a, pharmacist, db):
        insert = await create(pharmacist, "order_material", name="Regulatory insert")
        url = f"{API}/order_material/{insert['id']}"

        async with db.writes_nothing():
            response = await clinic_a.put(url, json={"name": "Mine now"})
        by_staff = await pharmacist.put(url, json={"name": "Insert v2"})

        assert response.status_code == 403
        assert response.json() == {
            "error": "GlobalMaterialReadOnly",
            "detail": "A global order material can be changed only by pharmacy staff.",
        }
        assert by_staff.json()["name"] == "Insert v2"

    async def test_customer_cannot_make_a_material_global(self, clinic_a, db):
        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{API}/order_material", json={**ORDER_MATERIAL, "is_global": True}
            )
        assert response.status_code == 403
        assert response.json() == {
            "error": "OnlyStaffMakeGlobal",
            "detail": "Only pharmacy staff may make an order material global (is_global).",
        }
        mine = await create(clinic_a, "order_material")
        update = await clinic_a.put(f"{API}/order_material/{mine['id']}", json={"is_global": True})
        assert update.status_code == 403
        assert (await stored(db, mine["id"])).is_global is False

    async def test_is_global_cannot_change(self, pharmacist, db):
        insert = await create(pharmacist, "order_material", name="Regulatory insert")

        response = await pharmacist.put(
            f"{API}/order_material/{insert['id']}", json={"is_global": False}
        )

        assert response.status_code == 422
        assert response.json() == {
            "error": "IsGlobalFixed",
            "detail": "is_global cannot change once the order material exists.",
        }
        assert (await stored(db, insert["id"])).is_global is True

    @pytest.mark.parametrize(
        ("kind", "changes"),
        [("prescription", {}), ("non_prescription", {}), ("order_material", {"is_global": False})],
    )
    async def test_staff_create_only_global_materials(self, pharmacist, db, kind, changes):
        async with db.writes_nothing():
            response = await pharmacist.post(f"{API}/{kind}", json={**EXAMPLES[kind], **changes})

        assert response.status_code == 403
        assert response.json()["error"] == "ProductsBelongToCustomers"


# -- derived stock ------------------------------------------------------------------------------


async def add_lot(
    db: Db,
    product_id: str,
    quantity: int,
    per_unit: int,
    *,
    active: bool = True,
    expires: Any = None,
) -> None:
    async with db.database.transaction() as session:
        lot = models.InventoryLot(
            type="non_prescription",
            initial_quantity=quantity,
            current_quantity=quantity,
            unit_type="ml",
            is_active=active,
            expiration_date=expires,
        )
        session.add(lot)
        await session.flush()
        session.add(
            models.LotAssociation(
                lot_id=lot.id, product_id=uuid.UUID(product_id), units_per_product=per_unit
            )
        )


class TestStock:
    async def test_only_active_unexpired_lots_count(self, clinic_a, db):
        product = await create(clinic_a, "non_prescription")
        other = await create(clinic_a, "non_prescription", name="Other")
        now = utcnow()
        await add_lot(db, product["id"], 1000, 100)  # 10
        await add_lot(db, product["id"], 250, 100, expires=now + timedelta(days=30))  # 2
        await add_lot(db, product["id"], 999, 1, active=False)
        await add_lot(db, product["id"], 999, 1, expires=now - timedelta(days=1))
        await add_lot(db, other["id"], 5, 10)  # an active lot that supplies nothing

        listed = (await clinic_a.get(f"{API}/non_prescription")).json()
        one = (await clinic_a.get(f"{API}/non_prescription/{product['id']}")).json()
        updated = (
            await clinic_a.put(
                f"{API}/non_prescription/{product['id']}",
                json={"current_stock": 1, "has_inventory": False},
            )
        ).json()

        figures = [(p["current_stock"], p["has_inventory"]) for p in listed]
        assert figures == [(12, True), (0, True)]
        assert (one["current_stock"], one["has_inventory"]) == (12, True)
        assert (updated["current_stock"], updated["has_inventory"]) == (12, True)

    async def test_only_dead_lots_mean_no_inventory(self, clinic_a, db):
        product = await create(clinic_a, "prescription")
        await add_lot(db, product["id"], 500, 1, active=False)
        await add_lot(db, product["id"], 500, 1, expires=utcnow() - timedelta(seconds=1))

        one = (await clinic_a.get(f"{API}/prescription/{product['id']}")).json()

        assert (one["current_stock"], one["has_inventory"]) == (0, False)

    async def test_service_exposes_stock_levels(self, clinic_a, db):
        product = await create(clinic_a, "order_material")
        await add_lot(db, product["id"], 7, 2)
        missing = uuid.uuid4()

        async with db.database.sessions() as session:
            levels = await product_service.stock_levels(
                session, [uuid.UUID(product["id"]), missing]
            )

        assert levels == {uuid.UUID(product["id"]): (3, True), missing: (0, False)}


LOTS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),  # current_quantity
        st.integers(min_value=1, max_value=500),  # units_per_product
        st.booleans(),  # is_active
        st.sampled_from(["none", "past", "future"]),  # expiration
    ),
    max_size=6,
)


def reference_stock(lots: list[tuple[int, int, bool, str]]) -> tuple[int, bool]:
    live = [(q, per) for q, per, active, expiry in lots if active and expiry != "past"]
    return sum(q // per for q, per in live), bool(live)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lots=LOTS)
async def test_stock_matches_the_reference(db, lots):
    """Each example writes inside one transaction it never commits."""
    now = utcnow()
    expiry = {"none": None, "past": now - timedelta(days=1), "future": now + timedelta(days=1)}
    async with db.database.sessions() as session:
        product = models.Product(
            customer_id=None, kind="order_material", sku=str(uuid.uuid4()), name="P", is_global=True
        )
        session.add(product)
        await session.flush()
        for quantity, per_unit, active, expires in lots:
            lot = models.InventoryLot(
                type="order_material",
                initial_quantity=quantity,
                current_quantity=quantity,
                unit_type="each",
                is_active=active,
                expiration_date=expiry[expires],
            )
            session.add(lot)
            await session.flush()
            session.add(
                models.LotAssociation(
                    lot_id=lot.id, product_id=product.id, units_per_product=per_unit
                )
            )
        await session.flush()

        levels = await stock_levels(session, [product.id], now=now)
        await session.rollback()

    expected_stock, expected_inventory = reference_stock(lots)
    assert levels == {product.id: (expected_stock, expected_inventory)}


async def test_openapi_documents_every_kind(anon):
    schema = (await anon.get("/openapi.json")).json()

    for kind, label in (
        ("prescription", "prescription product"),
        ("non_prescription", "non-prescription product"),
        ("order_material", "order material"),
    ):
        operations = schema["paths"][f"/api/v1/products/{kind}"]
        assert operations["post"]["summary"] == f"Create a {label}"
        assert sorted(operations["post"]["responses"]) == ["201", "403", "409", "422"]
        one = schema["paths"][f"/api/v1/products/{kind}/{{product_id}}"]
        assert sorted(one) == ["get", "put"]
    examples = schema["components"]["schemas"]
    assert examples["OrderMaterialCreate"]["example"] == ORDER_MATERIAL
    assert examples["NonPrescriptionProductCreate"]["example"] == NON_PRESCRIPTION
