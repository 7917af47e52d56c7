"""Login, refresh, verify and API keys over HTTP, on both engines."""

import hashlib
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from pestle import models
from pestle.auth.service import LOGIN_WINDOW, MAX_LOGIN_FAILURES
from pestle.kit.time import rest_format, utcnow
from tests.conftest import PASSWORD, TEST_SECRET_KEY, login

EMAIL = "chad@clinic.pestle.dev"
INVALID_CREDENTIALS = {"detail": "Invalid email or password.", "error": "InvalidCredentials"}
EXPIRED = {"detail": "The bearer token has expired.", "error": "TokenExpired"}
REFRESH_NOT_ACCESS = {
    "detail": "This endpoint takes the access token, not the other one.",
    "error": "WrongTokenKind",
}
ACCESS_NOT_REFRESH = {
    "detail": "This endpoint takes the refresh token, not the other one.",
    "error": "WrongTokenKind",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response, body):
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == body


def user_json(user: models.User) -> dict:
    return {
        "id": str(user.id),
        "created_at": rest_format(user.created_at),
        "updated_at": rest_format(user.updated_at),
        "email": user.email,
        "first_name": "Test",
        "last_name": "Admin",
        "is_active": True,
        "role": "admin",
        "customer_id": str(user.customer_id),
    }


def forged(claims_delta: dict, key: str = TEST_SECRET_KEY) -> str:
    now = utcnow().replace(microsecond=0)
    claims = {"iss": "pestle", "typ": "access", "iat": now, "exp": now + timedelta(minutes=5)}
    claims.update(claims_delta)
    return jwt.encode(claims, key, algorithm="HS256")


class TestLogin:
    async def test_returns_tokens_and_the_user(self, anon, db):
        user = await db.create_user(EMAIL, "admin", "Clinic")
        before = utcnow().replace(microsecond=0)
        response = await anon.post(
            "/api/v1/auth/login", json={"email": EMAIL.upper(), "password": PASSWORD}
        )
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        body = response.json()
        assert set(body) == {"access_token", "refresh_token", "expires_at", "user"}
        assert body["user"] == user_json(user)
        access = jwt.decode(body["access_token"], TEST_SECRET_KEY, algorithms=["HS256"])
        refresh = jwt.decode(body["refresh_token"], TEST_SECRET_KEY, algorithms=["HS256"])
        assert (access["sub"], access["typ"]) == (str(user.id), "access")
        assert (refresh["sub"], refresh["typ"]) == (str(user.id), "refresh")
        assert access["exp"] - access["iat"] == 60 * 60
        assert refresh["exp"] - refresh["iat"] == 7 * 24 * 60 * 60
        assert body["expires_at"] == rest_format(datetime.fromtimestamp(refresh["exp"], UTC))
        assert before.timestamp() <= refresh["iat"] <= utcnow().timestamp()

    async def test_wrong_password_is_401(self, anon, db):
        await db.create_user(EMAIL, "admin", "Clinic")
        response = await anon.post(
            "/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD + "x"}
        )
        assert_unauthorized(response, INVALID_CREDENTIALS)
        assert await db.count(models.LoginFailure) == 1

    async def test_unknown_email_is_the_same_401(self, anon, db):
        response = await anon.post(
            "/api/v1/auth/login", json={"email": "nobody@clinic.pestle.dev", "password": PASSWORD}
        )
        assert_unauthorized(response, INVALID_CREDENTIALS)

    async def test_inactive_user_is_403_after_a_correct_password(self, anon, db):
        await db.create_user(EMAIL, "admin", "Clinic")
        await db.deactivate(EMAIL)
        response = await anon.post(
            "/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}
        )
        assert response.status_code == 403
        assert response.json() == {
            "detail": "This account is inactive.",
            "error": "AccountInactive",
        }

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"email": EMAIL}, "password"), ({"password": PASSWORD}, "email"), ({}, "email")],
    )
    async def test_missing_field_is_422_naming_it(self, anon, body, field):
        response = await anon.post("/api/v1/auth/login", json=body)
        assert response.status_code == 422
        assert response.json()["error"] == "ValidationError"
        assert ["body", field] in [error["loc"] for error in response.json()["detail"]]


