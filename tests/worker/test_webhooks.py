"""Webhook delivery by the worker, to a real receiver over HTTP, on both engines."""

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pestle import models
from pestle.config import Settings
from pestle.events.catalogue import CATALOGUE
from pestle.kit.signing import new_secret
from pestle.kit.time import utcnow
from pestle.worker.loop import Worker
from pestle.worker.outcome import next_delay
from pestle.worker.webhooks import new_client
from tests.conftest import Backend, Db
from tests.postgres import free_port
from tests.worker.conftest import Clinic, Receiver, Reply, emit_event, seeded, subscribe
from tests.worker.test_channels import Recorder

ORDER = "0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e61"


async def delivery_of(db: Db, subscription: models.Subscription) -> models.Delivery:
    [delivery] = await db.all(models.Delivery, subscription_id=subscription.id)
    return delivery


async def attempts_of(db: Db, delivery: models.Delivery) -> list[models.DeliveryAttempt]:
    async with db.database.sessions() as session:
        return list(
            await session.scalars(
                select(models.DeliveryAttempt)
                .where(models.DeliveryAttempt.delivery_id == delivery.id)
                .order_by(models.DeliveryAttempt.attempted_at)
            )
        )


async def test_every_event_type_is_delivered_signed(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    subscription, secret = await subscribe(db, clinic, receiver.url("/all"))
    ids = {}
    for event in CATALOGUE:
        ids[event.event_code] = str(uuid.uuid4())
        await emit_event(db, clinic, event.event_code, {"id": ids[event.event_code]})

    assert await worker.run_once() == len(CATALOGUE)

    received = receiver.at("/all")
    assert sorted(json.loads(r.body)["event_code"] for r in received) == sorted(ids)
    for request in received:
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload == {
            "event_code": payload["event_code"],
            "data": {"id": ids[payload["event_code"]]},
        }
        assert request.headers["content-type"] == "application/json"
        assert request.headers["webhook-sequence"] == "1"
        kind = payload["event_code"].split(".")[0]
        assert request.headers["webhook-resource"] == f"{kind}:{ids[payload['event_code']]}"
        # The bytes signed are the bytes sent: compact JSON.
        assert request.body == json.dumps(payload, separators=(",", ":")).encode()
    deliveries = await db.all(models.Delivery, subscription_id=subscription.id)
    assert {d.status for d in deliveries} == {"delivered"}
    assert {d.attempts for d in deliveries} == {1}
    assert {r.headers["webhook-id"] for r in received} == {f"msg_{d.id.hex}" for d in deliveries}
    [event] = await db.all(models.OutboxEvent, event_code="order.created")
    assert event.fanned_out_at is not None
    attempt = (await attempts_of(db, deliveries[0]))[0]
    assert attempt.status_code == 200
    assert attempt.response_excerpt == "ok"
    assert attempt.latency_ms is not None
    assert attempt.latency_ms >= 0
    assert attempt.request_headers is not None
    assert "webhook-signature" not in attempt.request_headers


async def test_only_active_matching_subscriptions_of_the_customer_get_the_event(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    await subscribe(db, clinic, receiver.url("/created"), ["order.created"])
    await subscribe(db, clinic, receiver.url("/shipped"), ["order.shipped"])
    inactive, _ = await subscribe(db, clinic, receiver.url("/inactive"))
    other = await db.create_user("admin@clinic-b.pestle.dev", "admin", "Clinic B")
    assert other.customer_id is not None
    other_clinic = Clinic(other.customer_id, other.id)
    await subscribe(db, other_clinic, receiver.url("/other"))
    async with db.database.transaction() as session:
        row = await session.get(models.Subscription, inactive.id)
        assert row is not None
        row.is_active = False

    await emit_event(db, clinic, "order.created", {"id": ORDER})
    await worker.run_once()

    assert [r.path for r in receiver.requests] == ["/created"]
    assert await db.count(models.Delivery) == 1


async def test_a_500_is_retried_at_the_scheduled_time_with_the_same_id(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    subscription, secret = await subscribe(db, clinic, receiver.url("/flaky"))
    receiver.answer("/flaky", Reply(500, body="boom"), Reply(502))
    await emit_event(db, clinic, "order.created", {"id": ORDER})
    expected = seeded()
    t0 = utcnow()

    await worker.run_once(now=t0)
    delivery = await delivery_of(db, subscription)
    first_delay = next_delay(1, None, expected)
    assert first_delay is not None
    assert timedelta(seconds=5) <= first_delay <= timedelta(seconds=5.5)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == t0 + first_delay
    [attempt] = await attempts_of(db, delivery)
    assert (attempt.status_code, attempt.response_excerpt, attempt.error) == (
        500,
        "boom",
        "HTTP 500",
    )
    assert attempt.next_retry_at == t0 + first_delay

    # Not before its time.
    assert await worker.run_once(now=t0 + timedelta(seconds=4)) == 0
    t1 = t0 + first_delay
    assert await worker.run_once(now=t1) == 1
    second_delay = next_delay(2, None, expected)
    assert second_delay is not None
    delivery = await delivery_of(db, subscription)
    assert (delivery.attempts, delivery.last_status_code) == (2, 502)
    assert delivery.next_attempt_at == t1 + second_delay

    assert await worker.run_once(now=t1 + second_delay) == 1
    delivery = await delivery_of(db, subscription)
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == (
        "delivered",
        3,
        t1 + second_delay,
    )
    requests = receiver.at("/flaky")
    assert len(requests) == 3
    assert {r.headers["webhook-id"] for r in requests} == {f"msg_{delivery.id.hex}"}
    for request in requests:
        Webhook(secret).verify(request.body, request.headers)
    [row] = await db.all(models.Subscription, id=subscription.id)
    assert row.failing_since is None  # the success ended the run of failures


async def test_a_timeout_is_retried(
    db: Db, clinic: Clinic, receiver: Receiver, backend: Backend
) -> None:
    subscription, _ = await subscribe(db, clinic, receiver.url("/slow"))
    receiver.answer("/slow", Reply(200, delay=2.0))
    await emit_event(db, clinic, "order.created", {"id": ORDER})
    # The 10 s deadline, shortened: the path taken is the same.
    async with new_client(allow_private=True, timeout=0.3) as client:
        worker = Worker(db.database, backend.settings, rng=seeded(), client=client)
        t0 = utcnow()
        await worker.run_once(now=t0)
        delivery = await delivery_of(db, subscription)
        delay = next_delay(1, None, seeded())
        assert delay is not None
        assert (delivery.status, delivery.last_status_code) == ("pending", None)
        assert delivery.last_error == "timeout after 0.3 s"
        assert delivery.next_attempt_at == t0 + delay
        await worker.run_once(now=t0 + delay)
    delivery = await delivery_of(db, subscription)
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


@pytest.mark.parametrize("header", ["seconds", "date"])
async def test_retry_after_is_honoured(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker, header: str
) -> None:
    subscription, _ = await subscribe(db, clinic, receiver.url("/busy"))
    t0 = utcnow().replace(microsecond=0)
    value = "120" if header == "seconds" else format_datetime(t0 + timedelta(seconds=120), True)
    receiver.answer("/busy", Reply(429, headers={"retry-after": value}))
    await emit_event(db, clinic, "order.created", {"id": ORDER})

    await worker.run_once(now=t0)

    delivery = await delivery_of(db, subscription)
    assert (delivery.status, delivery.last_status_code) == ("pending", 429)
    assert delivery.next_attempt_at == t0 + timedelta(seconds=120)


async def test_410_fails_and_disables_the_subscription(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    subscription, _ = await subscribe(db, clinic, receiver.url("/gone"))
    receiver.answer("/gone", Reply(410))
    await emit_event(db, clinic, "order.created", {"id": ORDER})
    t0 = utcnow()

    await worker.run_once(now=t0)

    [row] = await db.all(models.Subscription, id=subscription.id)
    assert (row.is_active, row.disabled_at) == (False, t0)
    assert row.disabled_reason == "the receiver answered 410 Gone"
    delivery = await delivery_of(db, subscription)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    # A disabled subscription gets no more deliveries.
    await emit_event(db, clinic, "order.updated", {"id": ORDER})
    await worker.run_once(now=t0 + timedelta(hours=1))
    assert await db.count(models.Delivery, subscription_id=subscription.id) == 1
    assert len(receiver.at("/gone")) == 1


async def test_pending_deliveries_of_a_disabled_subscription_fail_unsent(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    subscription, _ = await subscribe(db, clinic, receiver.url("/later"))
    receiver.answer("/later", Reply(500))
    await emit_event(db, clinic, "order.created", {"id": ORDER})
    t0 = utcnow()
    await worker.run_once(now=t0)
    async with db.database.transaction() as session:
        row = await session.get(models.Subscription, subscription.id)
        assert row is not None
        row.is_active = False

    await worker.run_once(now=t0 + timedelta(minutes=1))

    delivery = await delivery_of(db, subscription)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == "the subscription is disabled"
    assert len(receiver.at("/later")) == 1


async def test_400_fails_without_retry(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    subscription, _ = await subscribe(db, clinic, receiver.url("/bad"))
    receiver.answer("/bad", Reply(400, body="x" * 800))
    await emit_event(db, clinic, "order.created", {"id": ORDER})
    t0 = utcnow()

    await worker.run_once(now=t0)
    await worker.run_once(now=t0 + timedelta(days=2))

    delivery = await delivery_of(db, subscription)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    [attempt] = await attempts_of(db, delivery)
    assert attempt.response_excerpt == "x" * 500
    assert attempt.next_retry_at is None
    assert len(receiver.at("/bad")) == 1
    [row] = await db.all(models.Subscription, id=subscription.id)
    assert (row.is_active, row.failing_since) == (True, t0)


async def test_configured_statuses_are_retried(
    db: Db, clinic: Clinic, receiver: Receiver, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PESTLE_WEBHOOK_RETRY_STATUSES", "409, 425")
    settings = backend.settings.model_copy(
        update={"webhook_retry_statuses": Settings().webhook_retry_statuses}
    )
    assert settings.webhook_retry_statuses == {409, 425}
    subscription, _ = await subscribe(db, clinic, receiver.url("/busy"))
    receiver.answer("/busy", Reply(409, headers={"retry-after": "60"}), Reply(200))
    await emit_event(db, clinic, "order.created", {"id": ORDER})
    worker = Worker(db.database, settings, rng=seeded())
    t0 = utcnow()
    try:
        await worker.run_once(now=t0)
        delivery = await delivery_of(db, subscription)
        assert (delivery.status, delivery.last_status_code) == ("pending", 409)
        assert delivery.next_attempt_at == t0 + timedelta(seconds=60)  # Retry-After, > 5 s
        await worker.run_once(now=t0 + timedelta(seconds=60))
    finally:
        await worker.close()
    delivery = await delivery_of(db, subscription)
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert len(receiver.at("/busy")) == 2


async def test_a_redirect_is_not_followed_and_fails(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    subscription, _ = await subscribe(db, clinic, receiver.url("/moved"))
    receiver.answer("/moved", Reply(307, headers={"location": receiver.url("/elsewhere")}))
    await emit_event(db, clinic, "order.created", {"id": ORDER})

    await worker.run_once()

    delivery = await delivery_of(db, subscription)
    assert (delivery.status, delivery.last_status_code) == ("failed", 307)
    assert receiver.at("/elsewhere") == []


async def test_one_resource_events_wait_for_the_earlier_one(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    subscription, _ = await subscribe(db, clinic, receiver.url("/ordered"))
    receiver.answer(f"/ordered#order:{ORDER}", Reply(500))
    other_order = str(uuid.uuid4())
    await emit_event(db, clinic, "order.created", {"id": ORDER})
    await emit_event(db, clinic, "order.updated", {"id": ORDER})
    await emit_event(db, clinic, "order.status_changed", {"id": ORDER})
    await emit_event(db, clinic, "order.created", {"id": other_order})
    t0 = utcnow()

    await worker.run_once(now=t0)

    first = receiver.at("/ordered")
    # The failing first event of ORDER holds back its next two; the other order goes on.
    assert sorted(json.loads(r.body)["data"]["id"] for r in first) == sorted([ORDER, other_order])
    held = await db.all(models.Delivery, subscription_id=subscription.id, attempts=0)
    assert sorted(d.sequence for d in held if d.sequence is not None) == [2, 3]

    await worker.run_once(now=t0 + timedelta(minutes=1))

    later = receiver.at("/ordered")[len(first) :]
    assert [(r.headers["webhook-resource"], r.headers["webhook-sequence"]) for r in later] == [
        (f"order:{ORDER}", "1"),
        (f"order:{ORDER}", "2"),
        (f"order:{ORDER}", "3"),
    ]
    assert [json.loads(r.body)["event_code"] for r in later] == [
        "order.created",
        "order.updated",
        "order.status_changed",
    ]


async def test_rotation_both_secrets_sign_until_the_old_expires(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    new, old, expired = new_secret(), new_secret(), new_secret()
    now = utcnow()
    await subscribe(
        db,
        clinic,
        receiver.url("/rotated"),
        secrets=[
            (new, None),
            (old, now + timedelta(hours=24)),
            (expired, now - timedelta(seconds=1)),
        ],
    )
    await emit_event(db, clinic, "order.created", {"id": ORDER})

    await worker.run_once(now=now)

    [request] = receiver.at("/rotated")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(expired).verify(request.body, request.headers)


async def test_a_private_address_is_refused_at_delivery(
    db: Db, clinic: Clinic, receiver: Receiver, backend: Backend
) -> None:
    settings = backend.settings.model_copy(update={"allow_private_webhooks": False})
    subscription, _ = await subscribe(
        db, clinic, receiver.url("/private").replace("http:", "https:")
    )
    await emit_event(db, clinic, "order.created", {"id": ORDER})
    worker = Worker(db.database, settings, rng=seeded())
    try:
        await worker.run_once()
    finally:
        await worker.close()

    assert receiver.requests == []
    delivery = await delivery_of(db, subscription)
    assert delivery.status == "pending"
    assert delivery.last_error == (
        "target refused: the host '127.0.0.1' resolves to a non-public address (127.0.0.1)"
    )
    [attempt] = await attempts_of(db, delivery)
    assert attempt.status_code is None


async def test_failures_for_five_days_disable_the_subscription(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    subscription, _ = await subscribe(db, clinic, receiver.url("/down"))
    receiver.answer("/down", Reply(503), Reply(503))
    t0 = utcnow()
    async with db.database.transaction() as session:
        row = await session.get(models.Subscription, subscription.id)
        assert row is not None
        row.failing_since = t0 - timedelta(days=4)
    await emit_event(db, clinic, "order.created", {"id": ORDER})

    await worker.run_once(now=t0)
    [row] = await db.all(models.Subscription, id=subscription.id)
    assert (row.is_active, row.failing_since) == (True, t0 - timedelta(days=4))

    await worker.run_once(now=t0 + timedelta(days=1))
    [row] = await db.all(models.Subscription, id=subscription.id)
    assert (row.is_active, row.disabled_at) == (False, t0 + timedelta(days=1))
    assert row.disabled_reason == "every delivery failed for 5 days"


async def test_two_workers_share_the_work_and_send_nothing_twice(
    db: Db, clinic: Clinic, receiver: Receiver, backend: Backend
) -> None:
    if backend.name == "sqlite":
        pytest.skip("one worker runs on SQLite")
    await subscribe(db, clinic, receiver.url("/shared"))
    async with db.database.transaction() as session:
        from pestle.events.service import emit

        for n in range(500):
            await emit(
                session, "order.created", {"id": str(uuid.UUID(int=n + 1))}, clinic.customer_id
            )
    workers = [Worker(db.database, backend.settings, concurrency=16) for _ in range(2)]
    try:
        done = [0, 0]

        async def run(index: int) -> None:
            while True:
                sent = await workers[index].run_once()
                done[index] += sent
                if not sent and await db.count(models.Delivery, status="pending") == 0:
                    return

        await asyncio.gather(run(0), run(1))
    finally:
        for worker in workers:
            await worker.close()

    ids = [r.headers["webhook-id"] for r in receiver.at("/shared")]
    assert len(ids) == 500
    assert len(set(ids)) == 500
    assert sum(done) == 500
    assert all(done), done
    assert await db.count(models.Delivery, status="delivered") == 500


async def test_the_client_checks_each_address_as_it_connects(receiver: Receiver) -> None:
    # A name that passed the check before the send but points inward when the socket opens
    # (DNS rebinding) meets the same rule at connect time: the client's resolver applies it.
    by_name = receiver.url("/inward").replace("127.0.0.1", "localhost")
    strict = new_client(allow_private=False)
    lenient = new_client(allow_private=True)
    try:
        with pytest.raises(aiohttp.ClientConnectorError) as refused:
            await strict.post(by_name, data=b"{}")
        assert str(refused.value.os_error).startswith(
            "target refused: the host 'localhost' resolves to a non-public address ("
        )
        assert receiver.at("/inward") == []
        async with lenient.post(by_name, data=b"{}") as response:
            assert response.status == 200
        assert len(receiver.at("/inward")) == 1
    finally:
        await strict.close()
        await lenient.close()


@pytest.fixture
def mail() -> Iterator[tuple[Recorder, int]]:
    """A real SMTP server on a loopback port, keeping what it receives."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


async def test_the_owner_of_a_disabled_subscription_is_emailed(
    db: Db, clinic: Clinic, receiver: Receiver, backend: Backend, mail: tuple[Recorder, int]
) -> None:
    recorder, port = mail
    settings = backend.settings.model_copy(
        update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{port}")}
    )
    subscription, _ = await subscribe(db, clinic, receiver.url("/gone"))
    receiver.answer("/gone", Reply(410))
    await emit_event(db, clinic, "order.created", {"id": ORDER})
    worker = Worker(db.database, settings, rng=seeded())
    try:
        await worker.run_once()
    finally:
        await worker.close()

    [(envelope, message)] = recorder.messages
    assert envelope.rcpt_tos == ["admin@clinic-a.pestle.dev"]
    assert message["Subject"] == "[Pestle] Subscription disabled"
    assert f"(id {subscription.id}) was disabled: the receiver answered 410 Gone" in str(
        message.get_content()
    )


async def test_the_schedule_ends_after_eight_attempts(
    db: Db, clinic: Clinic, receiver: Receiver, worker: Worker
) -> None:
    subscription, _ = await subscribe(db, clinic, receiver.url("/never"))
    receiver.answer("/never", *[Reply(500)] * 8)
    await emit_event(db, clinic, "order.created", {"id": ORDER})
    expected = seeded()
    now = utcnow()
    waits = []
    for failures in range(1, 9):
        assert await worker.run_once(now=now) == 1
        delay = next_delay(failures, None, expected)
        if delay is None:
            break
        waits.append(delay)
        now += delay

    delivery = await delivery_of(db, subscription)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert len(waits) == 7
    attempts = await attempts_of(db, delivery)
    assert [a.next_retry_at is None for a in attempts] == [False] * 7 + [True]
    assert len(receiver.at("/never")) == 8
