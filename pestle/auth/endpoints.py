from fastapi import APIRouter, Response

from pestle import models
from pestle.auth import schemas
from pestle.auth.dependencies import AnyUser, BearerToken, CodecDep, MalformedAuthorization
from pestle.auth.service import (
    AccountInactive,
    ApiKeyNotFound,
    ApiKeysNeedCustomerAdmin,
    InvalidCredentials,
    TooManyLoginAttempts,
    auth_service,
)
from pestle.auth.tokens import InvalidToken, TokenExpired, WrongTokenKind
from pestle.db import DatabaseDep, SessionDep
from pestle.exceptions import Responses, error_response

router = APIRouter(prefix="/auth", tags=["Authentication"])

_BAD_TOKEN: Responses = {
    401: error_response(InvalidToken, TokenExpired, WrongTokenKind, MalformedAuthorization)
}
_KEY_MANAGER: Responses = {**_BAD_TOKEN, 403: error_response(ApiKeysNeedCustomerAdmin)}


@router.post(
    "/login",
    response_model=schemas.LoginResponse,
    responses={
        401: error_response(InvalidCredentials),
        403: error_response(AccountInactive),
        429: error_response(TooManyLoginAttempts),
    },
)
async def login(
    body: schemas.LoginRequest,
    response: Response,
    session: SessionDep,
    database: DatabaseDep,
    codec: CodecDep,
) -> schemas.LoginResponse:
    """Generate an access token (60 min) and a refresh token (7 days)."""
    result = await auth_service.login(session, database, codec, body.email, body.password)
    response.headers["Cache-Control"] = "no-store"
    return schemas.LoginResponse.model_validate(
        {
            "access_token": result.access.token,
            "refresh_token": result.refresh.token,
            "expires_at": result.refresh.expires_at,
            "user": result.user,
        },
        from_attributes=True,
    )


@router.post("/refresh", response_model=schemas.RefreshResponse, responses=_BAD_TOKEN)
async def refresh(
    token: BearerToken, response: Response, session: SessionDep, codec: CodecDep
) -> schemas.RefreshResponse:
    """Exchange the refresh token (sent as the bearer token) for a new access token."""
    issued = await auth_service.refresh(session, codec, token)
    response.headers["Cache-Control"] = "no-store"
    return schemas.RefreshResponse(access_token=issued.token)


@router.get("/verify", response_model=schemas.VerifyResponse, responses=_BAD_TOKEN)
async def verify(principal: AnyUser) -> schemas.VerifyResponse:
    """Verify the access token and return its user."""
    return schemas.VerifyResponse.model_validate(
        {"valid": True, "user": principal.user}, from_attributes=True
    )


@router.post(
    "/api_keys", status_code=201, response_model=schemas.ApiKeyCreated, responses=_KEY_MANAGER
)
async def create_api_key(
    body: schemas.ApiKeyCreate, response: Response, session: SessionDep, principal: AnyUser
) -> schemas.ApiKeyCreated:
    """Create an API key for the caller's customer; its secret is shown only in this response."""
    created = await auth_service.create_api_key(session, principal, body.name)
    # no-store: no cache keeps the secret, and neither does an idempotent replay.
    response.headers["Cache-Control"] = "no-store"
    return schemas.ApiKeyCreated.model_validate(
        {**schemas.ApiKey.model_validate(created.key).model_dump(), "secret": created.secret}
    )


@router.get("/api_keys", response_model=list[schemas.ApiKey], responses=_KEY_MANAGER)
async def list_api_keys(session: SessionDep, principal: AnyUser) -> list[models.ApiKey]:
    """List the customer's API keys, revoked ones included; secrets are never shown again."""
    return await auth_service.list_api_keys(session, principal)


@router.delete(
    "/api_keys/{api_key_id}",
    status_code=204,
    responses={**_KEY_MANAGER, 404: error_response(ApiKeyNotFound)},
)
async def revoke_api_key(api_key_id: str, session: SessionDep, principal: AnyUser) -> Response:
    """Revoke an API key; requests made with it are refused from now on."""
    await auth_service.revoke_api_key(session, principal, api_key_id)
    return Response(status_code=204)
