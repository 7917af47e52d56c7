"""Two `pestle worker` processes share 10,000 events; one is killed with SIGKILL mid-run and
restarted. Every event still reaches the receiver, a resent event carries the webhook-id of its
first send, and every delivery ends delivered (PostgreSQL only: SQLite runs one worker)."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pestle import models
from pestle.events.service import emit
from tests.conftest import TEST_SECRET_KEY, Backend, Db
from tests.worker.conftest import Clinic, Receiver, subscribe

EVENTS = 10_000
BATCH = 500
KILL_AFTER = 2_000
# The killed worker's claimed deliveries come back only when their lease ends: the shortest
# lease allowed keeps the test short.
LEASE_SECONDS = 15
DEADLINE = LEASE_SECONDS + 180


def worker_env(database_url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PESTLE_")}
    env.update(
        PESTLE_DATABASE_URL=database_url,
        PESTLE_SECRET_KEY=TEST_SECRET_KEY,
        PESTLE_ALLOW_PRIVATE_WEBHOOKS="1",
        PESTLE_LOG_LEVEL="WARNING",
        PESTLE_WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    return env


class Workers:
    """`pestle worker` processes, each in its own process group; all stopped at the end."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str) -> subprocess.Popen[bytes]:
        with (self.cwd / f"worker-{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "pestle", "worker", "--concurrency", "32", "--poll", "0.2"],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-4000:]}"
            for path in sorted(self.cwd.glob("worker-*.log"))
        )

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def workers(backend: Backend, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(worker_env(backend.settings.database_url), tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def received(receiver: Receiver) -> int:
    with receiver.lock:
        return len(receiver.requests)


def received_by_event(receiver: Receiver, path: str) -> dict[str, set[str]]:
    """Each event's `data.id` and the webhook-ids of its deliveries that reached ``path``."""
    seen: dict[str, set[str]] = {}
    for request in receiver.at(path):
        event_id = json.loads(request.body)["data"]["id"]
        seen.setdefault(event_id, set()).add(request.headers["webhook-id"])
    return seen


async def undelivered(db: Db) -> int:
    async with db.database.sessions() as session:
        statement = select(func.count()).where(models.Delivery.status != "delivered")
        return (await session.scalar(statement)) or 0


async def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    db: Db, clinic: Clinic, receiver: Receiver, backend: Backend, workers: Workers
) -> None:
    if backend.name != "postgresql":
        pytest.skip("several worker processes and SKIP LOCKED claims: PostgreSQL only")
    await subscribe(db, clinic, receiver.url("/crash"), ["patient.updated"])
    ids = [str(uuid.uuid4()) for _ in range(EVENTS)]
    started = time.monotonic()
    doomed = workers.start("a")
    workers.start("b")

    async def write_events() -> None:
        # While the workers run, as an app would: each batch's commit wakes them.
        for start in range(0, EVENTS, BATCH):
            async with db.database.transaction() as session:
                for event_id in ids[start : start + BATCH]:
                    await emit(
                        session, "patient.updated", {"id": event_id, "n": start}, clinic.customer_id
                    )

    writing = asyncio.create_task(write_events())

    def failing(what: str) -> str:
        return (
            f"{what} after {time.monotonic() - started:.0f} s: "
            f"{len(received_by_event(receiver, '/crash'))} of {EVENTS} events received, "
            f"{len(receiver.at('/crash'))} requests\n{workers.logs()}"
        )

    while received(receiver) < KILL_AFTER:
        assert time.monotonic() - started < DEADLINE, failing("no kill yet")
        assert doomed.poll() is None, failing("worker a exited")
        if writing.done():
            writing.result()  # raises what stopped the writing, if anything did
        await asyncio.sleep(0.02)
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    at_kill = received(receiver)
    assert at_kill < EVENTS, "the worker was killed after the run, not during it"
    workers.start("a-again")
    await writing

    while len(received_by_event(receiver, "/crash")) < EVENTS or await undelivered(db):
        assert time.monotonic() - started < DEADLINE, failing(
            f"{await undelivered(db)} deliveries not delivered"
        )
        for process in workers.processes[1:]:
            assert process.poll() is None, failing("a worker exited")
        await asyncio.sleep(0.2)

    seen = received_by_event(receiver, "/crash")
    assert set(seen) == set(ids)
    resent = {event_id: hooks for event_id, hooks in seen.items() if len(hooks) != 1}
    assert resent == {}, f"events delivered under several webhook-ids: {list(resent.items())[:5]}"
    deliveries = await db.all(models.Delivery)
    assert len(deliveries) == EVENTS
    assert {delivery.status for delivery in deliveries} == {"delivered"}
    assert {f"msg_{delivery.id.hex}" for delivery in deliveries} == {
        hook for hooks in seen.values() for hook in hooks
    }
