"""Formulas over HTTP on both engines, and the beyond-use date rule on its own."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pestle import models
from pestle.kit.time import rest_format
from pestle.products.service import beyond_use_date
from tests.conftest import Db

API = "/api/v1/products/formulas"
# The contract's example (F2) with the ingredients and BUD category Pestle adds.
FORMULA = {
    "name": "Test Formula",
    "description": "Test formula for automated testing",
    "allergen_snomeds": ["32675", "70813002"],
    "allergen_scdgs": ["1165648", "1160157"],
    "medication_scdgs": ["1156982"],
    "ingredients": [
        {"material": "mupirocin USP powder", "quantity_per_unit": 0.3, "unit": "g"},
        {"material": "PEG base", "quantity_per_unit": 14.7, "unit": "g"},
    ],
    "bud_category": "non_aqueous",
}


async def stored(db: Db, formula_id: str) -> models.Formula:
    (row,) = await db.all(models.Formula, id=uuid.UUID(formula_id))
    return row


async def create(client: Any, **overrides: Any) -> dict[str, Any]:
    response = await client.post(API, json={**FORMULA, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class TestCreate:
    async def test_returns_the_whole_formula(self, clinic_a, db):
        response = await clinic_a.post(API, json=FORMULA)

        assert response.status_code == 201
        created = response.json()
        row = await stored(db, created["id"])
        assert created == {
            "id": str(row.id),
            "number": 1,
            "created_at": rest_format(row.created_at),
            "updated_at": rest_format(row.updated_at),
            **FORMULA,
            "beyond_use_days": 90,
            "storage": "controlled room temperature",
        }
        (user,) = await db.all(models.User, email="admin@clinic-a.pestle.dev")
        assert row.customer_id == user.customer_id
        ingredients = await db.all(models.FormulaIngredient, formula_id=row.id)
        assert sorted((i.position, i.material) for i in ingredients) == [
            (0, "mupirocin USP powder"),
            (1, "PEG base"),
        ]

    async def test_only_the_name_is_required(self, clinic_a, db):
        response = await clinic_a.post(API, json={"name": "Bare"})

        created = response.json()
        row = await stored(db, created["id"])
        assert created == {
            "id": str(row.id),
            "number": 1,
            "created_at": rest_format(row.created_at),
            "updated_at": rest_format(row.updated_at),
            "name": "Bare",
            "description": None,
            "allergen_snomeds": [],
            "allergen_scdgs": [],
            "medication_scdgs": [],
            "ingredients": [],
            "bud_category": "non_aqueous",
            "beyond_use_days": 90,
            "storage": "controlled room temperature",
        }

    @pytest.mark.parametrize(
        ("category", "days", "storage"),
        [
            ("non_preserved_aqueous", 14, "refrigerated"),
            ("preserved_aqueous", 35, "controlled room temperature"),
            ("non_aqueous", 90, "controlled room temperature"),
            ("solid", 180, "controlled room temperature"),
        ],
    )
    async def test_beyond_use_days_follow_the_category(self, clinic_a, category, days, storage):
        created = await create(clinic_a, bud_category=category)

        assert (created["beyond_use_days"], created["storage"]) == (days, storage)

    async def test_numbers_are_sequential_across_customers(self, clinic_a, clinic_b, pharmacist):
        numbers = [(await create(client))["number"] for client in (clinic_a, clinic_b, pharmacist)]

        assert numbers == [1, 2, 3]

    async def test_concurrent_creates_get_distinct_numbers(self, clinic_a, db):
        responses = await asyncio.gather(*(clinic_a.post(API, json=FORMULA) for _ in range(4)))

        assert [r.status_code for r in responses] == [201] * 4
        assert sorted(r.json()["number"] for r in responses) == [1, 2, 3, 4]
        assert await db.count(models.FormulaIngredient) == 8

    async def test_staff_formulas_are_pharmacy_wide(self, pharmacist, db):
        created = await create(pharmacist)

        assert (await stored(db, created["id"])).customer_id is None

    @pytest.mark.parametrize(
        ("changes", "location", "problem"),
        [
            ({"name": None}, ["body", "name"], "string_type"),
            ({"colour": "red"}, ["body", "colour"], "extra_forbidden"),
            ({"bud_category": "frozen"}, ["body", "bud_category"], "literal_error"),
            ({"allergen_snomeds": [1]}, ["body", "allergen_snomeds", 0], "string_type"),
            (
                {"ingredients": [{"material": "x", "quantity_per_unit": 0, "unit": "g"}]},
                ["body", "ingredients", 0, "quantity_per_unit"],
                "greater_than",
            ),
            (
                {"ingredients": [{"material": "x", "quantity_per_unit": 1}]},
                ["body", "ingredients", 0, "unit"],
                "missing",
            ),
        ],
    )
    async def test_invalid_field_is_422_naming_it(self, clinic_a, db, changes, location, problem):
        async with db.writes_nothing():
            response = await clinic_a.post(API, json={**FORMULA, **changes})

        assert response.status_code == 422
        (error,) = response.json()["detail"]
        assert (error["loc"], error["type"]) == (location, problem)


class TestRead:
    async def test_by_id_and_by_number(self, clinic_a):
        created = await create(clinic_a)

        for ref in (created["id"], str(created["number"])):
            response = await clinic_a.get(f"{API}/{ref}")
            assert response.status_code == 200
            assert response.json() == created

    async def test_unknown_is_404(self, clinic_a):
        for ref in ("42", str(uuid.uuid4()), "nonsense"):
            response = await clinic_a.get(f"{API}/{ref}")
            assert response.status_code == 404
            assert response.json() == {"error": "FormulaNotFound", "detail": f"No formula {ref!r}."}

    async def test_lists_own_and_pharmacy_wide_formulas(self, clinic_a, clinic_b, pharmacist):
        shared = await create(pharmacist, name="Shared")
        mine = await create(clinic_a, name="Mine")
        theirs = await create(clinic_b, name="Theirs")

        assert (await clinic_a.get(API)).json() == [shared, mine]
        assert (await clinic_b.get(API)).json() == [shared, theirs]
        assert (await pharmacist.get(API)).json() == [shared, mine, theirs]

    async def test_another_customers_formula_is_404(self, clinic_a, clinic_b):
        mine = await create(clinic_a)

        for ref in (mine["id"], str(mine["number"])):
            assert (await clinic_b.get(f"{API}/{ref}")).status_code == 404


NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


class TestBeyondUseDate:
    @pytest.mark.parametrize(
        ("category", "days"),
        [
            ("non_preserved_aqueous", 14),
            ("preserved_aqueous", 35),
            ("non_aqueous", 90),
            ("solid", 180),
        ],
    )
    def test_days_by_category(self, category, days):
        assert beyond_use_date(category, NOW, None) == NOW + timedelta(days=days)

    def test_never_past_the_earliest_ingredient_expiry(self):
        expiry = NOW + timedelta(days=10)

        assert beyond_use_date("non_aqueous", NOW, expiry) == expiry

    def test_a_later_expiry_does_not_extend_it(self):
        expiry = NOW + timedelta(days=400)

        assert beyond_use_date("solid", NOW, expiry) == NOW + timedelta(days=180)
