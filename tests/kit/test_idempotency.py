"""Idempotency-Key on POST: replays, refusals, lifetimes and failures, on the real app."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from pestle import models
from pestle.kit.time import utcnow
from tests.conftest import Db
from tests.kit.probe import (
    FAILURE_RESPONSES,
    Failure,
    Gate,
    event_json,
    order_body,
    order_data,
    post_event,
)

KEY = "order-2025-03-16-0001"
REUSED = {
    "detail": "This Idempotency-Key was already used with a different request; use a new key.",
    "error": "IdempotencyKeyReused",
}
IN_FLIGHT = {
    "detail": "A request with this Idempotency-Key is still being processed; retry later.",
    "error": "IdempotencyKeyInFlight",
}
INVALID_KEY = {
    "detail": "Idempotency-Key must have 1 to 255 printable characters.",
    "error": "InvalidIdempotencyKey",
}


async def age_records(db: Db, age: timedelta, *, finished: bool = True) -> None:
    """Backdates every idempotency record; ``finished=False`` turns it back into a bare claim."""
    values: dict[str, object] = {"created_at": utcnow() - age}
    if not finished:
        values |= {"status_code": None, "response_headers": None, "response_body": None}
    async with db.database.transaction() as session:
        await session.execute(update(models.IdempotencyRecord).values(**values))


def assert_replay_of(replay: httpx.Response, first: httpx.Response) -> None:
    assert replay.status_code == first.status_code
    assert replay.content == first.content
    assert replay.headers["content-type"] == first.headers["content-type"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    # The request id belongs to the retry, not to the request that was replayed.
    assert replay.headers["X-Request-ID"] != first.headers["X-Request-ID"]


def assert_ran(response: httpx.Response) -> None:
    assert response.status_code == 201, response.text
    assert "Idempotent-Replayed" not in response.headers


class TestReplay:
    async def test_same_key_and_body_replays_the_first_response(
        self, probe_client: httpx.AsyncClient, db: Db
    ) -> None:
        first = await post_event(probe_client, key=KEY)
        async with db.writes_nothing():
            replay = await post_event(probe_client, key=KEY)

        assert_ran(first)
        assert_replay_of(replay, first)
        [event] = await db.all(models.OutboxEvent)
        assert first.json() == event_json(event)
        [record] = await db.all(models.IdempotencyRecord)
        [user] = await db.all(models.User, email="admin@clinic-a.pestle.dev")
        assert (record.owner, record.key, record.status_code) == (f"user:{user.id}", KEY, 201)

    async def test_same_key_with_another_body_is_refused(
        self, probe_client: httpx.AsyncClient, db: Db
    ) -> None:
        assert_ran(await post_event(probe_client, key=KEY))

        async with db.writes_nothing():
            refused = await post_event(probe_client, order_body("second"), key=KEY)

        assert refused.status_code == 409
        assert refused.json() == REUSED
        [event] = await db.all(models.OutboxEvent)
        assert event.data == order_data("first")

    async def test_keys_of_another_user_are_independent(
        self, probe_client: httpx.AsyncClient, colleague_client: httpx.AsyncClient, db: Db
    ) -> None:
        mine = await post_event(probe_client, key=KEY)
        theirs = await post_event(colleague_client, key=KEY)

        assert_ran(mine)
        assert_ran(theirs)
        assert mine.json()["id"] != theirs.json()["id"]
        assert await db.count(models.OutboxEvent) == 2
        assert await db.count(models.IdempotencyRecord) == 2

    async def test_without_a_key_every_request_runs(
        self, probe_client: httpx.AsyncClient, db: Db
    ) -> None:
        first = await post_event(probe_client)
        second = await post_event(probe_client)

        assert_ran(first)
        assert_ran(second)
        assert first.json()["id"] != second.json()["id"]
        assert await db.count(models.OutboxEvent) == 2
        assert await db.count(models.IdempotencyRecord) == 0

    async def test_a_refusal_is_replayed_like_any_other_answer(
        self, probe_client: httpx.AsyncClient, db: Db
    ) -> None:
        first = await post_event(probe_client, key=KEY, failure=Failure.CONFLICT)
        # The failure switch is a header, outside the fingerprint: this is the same request.
        replay = await post_event(probe_client, key=KEY)

        assert (first.status_code, first.json()) == FAILURE_RESPONSES[Failure.CONFLICT]
        assert_replay_of(replay, first)
        assert await db.count(models.OutboxEvent) == 0


class TestLifetime:
    async def test_a_key_younger_than_24_hours_still_replays(
        self, probe_client: httpx.AsyncClient, db: Db
    ) -> None:
        first = await post_event(probe_client, key=KEY)
        await age_records(db, timedelta(hours=23, minutes=59))

        async with db.writes_nothing():
            replay = await post_event(probe_client, key=KEY)

        assert_replay_of(replay, first)

    async def test_a_key_older_than_24_hours_runs_again(
        self, probe_client: httpx.AsyncClient, db: Db
    ) -> None:
        first = await post_event(probe_client, key=KEY)
        await age_records(db, timedelta(hours=24, minutes=1))
        again = await post_event(probe_client, key=KEY)

        assert_ran(again)
        assert again.json()["id"] != first.json()["id"]
        assert await db.count(models.OutboxEvent) == 2
        [record] = await db.all(models.IdempotencyRecord)
        assert record.created_at > utcnow() - timedelta(minutes=1)

    async def test_a_fresh_unfinished_claim_is_in_flight(
        self, probe_client: httpx.AsyncClient, db: Db
    ) -> None:
        assert_ran(await post_event(probe_client, key=KEY))
        await age_records(db, timedelta(minutes=4), finished=False)

        async with db.writes_nothing():
            refused = await post_event(probe_client, key=KEY)

        assert refused.status_code == 409
        assert refused.json() == IN_FLIGHT

    async def test_an_abandoned_claim_runs_again(
        self, probe_client: httpx.AsyncClient, db: Db
    ) -> None:
        assert_ran(await post_event(probe_client, key=KEY))
        await age_records(db, timedelta(minutes=6), finished=False)

        assert_ran(await post_event(probe_client, key=KEY))
        assert await db.count(models.OutboxEvent) == 2
        [record] = await db.all(models.IdempotencyRecord)
        assert record.status_code == 201


class TestFailures:
    @pytest.mark.parametrize("failure", [Failure.CRASH, Failure.UNAVAILABLE])
    async def test_a_server_error_is_not_stored_so_a_retry_runs(
        self, probe_client: httpx.AsyncClient, db: Db, failure: Failure
    ) -> None:
        async with db.writes_nothing():
            failed = await post_event(probe_client, key=KEY, failure=failure)
        retried = await post_event(probe_client, key=KEY)

        assert (failed.status_code, failed.json()) == FAILURE_RESPONSES[failure]
        assert_ran(retried)
        [event] = await db.all(models.OutboxEvent)
        assert retried.json() == event_json(event)

    async def test_a_concurrent_request_with_the_key_is_in_flight(
        self, probe_client: httpx.AsyncClient, db: Db, gate: Gate
    ) -> None:
        first = asyncio.create_task(post_event(probe_client, key=KEY, route="gated"))
        assert await asyncio.to_thread(gate.entered.wait, 10)

        async with db.writes_nothing():
            refused = await post_event(probe_client, key=KEY, route="gated")
        gate.opened.set()
        finished = await first

        assert refused.status_code == 409
        assert refused.json() == IN_FLIGHT
        assert_ran(finished)
        assert await db.count(models.OutboxEvent) == 1

    @pytest.mark.parametrize("key", ["", "k" * 256], ids=["empty", "256-chars"])
    async def test_an_invalid_key_is_refused(
        self, probe_client: httpx.AsyncClient, db: Db, key: str
    ) -> None:
        async with db.writes_nothing():
            refused = await post_event(probe_client, key=key)

        assert refused.status_code == 400
        assert refused.json() == INVALID_KEY

    async def test_a_key_of_255_characters_is_accepted(
        self, probe_client: httpx.AsyncClient, db: Db
    ) -> None:
        first = await post_event(probe_client, key="k" * 255)

        assert_ran(first)
        assert_replay_of(await post_event(probe_client, key="k" * 255), first)


class TestScope:
    async def test_get_ignores_the_header(self, probe_client: httpx.AsyncClient, db: Db) -> None:
        headers = {"Idempotency-Key": "k" * 300}

        async with db.writes_nothing():
            first = await probe_client.get("/api/v1/users", headers=headers)
            second = await probe_client.get("/api/v1/users", headers=headers)

        assert (first.status_code, second.status_code) == (200, 200)
        assert "Idempotent-Replayed" not in second.headers

    async def test_a_response_holding_a_secret_is_never_replayed(
        self, clinic_a: httpx.AsyncClient, db: Db
    ) -> None:
        headers = {"Idempotency-Key": KEY}
        created = await clinic_a.post(
            "/api/v1/auth/api_keys", json={"name": "integration"}, headers=headers
        )
        async with db.writes_nothing():
            retried = await clinic_a.post(
                "/api/v1/auth/api_keys", json={"name": "integration"}, headers=headers
            )

        assert created.status_code == 201
        assert created.json()["secret"].startswith("pk_")
        assert retried.status_code == 409
        assert retried.json() == {
            "detail": "The first request with this Idempotency-Key succeeded (201), but its "
            "response held a secret that is shown only once and was not kept; list the "
            "resource instead.",
            "error": "IdempotentResponseWithheld",
        }
        assert await db.count(models.ApiKey) == 1
        [record] = await db.all(models.IdempotencyRecord)
        assert (record.status_code, record.response_headers, record.response_body) == (
            201,
            None,
            None,
        )
