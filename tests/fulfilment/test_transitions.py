"""The staff transitions over HTTP on both engines: the whole path, who may make each step, and
the moves that belong to another route."""

import httpx
import pytest

from pestle import models
from tests.conftest import Db
from tests.fulfilment.support import Staff, advance, deliver, history, ship
from tests.orders.support import ORDERS, ok, outbox, ready_order, transition


async def status_of(client: httpx.AsyncClient, order: dict[str, object]) -> str:
    code: str = ok(await client.get(f"{ORDERS}/{order['id']}"))["status_code"]
    return code


class TestWholePath:
    async def test_received_to_delivered_with_each_role(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = (await ready_order(clinic_a)).order
        steps = [
            ("P01", technician, "Data Entry"),
            ("P02", technician, "Data Verification"),
            ("P03", pharmacist, "Compounding"),
            ("P04", technician, "Final Verification"),
            ("S01", pharmacist, "Shipping"),
        ]
        for to, client, name in steps:
            body = await transition(client, order, to, note=f"into {to}")
            assert (body["status_code"], body["status_name"], body["status"]) == (to, name, name)
            assert body["id"] == order["id"]
        shipment = await ship(technician, order)
        assert await status_of(clinic_a, order) == "S02"
        await deliver(technician, order, shipment)
        assert await status_of(clinic_a, order) == "S03"

        entries = ok(await clinic_a.get(f"{ORDERS}/{order['id']}/status_history"))
        assert [(e["status_code"], e["updated_by_last_name"], e["note"]) for e in entries] == [
            ("N01", "Admin", None),
            ("P01", "Technician", "into P01"),
            ("P02", "Technician", "into P02"),
            ("P03", "Pharmacist", "into P03"),
            ("P04", "Technician", "into P04"),
            ("S01", "Pharmacist", "into S01"),
            ("S02", "Technician", None),
            ("S03", "Technician", None),
        ]
        rows = await history(db, order)
        assert [(row.previous_status_code, row.status_code) for row in rows] == [
            (None, "N01"),
            ("N01", "P01"),
            ("P01", "P02"),
            ("P02", "P03"),
            ("P03", "P04"),
            ("P04", "S01"),
            ("S01", "S02"),
            ("S02", "S03"),
        ]
        changed = await outbox(db, "order.status_changed")
        assert [(e["previous_status_code"], e["status_code"]) for e in changed] == [
            (row.previous_status_code, row.status_code) for row in rows[1:]
        ]
        assert [e["status_name"] for e in changed][-1] == "Delivered"

    async def test_back_steps_are_the_pharmacists(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = (await ready_order(clinic_a)).order
        staff = Staff(technician, pharmacist)
        await advance(staff, order, "P02")
        async with db.writes_nothing():
            refused = await transition(technician, order, "P01", 403)
        assert refused == {
            "error": "RoleCannotMove",
            "detail": "A technician cannot move an order from P02 to P01; "
            "this step is for: pharmacist.",
        }
        assert (await transition(pharmacist, order, "P01", note="wrong strength"))[
            "status_code"
        ] == "P01"
        await advance(staff, order, "P04")
        assert (await transition(pharmacist, order, "P03"))["status_code"] == "P03"
        body = await transition(technician, order, "P04")
        assert [t["status_code"] for t in body["allowed_transitions"]] == ["S01", "P03", "X01"]


class TestRefused:
    @pytest.mark.parametrize(("source", "target"), [("P02", "P03"), ("P04", "S01")])
    async def test_technician_cannot_verify(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
        source: str,
        target: str,
    ) -> None:
        order = (await ready_order(clinic_a)).order
        await advance(Staff(technician, pharmacist), order, source)
        async with db.writes_nothing():
            body = await transition(technician, order, target, 403)
        assert body == {
            "error": "RoleCannotMove",
            "detail": f"A technician cannot move an order from {source} to {target}; "
            "this step is for: pharmacist.",
        }
        assert await status_of(clinic_a, order) == source
        [prescription] = await db.all(models.Prescription)
        assert prescription.fills_used == (1 if source == "P04" else 0)

    @pytest.mark.parametrize("target", ["P01", "P02", "P03", "X01"])
    async def test_customer_cannot_make_any_transition(
        self, clinic_a: httpx.AsyncClient, db: Db, target: str
    ) -> None:
        order = (await ready_order(clinic_a)).order
        async with db.writes_nothing():
            body = await transition(clinic_a, order, target, 403)
        assert body == {"error": "RoleNotAllowed", "detail": "Role admin may not do this."}
        assert await status_of(clinic_a, order) == "N01"

    async def test_data_entry_is_not_the_admins(
        self,
        clinic_a: httpx.AsyncClient,
        pharmacy_admin: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = (await ready_order(clinic_a)).order
        await transition(pharmacy_admin, order, "P01")
        async with db.writes_nothing():
            body = await transition(pharmacy_admin, order, "P02", 403)
        assert body["detail"] == (
            "A pharmacy_admin cannot move an order from P01 to P02; "
            "this step is for: pharmacist, technician."
        )

    async def test_shipping_has_its_own_route(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacist: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = (await ready_order(clinic_a)).order
        await advance(Staff(technician, pharmacist), order, "S01")
        async with db.writes_nothing():
            body = await transition(pharmacist, order, "S02", 409)
        assert body == {
            "error": "InvalidTransition",
            "detail": "An order in S01 (Shipping) cannot move to S02 (Shipped); allowed next: "
            "S02, X01. Use POST /api/v1/orders/{order_id}/shipments.",
        }

    async def test_pause_is_the_customers_route(
        self, clinic_a: httpx.AsyncClient, technician: httpx.AsyncClient, db: Db
    ) -> None:
        order = (await ready_order(clinic_a)).order
        async with db.writes_nothing():
            body = await transition(technician, order, "H01", 409)
        assert body["detail"].endswith(" Use PUT /api/v1/orders/{order_id}/pause.")

    async def test_skipping_a_step_is_409(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        order = (await ready_order(clinic_a)).order
        async with db.writes_nothing():
            body = await transition(pharmacist, order, "P03", 409)
        assert body == {
            "error": "InvalidTransition",
            "detail": "An order in N01 (Received) cannot move to P03 (Compounding); "
            "allowed next: P01, H01, X01.",
        }

    async def test_unknown_status_is_422(
        self, clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient, db: Db
    ) -> None:
        order = (await ready_order(clinic_a)).order
        async with db.writes_nothing():
            body = await transition(pharmacist, order, "Z99", 422)
        assert body["error"] == "UnknownOrderStatus"
        assert body["detail"].startswith("to: 'Z99' is not an order status; one of N01, H01, ")

    async def test_override_reason_belongs_to_data_verification(
        self, clinic_a: httpx.AsyncClient, technician: httpx.AsyncClient, db: Db
    ) -> None:
        order = (await ready_order(clinic_a)).order
        async with db.writes_nothing():
            body = await transition(technician, order, "P01", 422, override_reason="because")
        assert body == {
            "error": "OverrideNotApplicable",
            "detail": "override_reason applies only to data verification (P02 to P03), "
            "not to N01 to P01.",
        }

    async def test_other_customers_cannot_find_the_order(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
    ) -> None:
        order = (await ready_order(clinic_a)).order
        async with db.writes_nothing():
            assert (await transition(clinic_b, order, "P01", 403))["error"] == "RoleNotAllowed"

    async def test_unknown_order_is_404(self, technician: httpx.AsyncClient, db: Db) -> None:
        response = await technician.post(
            f"{ORDERS}/ORD000000000000XXXX/transitions", json={"to": "P01"}
        )
        assert response.status_code == 404
        assert response.json() == {
            "error": "OrderNotFound",
            "detail": "No order ORD000000000000XXXX.",
        }


class TestCancel:
    async def test_admin_cancels_in_process_and_technician_cannot(
        self,
        clinic_a: httpx.AsyncClient,
        technician: httpx.AsyncClient,
        pharmacy_admin: httpx.AsyncClient,
        db: Db,
    ) -> None:
        order = (await ready_order(clinic_a)).order
        await transition(technician, order, "P01")
        async with db.writes_nothing():
            refused = await transition(technician, order, "X01", 403)
        assert refused["detail"] == (
            "A technician cannot move an order from P01 to X01; "
            "this step is for: pharmacist, pharmacy_admin."
        )
        body = await transition(pharmacy_admin, order, "X01", note="customer asked")
        assert (body["status_code"], body["allowed_transitions"]) == ("X01", [])
        [cancelled] = await outbox(db, "order.cancelled")
        assert (cancelled["id"], cancelled["status_code"]) == (order["id"], "X01")
