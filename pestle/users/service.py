import uuid

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.customers.service import customer_service
from pestle.exceptions import Conflict, NotFound, Unprocessable
from pestle.kit.ids import parse_uuid
from pestle.kit.pagination import Page, PageRequest
from pestle.users import passwords
from pestle.users.repository import UserRepository


class InvalidEmail(Unprocessable):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid email address: {reason}")


class InvalidRole(Unprocessable):
    pass


class UserExists(Conflict):
    def __init__(self, email: str) -> None:
        super().__init__(f"A user with email {email} already exists.")


class UserNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No user {ref!r}.")


def normalize_email(email: str) -> str:
    """The form emails are stored and looked up in: validated, lower-case."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from None


def parse_role(value: str, customer_name: str | None) -> models.Role:
    try:
        role = models.Role(value)
    except ValueError:
        known = ", ".join(role.value for role in models.Role)
        raise InvalidRole(f"Unknown role {value!r}; use one of {known}.") from None
    if role.is_staff and customer_name is not None:
        raise InvalidRole(f"Role {role} is pharmacy staff and belongs to no customer.")
    if not role.is_staff and customer_name is None:
        raise InvalidRole(f"Role {role} is a customer role and needs a customer.")
    return role


class UserService:
    async def create(
        self,
        session: AsyncSession,
        *,
        email: str,
        password: str,
        role: str,
        customer_name: str | None = None,
        first_name: str = "",
        last_name: str = "",
    ) -> models.User:
        """A new user; a customer named for the first time is created with it."""
        email = normalize_email(email)
        parsed_role = parse_role(role, customer_name)
        passwords.check_policy(password)
        repository = UserRepository(session)
        if await repository.get_by_email(email) is not None:
            raise UserExists(email)
        customer_id = None
        if customer_name is not None:
            customer_id = (await customer_service.get_or_create(session, customer_name)).customer.id
        user = models.User(
            email=email,
            password_hash=passwords.hash_password(password),
            role=parsed_role.value,
            customer_id=customer_id,
            first_name=first_name,
            last_name=last_name,
        )
        return await repository.add(user)

    async def set_password(self, session: AsyncSession, user: models.User, password: str) -> None:
        passwords.check_policy(password)
        user.password_hash = passwords.hash_password(password)
        await session.flush()

    async def find_by_email(self, session: AsyncSession, email: str) -> models.User | None:
        try:
            email = normalize_email(email)
        except InvalidEmail:
            return None
        return await UserRepository(session).get_by_email(email)

    async def find(self, session: AsyncSession, user_id: uuid.UUID) -> models.User | None:
        return await UserRepository(session).get(user_id)

    async def page(
        self, session: AsyncSession, customer_id: uuid.UUID | None, wanted: PageRequest
    ) -> Page[models.User]:
        return await UserRepository(session).page(customer_id, wanted)

    async def get(
        self, session: AsyncSession, customer_id: uuid.UUID | None, ref: str
    ) -> models.User:
        user_id = parse_uuid(ref)
        found = None
        if user_id is not None:
            found = await UserRepository(session).get_visible(customer_id, user_id)
        if found is None:
            raise UserNotFound(ref)
        return found


user_service = UserService()
