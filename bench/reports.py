"""The orders report over a million orders, and how much memory a streamed CSV report takes.

An ephemeral PostgreSQL cluster served by the real app (``pestle serve``, one process). The
data is written straight in SQL with ``generate_series`` (through the API it would take hours):
``--customers`` customers with five products each (one of them a controlled CII prescription
product with a lot and a prescription), ``--orders`` orders spread evenly over 2025 across the
customers and all ten statuses, one line each (quantity 1-4) plus an order-material line on every
other order; the controlled lines of orders past compounding carry ``compounded_at`` and a lot. Then
``VACUUM ANALYZE``: the state autovacuum reaches soon after a load (with ``ANALYZE`` alone the
visibility map is empty and index-only scans fetch every heap row).

Timed over HTTP (p50 of ``--runs``): the JSON orders report for the whole year as pharmacy
staff (every order) and as one customer, then the same with an index on
``order (created_at)`` / ``order (customer_id, created_at)`` created by the bench (not by a
migration). Memory: the server process's peak RSS (``VmHWM``, reset through ``clear_refs``
before each request) while a CSV is streamed and discarded chunk by chunk, for a month and for
the whole year of the controlled-substance log, against the JSON of the same month.

    .venv/bin/python -m bench.reports [--orders 1000000] [--customers 10] [--runs 5]
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.baseline import serve
from bench.orders import STAFF, add_staff, client_for
from tests.postgres import running_cluster

YEAR = {"start_date": "2025-01-01", "end_date": "2025-12-31"}
MARCH = {"start_date": "2025-03-01", "end_date": "2025-03-31"}
NPI = "1234567893"

# Five products per customer: sku P0 (controlled), P1, P2 (prescription), N0, M0.
_SEED = [
    """INSERT INTO customer (id, name, created_at, updated_at)
       SELECT gen_random_uuid(), 'Bench customer ' || c, now(), now()
       FROM generate_series(2, :customers) AS c""",
    """INSERT INTO patient (id, customer_id, first_name, last_name, date_of_birth, created_at,
                           updated_at, is_smoker, is_diabetic, is_pregnant, receive_sms,
                           receive_email)
       SELECT gen_random_uuid(), id, 'Pat', 'Bench', '1990-01-01', now(), now(), false, false,
              false, false, false
       FROM customer""",
    """INSERT INTO product (id, customer_id, kind, sku, name, product_code, is_active,
                           is_controlled_substance, dea_schedule, reorder_threshold, is_global,
                           is_low_stock, created_at, updated_at)
       SELECT gen_random_uuid(), c.id, p.kind, p.sku, p.name || ' ' || c.name, p.code, true,
              p.sku = 'P0', CASE WHEN p.sku = 'P0' THEN 'CII' END, 0, false, false, now(), now()
       FROM customer c CROSS JOIN (VALUES
           ('prescription', 'P0', 'Testosterone cypionate', 'TESTC'),
           ('prescription', 'P1', 'Rapamycin 100mg', 'RAPA'),
           ('prescription', 'P2', 'Mupirocin 1%', 'MUPI'),
           ('non_prescription', 'N0', 'PABA-free sunscreen', NULL),
           ('order_material', 'M0', 'Information packet', NULL)) AS p(kind, sku, name, code)""",
    """INSERT INTO inventory_lot (id, customer_id, type, batch_number, initial_quantity,
                                 current_quantity, unit_type, received_date, is_active,
                                 created_at, updated_at)
       SELECT gen_random_uuid(), customer_id, 'prescription', 'LOT-' || sku, 1000000, 1000000,
              'each', now(), true, now(), now()
       FROM product WHERE sku = 'P0'""",
    """INSERT INTO prescriber (id, customer_id, first_name, last_name, npi, dea, is_active,
                              created_at, updated_at)
       SELECT gen_random_uuid(), id, 'Willard', 'Donnelly', :npi, 'FD1234563', true, now(), now()
       FROM customer""",
    """INSERT INTO electronic_prescription (id, customer_id, source, type, content_type,
                                           raw_document, received_at, created_at, updated_at)
       SELECT gen_random_uuid(), id, 'api_json', 'NewRx', 'application/json', '{}', now(), now(),
              now()
       FROM customer""",
    """INSERT INTO prescription (id, customer_id, electronic_prescription_id, patient_id,
                                prescriber_id, prescription_product_id, quantity, units, refills,
                                sig, substitution_allowed, written_at, expires_at, status,
                                fills_used, needs_clarification, created_at, updated_at)
       SELECT gen_random_uuid(), c.id, e.id, pa.id, pr.id, p.id, 1, 'each', 99, 'as directed',
              true, now(), now() + interval '1 year', 'active', 0, false, now(), now()
       FROM customer c
       JOIN electronic_prescription e ON e.customer_id = c.id
       JOIN patient pa ON pa.customer_id = c.id
       JOIN prescriber pr ON pr.customer_id = c.id
       JOIN product p ON p.customer_id = c.id AND p.sku = 'P0'""",
    # One customer per order in turn; statuses cycle through all ten; created evenly over 2025.
    """CREATE TEMP TABLE bench_customer AS
       SELECT row_number() OVER (ORDER BY c.id) - 1 AS slot, c.id, pa.id AS patient_id
       FROM customer c JOIN patient pa ON pa.customer_id = c.id""",
    """INSERT INTO "order" (id, customer_id, order_number, patient_id, status_code,
                           status_changed_at, address_id, address_1, city, state, zip_code,
                           country, electronic_prescription_ids, priority_requested,
                           cancellation_requested, is_replacement, created_at, updated_at)
       SELECT gen_random_uuid(), bc.id, 'ORD' || lpad(i::text, 16, '0'), bc.patient_id,
              (ARRAY['N01','H01','P01','P02','P03','P04','S01','S02','S03','X01'])[i % 10 + 1],
              now(), gen_random_uuid(), '1 Main St', 'Boston', 'MA', '02108', 'US', '[]', false,
              false, false, t.at, t.at
       FROM generate_series(0, :orders - 1) AS i
       JOIN bench_customer bc ON bc.slot = i % :customers
       CROSS JOIN LATERAL (SELECT timestamptz '2025-01-01' + (i::float8 / :orders)
                                  * interval '365 days' AS at) AS t""",
    """INSERT INTO order_line (id, order_id, product_id, kind, quantity, compounded_at,
                              prescription_id, created_at, updated_at)
       SELECT gen_random_uuid(), o.id, p.id, p.kind, 1 + abs(hashtext(o.order_number)) % 4,
              CASE WHEN p.sku = 'P0' AND o.status_code IN ('P04', 'S01', 'S02', 'S03')
                   THEN o.created_at + interval '1 hour' END,
              CASE WHEN p.sku = 'P0' THEN rx.id END, o.created_at, o.created_at
       FROM "order" o
       JOIN product p ON p.customer_id = o.customer_id
            AND p.sku = (ARRAY['P0','P1','P2','N0'])[abs(hashtext(o.order_number)) % 4 + 1]
       LEFT JOIN prescription rx ON rx.prescription_product_id = p.id""",
    """INSERT INTO order_line (id, order_id, product_id, kind, quantity, created_at, updated_at)
       SELECT gen_random_uuid(), o.id, p.id, p.kind, 1, o.created_at, o.created_at
       FROM "order" o JOIN product p ON p.customer_id = o.customer_id AND p.sku = 'M0'
       WHERE abs(hashtext(o.order_number)) % 2 = 0""",
    """INSERT INTO order_line_lot (id, order_line_id, lot_id, product_units, lot_units,
                                  created_at)
       SELECT gen_random_uuid(), l.id, lot.id, l.quantity, l.quantity, l.compounded_at
       FROM order_line l
       JOIN product p ON p.id = l.product_id
       JOIN inventory_lot lot ON lot.customer_id = p.customer_id
       WHERE l.compounded_at IS NOT NULL""",
]
# The orders report's three statements for staff over 2025, as the repository writes them.
_WINDOW = "\"order\".created_at >= '2025-01-01' AND \"order\".created_at < '2026-01-01'"
_EXPLAINED = {
    "count": f'SELECT count(*) FROM "order" WHERE {_WINDOW}',
    "status": f'SELECT status_code, count(*) FROM "order" WHERE {_WINDOW} GROUP BY status_code',
    "products": "SELECT product.kind, product.id, product.name, sum(order_line.quantity) AS n "
    'FROM order_line JOIN "order" ON "order".id = order_line.order_id '
    "JOIN product ON product.id = order_line.product_id "
    f"WHERE {_WINDOW} GROUP BY product.kind, product.id, product.name "
    "ORDER BY product.kind, n DESC, product.name, product.id",
}
_INDEXES = [
    'CREATE INDEX bench_order_created_at ON "order" (created_at)',
    'CREATE INDEX bench_order_customer_created_at ON "order" (customer_id, created_at)',
]


async def execute(url: str, statements: list[str], **params: object) -> dict[str, int]:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement), params)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))
        counts = {
            table: (await connection.scalar(text(f'SELECT count(*) FROM "{table}"'))) or 0
            for table in ("order", "order_line", "order_line_lot")
        }
    await engine.dispose()
    return counts


async def explain(url: str) -> list[str]:
    """The plan nodes that read tables, and the time, of each statement of the staff report."""
    engine = create_async_engine(url)
    found = []
    async with engine.connect() as connection:
        for name, statement in _EXPLAINED.items():
            plan = (await connection.execute(text(f"EXPLAIN ANALYZE {statement}"))).scalars()
            lines = [line.strip() for line in plan if "Scan" in line or "Execution" in line]
            found.append(f"- {name}: " + " / ".join(line.split("  (")[0] for line in lines))
    await engine.dispose()
    return found


def server_pid(base_url: str) -> int:
    """The `pestle serve` child of this process listening on ``base_url``'s port."""
    port = base_url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        cmdline = proc / "cmdline"
        if proc.name.isdigit() and cmdline.exists():
            args = cmdline.read_bytes().split(b"\0")
            if b"serve" in args and port.encode() in args:
                return int(proc.name)
    raise RuntimeError("pestle serve not found")


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(field)


