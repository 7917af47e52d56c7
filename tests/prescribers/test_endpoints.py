"""Prescribers and their state licences over HTTP, on both engines."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from pestle import models
from pestle.kit.time import rest_format, utcnow
from pestle.kit.validators import npi_check_digit
from tests.conftest import Db, user_client

API = "/api/v1/prescribers"
NPI = "1234567893"
OTHER_NPI = "1987654328"
DEA = "FD1234563"
RESTRICTION = "0227d1e5-ba9a-42b5-8fe2-38882aa65708"
# A year ahead, whenever in the run it is read.
NEXT_YEAR = (utcnow().date() + timedelta(days=365)).isoformat()
ADDRESS = {
    "address_1": "140 Lindgren Streets",
    "address_2": "Apt 227",
    "city": "North Consueloburgh",
    "state": "CA",
    "country": "US",
    "zip_code": "02108",
    "type": "practice",
}
LICENCE = {
    "state": "CA",
    "license_number": "1234567890",
    "description": "Nurse Practitioner, Family",
    "expiration_date": NEXT_YEAR,
    "is_active": True,
}


def npi(first_nine: str) -> str:
    return first_nine + str(npi_check_digit(first_nine))


def prescriber_json(**overrides: Any) -> dict[str, Any]:
    """The contract's example (§4.1), with an NPI and a DEA number that pass their checks."""
    body = {
        "first_name": "Willard",
        "middle_name": "Moises",
        "last_name": "Donnelly",
        "email": "Harmon43@gmail.com",
        "phone": "6417383445",
        "date_of_birth": "1990-01-01",
        "gender": "Male",
        "npi": NPI,
        "dea": DEA,
        "spi": "1234567890ABCDEF",
        "driver_license_number": "B49188319",
        "driver_license_state": "CA",
        "is_active": True,
        "credential_npi": "M.D./Ph.D",
        "addresses": [ADDRESS],
        "credentials": [{"credential_code": "MD"}],
        "restrictions": [{"id": RESTRICTION}],
        "qualifications": [LICENCE],
    }
    body.update(overrides)
    return body


MINIMAL = {"first_name": "Ada", "last_name": "Lovelace", "npi": NPI}


