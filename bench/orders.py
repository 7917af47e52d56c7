"""Orders created per second, and whole workflow passes (N01 to S03) per second.

Serves the real app (``pestle serve``, one process) on an ephemeral PostgreSQL cluster and, for
comparison, on a temporary SQLite file, with the helpers of ``bench.baseline``. The clinic has
patients with an active prescription each (99 refills), one stocked prescription product with a
formula, and a technician and a pharmacist log in for the pharmacy's steps.

- *create*: ``POST /api/v1/orders?force_new=true`` for a random patient (one line): product
  lookup, patient, order number, line, prescription link, history row, ``order.created``.
- *workflow*: for each order, the seven requests that take it from N01 to S03 — P01, P02,
  P03 (data verification: a fill used, the risk-factor check), P04 (compounding: stock consumed
  under row locks, lots recorded), S01, a shipment (S02, ``order.shipped``) and its delivery
  (S03, ``order.delivered``). Passes run concurrently, each pass's steps in order.

    .venv/bin/python -m bench.orders [--orders 400] [--concurrency 8] [--patients 100]
"""

import argparse
import asyncio
import os
import random
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.baseline import EMAIL, PASSWORD, SECRET, pestle, report, serve
from tests.postgres import running_cluster

STAFF = {"technician": "tech@pharmacy.bench", "pharmacist": "rph@pharmacy.bench"}
NPI = "1234567893"


def add_staff(url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESTLE_")}
    env |= {"PESTLE_DATABASE_URL": url, "PESTLE_SECRET_KEY": SECRET}
    for role, email in STAFF.items():
        pestle(env, "users", "create", "--email", email, "--password", PASSWORD, "--role", role)


async def client_for(base_url: str, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base_url, timeout=60)
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return client


def created(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def set_up(clinic: httpx.AsyncClient, patients: int) -> tuple[list[str], str]:
    """Patient ids and the product id, each patient with an active prescription."""
    formula = created(
        await clinic.post(
            "/api/v1/products/formulas",
            json={"name": "Bench cream", "bud_category": "non_aqueous"},
        )
    )
    product = created(
        await clinic.post(
            "/api/v1/products/prescription",
            json={"name": "Bench cream", "product_code": "BENCH1", "formula_id": formula["number"]},
        )
    )
    created(
        await clinic.post(
            f"/api/v1/products/prescription/{product['id']}/inventory",
            json={
                "type": "prescription",
                "unit_type": "each",
                "initial_quantity": 10_000_000,
                "expiration_date": "2099-01-01T00:00:00",
                "units_per_product": 1,
            },
        )
    )
    prescriber = created(
        await clinic.post(
            "/api/v1/prescribers",
            json={"first_name": "Willard", "last_name": "Donnelly", "npi": NPI},
        )
    )
    patient_ids = []
    for n in range(patients):
        patient = created(
            await clinic.post(
                "/api/v1/patients",
                json={
                    "first_name": f"Bench{n}",
                    "last_name": "Patient",
                    "email": f"p{n}@example.com",
                    "phone": "2125550100",
                    "date_of_birth": "1980-01-01",
                    "address": {
                        "address_1": f"{n} Main St",
                        "city": "Boston",
                        "state": "MA",
                        "zip_code": "02108",
                    },
                },
            )
        )
        created(
            await clinic.post(
                "/api/v1/prescriptions/electronic_prescriptions",
                json={
                    "medication": {
                        "prescription_product_id": product["id"],
                        "quantity": 30,
                        "units": "C48480",
                        "refills": 99,
                        "sig": "Apply nightly",
                        "written_at": time.strftime("%Y-%m-%dT00:00:00"),
                    },
                    "patient": {"id": patient["id"]},
                    "prescriber": {"id": prescriber["id"]},
                },
            )
        )
        patient_ids.append(patient["id"])
    return patient_ids, product["id"]


async def create_orders(
    clinic: httpx.AsyncClient, patients: list[str], product: str, count: int, concurrency: int
) -> tuple[list[float], float, list[str]]:
    latencies: list[float] = []
    order_ids: list[str] = []
    queue = iter(range(count))
    chooser = random.Random(7)

    async def worker() -> None:
        for _ in queue:
            body = {
                "patient_id": chooser.choice(patients),
                "products": {"prescription": [{"id": product, "quantity": 1}]},
            }
            started = time.perf_counter()
            response = await clinic.post("/api/v1/orders", params={"force_new": "true"}, json=body)
            latencies.append(time.perf_counter() - started)
            order_ids.append(created(response)["id"])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, order_ids


async def workflow(
    technician: httpx.AsyncClient,
    pharmacist: httpx.AsyncClient,
    order_ids: list[str],
    concurrency: int,
) -> tuple[list[float], float]:
    """Each pass's latency (seven requests), and the wall time of all passes."""
    steps = [
        (technician, "P01"),
        (technician, "P02"),
        (pharmacist, "P03"),
        (technician, "P04"),
        (pharmacist, "S01"),
    ]
    latencies: list[float] = []
    queue = iter(order_ids)

    async def one_pass(order_id: str) -> None:
        path = f"/api/v1/orders/{order_id}"
        for client, target in steps:
            created(await client.post(f"{path}/transitions", json={"to": target}), 200)
        shipment = created(
            await technician.post(
                f"{path}/shipments",
                json={
                    "carrier": "usps",
                    "service_level": "usps_ground_advantage",
                    "tracking_number": f"9200{order_id[-12:]}",
                },
            )
        )
        created(await technician.post(f"{path}/shipments/{shipment['id']}/delivered"), 200)

    async def worker() -> None:
        for order_id in queue:
            started = time.perf_counter()
            await one_pass(order_id)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def run(base_url: str, engine: str, options: argparse.Namespace) -> list[str]:
    clinic = await client_for(base_url, EMAIL)
    technician = await client_for(base_url, STAFF["technician"])
    pharmacist = await client_for(base_url, STAFF["pharmacist"])
    try:
        patients, product = await set_up(clinic, options.patients)
        latencies, wall, order_ids = await create_orders(
            clinic, patients, product, options.orders, options.concurrency
        )
        rows = [report(engine, "create", latencies, wall)]
        latencies, wall = await workflow(technician, pharmacist, order_ids, options.concurrency)
        rows.append(report(engine, "workflow pass", latencies, wall))
        return rows
    finally:
        for client in (clinic, technician, pharmacist):
            await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--patients", type=int, default=100)
    options = parser.parse_args()
    print("| engine | what | per s | p50 ms | p95 ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        cluster = stack.enter_context(running_cluster())
        urls = {
            "postgresql": cluster.url("postgres"),
            "sqlite": f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}",
        }
        for engine, url in urls.items():
            base_url = serve(stack, url)
            add_staff(url)
            for row in asyncio.run(run(base_url, engine, options)):
                print(row, flush=True)


if __name__ == "__main__":
    main()