class TestThrottling:
    async def fail(self, anon, email=EMAIL):
        return await anon.post("/api/v1/auth/login", json={"email": email, "password": "Wrong-1x"})

    async def test_eleventh_failure_within_15_minutes_is_429(self, anon, db):
        await db.create_user(EMAIL, "admin", "Clinic")
        for _ in range(MAX_LOGIN_FAILURES):
            assert (await self.fail(anon)).status_code == 401
        response = await self.fail(anon)
        assert response.status_code == 429
        retry_after = int(response.headers["Retry-After"])
        assert 0 < retry_after <= LOGIN_WINDOW.total_seconds()
        assert response.json() == {
            "detail": f"Too many failed logins for this email; try again in {retry_after} seconds.",
            "error": "TooManyLoginAttempts",
        }
        # Locked out means locked out: the right password is refused too, and not counted.
        right = await anon.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert right.status_code == 429
        assert await db.count(models.LoginFailure) == MAX_LOGIN_FAILURES
        # Throttling is per email: another account is unaffected.
        await db.create_user("other@clinic.pestle.dev", "member", "Clinic")
        await login(anon, "other@clinic.pestle.dev")

    async def test_failures_older_than_the_window_do_not_count(self, anon, db):
        await db.create_user(EMAIL, "admin", "Clinic")
        for _ in range(MAX_LOGIN_FAILURES):
            await self.fail(anon)
        async with db.database.transaction() as session:
            for failure in await db.all(models.LoginFailure):
                failure.failed_at = utcnow() - LOGIN_WINDOW - timedelta(seconds=1)
                await session.merge(failure)
        await login(anon, EMAIL)
        assert (await self.fail(anon)).status_code == 401

    async def test_no_email_is_stored(self, anon, db):
        await self.fail(anon)
        (failure,) = await db.all(models.LoginFailure)
        assert "@" not in failure.email_digest
        assert len(failure.email_digest) == 64


class TestRefresh:
    async def test_refresh_token_gives_a_working_access_token(self, anon, db):
        await db.create_user(EMAIL, "admin", "Clinic")
        tokens = await login(anon, EMAIL)
        response = await anon.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
        assert response.status_code == 200
        assert set(response.json()) == {"access_token"}
        verified = await anon.get(
            "/api/v1/auth/verify", headers=bearer(response.json()["access_token"])
        )
        assert verified.status_code == 200
        assert verified.json()["user"]["email"] == EMAIL

    async def test_access_token_is_refused_by_refresh(self, anon, db):
        await db.create_user(EMAIL, "admin", "Clinic")
        tokens = await login(anon, EMAIL)
        response = await anon.post("/api/v1/auth/refresh", headers=bearer(tokens["access_token"]))
        assert_unauthorized(response, ACCESS_NOT_REFRESH)

    async def test_refresh_token_is_refused_elsewhere(self, anon, db):
        await db.create_user(EMAIL, "admin", "Clinic")
        tokens = await login(anon, EMAIL)
        response = await anon.get("/api/v1/auth/verify", headers=bearer(tokens["refresh_token"]))
        assert_unauthorized(response, REFRESH_NOT_ACCESS)

    async def test_expired_refresh_token_is_401(self, anon, db):
        user = await db.create_user(EMAIL, "admin", "Clinic")
        token = forged(
            {"sub": str(user.id), "typ": "refresh", "exp": utcnow() - timedelta(seconds=5)}
        )
        response = await anon.post("/api/v1/auth/refresh", headers=bearer(token))
        assert_unauthorized(response, EXPIRED)

    async def test_refresh_for_a_deactivated_user_is_401(self, anon, db):
        await db.create_user(EMAIL, "admin", "Clinic")
        tokens = await login(anon, EMAIL)
        await db.deactivate(EMAIL)
        response = await anon.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
        assert_unauthorized(
            response,
            {
                "detail": "The user of this credential is inactive or no longer exists.",
                "error": "UserNoLongerActive",
            },
        )


