"""Patient search at 100,000 and 1,000,000 patients on an ephemeral PostgreSQL cluster.

Patients are generated in SQL (``generate_series``: 200 made-up first names x 200 last names, random
phones, dates of birth between 1930 and 2010, unique emails and external ids), all for one
clinic, so that the clinic's own search sees every row. The two trigram indexes (migrations
0012 and 0013) are dropped for the load and built again after it (what an operator would do
for a bulk import; the time of each is reported), then the table is analysed and read into
PostgreSQL's cache.

Each query goes through ``search_service.patients`` (the same code as
``GET /api/v1/search/patients`` without HTTP and JSON), as the clinic's admin, limit 50, one
new session per query, against patients picked at random:

- *full name*: "First Last" (both words must occur; about 25 rows at 1,000,000),
- *last name*: "Last" alone (1 in 200 patients: 5,000 rows at 1,000,000 ranked, 50 returned),
- *phone*: "(641) 738-3445" formatting,
- *date of birth*: "MM/DD/YYYY",
- *substring*: the last nine characters of an email's local part (`json.1234`).

    .venv/bin/python -m bench.search [--sizes 100000 1000000] [--samples 1000]
"""

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import Any

from sqlalchemy import desc, text

from pestle import migrate, models
from pestle.auth.service import Principal
from pestle.config import Settings
from pestle.db import Database
from pestle.search.repository import SearchRepository
from pestle.search.service import parse, search_service
from pestle.users.service import user_service
from tests.postgres import running_cluster

SECRET = "bench-search-secret-key-0123456789abcdef"
_SYLLABLES = (
    "al an ar ba be bri ca cha co da de del dor el em fa fer ga gi ha hol is ja jo ka ki la "
    "le li lo lu ma mar me mi mo na ne ni no or pa pe ra re ri ro sa se si so ta te ti to tri "
    "ul va ve vi wa wil ya yo za"
)
SYLLABLES = _SYLLABLES.split()


def names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct made-up names of two or three syllables, as varied in their
    trigrams as real ones (no shared prefix or suffix that every row would carry)."""
    found: set[str] = set()
    while len(found) < count:
        found.add("".join(rng.choices(SYLLABLES, k=rng.choice((2, 3)))).title())
    return sorted(found)


# Enough for the 1,000,000 patients' table and indexes (about 1 GB): the server is warm at
# both sizes, as one sized for its data would be. With the default 128 MB, the larger size
# reads its rows from the kernel's page cache and the ratio measures that, not the search.
SHARED_BUFFERS = "1536MB"
RNG = random.Random(7)
FIRST = names(RNG, 200)
LAST = names(RNG, 200)
# The trigram indexes of patients' words and codes, by the column each covers.
INDEXES = {"ix_patient_search": "search_text", "ix_patient_codes_search": "search_codes"}

GENERATE = """
INSERT INTO patient (id, customer_id, external_id, first_name, last_name, email, phone,
    date_of_birth, is_smoker, is_diabetic, is_pregnant, receive_sms, receive_email,
    created_at, updated_at)
SELECT gen_random_uuid(), :customer_id, 'EXT-' || n, f.name, l.name,
    lower(f.name || '.' || l.name || '.' || n || '@example.com'),
    (2000000000 + floor(random() * 7999999999))::bigint::text,
    date '1930-01-01' + floor(random() * 29200)::int, false, false, false, true, true,
    now(), now()
FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS n
CROSS JOIN LATERAL (
    SELECT (CAST(:firsts AS text[]))[1 + floor(random() * 200)::int + (n * 0)] AS name) f
CROSS JOIN LATERAL (
    SELECT (CAST(:lasts AS text[]))[1 + floor(random() * 200)::int + (n * 0)] AS name) l
