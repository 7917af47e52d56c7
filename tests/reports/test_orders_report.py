"""GET /api/v1/reports/orders: exact counts over a known book, on both engines."""

from typing import Any

import httpx
import pytest

from tests.conftest import Db
from tests.reports.support import CSV, REPORTS, Book, book, csv_rows, product_count

JANUARY = {"start_date": "2025-01-01", "end_date": "2025-01-31"}
URL = f"{REPORTS}/orders"


def clinic_a_january(b: Book) -> dict[str, Any]:
    return {
        "date_range": "2025-01-01 to 2025-01-31",
        "total_orders": 4,
        "orders_by_status": [
            {"status_code": "N01", "status_name": "Received", "count": 1},
            {"status_code": "H01", "status_name": "Paused", "count": 1},
            {"status_code": "P01", "status_name": "Data Entry", "count": 1},
            {"status_code": "X01", "status_name": "Cancelled", "count": 1},
        ],
        "orders_by_product": {
            "prescription": [product_count(b.rapamycin, 5), product_count(b.mupirocin, 1)],
            "non_prescription": [product_count(b.sunscreen, 9)],
            "order_material": [product_count(b.packet, 2)],
        },
    }


@pytest.fixture
async def known(
    db: Db, clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, pharmacist: httpx.AsyncClient
) -> Book:
    return await book(db, clinic_a, clinic_b, pharmacist)


class TestJson:
    async def test_whole_report_counts_only_the_window(
        self, clinic_a: httpx.AsyncClient, known: Book
    ) -> None:
        response = await clinic_a.get(URL, params=JANUARY)
        assert response.status_code == 200
        assert response.json() == clinic_a_january(known)

    async def test_boundary_days_are_inclusive(
        self, clinic_a: httpx.AsyncClient, known: Book
    ) -> None:
        first = await clinic_a.get(
            URL, params={"start_date": "2025-01-01", "end_date": "2025-01-01"}
        )
        last = await clinic_a.get(
            URL, params={"start_date": "2025-01-31", "end_date": "2025-01-31"}
        )
        before = await clinic_a.get(
            URL, params={"start_date": "2024-12-31", "end_date": "2024-12-31", "include": "count"}
        )
        after = await clinic_a.get(
            URL, params={"start_date": "2025-02-01", "end_date": "2025-02-01", "include": "count"}
        )
        assert first.json()["orders_by_status"] == [
            {"status_code": "N01", "status_name": "Received", "count": 1}
        ]
        assert first.json()["orders_by_product"]["prescription"] == [
            product_count(known.rapamycin, 3)
        ]
        assert last.json()["orders_by_status"] == [
            {"status_code": "H01", "status_name": "Paused", "count": 1}
        ]
        assert before.json() == {"date_range": "2024-12-31 to 2024-12-31", "total_orders": 1}
        assert after.json() == {"date_range": "2025-02-01 to 2025-02-01", "total_orders": 1}

    @pytest.mark.parametrize(
        ("include", "sections"),
        [
            ("count", {"total_orders"}),
            ("status", {"orders_by_status"}),
            ("products", {"orders_by_product"}),
            ("status,count", {"orders_by_status", "total_orders"}),
            (" products , count ", {"orders_by_product", "total_orders"}),
        ],
    )
    async def test_include_keeps_only_the_sections_asked(
        self, clinic_a: httpx.AsyncClient, known: Book, include: str, sections: set[str]
    ) -> None:
        response = await clinic_a.get(URL, params={**JANUARY, "include": include})
        whole = clinic_a_january(known)
        assert response.json() == {
            "date_range": whole["date_range"],
            **{name: whole[name] for name in sections},
        }

    async def test_empty_window_has_empty_sections(
        self, clinic_a: httpx.AsyncClient, known: Book
    ) -> None:
        response = await clinic_a.get(
            URL, params={"start_date": "2023-01-01", "end_date": "2023-12-31"}
        )
        assert response.json() == {
            "date_range": "2023-01-01 to 2023-12-31",
            "total_orders": 0,
            "orders_by_status": [],
            "orders_by_product": {"prescription": [], "non_prescription": [], "order_material": []},
        }

    async def test_366_days_is_allowed(self, clinic_a: httpx.AsyncClient, known: Book) -> None:
        response = await clinic_a.get(
            URL, params={"start_date": "2024-02-01", "end_date": "2025-01-31", "include": "count"}
        )
        assert response.json() == {"date_range": "2024-02-01 to 2025-01-31", "total_orders": 5}


