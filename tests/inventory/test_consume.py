"""inventory_service.consume, the order workflow's way to take stock, on both engines."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from pestle import models
from pestle.inventory.service import (
    Consumption,
    Draw,
    InsufficientStock,
    inventory_service,
)
from pestle.kit.time import utcnow
from tests.conftest import Backend, Db
from tests.inventory.support import (
    create_lot,
    create_product_lot,
    events,
    ledger_sum,
    make_product,
    quantity,
)

SOON = (utcnow() + timedelta(days=30)).replace(microsecond=0).isoformat()
LATER = (utcnow() + timedelta(days=300)).replace(microsecond=0).isoformat()
PAST = (utcnow() - timedelta(days=1)).replace(microsecond=0).isoformat()


async def staff_id(db: Db) -> uuid.UUID:
    [user] = await db.all(models.User, email="rph@pharmacy.pestle.dev")
    found: uuid.UUID = user.id
    return found


async def consume(db: Db, wanted: dict[uuid.UUID, int]) -> Consumption:
    async with db.database.transaction() as session:
        return await inventory_service.consume(session, wanted, await staff_id(db))


def lot_id(lot: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(lot["id"])


@pytest.mark.usefixtures("clinic_a")
class TestConsume:
    async def test_earliest_expiry_first_and_no_expiry_last(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A")
        never = await create_product_lot(
            pharmacist,
            product,
            10,
            initial_quantity=1000,
            current_quantity=...,
            expiration_date=None,
        )
        later = await create_product_lot(
            pharmacist,
            product,
            10,
            initial_quantity=100,
            current_quantity=...,
            expiration_date=LATER,
        )
        soon = await create_product_lot(
            pharmacist, product, 10, initial_quantity=55, current_quantity=..., expiration_date=SOON
        )
        consumed = await consume(db, {product.id: 17})
        # 55 mg at 10 mg a unit gives 5 units (5 mg stay), then 10 from the later lot, then 2.
        assert consumed == Consumption(
            {
                product.id: [
                    Draw(lot_id(soon), 5, 50),
                    Draw(lot_id(later), 10, 100),
                    Draw(lot_id(never), 2, 20),
                ]
            }
        )
        assert [await quantity(db, lot["id"]) for lot in (soon, later, never)] == [5, 0, 980]
        for lot in (soon, later, never):
            assert await ledger_sum(db, lot["id"]) == await quantity(db, lot["id"])
        [entry] = [
            e for e in await db.all(models.LotAdjustment, lot_id=lot_id(soon)) if e.delta < 0
        ]
        assert (entry.delta, entry.resulting_quantity, entry.reason, entry.user_id) == (
            -50,
            5,
            "dispensed",
            await staff_id(db),
        )

    async def test_inactive_and_expired_lots_are_skipped(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        product = await make_product(db, "Clinic A")
        expired = await create_product_lot(pharmacist, product, 1, expiration_date=PAST)
        inactive = await create_product_lot(pharmacist, product, 1, is_active=False)
        usable = await create_product_lot(pharmacist, product, 1, expiration_date=LATER)
        consumed = await consume(db, {product.id: 3})
        assert consumed.draws == {product.id: [Draw(lot_id(usable), 3, 3)]}
        assert [await quantity(db, lot["id"]) for lot in (expired, inactive, usable)] == [
            80,
            80,
            77,
        ]

    async def test_all_or_nothing_naming_every_short_product(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        plenty = await make_product(db, "Clinic A", sku="P")
        short = await make_product(db, "Clinic A", sku="S")
        none = await make_product(db, "Clinic A", sku="N")
        await create_product_lot(pharmacist, plenty, 1)
        await create_product_lot(pharmacist, short, 30)  # 80 mg: 2 units
        wanted = {plenty.id: 5, short.id: 3, none.id: 1}
        async with db.writes_nothing():
            with pytest.raises(InsufficientStock) as raised:
                await consume(db, wanted)
        listed = sorted([(short.id, 3, 2), (none.id, 1, 0)], key=lambda item: item[0])
        assert raised.value.status_code == 409
        assert (
            raised.value.message
            == "Not enough stock: "
            + "; ".join(f"product {p} needs {n}, {a} available" for p, n, a in listed)
            + "."
        )

    async def test_a_lot_shared_by_two_products(
        self, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        cream = await make_product(db, "Clinic A", sku="C")
        gel = await make_product(db, "Clinic A", sku="G")
        lot = await create_lot(
            pharmacist,
            initial_quantity=100,
            current_quantity=...,
            associations=[
                {"product_id": str(cream.id), "units_per_product": 10},
                {"product_id": str(gel.id), "units_per_product": 20},
            ],
        )
        # 100 mg: 6 creams (60 mg) leave 40 mg, which is 2 gels, not 3.
        async with db.writes_nothing():
            with pytest.raises(InsufficientStock):
                await consume(db, {cream.id: 6, gel.id: 3})
        await consume(db, {cream.id: 6, gel.id: 2})
        assert await quantity(db, lot["id"]) == 0

    async def test_nothing_wanted_takes_nothing(self, db: Db) -> None:
        async with db.writes_nothing(), db.database.transaction() as session:
            assert await inventory_service.consume(session, {}, None) == Consumption()

    async def test_low_stock_after_consumption(self, pharmacist: httpx.AsyncClient, db: Db) -> None:
        product = await make_product(db, "Clinic A", reorder_threshold=50)
        await create_product_lot(pharmacist, product, 1)
        await consume(db, {product.id: 30})
        assert await events(db, "inventory.low_stock") == []
        await consume(db, {product.id: 1})
        await consume(db, {product.id: 1})
        [event] = await events(db, "inventory.low_stock")
        assert event.data["current_stock"] == 49


class TestConcurrency:
    @pytest.mark.usefixtures("clinic_a")
    async def test_fifty_consumers_of_forty(
        self, backend: Backend, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        if backend.name != "postgresql":
            pytest.skip("row locks and concurrent writers: PostgreSQL only")
        product = await make_product(db, "Clinic A")
        lot = await create_product_lot(
            pharmacist, product, 1, initial_quantity=40, current_quantity=...
        )

        async def one() -> bool:
            try:
                await consume(db, {product.id: 1})
            except InsufficientStock:
                return False
            return True

        outcomes = await asyncio.gather(*(one() for _ in range(50)))
        assert sorted(outcomes) == [False] * 10 + [True] * 40
        assert await quantity(db, lot["id"]) == 0
        entries = await db.all(models.LotAdjustment, lot_id=lot_id(lot))
        assert sorted(e.delta for e in entries) == [-1] * 40 + [40]
        assert await ledger_sum(db, lot["id"]) == 0