"""


async def prepare(database: Database) -> Principal:
    async with database.transaction() as session:
        user = await user_service.create(
            session,
            email="admin@clinic.bench",
            password="bench-password-1",
            role="admin",
            customer_name="Bench Clinic",
            first_name="Bench",
            last_name="Admin",
        )
    return Principal(user=user)


async def grow(database: Database, principal: Principal, have: int, want: int) -> str:
    """Adds patients up to ``want``; returns the timings line."""
    started = time.perf_counter()
    async with database.transaction() as session:
        for index in INDEXES:
            await session.execute(text(f"DROP INDEX IF EXISTS {index}"))
    step = 100_000
    for first in range(have + 1, want + 1, step):
        async with database.transaction() as session:
            await session.execute(
                text(GENERATE),
                {
                    "customer_id": principal.customer_id,
                    "first": first,
                    "last": min(first + step - 1, want),
                    "firsts": FIRST,
                    "lasts": LAST,
                },
            )
    inserted = time.perf_counter()
    async with database.transaction() as session:
        await session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for index, column in INDEXES.items():
            await session.execute(
                text(f"CREATE INDEX {index} ON patient USING gin ({column} gin_trgm_ops)")
            )
    indexed = time.perf_counter()
    async with database.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE patient"))
        # The load's dirty pages written now, not while the queries are timed.
        await connection.execute(text("CHECKPOINT"))
        await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        await connection.execute(
            text(
                "SELECT pg_prewarm(relation) FROM (SELECT 'patient'::regclass AS relation "
                "UNION ALL SELECT indexrelid::regclass FROM pg_index "
                "WHERE indrelid = 'patient'::regclass) AS relations"
            )
        )
    return (
        f"{want - have:,} rows inserted in {inserted - started:.1f} s, "
        f"index built in {indexed - inserted:.1f} s, vacuum analyze "
        f"{time.perf_counter() - indexed:.1f} s"
    )


async def samples(database: Database, count: int) -> list[dict[str, Any]]:
    async with database.sessions() as session:
        rows = await session.execute(
            text(
                "SELECT first_name, last_name, phone, date_of_birth, email FROM patient "
                "TABLESAMPLE SYSTEM (1) LIMIT :count"
            ),
            {"count": count},
        )
        return [dict(row._mapping) for row in rows]


def queries(row: dict[str, Any]) -> dict[str, str]:
    phone = row["phone"]
    born = row["date_of_birth"]
    local = row["email"].split("@")[0]
    return {
        "full name": f"{row['first_name']} {row['last_name']}",
        "last name": row["last_name"],
        "phone": f"({phone[:3]}) {phone[3:6]}-{phone[6:]}",
        "date of birth": born.strftime("%m/%d/%Y"),
        "substring": local[-9:],
    }


async def timed(run: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await run()
    return (time.perf_counter() - started) * 1000


async def measure(
    database: Database, principal: Principal, count: int
) -> dict[str, tuple[float, float, float]]:
    """p50, p95 (ms) and the mean number of results, by kind of query."""
    rows = await samples(database, count)
    latencies: dict[str, list[float]] = {}
    results: dict[str, list[int]] = {}
    for row in rows:
        for kind, q in queries(row).items():
            found: list[Any] = []

            async def run(q: str = q, found: list[Any] = found) -> None:
                async with database.sessions() as session:
                    found.extend(await search_service.patients(session, principal, q, 50))

            latencies.setdefault(kind, []).append(await timed(run))
            results.setdefault(kind, []).append(len(found))
    return {
        kind: (
            statistics.median(values),
            statistics.quantiles(values, n=20)[-1],
            statistics.mean(results[kind]),
        )
        for kind, values in latencies.items()
    }


async def explain(database: Database, principal: Principal, q: str) -> str:
    """The plan PostgreSQL picks for the search's statement (a custom plan, as asyncpg's
    first executions get): the exact-match one when the query has one (the ranked one follows
    only when it finds fewer than the limit)."""
    async with database.sessions() as session:
        repository = SearchRepository(session, principal.customer_id)
        wanted = parse(q)
        exact = repository.exact_patients(wanted, 50)
        statement: Any = (
            repository.ranked_patients(wanted).order_by(desc("rank"), models.Patient.id).limit(50)
            if exact is None
            else exact
        )
        compiled = statement.compile(
            dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
        )
        plan = await session.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {compiled}"))
        return "\n".join(line for (line,) in plan)


async def run(url: str, sizes: list[int], count: int) -> None:
    database = Database(Settings(database_url=url, secret_key=SECRET))
    try:
        principal = await prepare(database)
        have = 0
        rows: list[str] = []
        for size in sizes:
            print(f"generating {size:,} patients...", flush=True)
            print(await grow(database, principal, have, size), flush=True)
            have = size
            await measure(database, principal, 20)  # warm the cache and the statement cache
            for kind, (p50, p95, mean) in (await measure(database, principal, count)).items():
                rows.append(f"| {size:,} | {kind} | {p50:.1f} | {p95:.1f} | {mean:.1f} |")
                print(rows[-1], flush=True)
            sample = (await samples(database, 1))[0]
            for kind in ("full name", "last name", "phone", "date of birth"):
                print(await explain(database, principal, queries(sample)[kind]), flush=True)
        print("| patients | query | p50 ms | p95 ms | mean results |")
        print("| ---: | --- | ---: | ---: | ---: |")
        print("\n".join(rows))
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--samples", type=int, default=1000)
    options = parser.parse_args()
    random.seed(7)
    with ExitStack() as stack:
        cluster = stack.enter_context(running_cluster(shared_buffers=SHARED_BUFFERS))
        url = cluster.url("postgres")
        migrate.upgrade(Settings(database_url=url, secret_key=SECRET))
        asyncio.run(run(url, options.sizes, options.samples))


if __name__ == "__main__":
    main()
