"""Risk factors: free text matched to the vocabulary, discrete entries, confirm, deactivate."""

from typing import Any

import pytest

from pestle import models
from pestle.kit.time import rest_format
from pestle.patients.schemas import MEDICATION_DETAIL_FIELDS as DETAIL_FIELDS
from tests.patients.test_endpoints import patient

CONTRACT_TEXT = {
    "allergies": "peanuts, tree nuts, shellfish",
    "conditions": "asthma; hypertension",
    "medications": "albuterol / levothyroxine",
}
LIOTHYRONINE = {
    "type": "medication",
    "confidence": 0.95,
    "is_active": True,
    "match_source": "autocomplete",
    "match_type": "product",
    "matched": True,
    "matched_via_synonym": False,
    "patient_id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
    "text_chunk": "liothyronine",
    "brand_name": "Cytomel",
    "clinical_product_rxcui": "978941",
    "ingredient_name": "liothyronine",
    "ingredient_rxcui": "10814",
    "name": "liothyronine 5 MCG Oral Tablet",
    "normalization_key": "SCDG:1165185|generic",
    "product_rxcui": "978941",
    "scdf_name": "liothyronine Oral Tablet",
    "scdf_rxcui": "372078",
    "scdg_name": "liothyronine Oral Product",
    "scdg_rxcui": "1165185",
}


async def concept(db, risk_type: str, name: str) -> models.RiskFactorConcept:
    (found,) = await db.all(models.RiskFactorConcept, type=risk_type, name=name)
    return found


