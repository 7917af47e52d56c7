from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.customers.repository import CustomerRepository
from pestle.exceptions import Unprocessable

MAX_NAME_LENGTH = 200


class InvalidCustomerName(Unprocessable):
    def __init__(self) -> None:
        super().__init__(f"A customer name must have 1 to {MAX_NAME_LENGTH} characters.")


@dataclass(frozen=True)
class CustomerFound:
    customer: models.Customer
    created: bool


class CustomerService:
    async def get_or_create(self, session: AsyncSession, name: str) -> CustomerFound:
        name = name.strip()
        if not 0 < len(name) <= MAX_NAME_LENGTH:
            raise InvalidCustomerName()
        repository = CustomerRepository(session)
        existing = await repository.get_by_name(name)
        if existing is not None:
            return CustomerFound(existing, created=False)
        return CustomerFound(await repository.add(models.Customer(name=name)), created=True)


customer_service = CustomerService()
