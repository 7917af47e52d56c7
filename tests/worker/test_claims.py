"""Claiming due deliveries: in due order, one resource at a time, and never starved by the
deliveries at the front of the queue that wait for an earlier event of their resource."""

from datetime import timedelta

import pytest

from pestle import models
from pestle.kit.time import utcnow
from pestle.worker import repository
from tests.conftest import Db
from tests.worker.conftest import Clinic, emit_event, subscribe

ORDER_A = "0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e61"
ORDER_B = "0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e62"


async def test_waiting_deliveries_at_the_front_do_not_starve_the_rest(
    db: Db, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The claim first looks among the first CLAIM_WINDOW x limit due deliveries: one here.
    monkeypatch.setattr(repository, "CLAIM_WINDOW", 1)
    subscription, _ = await subscribe(db, clinic, "http://127.0.0.1:9/hook")
    await emit_event(db, clinic, "order.created", {"id": ORDER_A})
    await emit_event(db, clinic, "order.updated", {"id": ORDER_A})
    await emit_event(db, clinic, "order.created", {"id": ORDER_B})
    t0 = utcnow()
    async with db.database.transaction() as session:
        assert await repository.fan_out(session, t0, 10) == 3
    by_event = {
        (row.resource_key, row.sequence): row
        for row in await db.all(models.Delivery, subscription_id=subscription.id)
    }
    first_of_a = by_event[(f"order:{ORDER_A}", 1)]
    second_of_a = by_event[(f"order:{ORDER_A}", 2)]
    only_of_b = by_event[(f"order:{ORDER_B}", 1)]
    async with db.database.transaction() as session:
        # A's first event waits for a retry in an hour; its second is due first of all, but
        # waits for the first; B's is due last and free to go.
        for delivery, due in (
            (first_of_a, t0 + timedelta(hours=1)),
            (second_of_a, t0 - timedelta(minutes=2)),
            (only_of_b, t0 - timedelta(minutes=1)),
        ):
            row = await session.get(models.Delivery, delivery.id)
            assert row is not None
            row.next_attempt_at = due

    lease = t0 + timedelta(seconds=60)
    async with db.database.transaction() as session:
        [claimed] = await repository.claim_due(session, t0, lease, 1, ["webhook"])
    assert claimed.delivery_id == only_of_b.id
    [row] = await db.all(models.Delivery, id=only_of_b.id)
    assert row.next_attempt_at == lease

    async with db.database.transaction() as session:
        assert await repository.claim_due(session, t0, lease, 1, ["webhook"]) == []
    [row] = await db.all(models.Delivery, id=second_of_a.id)
    assert row.next_attempt_at == t0 - timedelta(minutes=2)  # untouched, still waiting