async def create(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post(API, json=prescriber_json(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored(db: Db, prescriber_id: str) -> models.Prescriber:
    (row,) = await db.all(models.Prescriber, id=uuid.UUID(prescriber_id))
    return row


async def stored_qualification(db: Db, qualification_id: str) -> models.Qualification:
    (row,) = await db.all(models.Qualification, id=uuid.UUID(qualification_id))
    return row


def qualification_json(row: models.Qualification, **fields: Any) -> dict[str, Any]:
    """``row`` as the API shows it; ``fields`` are the values the test expects it to hold."""
    shown = {
        "id": str(row.id),
        "created_at": rest_format(row.created_at),
        "updated_at": rest_format(row.updated_at),
        **LICENCE,
        "is_expired": False,
        "replaced_at": None,
        "replaced_by_id": None,
    }
    shown.update(fields)
    return shown


def validation_error(response: httpx.Response) -> tuple[list[Any], str]:
    """The location and message of the only problem a 422 reports."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationError"
    (problem,) = body["detail"]
    return problem["loc"], problem["msg"]


class TestCreate:
    async def test_returns_the_whole_stored_prescriber(self, clinic_a, db):
        response = await clinic_a.post(API, json=prescriber_json())

        assert response.status_code == 201
        created = response.json()
        prescriber = await stored(db, created["id"])
        (address,) = await db.all(models.PrescriberAddress)
        (licence,) = await db.all(models.Qualification)
        assert created == {
            "id": str(prescriber.id),
            "created_at": rest_format(prescriber.created_at),
            "updated_at": rest_format(prescriber.updated_at),
            "first_name": "Willard",
            "middle_name": "Moises",
            "last_name": "Donnelly",
            "email": "Harmon43@gmail.com",
            "phone": "6417383445",
            "date_of_birth": "1990-01-01",
            "gender": "Male",
            "npi": NPI,
            "dea": DEA,
            "spi": "1234567890ABCDEF",
            "driver_license_number": "B49188319",
            "driver_license_state": "CA",
            "is_active": True,
            "credential_npi": "M.D./Ph.D",
            "addresses": [
                {
                    "id": str(address.id),
                    "created_at": rest_format(address.created_at),
                    "updated_at": rest_format(address.updated_at),
                    "address_1": "140 Lindgren Streets",
                    "address_2": "Apt 227",
                    "city": "North Consueloburgh",
                    "state": "CA",
                    "country": "US",
                    "zip_code": "02108",
                    "type": "practice",
                }
            ],
            "credentials": [{"credential_code": "MD"}],
            "restrictions": [{"id": RESTRICTION}],
            "qualifications": [
                {
                    "id": str(licence.id),
                    "created_at": rest_format(licence.created_at),
                    "updated_at": rest_format(licence.updated_at),
                    "state": "CA",
                    "license_number": "1234567890",
                    "description": "Nurse Practitioner, Family",
                    "expiration_date": NEXT_YEAR,
                    "is_active": True,
                    "is_expired": False,
                    "replaced_at": None,
                    "replaced_by_id": None,
                }
            ],
        }
        customer_a = (await db.all(models.User, email="admin@clinic-a.pestle.dev"))[0].customer_id
        assert prescriber.customer_id == customer_a
        (restriction,) = await db.all(models.PrescriberRestriction)
        assert (restriction.prescriber_id, str(restriction.restriction_id)) == (
            prescriber.id,
            RESTRICTION,
        )
        assert await db.count(models.PrescriberCredential, credential_code="MD") == 1

    async def test_get_by_id_and_by_npi_return_the_same(self, clinic_a):
        created = await create(clinic_a)

        for ref in (created["id"], NPI):
            response = await clinic_a.get(f"{API}/{ref}")
            assert response.status_code == 200
            assert response.json() == created

    async def test_only_names_and_npi_are_required(self, clinic_a, db):
        response = await clinic_a.post(API, json=MINIMAL)

        assert response.status_code == 201
        created = response.json()
        prescriber = await stored(db, created["id"])
        assert created == {
            "id": str(prescriber.id),
            "created_at": rest_format(prescriber.created_at),
            "updated_at": rest_format(prescriber.updated_at),
            "first_name": "Ada",
            "middle_name": None,
            "last_name": "Lovelace",
            "email": None,
            "phone": None,
            "date_of_birth": None,
            "gender": None,
            "npi": NPI,
            "dea": None,
            "spi": None,
            "driver_license_number": None,
            "driver_license_state": None,
            "is_active": True,
            "credential_npi": None,
            "addresses": [],
            "credentials": [],
            "restrictions": [],
            "qualifications": [],
        }

    @pytest.mark.parametrize(("sent", "shown"), [("male", "Male"), ("FEMALE", "Female")])
    async def test_gender_in_any_case_is_returned_capitalised(self, clinic_a, sent, shown):
        assert (await create(clinic_a, gender=sent))["gender"] == shown

    async def test_identifiers_are_normalised(self, clinic_a):
        address = {**ADDRESS, "state": "ny", "zip_code": "10001-1234", "type": "Mailing"}
        created = await create(
            clinic_a,
            npi=f" {NPI} ",
            dea="fd1234563",
            driver_license_state="ca",
            addresses=[address],
            qualifications=[{**LICENCE, "state": "tx"}],
        )

        assert (created["npi"], created["dea"], created["driver_license_state"]) == (
            NPI,
            DEA,
            "CA",
        )
        (shown,) = created["addresses"]
        assert (shown["state"], shown["zip_code"], shown["type"]) == ("NY", "100011234", "mailing")
        assert created["qualifications"][0]["state"] == "TX"

    async def test_repeated_credentials_and_restrictions_are_kept_once(self, clinic_a, db):
        other = str(uuid.uuid4())
        created = await create(
            clinic_a,
            credentials=[{"credential_code": c} for c in ("MD", "PhD", "MD")],
            restrictions=[{"id": RESTRICTION}, {"id": other}, {"id": RESTRICTION}],
        )

        assert created["credentials"] == [{"credential_code": "MD"}, {"credential_code": "PhD"}]
        assert created["restrictions"] == [{"id": RESTRICTION}, {"id": other}]
        assert await db.count(models.PrescriberRestriction) == 2

    async def test_a_member_may_create(self, server, db):
        async with user_client(server, db, "m@clinic-a.pestle.dev", "member", "Clinic A") as client:
            assert (await client.post(API, json=MINIMAL)).status_code == 201

    async def test_duplicate_npi_is_409_and_writes_nothing(self, clinic_a, db):
        await create(clinic_a)

        async with db.writes_nothing():
            response = await clinic_a.post(API, json=prescriber_json(last_name="Dalton"))

        assert response.status_code == 409
        assert response.json() == {
            "detail": f"A prescriber with NPI {NPI} already exists.",
            "error": "PrescriberExists",
        }

    async def test_the_same_npi_under_another_customer_is_fine(self, clinic_a, clinic_b, db):
        first = await create(clinic_a)
        second = await create(clinic_b)

        assert first["id"] != second["id"]
        assert await db.count(models.Prescriber, npi=NPI) == 2

    async def test_pharmacy_staff_cannot_create(self, pharmacist, db):
        async with db.writes_nothing():
            response = await pharmacist.post(API, json=prescriber_json())

        assert response.status_code == 403
        assert response.json() == {
            "detail": "Pharmacy staff cannot create prescribers: "
            "a prescriber belongs to a customer.",
            "error": "PrescribersBelongToCustomers",
        }

    async def test_needs_a_token(self, anon, db):
        async with db.writes_nothing():
            response = await anon.post(API, json=prescriber_json())

        assert response.status_code == 401

    async def test_the_openapi_example_is_accepted(self, clinic_a, anon):
        schema = (await anon.get("/openapi.json")).json()
        example = schema["components"]["schemas"]["PrescriberCreate"]["example"]

        response = await clinic_a.post(API, json=example)

        assert response.status_code == 201
        assert response.json()["npi"] == example["npi"]


class TestValidation:
    """Every rule is a 422 that names the field and the rule, and nothing is written."""

    @pytest.mark.parametrize(
        ("overrides", "loc", "msg"),
        [
            ({"npi": "123456789"}, ["npi"], "an NPI must be exactly 10 digits"),
            ({"npi": "12345678931"}, ["npi"], "an NPI must be exactly 10 digits"),
            ({"npi": "123456789X"}, ["npi"], "an NPI must be exactly 10 digits"),
            (
                {"npi": npi("334567890")},
                ["npi"],
                "an NPI starts with 1 (individual) or 2 (organisation)",
            ),
            (
                {"npi": "1234567890"},
                ["npi"],
                "the NPI check digit is wrong (Luhn with the 80840 prefix)",
            ),
            ({"dea": "F91234563"}, ["dea"], "a DEA number is 2 letters followed by 7 digits"),
            ({"dea": "FD123456"}, ["dea"], "a DEA number is 2 letters followed by 7 digits"),
            (
                {"dea": "FD1234564"},
                ["dea"],
                "the DEA check digit is wrong: (d1+d3+d5) + 2*(d2+d4+d6) must end in d7",
            ),
            (
                {"phone": "641-738-3445"},
                ["phone"],
                "a phone number must be exactly 10 digits, with no punctuation",
            ),
            (
                {"phone": "641738344"},
                ["phone"],
                "a phone number must be exactly 10 digits, with no punctuation",
            ),
            (
                {"driver_license_state": "XX"},
                ["driver_license_state"],
                "'XX' is not a USPS state code",
            ),
            (
                {"addresses": [{**ADDRESS, "state": "Calif"}]},
                ["addresses", 0, "state"],
                "'Calif' is not a USPS state code",
            ),
            (
                {"addresses": [{**ADDRESS, "zip_code": "2108"}]},
                ["addresses", 0, "zip_code"],
                "a ZIP code must be 5 digits or ZIP+4 (9 digits, optionally 12345-6789)",
            ),
            (
                {"qualifications": [{**LICENCE, "state": "QQ"}]},
                ["qualifications", 0, "state"],
                "'QQ' is not a USPS state code",
            ),
        ],
        ids=[
            "npi-short",
            "npi-long",
            "npi-letter",
            "npi-first-digit",
            "npi-checksum",
            "dea-digit-second",
            "dea-short",
            "dea-checksum",
            "phone-punctuation",
            "phone-short",
            "licence-state-of-driver",
            "address-state",
            "address-zip",
            "qualification-state",
        ],
    )
    async def test_identifier_rules(self, clinic_a, db, overrides, loc, msg):
        async with db.writes_nothing():
            response = await clinic_a.post(API, json=prescriber_json(**overrides))

        assert validation_error(response) == (["body", *loc], f"Value error, {msg}")

    @pytest.mark.parametrize(
        ("overrides", "loc", "msg"),
        [
            ({"gender": "other"}, ["gender"], "Input should be 'Male' or 'Female'"),
            (
                {"addresses": [{**ADDRESS, "type": "home"}]},
                ["addresses", 0, "type"],
                "Input should be 'practice', 'mailing' or 'billing'",
            ),
            (
                {"addresses": [{**ADDRESS, "country": "CA"}]},
                ["addresses", 0, "country"],
                "Input should be 'US'",
            ),
            (
                # Far ahead: "tomorrow" computed at import is today for a run that crosses
                # midnight (UTC).
                {"date_of_birth": "2999-01-01"},
                ["date_of_birth"],
                "Value error, a date of birth cannot be in the future",
            ),
            (
                {"qualifications": [LICENCE, {**LICENCE, "license_number": "B2"}]},
                ["qualifications"],
                "Value error, one qualification per state; CA appears more than once",
            ),
            (
                {"qualifications": [{**LICENCE, "license_number": " "}]},
                ["qualifications", 0, "license_number"],
                "String should have at least 1 character",
            ),
            ({"first_name": ""}, ["first_name"], "String should have at least 1 character"),
            ({"supervisors": []}, ["supervisors"], "Extra inputs are not permitted"),
        ],
        ids=[
            "gender",
            "address-type",
            "country",
            "birth-in-future",
            "two-licences-one-state",
            "blank-licence",
            "blank-name",
            "unknown-field",
        ],
    )
    async def test_field_rules(self, clinic_a, db, overrides, loc, msg):
        async with db.writes_nothing():
            response = await clinic_a.post(API, json=prescriber_json(**overrides))

        assert validation_error(response) == (["body", *loc], msg)

    @pytest.mark.parametrize("missing", ["first_name", "last_name", "npi"])
    async def test_required_fields(self, clinic_a, db, missing):
        body = {k: v for k, v in prescriber_json().items() if k != missing}

        async with db.writes_nothing():
            response = await clinic_a.post(API, json=body)

        assert validation_error(response) == (["body", missing], "Field required")

    async def test_invalid_email(self, clinic_a, db):
        async with db.writes_nothing():
            response = await clinic_a.post(API, json=prescriber_json(email="not-an-email"))

        loc, msg = validation_error(response)
        assert loc == ["body", "email"]
        assert msg.startswith("value is not a valid email address")

    @pytest.mark.parametrize("dea", ["FX1234563", "MX1234563", "XX1234563", "BA1234563"])
    async def test_practitioner_dea_second_letter_is_the_last_name_initial(self, clinic_a, db, dea):
        async with db.writes_nothing():
            response = await clinic_a.post(API, json=prescriber_json(dea=dea))

        assert response.status_code == 422
        assert response.json() == {
            "detail": f"dea {dea} does not match the last name: the second letter of a "
            "practitioner's DEA number (types A, B, F, G, M, X) is the last name's initial, D.",
            "error": "DeaNameMismatch",
        }

    @pytest.mark.parametrize(
        ("last_name", "dea"),
        [
            ("Donnelly", "MD1234563"),
            ("donnelly", "XD1234563"),
            ("Ávila", "FA1234563"),
            ("O'Brien", "GO1234563"),
            # A distributor's number carries a business initial: not checked against the name.
            ("Donnelly", "RX1234563"),
        ],
    )
    async def test_matching_or_unchecked_dea_is_accepted(self, clinic_a, last_name, dea):
        created = await create(clinic_a, last_name=last_name, dea=dea)

        assert created["dea"] == dea


class TestGet:
    async def test_unknown_ids_are_404(self, clinic_a):
        for ref in (str(uuid.uuid4()), NPI, "not-an-id"):
            response = await clinic_a.get(f"{API}/{ref}")
            assert response.status_code == 404
            assert response.json() == {
                "detail": f"No prescriber {ref!r}.",
                "error": "PrescriberNotFound",
            }

    async def test_another_customer_gets_404_by_id_and_by_npi(self, clinic_a, clinic_b):
        created = await create(clinic_a)

        for ref in (created["id"], NPI):
            response = await clinic_b.get(f"{API}/{ref}")
            assert response.status_code == 404
            assert response.json()["error"] == "PrescriberNotFound"

    async def test_staff_see_any_customers_prescriber(self, clinic_a, pharmacist):
        created = await create(clinic_a)

        for ref in (created["id"], NPI):
            response = await pharmacist.get(f"{API}/{ref}")
            assert response.status_code == 200
            assert response.json() == created

    async def test_staff_must_use_the_id_when_an_npi_is_in_two_customers(
        self, clinic_a, clinic_b, pharmacist
    ):
        await create(clinic_a)
        second = await create(clinic_b)

        response = await pharmacist.get(f"{API}/{NPI}")
        assert response.status_code == 409
        assert response.json() == {
            "detail": f"NPI {NPI} names prescribers of several customers; use the id.",
            "error": "AmbiguousPrescriberRef",
        }
        assert (await pharmacist.get(f"{API}/{second['id']}")).json() == second


class TestList:
    async def test_pages_in_creation_order_with_total_and_links(self, clinic_a, server):
        npis = [npi(f"1{n:08d}") for n in range(3)]
        created = [await create(clinic_a, npi=value) for value in npis]

        first = await clinic_a.get(API, params={"page": 1, "page_size": 2})
        second = await clinic_a.get(API, params={"page": 2, "page_size": 2})

        assert first.status_code == second.status_code == 200
        assert first.json() == created[:2]
        assert second.json() == created[2:]
        assert first.headers["X-Total-Count"] == second.headers["X-Total-Count"] == "3"
        assert first.headers["Link"] == f'<{server}{API}?page=2&page_size=2>; rel="next"'
        assert second.headers["Link"] == f'<{server}{API}?page=1&page_size=2>; rel="prev"'

    async def test_filters_by_npi_and_by_last_name_in_any_case(self, clinic_a):
        donnelly = await create(clinic_a)
        dalton = await create(clinic_a, npi=OTHER_NPI, last_name="Dalton", dea=None)

        async def listed(**params: str) -> list[dict[str, Any]]:
            response = await clinic_a.get(API, params=params)
            assert response.status_code == 200
            assert response.headers["X-Total-Count"] == str(len(response.json()))
            body: list[dict[str, Any]] = response.json()
            return body

        assert await listed(npi=OTHER_NPI) == [dalton]
        assert await listed(last_name="DONNELLY") == [donnelly]
        assert await listed(last_name="donnell") == []
        assert await listed(npi=NPI, last_name="dalton") == []
        assert await listed() == [donnelly, dalton]

    async def test_a_customer_lists_only_its_own_and_staff_list_all(
        self, clinic_a, clinic_b, pharmacist
    ):
        mine = await create(clinic_a)
        theirs = await create(clinic_b, npi=OTHER_NPI)

        assert (await clinic_a.get(API)).json() == [mine]
        assert (await clinic_b.get(API)).json() == [theirs]
        everyone = await pharmacist.get(API)
        assert everyone.json() == [mine, theirs]
        assert everyone.headers["X-Total-Count"] == "2"


class TestUpdate:
    async def test_only_the_fields_sent_change(self, clinic_a, db):
        created = await create(clinic_a)

        response = await clinic_a.put(f"{API}/{created['id']}", json={"phone": "6417383446"})

        assert response.status_code == 200
        prescriber = await stored(db, created["id"])
        assert response.json() == {
            **created,
            "phone": "6417383446",
            "updated_at": rest_format(prescriber.updated_at),
        }
        assert prescriber.updated_at >= prescriber.created_at
        assert (await clinic_a.get(f"{API}/{NPI}")).json() == response.json()

    async def test_null_clears_an_optional_field(self, clinic_a):
        created = await create(clinic_a)

        response = await clinic_a.put(
            f"{API}/{NPI}", json={"middle_name": None, "dea": None, "gender": None}
        )

        assert response.status_code == 200
        body = response.json()
        assert (body["middle_name"], body["dea"], body["gender"]) == (None, None, None)
        assert body["first_name"] == created["first_name"]

    @pytest.mark.parametrize("field", ["first_name", "last_name", "npi", "is_active"])
    async def test_a_required_field_cannot_be_cleared(self, clinic_a, db, field):
        created = await create(clinic_a)

        async with db.writes_nothing():
            response = await clinic_a.put(f"{API}/{created['id']}", json={field: None})

        assert response.status_code == 422
        assert response.json() == {
            "detail": f"{field} is required and cannot be cleared.",
            "error": "RequiredFieldCleared",
        }
        assert (await clinic_a.get(f"{API}/{created['id']}")).json() == created

    async def test_lists_sent_replace_the_previous_ones(self, clinic_a, db):
        created = await create(clinic_a)
        billing = {**ADDRESS, "address_1": "1 Main St", "address_2": None, "type": "billing"}

        response = await clinic_a.put(
            f"{API}/{NPI}",
            json={
                "addresses": [billing],
                "credentials": [{"credential_code": "DO"}, {"credential_code": "MD"}],
                "restrictions": [],
            },
        )

        assert response.status_code == 200
        body = response.json()
        (address,) = await db.all(models.PrescriberAddress)
        assert body["addresses"] == [
            {
                **billing,
                "id": str(address.id),
                "created_at": rest_format(address.created_at),
                "updated_at": rest_format(address.updated_at),
            }
        ]
        assert body["addresses"][0]["id"] != created["addresses"][0]["id"]
        assert body["credentials"] == [{"credential_code": "DO"}, {"credential_code": "MD"}]
        assert body["restrictions"] == []
        assert await db.count(models.PrescriberCredential) == 2
        assert await db.count(models.PrescriberRestriction) == 0
        # Lists not sent are left alone.
        assert body["qualifications"] == created["qualifications"]

    async def test_null_list_clears_it(self, clinic_a, db):
        await create(clinic_a)

        response = await clinic_a.put(f"{API}/{NPI}", json={"addresses": None})

        assert response.json()["addresses"] == []
        assert await db.count(models.PrescriberAddress) == 0

    async def test_qualifications_sent_become_the_active_licences(self, clinic_a, db):
        created = await create(
            clinic_a, qualifications=[LICENCE, {**LICENCE, "state": "NV", "license_number": "NV1"}]
        )
        ca, nv = created["qualifications"]
        renewed = {**LICENCE, "license_number": "CA2"}
        new_state = {**LICENCE, "state": "OR", "license_number": "OR1", "description": None}

        response = await clinic_a.put(f"{API}/{NPI}", json={"qualifications": [renewed, new_state]})

        assert response.status_code == 200
        old_ca, old_nv, new_ca, new_or = [
            await stored_qualification(db, q["id"]) for q in response.json()["qualifications"]
        ]
        assert response.json()["qualifications"] == [
            qualification_json(
                old_ca,
                id=ca["id"],
                is_active=False,
                replaced_at=rest_format(old_ca.replaced_at),
                replaced_by_id=str(new_ca.id),
            ),
            qualification_json(
                old_nv, id=nv["id"], state="NV", license_number="NV1", is_active=False
            ),
            qualification_json(new_ca, license_number="CA2"),
            qualification_json(new_or, state="OR", license_number="OR1", description=None),
        ]
        assert old_nv.replaced_at is None

    async def test_deactivation_is_an_update(self, clinic_a):
        created = await create(clinic_a)

        response = await clinic_a.put(f"{API}/{NPI}", json={"is_active": False})

        assert response.json()["is_active"] is False
        assert (await clinic_a.get(f"{API}/{created['id']}")).json()["is_active"] is False

    async def test_a_new_npi_must_be_free_in_the_customer(self, clinic_a, clinic_b, db):
        created = await create(clinic_a)
        await create(clinic_a, npi=OTHER_NPI, last_name="Dalton", dea=None)
        await create(clinic_b, npi=npi("122334455"))

        async with db.writes_nothing():
            taken = await clinic_a.put(f"{API}/{created['id']}", json={"npi": OTHER_NPI})
        assert taken.status_code == 409
        assert taken.json() == {
            "detail": f"A prescriber with NPI {OTHER_NPI} already exists.",
            "error": "PrescriberExists",
        }
        # Another customer's NPI is no obstacle, and the same NPI again is no change.
        for value in (npi("122334455"), npi("122334455")):
            response = await clinic_a.put(f"{API}/{created['id']}", json={"npi": value})
            assert response.status_code == 200
        assert (await clinic_a.get(f"{API}/{npi('122334455')}")).json()["id"] == created["id"]

    async def test_dea_is_checked_against_the_new_last_name(self, clinic_a, db):
        created = await create(clinic_a)

        async with db.writes_nothing():
            response = await clinic_a.put(f"{API}/{NPI}", json={"last_name": "Smith"})

        assert response.status_code == 422
        assert response.json()["error"] == "DeaNameMismatch"
        assert (await clinic_a.get(f"{API}/{NPI}")).json() == created
        both = await clinic_a.put(f"{API}/{NPI}", json={"last_name": "Smith", "dea": "FS1234563"})
        assert both.status_code == 200

    async def test_invalid_field_is_422_and_changes_nothing(self, clinic_a):
        created = await create(clinic_a)

        response = await clinic_a.put(f"{API}/{NPI}", json={"phone": "12345"})

        assert validation_error(response)[0] == ["body", "phone"]
        assert (await clinic_a.get(f"{API}/{NPI}")).json() == created

    async def test_another_customer_cannot_update(self, clinic_a, clinic_b, db):
        created = await create(clinic_a)

        for ref in (created["id"], NPI):
            async with db.writes_nothing():
                response = await clinic_b.put(f"{API}/{ref}", json={"first_name": "Mallory"})
            assert response.status_code == 404
            assert response.json()["error"] == "PrescriberNotFound"
        assert (await clinic_a.get(f"{API}/{NPI}")).json() == created

    async def test_staff_may_update(self, clinic_a, pharmacist):
        created = await create(clinic_a)

        response = await pharmacist.put(f"{API}/{created['id']}", json={"phone": "6417383446"})

        assert response.status_code == 200
        assert (await clinic_a.get(f"{API}/{NPI}")).json()["phone"] == "6417383446"


class TestQualifications:
    async def test_add_one(self, clinic_a, db):
        created = await create(clinic_a)
        licence = {"state": "ny", "license_number": "NY-77", "expiration_date": NEXT_YEAR}

        response = await clinic_a.post(f"{API}/{NPI}/qualifications", json=licence)

        assert response.status_code == 201
        row = await stored_qualification(db, response.json()["id"])
        assert response.json() == qualification_json(
            row, state="NY", license_number="NY-77", description=None
        )
        listed = (await clinic_a.get(f"{API}/{created['id']}/qualifications")).json()
        assert listed == [created["qualifications"][0], response.json()]

    @pytest.mark.parametrize(
        ("licence", "loc"),
        [
            ({**LICENCE, "state": "Cal"}, ["body", "state"]),
            ({**LICENCE, "license_number": ""}, ["body", "license_number"]),
            ({**LICENCE, "expiration_date": "2025-02-30"}, ["body", "expiration_date"]),
            ({"state": "CA"}, ["body", "license_number"]),
        ],
        ids=["state", "blank-number", "impossible-date", "missing-number"],
    )
    async def test_an_invalid_licence_is_422_naming_the_field(self, clinic_a, db, licence, loc):
        await create(clinic_a)

        async with db.writes_nothing():
            added = await clinic_a.post(f"{API}/{NPI}/qualifications", json=licence)
            changed = await clinic_a.put(f"{API}/{NPI}/qualifications/CA", json=licence)

        assert validation_error(added)[0] == validation_error(changed)[0] == loc

    async def test_a_second_active_licence_for_a_state_is_409(self, clinic_a, db):
        await create(clinic_a)

        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{API}/{NPI}/qualifications", json={**LICENCE, "license_number": "other"}
            )

        assert response.status_code == 409
        assert response.json() == {
            "detail": "The prescriber already has an active CA licence; "
            "change it with PUT .../qualifications/CA.",
            "error": "QualificationExists",
        }
        # An inactive (historical) licence for the state may be recorded.
        old = {**LICENCE, "license_number": "old", "is_active": False}
        assert (await clinic_a.post(f"{API}/{NPI}/qualifications", json=old)).status_code == 201

    async def test_same_number_updates_in_place_and_keeps_fields_not_sent(self, clinic_a, db):
        created = await create(clinic_a)
        (licence,) = created["qualifications"]
        renewed = (utcnow().date() + timedelta(days=730)).isoformat()

        response = await clinic_a.put(
            f"{API}/{NPI}/qualifications/CA",
            json={"state": "CA", "license_number": "1234567890", "expiration_date": renewed},
        )

        assert response.status_code == 200
        row = await stored_qualification(db, licence["id"])
        assert response.json() == qualification_json(row, expiration_date=renewed)
        assert await db.count(models.Qualification) == 1

    async def test_a_new_number_replaces_the_licence_and_keeps_the_old_one(self, clinic_a, db):
        created = await create(clinic_a)
        (licence,) = created["qualifications"]
        sent = {"state": "CA", "license_number": "A-555", "expiration_date": NEXT_YEAR}

        response = await clinic_a.put(f"{API}/{created['id']}/qualifications/ca", json=sent)

        assert response.status_code == 200
        new = await stored_qualification(db, response.json()["id"])
        old = await stored_qualification(db, licence["id"])
        assert new.id != old.id
        assert response.json() == qualification_json(new, license_number="A-555", description=None)
        old_json = qualification_json(
            old,
            is_active=False,
            replaced_at=rest_format(old.replaced_at),
            replaced_by_id=str(new.id),
        )
        history = (await clinic_a.get(f"{API}/{NPI}/qualifications")).json()
        assert history == [old_json, response.json()]
        assert (await clinic_a.get(f"{API}/{NPI}")).json()["qualifications"] == history
        # The state code now names the new licence.
        again = await clinic_a.put(
            f"{API}/{NPI}/qualifications/CA", json={**sent, "description": "MD"}
        )
        assert again.json()["id"] == str(new.id)

    async def test_replace_by_id(self, clinic_a, db):
        created = await create(clinic_a)
        (licence,) = created["qualifications"]

        response = await clinic_a.put(
            f"{API}/{NPI}/qualifications/{licence['id']}",
            json={**LICENCE, "license_number": "B-1"},
        )

        assert response.status_code == 200
        assert response.json()["id"] != licence["id"]
        assert response.json()["license_number"] == "B-1"
        old = await stored_qualification(db, licence["id"])
        assert (old.is_active, str(old.replaced_by_id)) == (False, response.json()["id"])

    async def test_a_replaced_licence_cannot_be_changed(self, clinic_a, db):
        created = await create(clinic_a)
        (licence,) = created["qualifications"]
        new = (
            await clinic_a.put(
                f"{API}/{NPI}/qualifications/CA", json={**LICENCE, "license_number": "B-1"}
            )
        ).json()

        async with db.writes_nothing():
            response = await clinic_a.put(
                f"{API}/{NPI}/qualifications/{licence['id']}",
                json={**LICENCE, "license_number": "C-1"},
            )

        assert response.status_code == 409
        assert response.json() == {
            "detail": f"This licence was replaced by qualification {new['id']}; change that.",
            "error": "QualificationReplaced",
        }

    @pytest.mark.parametrize("path", ["CA", "ca", "licence-id"])
    async def test_body_state_must_match_the_path(self, clinic_a, db, path):
        created = await create(clinic_a)
        ref = created["qualifications"][0]["id"] if path == "licence-id" else path

        async with db.writes_nothing():
            response = await clinic_a.put(
                f"{API}/{NPI}/qualifications/{ref}", json={**LICENCE, "state": "NV"}
            )

        assert response.status_code == 422
        assert response.json() == {
            "detail": "state NV does not match CA, the state of the qualification in the path; "
            "a licence for another state is a new qualification (POST).",
            "error": "QualificationStateMismatch",
        }
        assert (await clinic_a.get(f"{API}/{NPI}")).json() == created

    @pytest.mark.parametrize(
        "ref", ["NY", "ZZ", "not-an-id", "00000000-0000-7000-8000-000000000000"]
    )
    async def test_unknown_qualification_is_404(self, clinic_a, ref):
        await create(clinic_a)
        state = "NY" if ref == "NY" else "CA"

        response = await clinic_a.put(
            f"{API}/{NPI}/qualifications/{ref}", json={**LICENCE, "state": state}
        )

        assert response.status_code == 404
        assert response.json() == {
            "detail": f"No qualification {ref!r} on this prescriber.",
            "error": "QualificationNotFound",
        }

    async def test_a_state_with_only_inactive_licences_has_no_state_path(self, clinic_a):
        await create(clinic_a, qualifications=[{**LICENCE, "is_active": False}])

        response = await clinic_a.put(f"{API}/{NPI}/qualifications/CA", json=LICENCE)

        assert response.status_code == 404

    async def test_reactivating_beside_an_active_licence_is_409(self, clinic_a, db):
        created = await create(clinic_a, qualifications=[{**LICENCE, "is_active": False}])
        (inactive,) = created["qualifications"]
        await clinic_a.post(f"{API}/{NPI}/qualifications", json={**LICENCE, "license_number": "2"})

        async with db.writes_nothing():
            response = await clinic_a.put(
                f"{API}/{NPI}/qualifications/{inactive['id']}", json={**LICENCE, "is_active": True}
            )

        assert response.status_code == 409
        assert response.json()["error"] == "QualificationExists"

    async def test_an_expired_licence_is_visible_on_the_prescriber(self, clinic_a):
        today = utcnow().date()
        yesterday = (today - timedelta(days=1)).isoformat()
        created = await create(
            clinic_a,
            qualifications=[
                {**LICENCE, "expiration_date": yesterday},
                {**LICENCE, "state": "NV", "expiration_date": today.isoformat()},
                {**LICENCE, "state": "OR", "expiration_date": None},
            ],
        )

        shown = (await clinic_a.get(f"{API}/{NPI}")).json()["qualifications"]
        assert [(q["state"], q["is_active"], q["is_expired"]) for q in shown] == [
            ("CA", True, True),
            ("NV", True, False),
            ("OR", True, False),
        ]
        assert shown == created["qualifications"]

    async def test_unknown_prescriber_is_404(self, clinic_a):
        ref = str(uuid.uuid4())
        for response in (
            await clinic_a.get(f"{API}/{ref}/qualifications"),
            await clinic_a.post(f"{API}/{ref}/qualifications", json=LICENCE),
            await clinic_a.put(f"{API}/{ref}/qualifications/CA", json=LICENCE),
        ):
            assert response.status_code == 404
            assert response.json() == {
                "detail": f"No prescriber {ref!r}.",
                "error": "PrescriberNotFound",
            }

    async def test_another_customer_cannot_touch_them(self, clinic_a, clinic_b, db):
        created = await create(clinic_a)
        (licence,) = created["qualifications"]

        for ref in (created["id"], NPI):
            async with db.writes_nothing():
                responses = [
                    await clinic_b.get(f"{API}/{ref}/qualifications"),
                    await clinic_b.post(
                        f"{API}/{ref}/qualifications", json={**LICENCE, "state": "NY"}
                    ),
                    await clinic_b.put(
                        f"{API}/{ref}/qualifications/CA", json={**LICENCE, "license_number": "X"}
                    ),
                    await clinic_b.put(
                        f"{API}/{ref}/qualifications/{licence['id']}",
                        json={**LICENCE, "description": "changed"},
                    ),
                ]
            for response in responses:
                assert response.status_code == 404
                assert response.json()["error"] == "PrescriberNotFound"
        assert (await clinic_a.get(f"{API}/{NPI}")).json() == created

    async def test_staff_may_add_and_update_licences(self, clinic_a, pharmacist):
        created = await create(clinic_a)

        added = await pharmacist.post(
            f"{API}/{created['id']}/qualifications", json={**LICENCE, "state": "NY"}
        )
        replaced = await pharmacist.put(
            f"{API}/{created['id']}/qualifications/CA", json={**LICENCE, "license_number": "Z9"}
        )

        assert (added.status_code, replaced.status_code) == (201, 200)
        listed = (await clinic_a.get(f"{API}/{NPI}/qualifications")).json()
        assert [(q["state"], q["license_number"], q["is_active"]) for q in listed] == [
            ("CA", "1234567890", False),
            ("NY", "1234567890", True),
            ("CA", "Z9", True),
        ]


class TestConcurrency:
    """Requests racing past the duplicate checks meet the database's constraints: 409, not 500."""

    async def test_one_of_several_identical_creates_wins(self, clinic_a, db):
        responses = await asyncio.gather(*(clinic_a.post(API, json=MINIMAL) for _ in range(4)))

        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
        assert {r.json()["error"] for r in responses if r.status_code == 409} == {
            "PrescriberExists"
        }
        assert await db.count(models.Prescriber) == 1

    async def test_one_of_several_licences_for_a_state_wins(self, clinic_a, db):
        await create(clinic_a, qualifications=[])

        responses = await asyncio.gather(
            *(clinic_a.post(f"{API}/{NPI}/qualifications", json=LICENCE) for _ in range(4))
        )

        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
        assert await db.count(models.Qualification) == 1
