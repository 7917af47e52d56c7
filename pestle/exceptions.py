"""PestleError and its families; one set of handlers renders every error the same way.

Every error body is ``{"detail": <message or list>, "error": "<ErrorName>"}``. Request
validation keeps FastAPI's list form in ``detail``; a body that is not JSON at all is 400.
Unexpected exceptions are rendered by ``kit.middleware`` so that they carry the request id.
"""

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorBody(BaseModel):
    """The body of every error response."""

    detail: str | list[dict[str, Any]]
    error: str


class PestleError(Exception):
    status_code = 500
    headers: Mapping[str, str] = {}

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def error(self) -> str:
        return type(self).__name__


class BadRequest(PestleError):
    status_code = 400


class Unauthorized(PestleError):
    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(PestleError):
    status_code = 403


class NotFound(PestleError):
    status_code = 404


class Conflict(PestleError):
    status_code = 409


class Gone(PestleError):
    status_code = 410


class PayloadTooLarge(PestleError):
    status_code = 413


class Unprocessable(PestleError):
    status_code = 422


class RequiredFieldCleared(Unprocessable):
    """A partial update sent ``null`` for a field that must always have a value."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is required and cannot be cleared.")


class UnknownReference(Unprocessable):
    """A request body names a patient, prescriber, product or eRx the caller's account does
    not hold."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"{field}: no match for {value} in this account.")


class TooManyRequests(PestleError):
    status_code = 429

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, retry_after_seconds))}


class ServiceUnavailable(PestleError):
    status_code = 503


Responses = dict[int | str, dict[str, Any]]


def error_response(*errors: type[PestleError]) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry for errors that share one status."""
    names = ", ".join(error.__name__ for error in errors)
    return {"model": ErrorBody, "description": names}


def invalid_response(*errors: type[PestleError]) -> dict[str, Any]:
    """An OpenAPI 422 entry: the request's own field errors (list form) or these rules."""
    entry = error_response(*errors)
    return {**entry, "description": f"ValidationError, {entry['description']}"}


def error_json(
    status_code: int,
    error: str,
    detail: str | Sequence[Any],
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"detail": jsonable_encoder(detail), "error": error}
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


# A framework error is named like ours when a family has its status: Python's phrases are not
# ours and change between versions (413 is "Request Entity Too Large" on 3.11, "Content Too
# Large" on 3.13), and a body too large for the middleware must read the same either way.
_FAMILY_NAMES = {
    family.status_code: family.__name__
    for family in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        Unprocessable,
        TooManyRequests,
        ServiceUnavailable,
    )
}


def _status_error_name(status_code: int) -> str:
    if status_code in _FAMILY_NAMES:
        return _FAMILY_NAMES[status_code]
    try:
        return HTTPStatus(status_code).phrase.title().replace(" ", "").replace("-", "")
    except ValueError:
        return "HTTPError"


async def _pestle_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PestleError)
    return error_json(exc.status_code, exc.error, exc.message, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    malformed = [e for e in errors if e.get("type") == "json_invalid"]
    if malformed:
        reason = malformed[0].get("ctx", {}).get("error", "invalid JSON")
        return error_json(400, "MalformedBody", f"The request body is not valid JSON: {reason}.")
    return error_json(422, "ValidationError", errors)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return error_json(exc.status_code, _status_error_name(exc.status_code), detail, headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PestleError, _pestle_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
