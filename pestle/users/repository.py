import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.kit.pagination import Page, PageRequest, fetch_page


class UserRepository:
    """Users are looked up across tenants (login is by email alone), so scoping is explicit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> models.User | None:
        return await self.session.get(models.User, user_id)

    async def get_by_email(self, email: str) -> models.User | None:
        found: models.User | None = await self.session.scalar(
            select(models.User).where(models.User.email == email)
        )
        return found

    def visible_to(self, customer_id: uuid.UUID | None) -> Select[models.User]:
        statement = select(models.User).order_by(models.User.id)
        if customer_id is not None:
            statement = statement.where(models.User.customer_id == customer_id)
        return statement

    async def page(self, customer_id: uuid.UUID | None, wanted: PageRequest) -> Page[models.User]:
        return await fetch_page(self.session, self.visible_to(customer_id), wanted)

    async def get_visible(
        self, customer_id: uuid.UUID | None, user_id: uuid.UUID
    ) -> models.User | None:
        found: models.User | None = await self.session.scalar(
            self.visible_to(customer_id).where(models.User.id == user_id)
        )
        return found

    async def add(self, user: models.User) -> models.User:
        self.session.add(user)
        await self.session.flush()
        return user
