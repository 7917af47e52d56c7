"""Quantity adjustments per second: one hot lot against the same load spread over many lots.

Serves the real app (``pestle serve``, one process) on an ephemeral PostgreSQL cluster and, for
comparison, on a temporary SQLite file, with the helpers of ``bench.baseline``. Each lot feeds
one of ten products (as stock usually does), so every adjustment also pays the low-stock check.
Every request is ``PATCH /api/v1/products/inventory/{lot_id}/quantity`` with +1: the guarded
``UPDATE ... RETURNING``, a ledger row, the stock level of the lot's product, one commit.

    .venv/bin/python -m bench.inventory [--requests 2000] [--concurrency 8] [--lots 1000]
"""

import argparse
import asyncio
import random
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlalchemy import select

from bench.baseline import EMAIL, PASSWORD, SECRET, report, serve
from pestle import models
from pestle.config import Settings
from pestle.db import Database
from tests.postgres import running_cluster

PRODUCTS = 10


async def add_products(url: str) -> list[str]:
    """Products of the bench customer, written directly: the inventory API does not make them."""
    database = Database(Settings(database_url=url, secret_key=SECRET))
    try:
        async with database.transaction() as session:
            customer = await session.scalar(select(models.Customer))
            assert customer is not None
            products = [
                models.Product(
                    customer_id=customer.id, kind="non_prescription", sku=f"B-{n}", name=f"P{n}"
                )
                for n in range(PRODUCTS)
            ]
            session.add_all(products)
            await session.flush()
            return [str(product.id) for product in products]
    finally:
        await database.dispose()


async def login(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"


async def create_lots(base_url: str, products: list[str], count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await login(client)
        lots = []
        for n in range(count):
            body = {
                "type": "non_prescription",
                "unit_type": "each",
                "initial_quantity": 1_000_000,
                "associations": [{"product_id": products[n % PRODUCTS], "units_per_product": 1}],
            }
            response = await client.post("/api/v1/products/inventory", json=body)
            assert response.status_code == 201, response.text
            lots.append(response.json()["id"])
        return lots


async def measure(
    base_url: str, lots: list[str], requests: int, concurrency: int
) -> tuple[list[float], float]:
    """Each adjustment's latency, and the wall time of the whole run, in seconds."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        await login(client)
        latencies: list[float] = []
        queue = iter(range(requests))
        chooser = random.Random(7)

        async def worker() -> None:
            for _ in queue:
                lot_id = chooser.choice(lots)
                started = time.perf_counter()
                response = await client.patch(
                    f"/api/v1/products/inventory/{lot_id}/quantity",
                    json={"additional_quantity": 1, "reason": "recount"},
                )
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--lots", type=int, default=1000)
    options = parser.parse_args()
    print("| engine | lots | adjustments/s | p50 ms | p95 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        cluster = stack.enter_context(running_cluster())
        urls = {
            "postgresql": cluster.url("postgres"),
            "sqlite": f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}",
        }
        for engine, url in urls.items():
            base_url = serve(stack, url)
            products = asyncio.run(add_products(url))
            lots = asyncio.run(create_lots(base_url, products, options.lots))
            for spread in ([lots[0]], lots):
                latencies, wall = asyncio.run(
                    measure(base_url, spread, options.requests, options.concurrency)
                )
                row = report(engine, "", latencies, wall).replace("| `` |", f"| {len(spread):,} |")
                print(row, flush=True)


if __name__ == "__main__":
    main()