class TestTenancy:
    async def test_clinic_b_never_counts_clinic_a(
        self, clinic_b: httpx.AsyncClient, known: Book
    ) -> None:
        response = await clinic_b.get(URL, params=JANUARY)
        assert response.json() == {
            "date_range": "2025-01-01 to 2025-01-31",
            "total_orders": 1,
            "orders_by_status": [{"status_code": "N01", "status_name": "Received", "count": 1}],
            "orders_by_product": {
                "prescription": [product_count(known.clinic_b_product, 11)],
                "non_prescription": [],
                "order_material": [],
            },
        }

    async def test_staff_see_every_customer(
        self, pharmacist: httpx.AsyncClient, known: Book
    ) -> None:
        response = await pharmacist.get(URL, params=JANUARY)
        expected = clinic_a_january(known)
        expected["total_orders"] = 5
        expected["orders_by_status"][0]["count"] = 2
        expected["orders_by_product"]["prescription"].insert(
            0, product_count(known.clinic_b_product, 11)
        )
        assert response.json() == expected


class TestCsv:
    async def test_csv_is_the_same_report_streamed(
        self, clinic_a: httpx.AsyncClient, known: Book
    ) -> None:
        response = await clinic_a.get(URL, params=JANUARY, headers=CSV)
        assert response.headers["content-disposition"] == (
            'attachment; filename="orders-report_2025-01-01_2025-01-31.csv"'
        )
        assert csv_rows(response) == [
            ["section", "code", "name", "count"],
            ["total_orders", "", "", "4"],
            ["status", "N01", "Received", "1"],
            ["status", "H01", "Paused", "1"],
            ["status", "P01", "Data Entry", "1"],
            ["status", "X01", "Cancelled", "1"],
            ["non_prescription", known.sunscreen["id"], "PABA-free sunscreen", "9"],
            ["order_material", known.packet["id"], "Q4 packet", "2"],
            ["prescription", known.rapamycin["id"], "Rapamycin 100mg", "5"],
            ["prescription", known.mupirocin["id"], "Mupirocin", "1"],
        ]

    async def test_csv_honours_include(self, clinic_b: httpx.AsyncClient, known: Book) -> None:
        response = await clinic_b.get(URL, params={**JANUARY, "include": "status"}, headers=CSV)
        assert csv_rows(response) == [
            ["section", "code", "name", "count"],
            ["status", "N01", "Received", "1"],
        ]


class TestRefusals:
    @pytest.mark.parametrize(
        ("params", "error", "detail"),
        [
            (
                {"start_date": "2025-1-01", "end_date": "2025-01-31"},
                "InvalidReportDate",
                "start_date must be a date as YYYY-MM-DD, got '2025-1-01'.",
            ),
            (
                {"start_date": "2025-01-01", "end_date": "2025-02-30"},
                "InvalidReportDate",
                "end_date must be a date as YYYY-MM-DD, got '2025-02-30'.",
            ),
            (
                {"start_date": "20250101", "end_date": "2025-01-31"},
                "InvalidReportDate",
                "start_date must be a date as YYYY-MM-DD, got '20250101'.",
            ),
            (
                {"start_date": "2025-02-01", "end_date": "2025-01-31"},
                "ReversedDateRange",
                "start_date 2025-02-01 is after end_date 2025-01-31.",
            ),
            (
                {"start_date": "2024-01-01", "end_date": "2025-01-01"},
                "DateRangeTooLong",
                "The date range covers 367 days; a report covers at most 366.",
            ),
            (
                {**JANUARY, "include": "status,money"},
                "UnknownReportSection",
                "include: unknown section(s) 'money'; choose from status, count, products.",
            ),
            (
                {**JANUARY, "include": ","},
                "UnknownReportSection",
                "include: unknown section(s) ','; choose from status, count, products.",
            ),
        ],
    )
    @pytest.mark.parametrize("accept", ["application/json", "text/csv"])
    async def test_bad_parameters_are_400_naming_the_problem(
        self,
        clinic_a: httpx.AsyncClient,
        db: Db,
        params: dict[str, str],
        error: str,
        detail: str,
        accept: str,
    ) -> None:
        async with db.writes_nothing():
            response = await clinic_a.get(URL, params=params, headers={"Accept": accept})
        assert response.status_code == 400
        assert response.json() == {"error": error, "detail": detail}

    async def test_missing_dates_are_422(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.get(URL, params={"start_date": "2025-01-01"})
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["detail"]] == [["query", "end_date"]]

    async def test_no_token_is_401(self, anon: httpx.AsyncClient) -> None:
        response = await anon.get(URL, params=JANUARY)
        assert response.status_code == 401
