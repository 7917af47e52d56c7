"""`pestle inventory scan-expiring`, run as a subprocess against each backend's database."""

import asyncio
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest

from pestle.kit.time import utcnow
from tests.conftest import TEST_SECRET_KEY, Backend, Db
from tests.inventory.support import create_lot, create_product_lot, events, make_product
from tests.test_cli import clean_env

EXPIRING = "inventory.lot_expiring"


def days_from_now(days: int) -> str:
    return (utcnow() + timedelta(days=days)).replace(microsecond=0, tzinfo=None).isoformat()


async def scan(backend: Backend, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(database_url=backend.settings.database_url, secret_key=TEST_SECRET_KEY)
    command = [sys.executable, "-m", "pestle", "inventory", "scan-expiring", *args]
    return await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.usefixtures("clinic_a", "clinic_b")
async def test_emits_once_per_lot_and_customer(
    backend: Backend, pharmacist: httpx.AsyncClient, db: Db
) -> None:
    cream = await make_product(db, "Clinic A", sku="A", name="A cream")
    gel = await make_product(db, "Clinic B", sku="B", name="B gel")
    material = await make_product(db, None, "order_material", sku="G", name="Leaflet")
    expiring = await create_lot(
        pharmacist,
        expiration_date=days_from_now(10),
        associations=[
            {"product_id": str(cream.id), "units_per_product": 1},
            {"product_id": str(gel.id), "units_per_product": 2},
        ],
    )
    await create_product_lot(pharmacist, cream, 1, expiration_date=days_from_now(60))
    await create_product_lot(pharmacist, cream, 1, expiration_date=days_from_now(-1))
    await create_product_lot(
        pharmacist, cream, 1, expiration_date=days_from_now(5), is_active=False
    )
    await create_product_lot(
        pharmacist, cream, 1, expiration_date=days_from_now(5), current_quantity=0
    )
    # Stock of no customer's product: nobody to tell.
    await create_product_lot(pharmacist, material, 1, expiration_date=days_from_now(5))
    await create_lot(pharmacist, expiration_date=days_from_now(5))

    result = await scan(backend, "--days", "30")
    assert (result.returncode, result.stderr) == (0, "")
    assert (
        result.stdout == "emitted 2 inventory.lot_expiring events (lots expiring within 30 days)\n"
    )
    sent = await events(db, EXPIRING)
    assert sorted(str(event.customer_id) for event in sent) == sorted(
        [str(cream.customer_id), str(gel.customer_id)]
    )
    [for_a] = [event for event in sent if event.customer_id == cream.customer_id]
    assert {k: v for k, v in for_a.data.items() if k != "days_left"} == {
        "lot_id": expiring["id"],
        "type": "non_prescription",
        "batch_number": "1234567890",
        "expiration_date": expiring["expiration_date"] + ".000000",
        "current_quantity": 80,
        "unit_type": "mg",
        "products": [
            {"product_id": str(cream.id), "product_type": "non_prescription", "name": "A cream"}
        ],
    }
    assert for_a.data["days_left"] in (9, 10)

    again = await scan(backend, "--days", "30")
    assert (
        again.stdout == "emitted 0 inventory.lot_expiring events (lots expiring within 30 days)\n"
    )
    assert len(await events(db, EXPIRING)) == 2

    wider = await scan(backend, "--days", "90")
    assert wider.stdout.startswith("emitted 1 ")


async def test_negative_days_is_one_line(backend: Backend, db: Db) -> None:
    async with db.writes_nothing():
        result = await scan(backend, "--days", "-1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("pestle: ")
    assert result.stderr.count("\n") == 1
