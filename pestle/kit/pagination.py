"""Lists: a bare JSON array, ``page``/``page_size`` in, ``X-Total-Count`` and ``Link`` out."""

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_request(
    page: Annotated[int, Query(ge=1, description="1-based page number.")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page (max 500).")
    ] = DEFAULT_PAGE_SIZE,
) -> PageRequest:
    return PageRequest(page=page, page_size=page_size)


PageParams = Annotated[PageRequest, Depends(page_request)]

PAGINATION_HEADERS: dict[str, Any] = {
    "X-Total-Count": {"description": "Items across all pages.", "schema": {"type": "integer"}},
    "Link": {
        "description": 'Neighbouring pages, RFC 8288: rel="next" and rel="prev".',
        "schema": {"type": "string"},
    },
}


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    request: PageRequest


async def fetch_page(session: AsyncSession, statement: Select[T], wanted: PageRequest) -> Page[T]:
    """One page of ``statement``, which must be ordered, and the count across all pages."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    total = await session.scalar(counted) or 0
    rows = await session.scalars(statement.limit(wanted.page_size).offset(wanted.offset))
    return Page(items=list(rows), total=total, request=wanted)


def serve_page(page: Page[T], request: Request, response: Response) -> list[T]:
    """The page's items as the bare array Blend returns, with ``X-Total-Count`` and ``Link``."""
    response.headers["X-Total-Count"] = str(page.total)
    wanted = page.request
    links = []
    if wanted.page > 1:
        last_page = max(1, -(-page.total // wanted.page_size))
        links.append(_link(request, wanted, min(wanted.page - 1, last_page), "prev"))
    if wanted.offset + wanted.page_size < page.total:
        links.append(_link(request, wanted, wanted.page + 1, "next"))
    if links:
        response.headers["Link"] = ", ".join(links)
    return page.items


def _link(request: Request, wanted: PageRequest, number: int, rel: str) -> str:
    url = request.url.include_query_params(page=number, page_size=wanted.page_size)
    return f'<{url}>; rel="{rel}"'