@contextmanager
def peak_rss(pid: int) -> Iterator[dict[str, int]]:
    """The server's resident memory before, and its peak during, the block (KiB)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    seen = {"before": rss_kib(pid, "VmRSS")}
    yield seen
    seen["peak"] = rss_kib(pid, "VmHWM")


async def p50(client: httpx.AsyncClient, path: str, params: dict[str, str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(path, params=params)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return statistics.median(timings)


async def fetch(
    client: httpx.AsyncClient, path: str, params: dict[str, str], as_csv: bool
) -> tuple[int, int]:
    """Reads a report chunk by chunk, keeping nothing: its rows and its size in bytes."""
    size = rows = 0
    headers = {"Accept": "text/csv" if as_csv else "application/json"}
    async with client.stream("GET", path, params=params, headers=headers) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            rows += chunk.count(b"\n")
    # CSV: lines less the header; JSON: the entries (one object each, counted by their ids).
    return rows - 1, size


async def measure(base_url: str, db_url: str, customer_email: str, runs: int) -> None:
    staff = await client_for(base_url, STAFF["pharmacist"])
    customer = await client_for(base_url, customer_email)
    pid = server_pid(base_url)
    orders = "/api/v1/reports/orders"
    plans: list[str] = []
    print("| report | caller | index | p50 s |")
    print("| --- | --- | --- | ---: |")
    for index in ("none", "order (created_at), order (customer_id, created_at)"):
        if index != "none":
            await execute(db_url, _INDEXES)
        for name, client in (("staff", staff), ("one customer", customer)):
            seconds = await p50(client, orders, YEAR, runs)
            print(f"| orders, 2025, JSON | {name} | {index} | {seconds:.2f} |", flush=True)
        seconds = await p50(staff, orders, MARCH, runs)
        print(f"| orders, March, JSON | staff | {index} | {seconds:.2f} |", flush=True)
        started = time.perf_counter()
        await fetch(staff, orders, YEAR, as_csv=True)
        seconds = time.perf_counter() - started
        print(f"| orders, 2025, CSV (one run) | staff | {index} | {seconds:.2f} |", flush=True)
        plans += [f"index {index}:", *await explain(db_url)]
    print("\n" + "\n".join(plans) + "\n")
    print("| request | rows | bytes | seconds | RSS before MiB | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    controlled = "/api/v1/reports/controlled_substances"
    cases = [
        ("orders 2025, CSV", orders, YEAR, True),
        ("controlled log March, CSV", controlled, MARCH, True),
        ("controlled log 2025, CSV", controlled, YEAR, True),
        ("controlled log March, JSON", controlled, MARCH, False),
    ]
    for label, path, params, as_csv in cases:
        started = time.perf_counter()
        with peak_rss(pid) as seen:
            rows, size = await fetch(staff, path, params, as_csv)
        seconds = time.perf_counter() - started
        print(
            f"| {label} | {rows if as_csv else '-'} | {size:,} | {seconds:.2f} "
            f"| {seen['before'] / 1024:.0f} | {seen['peak'] / 1024:.0f} |",
            flush=True,
        )
    await staff.aclose()
    await customer.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with ExitStack() as stack:
        cluster = stack.enter_context(running_cluster())
        url = cluster.url("postgres")
        base_url = serve(stack, url)
        add_staff(url)
        started = time.perf_counter()
        counts = asyncio.run(
            execute(url, _SEED, customers=options.customers, orders=options.orders, npi=NPI)
        )
        print(f"seeded {counts} in {time.perf_counter() - started:.0f} s\n", flush=True)
        asyncio.run(measure(base_url, url, "bench@clinic.pestle.dev", options.runs))


if __name__ == "__main__":
    main()
