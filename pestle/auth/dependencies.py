"""The principal every endpoint acts for, resolved from ``Authorization: Bearer ...``.

Resolving the principal also claims an ``Idempotency-Key`` for authenticated POSTs, so every
POST endpoint honours the header without declaring anything.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pestle import models
from pestle.auth.service import Principal, auth_service
from pestle.auth.tokens import TokenCodec
from pestle.db import DatabaseDep, SessionDep
from pestle.exceptions import Forbidden, Unauthorized
from pestle.kit import idempotency

_bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An access token from /api/v1/auth/login, or an API key (pk_...).",
)
BearerScheme = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)]


class MissingCredentials(Unauthorized):
    def __init__(self) -> None:
        super().__init__("Send 'Authorization: Bearer <token>'.")


class MalformedAuthorization(Unauthorized):
    def __init__(self) -> None:
        super().__init__("The Authorization header must be 'Bearer <token>'.")


class RoleNotAllowed(Forbidden):
    def __init__(self, role: str) -> None:
        super().__init__(f"Role {role} may not do this.")


def get_codec(request: Request) -> TokenCodec:
    codec: TokenCodec = request.app.state.tokens
    return codec


CodecDep = Annotated[TokenCodec, Depends(get_codec)]


def bearer_token(request: Request, _: BearerScheme) -> str:
    header = request.headers.get("Authorization")
    if header is None:
        raise MissingCredentials()
    scheme, _space, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise MalformedAuthorization()
    return token


BearerToken = Annotated[str, Depends(bearer_token)]


async def authenticated(
    request: Request,
    token: BearerToken,
    session: SessionDep,
    database: DatabaseDep,
    codec: CodecDep,
) -> Principal:
    principal = await auth_service.principal(session, codec, token)
    await idempotency.guard(request, database, principal.credential)
    return principal


AnyUser = Annotated[Principal, Depends(authenticated)]


def require_role(*roles: models.Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only principals holding one of ``roles``."""

    async def check(principal: AnyUser) -> Principal:
        if principal.role not in roles:
            raise RoleNotAllowed(principal.role)
        return principal

    return check


CustomerUser = Annotated[Principal, Depends(require_role(*sorted(models.CUSTOMER_ROLES)))]
StaffUser = Annotated[Principal, Depends(require_role(*sorted(models.STAFF_ROLES)))]
