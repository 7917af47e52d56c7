"""Subscriptions over HTTP: webhooks, email and SMS, the deprecated endpoints, tenancy."""

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest

from pestle import models
from pestle.config import Settings
from pestle.kit.crypto import FieldCipher
from pestle.kit.signing import SECRET_PREFIX
from pestle.notifications.service import WebhookUrlRefused, check_target
from tests.conftest import TEST_SECRET_KEY, Db, user_client
from tests.notifications.support import API, WEBHOOKS, create_webhook, descriptors

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
URL = "http://127.0.0.1:9/hook"


def subscription(
    body: dict[str, Any], codes: list[dict[str, Any]], **expected: Any
) -> dict[str, Any]:
    """``body``'s exact expected form: generated fields taken from it, the rest checked."""
    assert TIMESTAMP.fullmatch(body["created_at"])
    uuid.UUID(body["id"])
    return {
        "id": body["id"],
        "created_at": body["created_at"],
        "is_active": True,
        "type": "webhook",
        "user_id": body["user_id"],
        "subscriptions": codes,
        "url": URL,
        "disabled_reason": None,
        "disabled_at": None,
        "failing_since": None,
        **expected,
    }


class TestCreateWebhook:
    async def test_201_with_the_secret_once(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        response = await clinic_a.post(
            WEBHOOKS, json={"event_codes": [["order.shipped", "order.delivered"]], "url": URL}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        [user] = await db.all(models.User, email="admin@clinic-a.pestle.dev")
        assert body == subscription(
            body,
            descriptors("order.shipped", "order.delivered"),
            user_id=str(user.id),
            secret=body["secret"],
        )
        assert body["secret"].startswith(SECRET_PREFIX)
        assert response.headers["Cache-Control"] == "no-store"
        [row] = await db.all(models.Subscription)
        assert (row.customer_id, row.event_codes) == (
            user.customer_id,
            ["order.shipped", "order.delivered"],
        )
        [secret] = await db.all(models.SubscriptionSecret, subscription_id=row.id)
        assert secret.secret_ciphertext != body["secret"]
        assert FieldCipher(TEST_SECRET_KEY).decrypt(secret.secret_ciphertext) == body["secret"]
        assert secret.expires_at is None

        read = (await clinic_a.get(f"{WEBHOOKS}/{body['id']}")).json()
        assert "secret" not in read
        assert read == {k: v for k, v in body.items() if k != "secret"}

    async def test_all_is_stored_and_expanded(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        body = await create_webhook(clinic_a, event_codes=["order.created", "all"])
        assert body["subscriptions"] == descriptors()
        [row] = await db.all(models.Subscription)
        assert row.event_codes == ["all"]

    async def test_alias_and_duplicates(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        body = await create_webhook(
            clinic_a, event_codes=["item.stuck", "order.created", "order.stuck", "order.created"]
        )
        assert body["subscriptions"] == descriptors("order.created", "order.stuck")
        [row] = await db.all(models.Subscription)
        assert row.event_codes == ["order.created", "order.stuck"]

    async def test_unknown_codes_are_422_naming_them(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        async with db.writes_nothing():
            response = await clinic_a.post(
                WEBHOOKS, json={"event_codes": ["order.created", "order.exploded", "x"], "url": URL}
            )
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "event_codes"]
        assert error["msg"] == (
            "Value error, unknown event codes 'order.exploded', 'x'; "
            "GET /api/v1/notifications/events lists them"
        )

    async def test_no_codes_is_422(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        async with db.writes_nothing():
            response = await clinic_a.post(WEBHOOKS, json={"event_codes": [], "url": URL})
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["msg"] == "Value error, name at least one event code, or 'all'"

    async def test_a_url_that_breaks_the_rule_is_422(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        async with db.writes_nothing():
            response = await clinic_a.post(
                WEBHOOKS, json={"event_codes": ["all"], "url": "ftp://example.com/hook"}
            )
        assert response.status_code == 422
        assert response.json() == {
            "error": "WebhookUrlRefused",
            "detail": "url: the URL must use https or http.",
        }

    async def test_staff_get_403(self, pharmacist: httpx.AsyncClient, db: Db) -> None:
        async with db.writes_nothing():
            response = await pharmacist.post(WEBHOOKS, json={"event_codes": ["all"], "url": URL})
        assert response.status_code == 403
        assert response.json() == {
            "error": "SubscriptionsBelongToCustomers",
            "detail": "Pharmacy staff have no subscriptions: a subscription belongs to a "
            "customer's user.",
        }
        assert (await pharmacist.get(WEBHOOKS)).status_code == 403
        assert (await pharmacist.get(API)).status_code == 403


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://example.com/hook", "url: the URL must use https."),
        (
            "https://127.0.0.1/hook",
            "url: the host '127.0.0.1' resolves to a non-public address (127.0.0.1).",
        ),
        (
            "https://10.1.2.3:8443/hook",
            "url: the host '10.1.2.3' resolves to a non-public address (10.1.2.3).",
        ),
        ("https://user:pw@example.com/", "url: the URL must not carry credentials."),
    ],
)
async def test_private_targets_refused_when_not_allowed(url: str, rule: str) -> None:
    # The server under test allows private targets (tests/conftest.py); the rule itself, off.
    assert Settings(secret_key=TEST_SECRET_KEY).allow_private_webhooks is False
    with pytest.raises(WebhookUrlRefused) as refused:
        await check_target("url", url, allow_private=False)
    assert refused.value.message == rule


async def test_an_idempotent_retry_never_replays_the_secret(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    headers = {"Idempotency-Key": "create-hook-1"}
    body = {"event_codes": ["all"], "url": URL}
    first = await clinic_a.post(WEBHOOKS, json=body, headers=headers)
    assert first.status_code == 201
    [record] = await db.all(models.IdempotencyRecord)
    assert record.response_body is None
    async with db.writes_nothing():
        again = await clinic_a.post(WEBHOOKS, json=body, headers=headers)
    assert first.json()["secret"] not in again.text
    assert await db.count(models.Subscription) == 1


class TestUpdateWebhook:
    async def test_replaces_codes_and_url_and_reactivates(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        created = await create_webhook(clinic_a)
        await clinic_a.delete(f"{WEBHOOKS}/{created['id']}")
        other = "http://127.0.0.1:10/other"
        response = await clinic_a.put(
            f"{WEBHOOKS}/{created['id']}", json={"event_codes": ["patient.created"], "url": other}
        )
        assert response.status_code == 200, response.text
        assert response.json() == subscription(
            created, descriptors("patient.created"), url=other
        ) | {"user_id": created["user_id"]}
        [row] = await db.all(models.Subscription)
        assert (row.url, row.event_codes) == (other, ["patient.created"])
        assert await db.count(models.SubscriptionSecret) == 1

    async def test_other_customer_gets_404_and_nothing_changes(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        created = await create_webhook(clinic_a)
        path = f"{WEBHOOKS}/{created['id']}"
        async with db.writes_nothing():
            for response in [
                await clinic_b.put(path, json={"event_codes": ["all"], "url": URL}),
                await clinic_b.get(path),
                await clinic_b.delete(path),
                await clinic_b.post(f"{path}/enable"),
                await clinic_b.post(f"{path}/rotate_secret"),
                await clinic_b.get(f"{path}/deliveries"),
                await clinic_b.post(f"{path}/replay", json={"since": "2020-01-01T00:00:00Z"}),
            ]:
                assert response.status_code == 404, response.text
                assert response.json() == {
                    "error": "WebhookNotFound",
                    "detail": f"No webhook subscription {created['id']!r}.",
                }
        [row] = await db.all(models.Subscription)
        assert (row.is_active, row.event_codes) == (True, ["order.shipped", "order.delivered"])
        assert (await clinic_b.get(WEBHOOKS)).json() == []

    async def test_refusals_change_nothing(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        created = await create_webhook(clinic_a)
        path = f"{WEBHOOKS}/{created['id']}"
        async with db.writes_nothing():
            bad_url = await clinic_a.put(
                path, json={"event_codes": ["all"], "url": "https://user:pw@127.0.0.1/hook"}
            )
            too_deep = await clinic_a.put(path, json={"event_codes": [[["all"]]], "url": URL})
            missing_url = await clinic_a.put(path, json={"event_codes": ["all"]})
        assert bad_url.json() == {
            "error": "WebhookUrlRefused",
            "detail": "url: the URL must not carry credentials.",
        }
        assert (too_deep.status_code, missing_url.status_code) == (422, 422)
        [row] = await db.all(models.Subscription)
        assert (row.url, row.event_codes) == (URL, ["order.shipped", "order.delivered"])

    async def test_unknown_id_is_404(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.get(f"{WEBHOOKS}/not-an-id")
        assert response.status_code == 404


class TestListAndLifecycle:
    async def test_list_is_paginated_and_never_shows_secrets(
        self, clinic_a: httpx.AsyncClient
    ) -> None:
        made = [await create_webhook(clinic_a) for _ in range(3)]
        response = await clinic_a.get(WEBHOOKS, params={"page": 1, "page_size": 2})
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "3"
        assert 'rel="next"' in response.headers["Link"]
        assert [w["id"] for w in response.json()] == [made[0]["id"], made[1]["id"]]
        assert all("secret" not in w for w in response.json())

    async def test_delete_deactivates_and_enable_undoes(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        created = await create_webhook(clinic_a)
        path = f"{WEBHOOKS}/{created['id']}"
        response = await clinic_a.delete(path)
        assert response.status_code == 200
        body = response.json()
        assert body["is_active"] is False
        assert body["disabled_reason"] == "Deactivated by admin@clinic-a.pestle.dev."
        assert TIMESTAMP.fullmatch(body["disabled_at"])
        assert (await clinic_a.get(WEBHOOKS, params={"is_active": "false"})).json() == [body]
        assert (await clinic_a.get(WEBHOOKS, params={"is_active": "true"})).json() == []

        async with db.database.transaction() as session:
            row = await session.get(models.Subscription, uuid.UUID(created["id"]))
            assert row is not None
            row.failing_since = row.disabled_at
        enabled = await clinic_a.post(f"{path}/enable")
        assert enabled.status_code == 200
        assert enabled.json() == {k: v for k, v in created.items() if k != "secret"}

    async def test_rotate_secret(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        created = await create_webhook(clinic_a)
        response = await clinic_a.post(f"{WEBHOOKS}/{created['id']}/rotate_secret")
        assert response.status_code == 200, response.text
        body = response.json()
        assert response.headers["Cache-Control"] == "no-store"
        assert body["secret"].startswith(SECRET_PREFIX)
        assert body["secret"] != created["secret"]
        assert {k: v for k, v in body.items() if k != "secret"} == {
            k: v for k, v in created.items() if k != "secret"
        }
        cipher = FieldCipher(TEST_SECRET_KEY)
        secrets = sorted(await db.all(models.SubscriptionSecret), key=lambda s: s.created_at)
        assert [cipher.decrypt(s.secret_ciphertext) for s in secrets] == [
            created["secret"],
            body["secret"],
        ]
        old, new = secrets
        assert new.expires_at is None
        assert old.expires_at is not None
        hours = (old.expires_at - new.created_at).total_seconds() / 3600
        assert 23.99 < hours <= 24.01
        assert "secret" not in (await clinic_a.get(f"{WEBHOOKS}/{created['id']}")).json()


class TestChannels:
    async def test_email_on_change_off(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        response = await clinic_a.put(f"{API}/email", json={"event_codes": [["order.created"]]})
        assert response.status_code == 200
        assert response.json() == {
            "is_active": True,
            "subscriptions": descriptors("order.created"),
        }
        response = await clinic_a.put(f"{API}/email", json={"event_codes": ["all"]})
        assert response.json() == {"is_active": True, "subscriptions": descriptors()}
        [row] = await db.all(models.Subscription)
        assert (row.type, row.url, row.event_codes) == ("email", None, ["all"])
        response = await clinic_a.put(f"{API}/email", json={"event_codes": []})
        assert response.json() == {"is_active": False, "subscriptions": []}
        [row] = await db.all(models.Subscription)
        assert (row.is_active, row.event_codes) == (False, [])

    async def test_sms_off_when_never_on_writes_nothing(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        async with db.writes_nothing():
            response = await clinic_a.put(f"{API}/sms", json={"event_codes": []})
        assert response.json() == {"is_active": False, "subscriptions": []}
        body = {"event_codes": ["order.shipped"], "phone": "6417383445"}
        response = await clinic_a.put(f"{API}/sms", json=body)
        assert response.json() == {"is_active": True, "subscriptions": descriptors("order.shipped")}
        [row] = await db.all(models.Subscription)
        assert (row.type, row.phone) == ("sms", "6417383445")

    async def test_sms_needs_a_phone_the_first_time_and_keeps_it(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        async with db.writes_nothing():
            response = await clinic_a.put(f"{API}/sms", json={"event_codes": ["all"]})
        assert response.status_code == 422
        assert response.json() == {
            "detail": "phone: SMS needs the number to text the first time it is turned on.",
            "error": "PhoneRequired",
        }
        async with db.writes_nothing():
            bad = await clinic_a.put(f"{API}/sms", json={"event_codes": ["all"], "phone": "123"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "phone"]
        body = {"event_codes": ["all"], "phone": "6417383445"}
        assert (await clinic_a.put(f"{API}/sms", json=body)).status_code == 200
        # Off and on again without a phone: the stored one is kept.
        await clinic_a.put(f"{API}/sms", json={"event_codes": []})
        again = await clinic_a.put(f"{API}/sms", json={"event_codes": ["order.created"]})
        assert again.json()["is_active"] is True
        [row] = await db.all(models.Subscription)
        assert (row.phone, row.event_codes) == ("6417383445", ["order.created"])
        async with db.writes_nothing():
            email = await clinic_a.post(
                API, json={"type": "email", "event_codes": ["all"], "phone": "6417383445"}
            )
        assert email.json() == {
            "detail": "phone: only SMS subscriptions have one, not email.",
            "error": "PhoneOnlyForSms",
        }

    async def test_one_per_user_and_channel(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        await clinic_a.put(f"{API}/email", json={"event_codes": ["order.created"]})
        await clinic_b.put(f"{API}/email", json={"event_codes": ["order.shipped"]})
        await clinic_a.put(f"{API}/email", json={"event_codes": ["order.delivered"]})
        rows = await db.all(models.Subscription, type="email")
        assert sorted(row.event_codes[0] for row in rows) == ["order.delivered", "order.shipped"]

    async def test_staff_get_403(self, pharmacist: httpx.AsyncClient, db: Db) -> None:
        async with db.writes_nothing():
            response = await pharmacist.put(f"{API}/email", json={"event_codes": ["all"]})
        assert response.status_code == 403


class TestDeprecated:
    async def test_create_each_channel_and_list_the_users_own(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        hook = await clinic_a.post(
            API, json={"type": "webhook", "event_codes": ["order.shipped"], "url": URL}
        )
        assert hook.status_code == 201, hook.text
        assert hook.json()["secret"].startswith(SECRET_PREFIX)
        email = await clinic_a.post(API, json={"type": "email", "event_codes": ["all"]})
        assert email.status_code == 201, email.text
        assert email.json() == subscription(
            email.json(), descriptors(), type="email", url=None, secret=None
        )
        await create_webhook(clinic_b)
        listed = await clinic_a.get(API)
        assert listed.status_code == 200
        strip = {"secret"}
        assert listed.json() == [
            {k: v for k, v in hook.json().items() if k not in strip},
            {k: v for k, v in email.json().items() if k not in strip},
        ]

    async def test_refusals_write_nothing(self, clinic_a: httpx.AsyncClient, db: Db) -> None:
        sms = {"type": "sms", "event_codes": ["all"], "phone": "6417383445"}
        await clinic_a.post(API, json=sms)
        async with db.writes_nothing():
            again = await clinic_a.post(API, json=sms)
            assert again.status_code == 409
            assert again.json() == {
                "error": "ChannelExists",
                "detail": "You already have an SMS subscription; change it with "
                "PUT /api/v1/notifications/sms.",
            }
            no_url = await clinic_a.post(API, json={"type": "webhook", "event_codes": ["all"]})
            assert no_url.status_code == 422
            assert no_url.json() == {
                "error": "UrlRequired",
                "detail": "url: a webhook subscription needs the URL to send to.",
            }
            url = await clinic_a.post(
                API, json={"type": "email", "event_codes": ["all"], "url": URL}
            )
            assert url.status_code == 422
            assert url.json() == {
                "error": "UrlOnlyForWebhooks",
                "detail": "url: only webhooks have one; email goes to your profile.",
            }
            kind = await clinic_a.post(API, json={"type": "fax", "event_codes": ["all"]})
            assert kind.status_code == 422


async def test_webhooks_are_the_customers_email_the_users(
    server: str, clinic_a: httpx.AsyncClient, db: Db
) -> None:
    created = await create_webhook(clinic_a)
    await clinic_a.put(f"{API}/email", json={"event_codes": ["all"]})
    async with user_client(
        server, db, "member@clinic-a.pestle.dev", "member", "Clinic A"
    ) as member:
        assert [w["id"] for w in (await member.get(WEBHOOKS)).json()] == [created["id"]]
        response = await member.put(
            f"{WEBHOOKS}/{created['id']}", json={"event_codes": ["all"], "url": URL}
        )
        assert response.status_code == 200
        # The deprecated list is the calling user's own, as in Blend.
        assert (await member.get(API)).json() == []
        mine = await member.put(f"{API}/email", json={"event_codes": ["order.created"]})
        assert mine.json()["subscriptions"] == descriptors("order.created")
    assert await db.count(models.Subscription, type="email") == 2


async def test_concurrent_first_puts_make_one_email_subscription(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    responses = await asyncio.gather(
        *(clinic_a.put(f"{API}/email", json={"event_codes": ["all"]}) for _ in range(5))
    )
    assert [r.status_code for r in responses] == [200] * 5
    assert await db.count(models.Subscription, type="email") == 1