async def new_patient(client, **changes: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/patients", json=patient(**changes))
    assert response.status_code == 201, response.text
    return response.json()


def summary(mapping: dict[str, Any]) -> tuple:
    return (mapping["name"], mapping["original_name"], mapping["matched"], mapping["confidence"])


class TestFreeText:
    async def test_patient_text_is_split_matched_and_left_unconfirmed(self, clinic_a, db):
        created = await new_patient(clinic_a, risk_factors=CONTRACT_TEXT)
        assert "risk_factors" not in created
        grouped = (await clinic_a.get(f"/api/v1/patients/{created['id']}/risk_factors")).json()
        assert [summary(m) for m in grouped["allergies"]] == [
            ("Peanut", "peanuts", False, 1.0),
            ("Tree nuts", "tree nuts", False, 1.0),
            ("Shellfish", "shellfish", False, 1.0),
        ]
        assert [summary(m) for m in grouped["conditions"]] == [
            ("Asthma", "asthma", False, 1.0),
            ("Hypertension", "hypertension", False, 1.0),
        ]
        assert [summary(m) for m in grouped["medications"]] == [
            ("albuterol", "albuterol", False, 1.0),
            ("levothyroxine", "levothyroxine", False, 1.0),
        ]
        (text,) = await db.all(models.RiskFactorText)
        assert (text.allergies, text.conditions, text.medications) == (
            "peanuts, tree nuts, shellfish",
            "asthma; hypertension",
            "albuterol / levothyroxine",
        )
        levothyroxine = grouped["medications"][1]
        stored = await concept(db, "medication", "levothyroxine")
        assert levothyroxine == {
            "id": levothyroxine["id"],
            "created_at": levothyroxine["created_at"],
            "updated_at": levothyroxine["updated_at"],
            "type": "medication",
            "risk_factor_id": str(stored.id),
            "confidence": 1.0,
            "is_active": True,
            "match_source": "text",
            "match_type": "ingredient",
            "matched": False,
            "matched_via_synonym": False,
            "patient_id": created["id"],
            "risk_factor_text_id": str(text.id),
            "text_chunk": "levothyroxine",
            "name": "levothyroxine",
            "original_name": "levothyroxine",
            "confirmed_at": None,
            "medication_detail": {field: getattr(stored, field) for field in DETAIL_FIELDS},
        }
        peanut = grouped["allergies"][0]
        assert peanut["risk_factor_id"] == str((await concept(db, "allergy", "Peanut")).id)

    async def test_synonym_misspelling_and_no_match(self, clinic_a, db):
        created = await new_patient(clinic_a)
        response = await clinic_a.post(
            f"/api/v1/patients/{created['id']}/risk_factor_text",
            json={"allergies": "sulfa; peniccillin; qwerty zzz", "medications": "Synthroid"},
        )
        assert response.status_code == 201
        allergies = {m["original_name"]: m for m in response.json()["allergies"]}
        assert summary(allergies["sulfa"]) == ("Sulfonamides", "sulfa", False, 1.0)
        misspelt = allergies["peniccillin"]
        assert misspelt["name"] == "Penicillin"
        assert 0.85 <= misspelt["confidence"] < 1.0
        assert summary(allergies["qwerty zzz"]) == ("qwerty zzz", "qwerty zzz", False, None)
        assert allergies["qwerty zzz"]["risk_factor_id"] is None
        (synthroid,) = response.json()["medications"]
        assert (synthroid["name"], synthroid["matched_via_synonym"]) == ("levothyroxine", True)

    async def test_nothing_to_record_records_nothing(self, clinic_a, db):
        created = await new_patient(
            clinic_a, risk_factors={"allergies": "NKDA", "conditions": "None"}
        )
        grouped = (await clinic_a.get(f"/api/v1/patients/{created['id']}/risk_factors")).json()
        assert grouped == {"allergies": [], "conditions": [], "medications": []}
        assert await db.count(models.RiskFactorText) == 1

    async def test_the_same_text_twice_adds_nothing_new(self, clinic_a, db):
        created = await new_patient(clinic_a, risk_factors={"allergies": "peanuts"})
        response = await clinic_a.put(
            f"/api/v1/patients/{created['id']}",
            json={"risk_factors": {"allergies": "Peanut, latex"}},
        )
        assert response.status_code == 200
        grouped = (await clinic_a.get(f"/api/v1/patients/{created['id']}/risk_factors")).json()
        assert [m["name"] for m in grouped["allergies"]] == ["Peanut", "Latex"]
        assert await db.count(models.RiskFactorText) == 2

    async def test_type_filter_keeps_the_keys(self, clinic_a):
        created = await new_patient(clinic_a, risk_factors=CONTRACT_TEXT)
        base = f"/api/v1/patients/{created['id']}/risk_factors"
        for value in ("allergy", "allergies", "ALLERGY"):
            only = (await clinic_a.get(f"{base}?type={value}")).json()
            assert (len(only["allergies"]), only["conditions"], only["medications"]) == (3, [], [])
        bad = await clinic_a.get(f"{base}?type=vitamins")
        assert bad.status_code == 422
        assert bad.json() == {
            "detail": "Unknown risk factor type 'vitamins'; use allergy, condition or medication.",
            "error": "UnknownRiskFactorType",
        }


class TestDiscrete:
    async def test_bulk_create_answers_with_the_grouped_list(self, clinic_a, db):
        created = await new_patient(clinic_a)
        response = await clinic_a.post(
            f"/api/v1/patients/{created['id']}/risk_factors",
            json=[LIOTHYRONINE, {"type": "allergy", "name": "Latex", "match_source": "manual"}],
        )
        assert response.status_code == 201
        body = response.json()
        (medication,) = body["medications"]
        assert medication["medication_detail"] == {f: LIOTHYRONINE[f] for f in DETAIL_FIELDS}
        assert medication["patient_id"] == created["id"]  # the path wins over the body
        assert (medication["matched"], medication["match_source"]) == (True, "autocomplete")
        assert [(a["name"], a["matched"], a["type"]) for a in body["allergies"]] == [
            ("Latex", False, "allergy")
        ]

    async def test_single_create_returns_the_mapping(self, clinic_a, db):
        created = await new_patient(clinic_a)
        latex = await concept(db, "allergy", "Latex")
        response = await clinic_a.post(
            f"/api/v1/patients/{created['id']}/risk_factor",
            json={"type": "allergy", "risk_factor_id": str(latex.id), "confidence": 1.0},
        )
        assert response.status_code == 201
        body = response.json()
        (stored,) = await db.all(models.RiskFactorMapping)
        assert body == {
            "id": str(stored.id),
            "created_at": rest_format(stored.created_at),
            "updated_at": rest_format(stored.updated_at),
            "type": "allergy",
            "risk_factor_id": str(latex.id),
            "confidence": 1.0,
            "is_active": True,
            "match_source": "manual",
            "match_type": None,
            "matched": True,
            "matched_via_synonym": False,
            "patient_id": created["id"],
            "risk_factor_text_id": None,
            "text_chunk": None,
            "name": "Latex",
            "original_name": None,
            "confirmed_at": None,
            "medication_detail": None,
        }

    @pytest.mark.parametrize(
        ("item", "status", "error"),
        [
            ({"type": "vitamin", "name": "x"}, 422, "ValidationError"),
            ({"type": "allergy"}, 422, "ValidationError"),
            ({"type": "allergy", "name": "x", "confidence": 1.5}, 422, "ValidationError"),
            (
                {"type": "allergy", "risk_factor_id": "00000000-0000-7000-8000-000000000000"},
                422,
                "UnknownConcept",
            ),
            (
                {
                    "type": "allergy",
                    "name": "x",
                    "risk_factor_text_id": "00000000-0000-7000-8000-000000000000",
                },
                422,
                "UnknownRiskFactorText",
            ),
        ],
    )
    async def test_bad_items_write_nothing(self, clinic_a, db, item, status, error):
        created = await new_patient(clinic_a)
        async with db.writes_nothing():
            response = await clinic_a.post(
                f"/api/v1/patients/{created['id']}/risk_factors",
                json=[{"type": "condition", "name": "Asthma"}, item],
            )
        assert response.status_code == status
        assert response.json()["error"] == error


class TestConfirmAndDeactivate:
    async def first_allergy(self, client, text="peniccillin") -> tuple[str, dict[str, Any]]:
        created = await new_patient(client, risk_factors={"allergies": text})
        grouped = (await client.get(f"/api/v1/patients/{created['id']}/risk_factors")).json()
        return created["id"], grouped["allergies"][0]

    async def test_confirm_makes_it_a_manual_match(self, clinic_a, db):
        patient_id, mapping = await self.first_allergy(clinic_a)
        response = await clinic_a.patch(
            f"/api/v1/patients/{patient_id}/risk_factors/{mapping['id']}"
        )
        assert response.status_code == 200
        body = response.json()
        (stored,) = await db.all(models.RiskFactorMapping)
        assert (body["matched"], body["match_source"], body["confidence"]) == (True, "manual", 1.0)
        assert body["name"] == "Penicillin"
        assert body["confirmed_at"] == rest_format(stored.confirmed_at)
        (admin,) = await db.all(models.User, email="admin@clinic-a.pestle.dev")
        assert stored.confirmed_by_user_id == admin.id

    async def test_confirm_against_another_concept(self, clinic_a, db):
        patient_id, mapping = await self.first_allergy(clinic_a, "qwerty zzz")
        amoxicillin = await concept(db, "medication", "amoxicillin")
        response = await clinic_a.patch(
            f"/api/v1/patients/{patient_id}/risk_factors/{mapping['id']}",
            json={"risk_factor_id": str(amoxicillin.id)},
        )
        assert (response.json()["name"], response.json()["risk_factor_id"]) == (
            "amoxicillin",
            str(amoxicillin.id),
        )
        async with db.writes_nothing():
            unknown = await clinic_a.patch(
                f"/api/v1/patients/{patient_id}/risk_factors/{mapping['id']}",
                json={"risk_factor_id": "00000000-0000-7000-8000-000000000000"},
            )
        assert unknown.status_code == 422

    async def test_deactivate_keeps_the_row_and_is_idempotent(self, clinic_a, db):
        patient_id, mapping = await self.first_allergy(clinic_a)
        path = f"/api/v1/patients/{patient_id}/risk_factors/{mapping['id']}"
        for _ in range(2):
            response = await clinic_a.delete(path)
            assert (response.status_code, response.json()["is_active"]) == (200, False)
        grouped = (await clinic_a.get(f"/api/v1/patients/{patient_id}/risk_factors")).json()
        assert grouped == {"allergies": [], "conditions": [], "medications": []}
        assert await db.count(models.RiskFactorMapping, is_active=False) == 1

    async def test_unknown_mapping_is_404(self, clinic_a):
        patient_id, _ = await self.first_allergy(clinic_a)
        response = await clinic_a.delete(f"/api/v1/patients/{patient_id}/risk_factors/nope")
        assert response.status_code == 404
        assert response.json() == {
            "detail": "No risk factor 'nope' on this patient.",
            "error": "RiskFactorNotFound",
        }

    async def test_changes_emit_patient_updated(self, clinic_a, db):
        patient_id, mapping = await self.first_allergy(clinic_a)
        await clinic_a.patch(f"/api/v1/patients/{patient_id}/risk_factors/{mapping['id']}")
        await clinic_a.delete(f"/api/v1/patients/{patient_id}/risk_factors/{mapping['id']}")
        codes = sorted(event.event_code for event in await db.all(models.OutboxEvent))
        assert codes == ["patient.created", "patient.updated", "patient.updated"]


class TestIsolation:
    async def test_another_customer_cannot_touch_risk_factors(self, clinic_a, clinic_b, db):
        created = await new_patient(clinic_a, risk_factors={"allergies": "peanuts"})
        grouped = (await clinic_a.get(f"/api/v1/patients/{created['id']}/risk_factors")).json()
        mapping_id = grouped["allergies"][0]["id"]
        base = f"/api/v1/patients/{created['id']}"
        async with db.writes_nothing():
            attempts = [
                await clinic_b.post(
                    f"{base}/risk_factors", json=[{"type": "allergy", "name": "x"}]
                ),
                await clinic_b.post(f"{base}/risk_factor", json={"type": "allergy", "name": "x"}),
                await clinic_b.post(f"{base}/risk_factor_text", json={"allergies": "latex"}),
                await clinic_b.patch(f"{base}/risk_factors/{mapping_id}"),
                await clinic_b.delete(f"{base}/risk_factors/{mapping_id}"),
            ]
        assert [response.status_code for response in attempts] == [404] * 5

    async def test_staff_can_confirm(self, clinic_a, pharmacist, db):
        created = await new_patient(clinic_a, risk_factors={"allergies": "peanuts"})
        grouped = (await pharmacist.get(f"/api/v1/patients/{created['id']}/risk_factors")).json()
        response = await pharmacist.patch(
            f"/api/v1/patients/{created['id']}/risk_factors/{grouped['allergies'][0]['id']}"
        )
        assert response.json()["matched"] is True
