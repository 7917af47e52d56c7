"""Issuing, listing, verifying and deactivating barcodes, on both engines."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from pestle import models
from pestle.barcodes.schemas import MAX_EXPIRES_IN, EntityType
from tests.barcodes.support import (
    API,
    BARCODE_KEYS,
    ENTITY_TYPES,
    assert_blend_image,
    decode_image,
    entities,
    issue,
    me,
    parse_naive,
    set_expiry,
)
from tests.conftest import Db, user_client
from tests.orders.support import make_patient, make_product, ok, staff

ALLOWED = (
    "'user', 'order', 'patient', 'prescription', 'prescription_product', "
    "'non_prescription_product', 'order_material' or 'inventory'"
)


def test_path_enum_is_the_models() -> None:
    assert [kind.value for kind in EntityType] == list(models.BARCODE_ENTITY_TYPES)


class TestCreate:
    async def test_every_entity_type(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        ids = await entities(clinic_a)
        customer_id = (await db.all(models.Customer, name="Clinic A"))[0].id
        user_id = uuid.UUID((await me(clinic_a))["id"])
        for entity_type in ENTITY_TYPES:
            before = datetime.now(UTC).replace(tzinfo=None)
            barcode = await issue(clinic_a, entity_type, ids[entity_type])
            after = datetime.now(UTC).replace(tzinfo=None)
            assert set(barcode) == BARCODE_KEYS
            prefix = f"{entity_type.upper()}-{ids[entity_type]}-"
            assert re.fullmatch(re.escape(prefix) + "[0-9a-f]{8}", barcode["barcode_value"])
            assert barcode["entity_type"] == entity_type
            assert barcode["entity_id"] == ids[entity_type]
            assert barcode["is_active"] is True
            assert barcode["deactivated_at"] is None
            created = parse_naive(barcode["created_at"])
            assert before <= created <= after
            if entity_type == "user":
                expires = parse_naive(barcode["expires_at"])
                # Derived from "now" just before the row is stamped, as Blend's example.
                assert timedelta(hours=1) - timedelta(seconds=1) < expires - created
                assert expires - created <= timedelta(hours=1)
            else:
                assert barcode["expires_at"] is None
            assert_blend_image(barcode)
            [row] = await db.all(models.Barcode, id=uuid.UUID(barcode["id"]))
            assert row.customer_id == customer_id
            assert row.created_by_id == user_id
            assert row.barcode_value == barcode["barcode_value"]

    async def test_a_user_badge_is_blends_54_px_aztec(self, clinic_a: httpx.AsyncClient) -> None:
        user = await me(clinic_a)
        barcode = await issue(clinic_a, "user", user["id"])
        decoded = decode_image(barcode["image"])
        assert (decoded.width, decoded.height) == (54, 54)

    async def test_earlier_barcodes_stay_active(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        first = await issue(clinic_a, "patient", patient["id"])
        second = await issue(clinic_a, "patient", patient["id"])
        assert first["barcode_value"] != second["barcode_value"]
        listed = ok(await clinic_a.get(f"{API}/patient/{patient['id']}"))
        assert [b["id"] for b in listed] == [second["id"], first["id"]]

    async def test_expires_in(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        barcode = await issue(clinic_a, "patient", patient["id"], expires_in=900)
        lived = parse_naive(barcode["expires_at"]) - parse_naive(barcode["created_at"])
        assert timedelta(seconds=899) < lived <= timedelta(seconds=900)
        user = await me(clinic_a)
        badge = await issue(clinic_a, "user", user["id"], expires_in=MAX_EXPIRES_IN)
        lived = parse_naive(badge["expires_at"]) - parse_naive(badge["created_at"])
        assert timedelta(seconds=MAX_EXPIRES_IN - 1) < lived <= timedelta(seconds=MAX_EXPIRES_IN)
        explicit_null = ok(await clinic_a.post(f"{API}/patient/{patient['id']}", json={}), 201)
        assert explicit_null["expires_at"] is None

    async def test_bad_expires_in_is_422_and_writes_nothing(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        url = f"{API}/patient/{patient['id']}"
        async with db.writes_nothing():
            for bad in (0, -5, MAX_EXPIRES_IN + 1, "60", 1.5, True):
                response = await clinic_a.post(url, json={"expires_in": bad})
                assert response.status_code == 422, bad
                [error] = response.json()["detail"]
                assert error["loc"] == ["body", "expires_in"], bad
            extra = await clinic_a.post(url, json={"expires_in": 60, "ttl": 5})
            assert extra.status_code == 422
            assert extra.json()["detail"][0]["loc"] == ["body", "ttl"]
            malformed = await clinic_a.post(
                url, content=b"{not json", headers={"Content-Type": "application/json"}
            )
            assert malformed.status_code == 400
            assert malformed.json()["error"] == "MalformedBody"

    async def test_unknown_entity_type_is_422_naming_the_values(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        async with db.writes_nothing():
            for method in ("post", "get"):
                response = await getattr(clinic_a, method)(f"{API}/shipment/{patient['id']}")
                assert response.status_code == 422
                [error] = response.json()["detail"]
                assert error["loc"] == ["path", "entity_type"]
                assert error["msg"] == f"Input should be {ALLOWED}"

    async def test_unknown_or_mismatched_entity_is_404_and_writes_nothing(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        plain = await make_product(clinic_a, "non_prescription", name="Sunscreen")
        patient = await make_patient(clinic_a)
        missing = str(uuid.uuid4())
        async with db.writes_nothing():
            cases = [
                ("order", missing, f"No order {missing!r}."),
                ("patient", "not-a-uuid", "No patient 'not-a-uuid'."),
                ("prescription_product", plain["id"], f"No prescription_product {plain['id']!r}."),
                ("order_material", plain["id"], f"No order_material {plain['id']!r}."),
                ("inventory", patient["id"], f"No inventory {patient['id']!r}."),
            ]
            for entity_type, ref, detail in cases:
                response = await clinic_a.post(f"{API}/{entity_type}/{ref}")
                assert response.status_code == 404
                assert response.json() == {"error": "EntityNotFound", "detail": detail}

    async def test_a_retry_with_the_same_idempotency_key_issues_one(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        patient = await make_patient(clinic_a)
        url = f"{API}/patient/{patient['id']}"
        headers = {"Idempotency-Key": "scan-station-7-0001"}
        first = ok(await clinic_a.post(url, headers=headers), 201)
        again = ok(await clinic_a.post(url, headers=headers), 201)
        assert again == first
        assert await db.count(models.Barcode) == 1

    async def test_an_order_by_its_number(self, clinic_a: httpx.AsyncClient) -> None:
        ids = await entities(clinic_a)
        order = ok(await clinic_a.get(f"/api/v1/orders/{ids['order']}"))
        barcode = await issue(clinic_a, "order", order["order_number"])
        assert barcode["entity_id"] == order["id"]
        assert barcode["barcode_value"].startswith(f"ORDER-{order['id']}-")


class TestList:
    async def test_filters_images_and_pages(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        url = f"{API}/patient/{patient['id']}"
        first, second, third = [await issue(clinic_a, "patient", patient["id"]) for _ in range(3)]
        assert (await clinic_a.delete(f"{url}/{second['id']}")).status_code == 204

        active = await clinic_a.get(url)
        assert active.headers["X-Total-Count"] == "2"
        assert [b["id"] for b in active.json()] == [third["id"], first["id"]]
        for barcode in active.json():
            assert_blend_image(barcode)

        everything = ok(await clinic_a.get(url, params={"is_active": "false"}))
        assert [(b["id"], b["is_active"]) for b in everything] == [
            (third["id"], True),
            (second["id"], False),
            (first["id"], True),
        ]
        parse_naive(everything[1]["deactivated_at"])

        bare = ok(await clinic_a.get(url, params={"include_images": "false"}))
        assert [set(b) for b in bare] == [BARCODE_KEYS - {"image"}] * 2
        assert bare[0] == {key: third[key] for key in BARCODE_KEYS - {"image"}}

        paged = await clinic_a.get(url, params={"page_size": 1, "include_images": "false"})
        assert [b["id"] for b in paged.json()] == [third["id"]]
        assert paged.headers["X-Total-Count"] == "2"
        assert 'rel="next"' in paged.headers["Link"]

    async def test_no_barcodes_is_an_empty_list(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        response = await clinic_a.get(f"{API}/patient/{patient['id']}")
        assert response.json() == []
        assert response.headers["X-Total-Count"] == "0"

    async def test_bad_query_and_unknown_entity(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        bad = await clinic_a.get(f"{API}/patient/{patient['id']}", params={"is_active": "maybe"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["query", "is_active"]
        missing = str(uuid.uuid4())
        unknown = await clinic_a.get(f"{API}/patient/{missing}")
        assert unknown.status_code == 404
        assert unknown.json() == {"error": "EntityNotFound", "detail": f"No patient {missing!r}."}


class TestVerify:
    async def test_every_type_verifies_to_its_entity(self, clinic_a: httpx.AsyncClient) -> None:
        ids = await entities(clinic_a)
        for entity_type in ENTITY_TYPES:
            barcode = await issue(clinic_a, entity_type, ids[entity_type])
            scanned = decode_image(barcode["image"]).texts[0]
            verified = ok(await clinic_a.post(f"{API}/verify", json={"barcode_value": scanned}))
            assert verified == barcode
            assert_blend_image(verified)

    async def test_a_scanners_newline_is_ignored(self, clinic_a: httpx.AsyncClient) -> None:
        patient = await make_patient(clinic_a)
        barcode = await issue(clinic_a, "patient", patient["id"])
        value = barcode["barcode_value"] + "\r\n"
        verified = ok(await clinic_a.post(f"{API}/verify", json={"barcode_value": value}))
        assert verified["id"] == barcode["id"]

    async def test_unknown_value_is_404(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        async with db.writes_nothing():
            response = await clinic_a.post(f"{API}/verify", json={"barcode_value": "USER-x-1"})
            assert response.status_code == 404
            assert response.json() == {
                "error": "BarcodeNotFound",
                "detail": "No barcode with this value.",
            }
            for body in ({}, {"barcode_value": ""}, {"barcode_value": 5}):
                assert (await clinic_a.post(f"{API}/verify", json=body)).status_code == 422

    async def test_expired_is_410(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        user = await me(clinic_a)
        barcode = await issue(clinic_a, "user", user["id"])
        await set_expiry(db, barcode["id"], datetime(2025, 4, 29, 3, 47, 19, 834495, tzinfo=UTC))
        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{API}/verify", json={"barcode_value": barcode["barcode_value"]}
            )
        assert response.status_code == 410
        assert response.json() == {
            "error": "BarcodeExpired",
            "detail": "This barcode expired at 2025-04-29T03:47:19.834495Z; issue a new one.",
        }

    async def test_deactivated_is_410(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        patient = await make_patient(clinic_a)
        barcode = await issue(clinic_a, "patient", patient["id"])
        url = f"{API}/patient/{patient['id']}/{barcode['id']}"
        assert (await clinic_a.delete(url)).status_code == 204
        [row] = await db.all(models.Barcode, id=uuid.UUID(barcode["id"]))
        assert row.deactivated_at is not None
        at = row.deactivated_at.isoformat().replace("+00:00", "Z")
        response = await clinic_a.post(
            f"{API}/verify", json={"barcode_value": barcode["barcode_value"]}
        )
        assert response.status_code == 410
        assert response.json() == {
            "error": "BarcodeInactive",
            "detail": f"This barcode was deactivated at {at}; issue a new one.",
        }

    async def test_a_deactivated_users_badge_is_410(self, server: str, db: Db) -> None:
        async with user_client(server, db, "tech@pharmacy.pestle.dev", "technician", None) as tech:
            badge = await issue(tech, "user", (await me(tech))["id"])
            await db.deactivate("tech@pharmacy.pestle.dev")
        async with staff(server, db, "pharmacist") as pharmacist:
            response = await pharmacist.post(
                f"{API}/verify", json={"barcode_value": badge["barcode_value"]}
            )
        assert response.status_code == 410
        assert response.json() == {
            "error": "BarcodeEntityGone",
            "detail": "The user this barcode was issued for is inactive or deleted.",
        }


class TestDeactivate:
    async def test_deactivates_once(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        patient = await make_patient(clinic_a)
        barcode = await issue(clinic_a, "patient", patient["id"])
        url = f"{API}/patient/{patient['id']}/{barcode['id']}"
        response = await clinic_a.delete(url)
        assert response.status_code == 204
        assert response.content == b""
        [row] = await db.all(models.Barcode, id=uuid.UUID(barcode["id"]))
        assert row.is_active is False
        first = row.deactivated_at
        assert first is not None
        assert (await clinic_a.delete(url)).status_code == 204
        [row] = await db.all(models.Barcode, id=uuid.UUID(barcode["id"]))
        assert row.deactivated_at == first
        assert ok(await clinic_a.get(f"{API}/patient/{patient['id']}")) == []

    async def test_unknown_barcode_or_another_entitys_is_404(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        one = await make_patient(clinic_a)
        other = await make_patient(clinic_a, external_id="other")
        barcode = await issue(clinic_a, "patient", one["id"])
        missing = uuid.uuid4()
        async with db.writes_nothing():
            response = await clinic_a.delete(f"{API}/patient/{other['id']}/{barcode['id']}")
            assert response.status_code == 404
            assert response.json() == {
                "error": "BarcodeNotFound",
                "detail": f"No barcode {barcode['id']} for patient {other['id']}.",
            }
            response = await clinic_a.delete(f"{API}/patient/{one['id']}/{missing}")
            assert response.status_code == 404
            assert response.json()["error"] == "BarcodeNotFound"
            response = await clinic_a.delete(f"{API}/patient/{one['id']}/not-a-uuid")
            assert response.status_code == 422
        [row] = await db.all(models.Barcode, id=uuid.UUID(barcode["id"]))
        assert row.is_active is True


class TestTenancy:
    async def test_another_customers_entities_are_404(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        ids = await entities(clinic_a)
        issued = {kind: await issue(clinic_a, kind, ids[kind]) for kind in ENTITY_TYPES}
        async with db.writes_nothing():
            for kind in ENTITY_TYPES:
                ref = ids[kind]
                expected = {"error": "EntityNotFound", "detail": f"No {kind} {ref!r}."}
                created = await clinic_b.post(f"{API}/{kind}/{ref}")
                assert (created.status_code, created.json()) == (404, expected)
                listed = await clinic_b.get(f"{API}/{kind}/{ref}")
                assert (listed.status_code, listed.json()) == (404, expected)
                label = await clinic_b.get(f"{API}/{kind}/{ref}/label.png")
                assert (label.status_code, label.json()) == (404, expected)
                deleted = await clinic_b.delete(f"{API}/{kind}/{ref}/{issued[kind]['id']}")
                assert (deleted.status_code, deleted.json()) == (404, expected)
                value = issued[kind]["barcode_value"]
                verified = await clinic_b.post(f"{API}/verify", json={"barcode_value": value})
                assert verified.status_code == 404
                assert verified.json()["error"] == "BarcodeNotFound"
        assert await db.count(models.Barcode, is_active=True) == len(ENTITY_TYPES)

    async def test_a_customer_badges_its_own_users_only(
        self, server: str, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        async with user_client(
            server, db, "member@clinic-a.pestle.dev", "member", "Clinic A"
        ) as member:
            member_id = (await me(member))["id"]
            by_admin = await issue(clinic_a, "user", member_id)
            assert by_admin["entity_id"] == member_id
            # A member issues and verifies too.
            ok(
                await member.post(
                    f"{API}/verify", json={"barcode_value": by_admin["barcode_value"]}
                )
            )
        staff_id = (await me(pharmacist))["id"]
        async with db.writes_nothing():
            response = await clinic_a.post(f"{API}/user/{staff_id}")
            assert response.status_code == 404

    async def test_staff_barcode_anything(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        ids = await entities(clinic_a)
        customer_id = (await db.all(models.Customer, name="Clinic A"))[0].id
        for kind in ENTITY_TYPES:
            barcode = await issue(pharmacist, kind, ids[kind])
            [row] = await db.all(models.Barcode, id=uuid.UUID(barcode["id"]))
            assert row.customer_id == customer_id
            # The customer sees what staff issued for its entities.
            verified = await clinic_a.post(
                f"{API}/verify", json={"barcode_value": barcode["barcode_value"]}
            )
            assert verified.json()["id"] == barcode["id"]

        staff_badge = await issue(pharmacist, "user", (await me(pharmacist))["id"])
        material = await make_product(pharmacist, "order_material", name="Box", is_global=True)
        global_code = await issue(pharmacist, "order_material", material["id"])
        for barcode in (staff_badge, global_code):
            [row] = await db.all(models.Barcode, id=uuid.UUID(barcode["id"]))
            assert row.customer_id is None
            value = barcode["barcode_value"]
            hidden = await clinic_a.post(f"{API}/verify", json={"barcode_value": value})
            assert hidden.status_code == 404
        # A customer sees a global material but cannot barcode it: the code would be no one's.
        refused = await clinic_a.post(f"{API}/order_material/{material['id']}")
        assert refused.status_code == 404


async def test_openapi_documents_every_route(anon: httpx.AsyncClient) -> None:
    paths = ok(await anon.get("/openapi.json"))["paths"]
    expected = {
        f"{API}/verify": {"post": {"200", "404", "410", "422"}},
        f"{API}/parse": {"post": {"200", "422"}},
        f"{API}/{{entity_type}}/{{entity_id}}": {
            "post": {"201", "404", "422"},
            "get": {"200", "404", "422"},
        },
        f"{API}/{{entity_type}}/{{entity_id}}/label.png": {"get": {"200", "404", "422"}},
        f"{API}/{{entity_type}}/{{entity_id}}/{{barcode_id}}": {"delete": {"204", "404", "422"}},
    }
    for path, methods in expected.items():
        for method, statuses in methods.items():
            operation = paths[path][method]
            assert operation["summary"], (path, method)
            assert operation["description"], (path, method)
            assert set(operation["responses"]) == statuses, (path, method)