class TestVerify:
    async def test_valid_token(self, anon, db):
        user = await db.create_user(EMAIL, "admin", "Clinic")
        tokens = await login(anon, EMAIL)
        response = await anon.get("/api/v1/auth/verify", headers=bearer(tokens["access_token"]))
        assert response.status_code == 200
        assert response.json() == {"valid": True, "user": user_json(user)}

    async def test_missing_header(self, anon):
        response = await anon.get("/api/v1/auth/verify")
        assert_unauthorized(
            response,
            {"detail": "Send 'Authorization: Bearer <token>'.", "error": "MissingCredentials"},
        )

    @pytest.mark.parametrize(
        "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "token-without-scheme"]
    )
    async def test_malformed_header(self, anon, header):
        response = await anon.get("/api/v1/auth/verify", headers={"Authorization": header})
        assert_unauthorized(
            response,
            {
                "detail": "The Authorization header must be 'Bearer <token>'.",
                "error": "MalformedAuthorization",
            },
        )

    async def test_expired_access_token(self, anon, db):
        user = await db.create_user(EMAIL, "admin", "Clinic")
        token = forged({"sub": str(user.id), "exp": utcnow() - timedelta(seconds=1)})
        assert_unauthorized(await anon.get("/api/v1/auth/verify", headers=bearer(token)), EXPIRED)

    # Forged when the test runs, not when it is collected: they would expire in a long suite.
    @pytest.mark.parametrize(
        "make_token",
        [
            lambda: "not-a-jwt",
            lambda: forged({"sub": "00000000-0000-7000-8000-000000000000"}, key="another-key-" * 4),
            lambda: forged({"sub": "not-a-uuid"}),
            lambda: forged({"sub": "00000000-0000-7000-8000-000000000000", "iss": "someone-else"}),
        ],
        ids=["garbage", "wrong-key", "bad-subject", "wrong-issuer"],
    )
    async def test_invalid_token(self, anon, make_token):
        token = make_token()
        assert_unauthorized(
            await anon.get("/api/v1/auth/verify", headers=bearer(token)),
            {"detail": "The bearer token is not valid.", "error": "InvalidToken"},
        )

    async def test_token_of_a_deactivated_user(self, anon, db):
        await db.create_user(EMAIL, "admin", "Clinic")
        tokens = await login(anon, EMAIL)
        await db.deactivate(EMAIL)
        response = await anon.get("/api/v1/auth/verify", headers=bearer(tokens["access_token"]))
        assert response.status_code == 401
        assert response.json()["error"] == "UserNoLongerActive"


