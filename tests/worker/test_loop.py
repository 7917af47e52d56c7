"""The worker running on its own: woken by NOTIFY on PostgreSQL, by polling on SQLite, and
inside `pestle serve` when the database is SQLite."""

import asyncio
import json
import time

import httpx
import pytest

from pestle import models
from pestle.app import create_app
from pestle.auth.service import Principal
from pestle.notifications.service import notification_service
from pestle.worker.loop import Worker
from tests.conftest import Backend, Db, live_server
from tests.worker.conftest import Clinic, Receiver, emit_event, subscribe

ORDER = "0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e61"


async def wait_for(receiver: Receiver, path: str, count: int, seconds: float) -> float:
    """Seconds until ``path`` has received ``count`` requests; fails after ``seconds``."""
    started = time.monotonic()
    while len(receiver.at(path)) < count:
        assert time.monotonic() - started < seconds, f"{path}: {len(receiver.at(path))} requests"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_run_forever_delivers_and_stops(
    db: Db, clinic: Clinic, receiver: Receiver, backend: Backend
) -> None:
    await subscribe(db, clinic, receiver.url("/loop"))
    # A long poll: on PostgreSQL the NOTIFY of emit wakes the worker long before it.
    poll = 30.0 if backend.name == "postgresql" else 0.1
    worker = Worker(db.database, backend.settings, poll=poll)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        await asyncio.sleep(0.5)  # idle, listening
        await emit_event(db, clinic, "order.created", {"id": ORDER})
        await wait_for(receiver, "/loop", 1, 5.0)
        await emit_event(db, clinic, "order.updated", {"id": ORDER})
        await wait_for(receiver, "/loop", 2, 5.0)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    assert [json.loads(r.body)["event_code"] for r in receiver.at("/loop")] == [
        "order.created",
        "order.updated",
    ]


async def test_serve_runs_the_worker_in_process_when_asked(
    db: Db, clinic: Clinic, receiver: Receiver, backend: Backend
) -> None:
    settings = backend.settings.model_copy(update={"run_worker_in_process": True})
    assert settings.worker_in_process
    assert not backend.settings.worker_in_process
    await subscribe(db, clinic, receiver.url("/served"))
    with live_server(create_app(settings)) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get("/healthz")).status_code == 200
        await emit_event(db, clinic, "order.created", {"id": ORDER})
        await wait_for(receiver, "/served", 1, 10.0)
    [request] = receiver.at("/served")
    assert json.loads(request.body) == {"event_code": "order.created", "data": {"id": ORDER}}


def test_the_worker_runs_in_process_by_default_on_sqlite_only(backend: Backend) -> None:
    defaults = backend.settings.model_copy(update={"run_worker_in_process": None})
    assert defaults.worker_in_process is (backend.name == "sqlite")


async def test_a_redelivery_wakes_the_worker_on_postgresql(
    db: Db, clinic: Clinic, receiver: Receiver, backend: Backend
) -> None:
    if backend.name == "sqlite":
        pytest.skip("SQLite has no NOTIFY: the in-process worker polls")
    subscription, _ = await subscribe(db, clinic, receiver.url("/again"))
    worker = Worker(db.database, backend.settings, poll=30.0)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        await asyncio.sleep(0.5)  # idle, listening
        await emit_event(db, clinic, "order.created", {"id": ORDER})
        await wait_for(receiver, "/again", 1, 5.0)
        [delivery] = await db.all(models.Delivery, subscription_id=subscription.id)
        async with db.database.transaction() as session:
            user = await session.get(models.User, clinic.user_id)
            assert user is not None
            await notification_service.redeliver(
                session, Principal(user), str(subscription.id), str(delivery.id)
            )
        # Well inside the 30 s poll: the redelivery's NOTIFY woke the worker.
        await wait_for(receiver, "/again", 2, 5.0)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    first, second = receiver.at("/again")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{delivery.id.hex}"
