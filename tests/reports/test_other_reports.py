"""The reports beyond the contract: inventory, stuck orders and the controlled-substance log."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from pestle import models
from pestle.kit.time import rest_format, utcnow
from tests.conftest import Db
from tests.orders.support import make_patient, make_product, prescribe, stock
from tests.prescriptions.test_json import NPI, make_prescriber
from tests.reports.support import CSV, REPORTS, at, csv_rows, dated_order, set_columns

INVENTORY = f"{REPORTS}/inventory"
STUCK = f"{REPORTS}/stuck_orders"
CONTROLLED = f"{REPORTS}/controlled_substances"
JANUARY = {"start_date": "2025-01-01", "end_date": "2025-01-31"}


def lot_line(
    lot: dict[str, Any], product: dict[str, Any], expires: str, value: float | None
) -> dict[str, Any]:
    return {
        "id": lot["id"],
        "type": "prescription",
        "batch_number": lot["batch_number"],
        "manufacturer": None,
        "expiration_date": expires,
        "is_expired": False,
        "initial_quantity": 100,
        "current_quantity": lot["current_quantity"],
        "unit_type": "each",
        "cost_per_unit": lot["cost_per_unit"],
        "value_at_cost": value,
        "products": [{"id": product["id"], "name": product["name"], "kind": "prescription"}],
    }


class TestInventory:
    @pytest.fixture
    async def lots(
        self, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient
    ) -> dict[str, Any]:
        soon = (utcnow() + timedelta(days=10)).replace(microsecond=0, tzinfo=None)
        a_product = await make_product(clinic_a, name="Rapamycin 100mg")
        b_product = await make_product(clinic_b, name="Semaglutide")
        return {
            "soon_expires": rest_format(soon),
            "a_product": a_product,
            "b_product": b_product,
            "a_far": await stock(
                clinic_a, a_product, batch_number="A-FAR", current_quantity=40, cost_per_unit=2.5
            ),
            "a_soon": await stock(
                clinic_a, a_product, batch_number="A-SOON", expiration_date=soon.isoformat()
            ),
            "b": await stock(
                clinic_b, b_product, batch_number="B-1", current_quantity=8, cost_per_unit=1.25
            ),
        }

    def expected(self, lots: dict[str, Any], *names: str) -> list[dict[str, Any]]:
        lines = {
            "a_soon": lot_line(lots["a_soon"], lots["a_product"], lots["soon_expires"], None),
            "a_far": lot_line(lots["a_far"], lots["a_product"], "2099-01-01T00:00:00Z", 100.0),
            "b": lot_line(lots["b"], lots["b_product"], "2099-01-01T00:00:00Z", 10.0),
        }
        return [lines[name] for name in names]

    async def test_staff_see_every_lot_soonest_first(
        self, pharmacist: httpx.AsyncClient, lots: dict[str, Any]
    ) -> None:
        body = (await pharmacist.get(INVENTORY)).json()
        assert body["lots"] == self.expected(lots, "a_soon", "a_far", "b")
        assert (body["lot_count"], body["total_value_at_cost"]) == (3, 110.0)
        assert body["expiring_within_days"] is None

    async def test_a_customer_sees_only_lots_of_its_products(
        self, clinic_b: httpx.AsyncClient, lots: dict[str, Any]
    ) -> None:
        body = (await clinic_b.get(INVENTORY)).json()
        assert body["lots"] == self.expected(lots, "b")
        assert (body["lot_count"], body["total_value_at_cost"]) == (1, 10.0)

    @pytest.mark.parametrize(("days", "names"), [(30, ["a_soon"]), (5, []), (0, [])])
    async def test_expiring_within_days(
        self, clinic_a: httpx.AsyncClient, lots: dict[str, Any], days: int, names: list[str]
    ) -> None:
        body = (await clinic_a.get(INVENTORY, params={"expiring_within_days": days})).json()
        assert body["lots"] == self.expected(lots, *names)
        assert (body["lot_count"], body["expiring_within_days"]) == (len(names), days)

    async def test_csv_one_row_per_lot_and_product(
        self, clinic_a: httpx.AsyncClient, lots: dict[str, Any]
    ) -> None:
        response = await clinic_a.get(INVENTORY, headers=CSV)
        assert response.headers["content-disposition"] == (
            'attachment; filename="inventory-report.csv"'
        )
        product = lots["a_product"]
        tail = [product["id"], "Rapamycin 100mg", "prescription"]
        assert csv_rows(response) == [
            ["lot_id", "type", "batch_number", "manufacturer", "expiration_date",
             "initial_quantity", "current_quantity", "unit_type", "cost_per_unit",
             "value_at_cost", "product_id", "product_name", "product_kind"],
            [lots["a_soon"]["id"], "prescription", "A-SOON", "", lots["soon_expires"], "100",
             "100", "each", "", "", *tail],
            [lots["a_far"]["id"], "prescription", "A-FAR", "", "2099-01-01T00:00:00Z", "100",
             "40", "each", "2.5000", "100.0000", *tail],
        ]  # fmt: skip

    async def test_a_shared_lot_shows_each_customer_only_its_products(
        self,
        pharmacist: httpx.AsyncClient,
        clinic_a: httpx.AsyncClient,
        clinic_b: httpx.AsyncClient,
    ) -> None:
        a_product = await make_product(clinic_a, name="Rapamycin 100mg")
        b_product = await make_product(clinic_b, name="Semaglutide")
        shared = await stock(pharmacist, a_product, batch_number="SHARED", cost_per_unit=1)
        link = {"product_id": b_product["id"], "type": "prescription", "units_per_product": 1}
        url = f"/api/v1/products/inventory/{shared['id']}/associations"
        linked = await pharmacist.post(url, json=link)
        assert linked.status_code == 201, linked.text

        async def products(client: httpx.AsyncClient) -> list[tuple[str, list[str]]]:
            lots = (await client.get(INVENTORY)).json()["lots"]
            return [(lot["batch_number"], [p["name"] for p in lot["products"]]) for lot in lots]

        assert await products(clinic_a) == [("SHARED", ["Rapamycin 100mg"])]
        assert await products(clinic_b) == [("SHARED", ["Semaglutide"])]
        assert await products(pharmacist) == [("SHARED", ["Rapamycin 100mg", "Semaglutide"])]

    async def test_negative_days_is_422(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.get(INVENTORY, params={"expiring_within_days": -1})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "expiring_within_days"]


class TestStuckOrders:
    @pytest.fixture
    async def stuck(
        self, db: Db, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient
    ) -> dict[str, dict[str, Any]]:
        patient = await make_patient(clinic_a)
        product = await make_product(clinic_a)
        b_patient = await make_patient(clinic_b)
        b_product = await make_product(clinic_b)

        async def order(
            client: httpx.AsyncClient, who: dict[str, Any], what: dict[str, Any], **stuck: Any
        ) -> dict[str, Any]:
            made = await dated_order(
                db, client, who, "2025-01-01T00:00:00", prescription=[(what, 1)]
            )
            if stuck:
                await set_columns(db, models.Order, made["id"], **stuck)
            return made

        return {
            "early": await order(
                clinic_a, patient, product,
                stuck_reason="too_early_to_fill", stuck_detail="Mupirocin: last filled 2025-01-01",
                stuck_since=at("2025-01-03T00:00:00"), stuck_resolves_at=at("2025-02-01T00:00:00"),
            ),
            "missing": await order(
                clinic_a, patient, product, stuck_reason="missing_prescription",
                stuck_since=at("2025-01-02T00:00:00"),
            ),
            "fine": await order(clinic_a, patient, product),
            "b": await order(
                clinic_b, b_patient, b_product, stuck_reason="needs_clarification",
                stuck_since=at("2025-01-04T00:00:00"),
            ),
        }  # fmt: skip

    def line(self, order: dict[str, Any], reason: str, **fields: Any) -> dict[str, Any]:
        return {
            "id": order["id"],
            "order_number": order["order_number"],
            "customer_id": order["customer_id"],
            "status_code": "N01",
            "status_name": "Received",
            "stuck_reason": reason,
            "stuck_detail": None,
            "resolves_at": None,
            **fields,
        }

    async def test_a_customer_sees_its_stuck_orders_by_reason(
        self, clinic_a: httpx.AsyncClient, stuck: dict[str, dict[str, Any]]
    ) -> None:
        response = await clinic_a.get(STUCK)
        assert response.json() == {
            "total_stuck": 2,
            "by_reason": [
                {"stuck_reason": "missing_prescription", "count": 1},
                {"stuck_reason": "too_early_to_fill", "count": 1},
            ],
            "orders": [
                self.line(
                    stuck["missing"], "missing_prescription", stuck_since="2025-01-02T00:00:00Z"
                ),
                self.line(
                    stuck["early"],
                    "too_early_to_fill",
                    stuck_detail="Mupirocin: last filled 2025-01-01",
                    stuck_since="2025-01-03T00:00:00Z",
                    resolves_at="2025-02-01T00:00:00Z",
                ),
            ],
        }

    async def test_staff_see_every_customer(
        self, pharmacist: httpx.AsyncClient, stuck: dict[str, dict[str, Any]]
    ) -> None:
        body = (await pharmacist.get(STUCK)).json()
        assert body["total_stuck"] == 3
        assert [o["id"] for o in body["orders"]] == [
            stuck["missing"]["id"],
            stuck["b"]["id"],
            stuck["early"]["id"],
        ]

    async def test_csv(self, clinic_b: httpx.AsyncClient, stuck: dict[str, dict[str, Any]]) -> None:
        order = stuck["b"]
        assert csv_rows(await clinic_b.get(STUCK, headers=CSV)) == [
            ["order_id", "order_number", "customer_id", "status_code", "stuck_reason",
             "stuck_detail", "stuck_since", "resolves_at"],
            [order["id"], order["order_number"], order["customer_id"], "N01",
             "needs_clarification", "", "2025-01-04T00:00:00Z", ""],
        ]  # fmt: skip


class TestControlledSubstances:
    @pytest.fixture
    async def log(self, db: Db, clinic_a: httpx.AsyncClient) -> dict[str, Any]:
        """A CII product compounded on the window's last instant from two lots, one the day
        after, and a plain product compounded inside the window."""
        patient = await make_patient(clinic_a)
        prescriber = await make_prescriber(clinic_a)
        controlled = await make_product(
            clinic_a, name="Testosterone", product_code="TESTC",
            is_controlled_substance=True, dea_schedule="CII",
        )  # fmt: skip
        plain = await make_product(clinic_a, name="Mupirocin", product_code="MUPI")
        lot_1 = await stock(clinic_a, controlled, batch_number="T-1")
        lot_2 = await stock(clinic_a, controlled, batch_number="T-2")
        await prescribe(clinic_a, patient, controlled, prescriber)
        inside = await dated_order(
            db, clinic_a, patient, "2025-01-20T10:00:00",
            prescription=[(controlled, 3), (plain, 1)],
        )  # fmt: skip
        after = await dated_order(
            db, clinic_a, patient, "2025-01-20T11:00:00", prescription=[(controlled, 2)]
        )
        lines = {(line.order_id, line.product_id): line for line in await db.all(models.OrderLine)}
        line = lines[(uuid.UUID(inside["id"]), uuid.UUID(controlled["id"]))]
        compounded = {
            line.id: "2025-01-31T23:59:59.999999",
            lines[(uuid.UUID(inside["id"]), uuid.UUID(plain["id"]))].id: "2025-01-10T00:00:00",
            lines[(uuid.UUID(after["id"]), uuid.UUID(controlled["id"]))].id: "2025-02-01T00:00:00",
        }
        # Data verification links the line to its prescription; this book skips the steps.
        (prescription,) = await db.all(models.Prescription)
        for line_id, when in compounded.items():
            await set_columns(db, models.OrderLine, str(line_id), compounded_at=at(when))
        await set_columns(db, models.OrderLine, str(line.id), prescription_id=prescription.id)
        async with db.database.transaction() as session:
            for lot, units in ((lot_1, 2), (lot_2, 1)):
                session.add(
                    models.OrderLineLot(
                        order_line_id=line.id,
                        lot_id=uuid.UUID(lot["id"]),
                        product_units=units,
                        lot_units=units,
                    )
                )
        entry = {
            "compounded_at": "2025-01-31T23:59:59Z",
            "order_id": inside["id"],
            "order_number": inside["order_number"],
            "order_created_at": "2025-01-20T10:00:00Z",
            "customer_id": inside["customer_id"],
            "patient_id": patient["id"],
            "order_line_id": str(line.id),
            "product_id": controlled["id"],
            "product_name": "Testosterone",
            "dea_schedule": "CII",
            "quantity": 3,
            "prescription_id": str(prescription.id),
            "prescriber": {
                "first_name": "Willard",
                "last_name": "Donnelly",
                "npi": NPI,
                "dea": "FD1234563",
            },
        }
        lot_fields = sorted(
            [(lot_1["id"], "T-1", 2), (lot_2["id"], "T-2", 1)], key=lambda lot: lot[0]
        )
        return {
            "entries": [
                {**entry, "lot_id": lot_id, "batch_number": batch, "lot_units": units}
                for lot_id, batch, units in lot_fields
            ]
        }

    async def test_staff_read_the_log_of_the_window(
        self, pharmacist: httpx.AsyncClient, log: dict[str, Any]
    ) -> None:
        response = await pharmacist.get(CONTROLLED, params=JANUARY)
        assert response.json() == {
            "date_range": "2025-01-01 to 2025-01-31",
            "entry_count": 2,
            "entries": log["entries"],
        }

    async def test_next_day_holds_the_other_line(
        self, pharmacist: httpx.AsyncClient, log: dict[str, Any]
    ) -> None:
        params = {"start_date": "2025-02-01", "end_date": "2025-02-01"}
        body = (await pharmacist.get(CONTROLLED, params=params)).json()
        assert [(e["quantity"], e["lot_id"], e["lot_units"]) for e in body["entries"]] == [
            (2, None, None)
        ]

    async def test_csv_flattens_the_prescriber(
        self, pharmacist: httpx.AsyncClient, log: dict[str, Any]
    ) -> None:
        response = await pharmacist.get(CONTROLLED, params=JANUARY, headers=CSV)
        assert response.headers["content-disposition"] == (
            'attachment; filename="controlled-substances-report_2025-01-01_2025-01-31.csv"'
        )
        rows = csv_rows(response)
        assert rows[0][-4:] == [
            "prescriber_first_name",
            "prescriber_last_name",
            "prescriber_npi",
            "prescriber_dea",
        ]
        first = log["entries"][0]
        assert rows[1] == [
            first["compounded_at"], first["order_id"], first["order_number"],
            first["order_created_at"], first["customer_id"], first["patient_id"],
            first["order_line_id"], first["product_id"], "Testosterone", "CII", "3",
            first["lot_id"], first["batch_number"], str(first["lot_units"]),
            first["prescription_id"], "Willard", "Donnelly", NPI, "FD1234563",
        ]  # fmt: skip
        assert len(rows) == 3

    @pytest.mark.parametrize("accept", ["application/json", "text/csv"])
    async def test_customer_users_are_403(
        self, clinic_a: httpx.AsyncClient, db: Db, accept: str
    ) -> None:
        async with db.writes_nothing():
            response = await clinic_a.get(CONTROLLED, params=JANUARY, headers={"Accept": accept})
        assert response.status_code == 403
        assert response.json() == {
            "error": "RoleNotAllowed",
            "detail": "Role admin may not do this.",
        }

    @pytest.mark.parametrize(
        ("params", "error"),
        [
            ({"start_date": "2025-01-32", "end_date": "2025-01-31"}, "InvalidReportDate"),
            ({"start_date": "2025-02-01", "end_date": "2025-01-31"}, "ReversedDateRange"),
            ({"start_date": "2025-01-01", "end_date": "2026-01-02"}, "DateRangeTooLong"),
        ],
    )
    async def test_same_date_rules(
        self, pharmacist: httpx.AsyncClient, db: Db, params: dict[str, str], error: str
    ) -> None:
        async with db.writes_nothing():
            response = await pharmacist.get(CONTROLLED, params=params)
        assert (response.status_code, response.json()["error"]) == (400, error)
