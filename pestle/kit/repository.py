"""The base of every repository of customer-owned rows: no query can forget the tenant."""

import uuid
from typing import Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from pestle.kit.ids import parse_uuid
from pestle.kit.pagination import Page, PageRequest, fetch_page
from pestle.models.base import OwnedByCustomer

M = TypeVar("M", bound=OwnedByCustomer)


class TenantRepository(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession, customer_id: uuid.UUID | None) -> None:
        """``customer_id`` None is pharmacy staff, who see every customer's rows."""
        self.session = session
        self.customer_id = customer_id

    def select(self) -> Select[M]:
        statement = select(self.model)
        if self.customer_id is not None:
            statement = statement.where(self.model.customer_id == self.customer_id)
        return statement

    async def one_or_none(self, statement: Select[M]) -> M | None:
        result: M | None = await self.session.scalar(statement)
        return result

    async def get(self, ref: uuid.UUID | str) -> M | None:
        """The row with this id in the caller's tenant; None for unknown or foreign ids."""
        row_id = ref if isinstance(ref, uuid.UUID) else parse_uuid(ref)
        if row_id is None:
            return None
        return await self.one_or_none(self.select().where(self.model.id == row_id))

    async def page(self, statement: Select[M], wanted: PageRequest) -> Page[M]:
        return await fetch_page(self.session, statement, wanted)

    async def add(self, row: M) -> M:
        self.session.add(row)
        await self.session.flush()
        return row
