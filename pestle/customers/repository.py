from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_name(self, name: str) -> models.Customer | None:
        found: models.Customer | None = await self.session.scalar(
            select(models.Customer).where(models.Customer.name == name)
        )
        return found

    async def add(self, customer: models.Customer) -> models.Customer:
        self.session.add(customer)
        await self.session.flush()
        return customer
