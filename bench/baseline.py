"""Baseline latency of the foundation: the cost every endpoint pays before its own work.

Serves the real app (``pestle serve``, one process) on a temporary SQLite file and on an
ephemeral PostgreSQL cluster, side by side in one run, and times three requests:
``GET /healthz`` (no database), ``GET /api/v1/auth/verify`` (token check + user lookup) and
``GET /api/v1/users`` (a paginated list with its count query).

    .venv/bin/python -m bench.baseline [--requests 2000] [--concurrency 8]
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.postgres import free_port, running_cluster

EMAIL = "bench@clinic.pestle.dev"
PASSWORD = "Correct-Horse-Battery-9"
SECRET = "bench-signing-key-0123456789-0123456789-0123456789"
PATHS = ("/healthz", "/api/v1/auth/verify", "/api/v1/users")


def pestle(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pestle", *args], env=env, check=True, capture_output=True
    )


async def measure(
    base_url: str, path: str, requests: int, concurrency: int
) -> tuple[list[float], float]:
    """Each request's latency, and the wall time of the whole run, in seconds."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        tokens = (
            await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        ).json()
        client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        latencies: list[float] = []
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


def report(engine: str, path: str, latencies: list[float], wall: float) -> str:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    return f"| {engine} | `{path}` | {len(ordered) / wall:,.0f} | {p50:.1f} | {p95:.1f} |"


def serve(stack: ExitStack, url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESTLE_")}
    port = free_port()
    env |= {"PESTLE_DATABASE_URL": url, "PESTLE_SECRET_KEY": SECRET, "PESTLE_LOG_LEVEL": "WARNING"}
    pestle(env, "db", "upgrade")
    pestle(env, "users", "create", "--email", EMAIL, "--password", PASSWORD, "--role", "admin",
           "--customer", "Bench Clinic")  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "pestle", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.callback(process.wait, 10)
    stack.callback(process.terminate)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz").status_code == 200:
                return base_url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("pestle serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    options = parser.parse_args()
    print("| engine | request | req/s | p50 ms | p95 ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        cluster = stack.enter_context(running_cluster())
        servers = {
            "sqlite": serve(stack, f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}"),
            "postgresql": serve(stack, cluster.url("postgres")),
        }
        for path in PATHS:
            for engine, base_url in servers.items():
                latencies, wall = asyncio.run(
                    measure(base_url, path, options.requests, options.concurrency)
                )
                print(report(engine, path, latencies, wall), flush=True)


if __name__ == "__main__":
    main()