class TestApiKeys:
    async def create(self, client, name="integration", **headers):
        return await client.post("/api/v1/auth/api_keys", json={"name": name}, headers=headers)

    async def test_create_shows_the_secret_once_and_the_key_acts_as_its_user(
        self, clinic_a, anon, db
    ):
        response = await self.create(clinic_a)
        assert response.status_code == 201
        assert response.headers["Cache-Control"] == "no-store"
        created = response.json()
        (stored,) = await db.all(models.ApiKey)
        assert created == {
            "id": str(stored.id),
            "name": "integration",
            "prefix": created["secret"][:11],
            "user_id": str(stored.user_id),
            "customer_id": str(stored.customer_id),
            "created_at": rest_format(stored.created_at),
            "revoked_at": None,
            "secret": created["secret"],
        }
        assert created["secret"].startswith("pk_")
        assert len(created["secret"]) == 3 + 43
        assert stored.secret_hash == hashlib.sha256(created["secret"].encode()).hexdigest()
        listed = (await clinic_a.get("/api/v1/auth/api_keys")).json()
        assert listed == [{k: v for k, v in created.items() if k != "secret"}]
        verified = await anon.get("/api/v1/auth/verify", headers=bearer(created["secret"]))
        assert verified.status_code == 200
        assert verified.json()["user"]["email"] == "admin@clinic-a.pestle.dev"

    async def test_revoked_key_is_refused(self, clinic_a, anon, db):
        created = (await self.create(clinic_a)).json()
        response = await clinic_a.delete(f"/api/v1/auth/api_keys/{created['id']}")
        assert response.status_code == 204
        (stored,) = await db.all(models.ApiKey)
        assert stored.revoked_at is not None
        assert_unauthorized(
            await anon.get("/api/v1/auth/verify", headers=bearer(created["secret"])),
            {"detail": "The API key is not valid or has been revoked.", "error": "InvalidToken"},
        )
        listed = (await clinic_a.get("/api/v1/auth/api_keys")).json()
        assert listed[0]["revoked_at"] == rest_format(stored.revoked_at)

    async def test_unknown_key_is_refused(self, anon, db):
        response = await anon.get("/api/v1/auth/verify", headers=bearer("pk_" + "x" * 43))
        assert response.status_code == 401
        assert response.json()["error"] == "InvalidToken"

    async def test_another_customer_sees_and_revokes_nothing(self, clinic_a, clinic_b, db):
        created = (await self.create(clinic_a)).json()
        assert (await clinic_b.get("/api/v1/auth/api_keys")).json() == []
        response = await clinic_b.delete(f"/api/v1/auth/api_keys/{created['id']}")
        assert response.status_code == 404
        assert response.json() == {
            "detail": f"No API key {created['id']!r}.",
            "error": "ApiKeyNotFound",
        }
        assert await db.count(models.ApiKey, revoked_at=None) == 1

    @pytest.mark.parametrize("role", ["member", "pharmacist"])
    async def test_only_customer_admins_manage_keys(self, anon, db, role):
        await db.create_user(EMAIL, role, None if role == "pharmacist" else "Clinic")
        anon.headers.update(bearer((await login(anon, EMAIL))["access_token"]))
        forbidden = {
            "detail": "Only a customer's admin, logged in with a password, manages API keys.",
            "error": "ApiKeysNeedCustomerAdmin",
        }
        for response in (await self.create(anon), await anon.get("/api/v1/auth/api_keys")):
            assert response.status_code == 403
            assert response.json() == forbidden
        assert await db.count(models.ApiKey) == 0

    async def test_a_key_cannot_mint_keys(self, clinic_a, anon, db):
        created = (await self.create(clinic_a)).json()
        response = await self.create(anon, Authorization=f"Bearer {created['secret']}")
        assert response.status_code == 403
        assert await db.count(models.ApiKey) == 1

    async def test_retry_does_not_return_the_secret_again(self, clinic_a, db):
        first = await self.create(clinic_a, **{"Idempotency-Key": "key-1"})
        again = await self.create(clinic_a, **{"Idempotency-Key": "key-1"})
        assert first.status_code == 201
        assert again.status_code == 409
        assert again.json() == {
            "detail": "The first request with this Idempotency-Key succeeded (201), but its "
            "response held a secret that is shown only once and was not kept; list the "
            "resource instead.",
            "error": "IdempotentResponseWithheld",
        }
        assert await db.count(models.ApiKey) == 1
        (record,) = await db.all(models.IdempotencyRecord)
        assert record.response_body is None

    @pytest.mark.parametrize("name", ["", "x" * 101])
    async def test_bad_name_is_422(self, clinic_a, db, name):
        response = await self.create(clinic_a, name=name)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "name"]
        assert await db.count(models.ApiKey) == 0
