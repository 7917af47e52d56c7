from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from pestle.auth.dependencies import AnyUser, RoleNotAllowed, StaffUser
from pestle.db import DatabaseDep, SessionDep
from pestle.exceptions import Responses, error_response
from pestle.reports import schemas
from pestle.reports.service import (
    DateRangeTooLong,
    InvalidReportDate,
    ReversedDateRange,
    UnknownReportSection,
    Window,
    report_service,
    sections,
    window,
)

router = APIRouter(prefix="/reports", tags=["Reports"])

CSV = "text/csv"
StartDate = Annotated[
    str, Query(description="First day of the window, YYYY-MM-DD (UTC, inclusive).")
]
EndDate = Annotated[str, Query(description="Last day of the window, YYYY-MM-DD (UTC, inclusive).")]
Include = Annotated[
    str | None,
    Query(
        description="Comma-separated subset of status, count, products; default all.",
        examples=["status,count"],
    ),
]
ExpiringWithinDays = Annotated[
    int | None,
    Query(
        ge=0,
        le=3650,
        description="Only lots whose expiration date falls within this many days from now "
        "(already expired lots included).",
    ),
]

_DATES: Responses = {
    400: error_response(InvalidReportDate, ReversedDateRange, DateRangeTooLong),
}
_CSV_CONTENT = {"content": {CSV: {"schema": {"type": "string"}}}}


def _csv_ok(layout: str) -> Responses:
    return {200: {**_CSV_CONTENT, "description": f"JSON, or CSV with Accept: {CSV}. {layout}"}}


def _wants_csv(request: Request) -> bool:
    return CSV in request.headers.get("accept", "")


def _csv(filename: str, lines: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/orders",
    response_model=schemas.OrdersReport,
    response_model_exclude_none=True,
    responses={
        **_csv_ok("CSV columns section, code, name, count."),
        400: error_response(
            InvalidReportDate, ReversedDateRange, DateRangeTooLong, UnknownReportSection
        ),
    },
)
async def orders_report(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    principal: AnyUser,
    start_date: StartDate,
    end_date: EndDate,
    include: Include = None,
) -> Any:
    """Order volume for a date range, by status and by product.

    Orders are selected by `created_at` in UTC, both dates inclusive, at most 366 days
    (inferred). Product `count` is the summed line quantity, not the number of orders
    (inferred from the reference's example). Sections not in `include` are omitted; unknown
    tokens are 400 (inferred). Statuses with no orders are omitted. `Accept: text/csv` streams
    the same report as rows `section,code,name,count` (a Pestle addition). Customer users see
    their own orders; pharmacy staff see every customer's.
    """
    span, wanted = window(start_date, end_date), sections(include)
    if _wants_csv(request):
        lines = report_service.orders_csv(database.sessions, principal.customer_id, span, wanted)
        return _csv(span.filename("orders"), lines)
    return await report_service.orders(session, principal.customer_id, span, wanted)


@router.get(
    "/inventory",
    response_model=schemas.InventoryReport,
    responses=_csv_ok("CSV: one row per lot and product it feeds."),
)
async def inventory_report(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    principal: AnyUser,
    expiring_within_days: ExpiringWithinDays = None,
) -> Any:
    """Active inventory lots with the products they feed and their value at cost.

    A Pestle addition. `value_at_cost` = `current_quantity` * `cost_per_unit`. Lots are
    ordered by expiration date, soonest first. A customer user sees the lots it recorded or
    that feed its products, and only its own (or global) products on them; staff see all.
    """
    if _wants_csv(request):
        lines = report_service.inventory_csv(
            database.sessions, principal.customer_id, expiring_within_days
        )
        return _csv("inventory-report.csv", lines)
    return await report_service.inventory(session, principal.customer_id, expiring_within_days)


@router.get(
    "/stuck_orders",
    response_model=schemas.StuckOrdersReport,
    responses=_csv_ok("CSV: one row per stuck order."),
)
async def stuck_orders_report(
    request: Request, session: SessionDep, database: DatabaseDep, principal: AnyUser
) -> Any:
    """Orders that are stuck now, counted by reason, with when each may resolve.

    A Pestle addition, the dashboard's "Stuck Orders" widget as a report. `resolves_at` is set
    for `too_early_to_fill`. Customer users see their own orders; staff see every customer's.
    """
    if _wants_csv(request):
        lines = report_service.stuck_orders_csv(database.sessions, principal.customer_id)
        return _csv("stuck-orders-report.csv", lines)
    return await report_service.stuck_orders(session, principal.customer_id)


@router.get(
    "/controlled_substances",
    response_model=schemas.ControlledSubstancesReport,
    responses={
        **_csv_ok("CSV: the entries' fields, the prescriber's as prescriber_*."),
        **_DATES,
        403: error_response(RoleNotAllowed),
    },
)
async def controlled_substances_report(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    principal: StaffUser,
    start_date: StartDate,
    end_date: EndDate,
) -> Any:
    """The dispensing log of controlled substances compounded in a date range.

    A Pestle addition. One entry per lot drawn by each line of a controlled product (flagged
    `is_controlled_substance` or carrying a DEA schedule) compounded in the window (UTC days,
    inclusive, at most 366), with patient, prescriber (name, NPI, DEA) and order. Pharmacy
    staff only: it is the pharmacy's legal record, so customer users get 403.
    """
    span: Window = window(start_date, end_date)
    if _wants_csv(request):
        lines = report_service.controlled_substances_csv(database.sessions, span)
        return _csv(span.filename("controlled-substances"), lines)
    return await report_service.controlled_substances(session, span)
