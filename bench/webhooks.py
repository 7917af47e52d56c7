"""Webhook delivery: deliveries per second with one and two `pestle worker` processes, and the
latency from an event's commit to its arrival at the receiver when the workers are idle.

An ephemeral PostgreSQL cluster; one customer with one webhook subscription (to ``all``) whose
URL is a local receiver (uvicorn in a thread of this process, answering 200 at once). The
workers are real `pestle worker` processes, woken by the `NOTIFY` of each commit.

Throughput: ``--events`` events of distinct orders are committed in one transaction while the
workers idle; the clock runs from that commit to the last delivery's arrival. Latency: one
event at a time, ``--samples`` times, each committed only after the previous one arrived.

    .venv/bin/python -m bench.webhooks [--events 2000] [--samples 200] [--concurrency 32]
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import ExitStack
from typing import Any

import uvicorn
from sqlalchemy import delete, func, select

from bench.baseline import SECRET
from pestle import migrate, models
from pestle.config import Settings
from pestle.db import Database
from pestle.events.service import emit
from pestle.kit.crypto import FieldCipher
from pestle.kit.signing import new_secret
from pestle.users.service import user_service
from tests.postgres import free_port, running_cluster


class Receiver:
    """A bare ASGI receiver: the arrival instant of every `webhook-id`, answered 200 at once."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.duplicates = 0
        self.changed = threading.Event()

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        headers = dict(scope["headers"])
        message_id = headers.get(b"webhook-id", b"").decode()
        if message_id in self.arrivals:
            self.duplicates += 1
        self.arrivals[message_id] = time.perf_counter()
        self.changed.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def start_receiver(stack: ExitStack, receiver: Receiver) -> str:
    port = free_port()
    config = uvicorn.Config(
        receiver, host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    stack.callback(stop)
    return f"http://127.0.0.1:{port}/hook"


async def prepare(settings: Settings, url: str) -> uuid.UUID:
    """The bench customer, its admin and a webhook subscription to everything."""
    database = Database(settings)
    try:
        async with database.transaction() as session:
            user = await user_service.create(
                session,
                email="bench@clinic.pestle.dev",
                password="Correct-Horse-Battery-9",
                role="admin",
                customer_name="Bench Clinic",
                first_name="Bench",
                last_name="Admin",
            )
            assert user.customer_id is not None
            subscription = models.Subscription(
                customer_id=user.customer_id,
                user_id=user.id,
                type="webhook",
                url=url,
                event_codes=["all"],
            )
            session.add(subscription)
            await session.flush()
            session.add(
                models.SubscriptionSecret(
                    subscription_id=subscription.id,
                    secret_ciphertext=FieldCipher(SECRET).encrypt(new_secret()),
                )
            )
            return user.customer_id
    finally:
        await database.dispose()


def start_workers(stack: ExitStack, url: str, count: int, concurrency: int) -> list[Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESTLE_")}
    env |= {
        "PESTLE_DATABASE_URL": url,
        "PESTLE_SECRET_KEY": SECRET,
        "PESTLE_ALLOW_PRIVATE_WEBHOOKS": "1",
        "PESTLE_LOG_LEVEL": "WARNING",
    }
    processes = []
    for _ in range(count):
        process = subprocess.Popen(
            [sys.executable, "-m", "pestle", "worker", "--concurrency", str(concurrency)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        stack.callback(process.wait, 15)
        stack.callback(process.terminate)
        processes.append(process)
    time.sleep(3)  # started, listening
    return processes


async def emit_orders(database: Database, customer_id: uuid.UUID, count: int) -> float:
    """Commits ``count`` order.created events in one transaction; returns the commit instant."""
    async with database.transaction() as session:
        for _ in range(count):
            await emit(session, "order.created", {"id": str(uuid.uuid4())}, customer_id)
    return time.perf_counter()


async def clear(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(delete(models.OutboxEvent))


async def wait_arrivals(receiver: Receiver, count: int, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while len(receiver.arrivals) < count:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{len(receiver.arrivals)} of {count} deliveries arrived")
        await asyncio.sleep(0.001)


async def throughput(
    database: Database, customer_id: uuid.UUID, receiver: Receiver, events: int
) -> tuple[float, float]:
    """Deliveries per second, and the seconds from commit to the last arrival."""
    receiver.arrivals.clear()
    committed = await emit_orders(database, customer_id, events)
    await wait_arrivals(receiver, events, 600)
    wall = max(receiver.arrivals.values()) - committed
    # Every arrival is also recorded as delivered, just after the receiver answers.
    for _ in range(100):
        async with database.sessions() as session:
            delivered = await session.scalar(
                select(func.count()).select_from(models.Delivery).filter_by(status="delivered")
            )
        if delivered == events:
            break
        await asyncio.sleep(0.1)
    assert delivered == events, delivered
    return events / wall, wall


async def latency(
    database: Database, customer_id: uuid.UUID, receiver: Receiver, samples: int
) -> list[float]:
    receiver.arrivals.clear()
    latencies = []
    for n in range(samples):
        committed = await emit_orders(database, customer_id, 1)
        await wait_arrivals(receiver, n + 1, 30)
        latencies.append(max(receiver.arrivals.values()) - committed)
        await asyncio.sleep(0.02)  # idle again
    return latencies


async def measure(
    settings: Settings, customer_id: uuid.UUID, receiver: Receiver, events: int, samples: int
) -> tuple[float, float, list[float]]:
    database = Database(settings)
    try:
        rate, wall = await throughput(database, customer_id, receiver, events)
        idle = await latency(database, customer_id, receiver, samples)
        await clear(database)
        return rate, wall, idle
    finally:
        await database.dispose()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    options = parser.parse_args()
    print("| workers | deliveries/s | seconds | idle p50 ms | idle p99 ms |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for workers in (1, 2):
        with ExitStack() as stack:
            cluster = stack.enter_context(running_cluster())
            url = cluster.url("postgres")
            settings = Settings(database_url=url, secret_key=SECRET)
            migrate.upgrade(settings)
            receiver = Receiver()
            target = start_receiver(stack, receiver)
            customer_id = asyncio.run(prepare(settings, target))
            start_workers(stack, url, workers, options.concurrency)

            rate, wall, idle = asyncio.run(
                measure(settings, customer_id, receiver, options.events, options.samples)
            )
            assert receiver.duplicates == 0, f"{receiver.duplicates} deliveries sent twice"
            p50 = statistics.median(idle) * 1000
            p99 = percentile(idle, 0.99) * 1000
            print(f"| {workers} | {rate:,.0f} | {wall:.1f} | {p50:.1f} | {p99:.1f} |", flush=True)


if __name__ == "__main__":
    main()
