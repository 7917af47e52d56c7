"""The search index is the database's own business: a row written by any code path, over
HTTP or straight through a session, is found (or no longer found) in the same transaction."""

import uuid
from datetime import date

import httpx
from sqlalchemy import delete, select, text, update

from pestle import models
from pestle.search.repository import SearchRepository
from pestle.search.service import parse
from tests.conftest import Backend, Db
from tests.orders.support import ok, ready_order
from tests.prescriptions.test_lifecycle import customer_id
from tests.search.support import ranked, search, willard_and_reversed


async def test_a_renamed_patient_is_found_by_the_new_name_only(
    clinic_a: httpx.AsyncClient,
) -> None:
    willard, reversed_ = await willard_and_reversed(clinic_a)
    renamed = {"last_name": "Zebulon", "phone": "6175550123"}
    ok(await clinic_a.put(f"/api/v1/patients/{willard['id']}", json=renamed))

    assert ranked(await search(clinic_a, "Donnelly", "/patients")) == [(reversed_["id"], 1.0)]
    assert await search(clinic_a, '"Willard Donnelly"', "/patients") == []
    assert await search(clinic_a, "6417383445", "/patients") == []
    assert ranked(await search(clinic_a, "zebulon", "/patients")) == [(willard["id"], 1.0)]
    assert ranked(await search(clinic_a, "(617) 555-0123", "/patients")) == [(willard["id"], 1.0)]


async def test_rows_written_in_a_transaction_are_searchable_inside_it(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    willard, reversed_ = await willard_and_reversed(clinic_a)
    clinic = await customer_id(db)

    async with db.database.transaction() as session:
        session.add(
            models.Patient(
                customer_id=clinic,
                first_name="Quentin",
                last_name="Quirrell",
                date_of_birth=date(1970, 5, 6),
            )
        )
        await session.execute(
            update(models.Patient)
            .where(models.Patient.id == uuid.UUID(willard["id"]))
            .values(first_name="Wilhelmina")
        )
        await session.execute(
            delete(models.Patient).where(models.Patient.id == uuid.UUID(reversed_["id"]))
        )
        await session.flush()
        repository = SearchRepository(session, clinic)

        [(quentin, rank)] = await repository.patients(parse("quirrell"), 10)
        assert (quentin.first_name, rank) == ("Quentin", 1.0)
        assert await repository.patients(parse("05/06/1970"), 10) == [(quentin, 1.0)]
        found = await repository.patients(parse("wilhelmina"), 10)
        assert [(str(row.id), rank) for row, rank in found] == [(willard["id"], 1.0)]
        assert await repository.patients(parse('"Willard Donnelly"'), 10) == []
        assert await repository.patients(parse("dw@example"), 10) == []

    assert ranked(await search(clinic_a, "Wilhelmina Donnelly", "/patients")) == [
        (willard["id"], 1.0)
    ]
    assert await search(clinic_a, "dw@example.com", "/patients") == []
    assert [hit["last_name"] for hit in await search(clinic_a, "Quirrell", "/patients")] == [
        "Quirrell"
    ]


async def test_a_rolled_back_write_leaves_no_trace_in_the_index(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    willard, _ = await willard_and_reversed(clinic_a)

    async with db.database.sessions() as session:
        await session.execute(
            update(models.Patient)
            .where(models.Patient.id == uuid.UUID(willard["id"]))
            .values(last_name="Ephemeral")
        )
        assert len(await SearchRepository(session, None).patients(parse("ephemeral"), 10)) == 1
        await session.rollback()

    assert await search(clinic_a, "ephemeral", "/patients") == []
    assert ranked(await search(clinic_a, '"willard donnelly"', "/patients")) == [
        (willard["id"], 1.0)
    ]


async def test_every_search_reads_its_index(
    clinic_a: httpx.AsyncClient, db: Db, backend: Backend
) -> None:
    """The text the queries search is the indexed one (an FTS5 table, or the very expression
    of the GIN index): with sequential scans made dear, each plan names the index."""
    clinic = await customer_id(db)
    async with db.database.sessions() as session:
        repository = SearchRepository(session, clinic)
        sqlite = backend.name == "sqlite"
        if not sqlite:
            await session.execute(text("SET LOCAL enable_seqscan = off"))
        for index in (
            repository.patient,
            repository.order,
            repository.product,
            repository.prescriber,
            repository.prescription,
        ):
            name = index.model.__tablename__
            # A word reads the words' index alone; hex digits and dashes the codes' too.
            for needle, indexes in (
                ("willard", [f"ix_{name}_search"]),
                ("2026-0", [f"ix_{name}_search", f"ix_{name}_codes_search"]),
            ):
                statement = select(index.model.__table__.c.id).where(index.has(needle))
                compiled = statement.compile(
                    dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
                )
                explain = "EXPLAIN QUERY PLAN" if sqlite else "EXPLAIN"
                plan = [str(row) for row in await session.execute(text(f"{explain} {compiled}"))]
                if sqlite:
                    assert "VIRTUAL TABLE INDEX" in " ".join(plan), plan
                else:
                    read = [i for i in indexes if any(f"on {i} " in line for line in plan)]
                    assert read == indexes, plan


async def test_renamed_products_prescribers_and_orders_follow(clinic_a: httpx.AsyncClient) -> None:
    ready = await ready_order(clinic_a)
    [prescription] = ready.erx["prescriptions"]
    prescriber_id = prescription["prescriber_id"]
    product_url = f"/api/v1/products/prescription/{ready.product['id']}"
    ok(await clinic_a.put(product_url, json={"name": "Rapamycin", "sku": "RAPA-SKU-9"}))
    ok(await clinic_a.put(f"/api/v1/prescribers/{prescriber_id}", json={"last_name": "Dale"}))
    order_url = f"/api/v1/orders/{ready.order['id']}"
    ok(await clinic_a.put(order_url, json={"external_id": "renamed-order-77"}))

    assert await search(clinic_a, "Mupirocin", "/products") == []
    assert ranked(await search(clinic_a, "rapa-sku", "/products")) == [(ready.product["id"], 0.75)]
    assert [hit["result_type"] for hit in await search(clinic_a, "Donnelly")] == []
    assert [
        (hit["result_type"], hit["id"]) for hit in await search(clinic_a, '"Willard Dale"')
    ] == [("prescriber", prescriber_id)]
    assert ranked(await search(clinic_a, "renamed-order", "/orders")) == [(ready.order["id"], 0.75)]
