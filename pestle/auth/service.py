"""Login, token refresh, bearer-token resolution and API keys."""

import hashlib
import hmac
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.repository import ApiKeyRepository, LoginFailureRepository
from pestle.auth.tokens import InvalidToken, IssuedToken, TokenCodec, TokenKind
from pestle.db import Database
from pestle.exceptions import Forbidden, NotFound, TooManyRequests, Unauthorized
from pestle.kit.time import utcnow
from pestle.users import passwords
from pestle.users.service import user_service

LOGIN_WINDOW = timedelta(minutes=15)
MAX_LOGIN_FAILURES = 10
API_KEY_PREFIX = "pk_"
_API_KEY_SHOWN_CHARS = 8


class InvalidCredentials(Unauthorized):
    def __init__(self) -> None:
        super().__init__("Invalid email or password.")


class AccountInactive(Forbidden):
    def __init__(self) -> None:
        super().__init__("This account is inactive.")


class UserNoLongerActive(Unauthorized):
    def __init__(self) -> None:
        super().__init__("The user of this credential is inactive or no longer exists.")


class TooManyLoginAttempts(TooManyRequests):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"Too many failed logins for this email; try again in {retry_after_seconds} seconds.",
            retry_after_seconds,
        )


class ApiKeysNeedCustomerAdmin(Forbidden):
    def __init__(self) -> None:
        super().__init__("Only a customer's admin, logged in with a password, manages API keys.")


class ApiKeyNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No API key {ref!r}.")


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a user, directly or through one of the customer's API keys."""

    user: models.User
    api_key_id: uuid.UUID | None = None

    @property
    def customer_id(self) -> uuid.UUID | None:
        return self.user.customer_id

    @property
    def role(self) -> models.Role:
        return models.Role(self.user.role)

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    @property
    def credential(self) -> str:
        """Names the credential, e.g. to keep idempotency keys of two callers apart."""
        if self.api_key_id is not None:
            return f"api_key:{self.api_key_id}"
        return f"user:{self.user.id}"


@dataclass(frozen=True)
class LoginResult:
    access: IssuedToken
    refresh: IssuedToken
    user: models.User


@dataclass(frozen=True)
class NewApiKey:
    key: models.ApiKey
    secret: str


def _digest(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AuthService:
    async def login(
        self,
        session: AsyncSession,
        database: Database,
        codec: TokenCodec,
        email: str,
        password: str,
    ) -> LoginResult:
        # Throttling keys on a keyed digest: the table never holds an email address.
        email_digest = _digest(codec.signing_key, email.strip().lower())
        now = utcnow()
        failures, oldest = await LoginFailureRepository(session).since(
            email_digest, now - LOGIN_WINDOW
        )
        if failures >= MAX_LOGIN_FAILURES and oldest is not None:
            wait = (oldest + LOGIN_WINDOW - now).total_seconds()
            raise TooManyLoginAttempts(math.ceil(wait))
        user = await user_service.find_by_email(session, email)
        if not passwords.verify_password(user.password_hash if user else None, password):
            # Its own transaction: the failure must be remembered although this request fails.
            async with database.transaction() as failure_session:
                await LoginFailureRepository(failure_session).record(
                    email_digest, now, forget_before=now - LOGIN_WINDOW
                )
            raise InvalidCredentials()
        assert user is not None
        if not user.is_active:
            raise AccountInactive()
        return LoginResult(
            access=codec.issue(user.id, TokenKind.ACCESS),
            refresh=codec.issue(user.id, TokenKind.REFRESH),
            user=user,
        )

    async def refresh(self, session: AsyncSession, codec: TokenCodec, token: str) -> IssuedToken:
        user = await self._active_user(session, codec.user_id(token, TokenKind.REFRESH))
        return codec.issue(user.id, TokenKind.ACCESS)

    async def principal(self, session: AsyncSession, codec: TokenCodec, token: str) -> Principal:
        """The principal of an access token or API key; Unauthorized for anything else."""
        if token.startswith(API_KEY_PREFIX):
            key = await ApiKeyRepository(session, None).get_active_by_hash(_secret_hash(token))
            if key is None:
                raise InvalidToken("The API key is not valid or has been revoked.")
            return Principal(await self._active_user(session, key.user_id), api_key_id=key.id)
        user_id = codec.user_id(token, TokenKind.ACCESS)
        return Principal(await self._active_user(session, user_id))

    async def _active_user(self, session: AsyncSession, user_id: uuid.UUID) -> models.User:
        user = await user_service.find(session, user_id)
        if user is None or not user.is_active:
            raise UserNoLongerActive()
        return user

    def _require_key_manager(self, principal: Principal) -> uuid.UUID:
        if (
            principal.customer_id is None
            or principal.role is not models.Role.ADMIN
            or principal.api_key_id is not None
        ):
            raise ApiKeysNeedCustomerAdmin()
        return principal.customer_id

    async def create_api_key(
        self, session: AsyncSession, principal: Principal, name: str
    ) -> NewApiKey:
        customer_id = self._require_key_manager(principal)
        secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
        key = models.ApiKey(
            customer_id=customer_id,
            user_id=principal.user.id,
            name=name,
            prefix=secret[: len(API_KEY_PREFIX) + _API_KEY_SHOWN_CHARS],
            secret_hash=_secret_hash(secret),
        )
        await ApiKeyRepository(session, customer_id).add(key)
        return NewApiKey(key, secret)

    async def list_api_keys(
        self, session: AsyncSession, principal: Principal
    ) -> list[models.ApiKey]:
        customer_id = self._require_key_manager(principal)
        return await ApiKeyRepository(session, customer_id).listed()

    async def revoke_api_key(self, session: AsyncSession, principal: Principal, ref: str) -> None:
        customer_id = self._require_key_manager(principal)
        key = await ApiKeyRepository(session, customer_id).get(ref)
        if key is None:
            raise ApiKeyNotFound(ref)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            await session.flush()


auth_service = AuthService()
