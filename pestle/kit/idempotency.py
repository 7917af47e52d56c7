"""``Idempotency-Key`` on POST: a retry with the same key and body replays the first response.

The claim is written in a transaction of its own before the endpoint runs, so two concurrent
requests under one key cannot both run; the middleware stores the response once it is known
(or drops the claim if the request failed with a 5xx, so that the client may retry).
"""

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pestle.db import Database
from pestle.exceptions import BadRequest, Conflict
from pestle.kit.time import utcnow
from pestle.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_LIFETIME = timedelta(hours=24)
# A claim this old with no response belongs to a process that died mid-request.
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 255
_STATE_KEY = "idempotency_record_id"
_UNSTORED_HEADERS = frozenset({"content-length", "date", "server", "x-request-id"})


class InvalidIdempotencyKey(BadRequest):
    def __init__(self) -> None:
        super().__init__(f"{HEADER} must have 1 to {MAX_KEY_LENGTH} printable characters.")


class IdempotencyKeyReused(Conflict):
    def __init__(self) -> None:
        super().__init__(f"This {HEADER} was already used with a different request; use a new key.")


class IdempotencyKeyInFlight(Conflict):
    def __init__(self) -> None:
        super().__init__(f"A request with this {HEADER} is still being processed; retry later.")


class IdempotentResponseWithheld(Conflict):
    def __init__(self, status_code: int) -> None:
        super().__init__(
            f"The first request with this {HEADER} succeeded ({status_code}), but its response "
            "held a secret that is shown only once and was not kept; list the resource instead."
        )


class _Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record


def _fingerprint(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


async def guard(request: Request, database: Database, owner: str) -> None:
    """Claim the request's key for ``owner``, or replay/refuse a request that used it before."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey()
    fingerprint = _fingerprint(request, await request.body())
    now = utcnow()
    try:
        async with database.transaction() as session:
            await session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - KEY_LIFETIME)
            )
            record = await session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.owner == owner, IdempotencyRecord.key == key
                )
            )
            if record is not None and record.status_code is None:
                if record.created_at >= now - ABANDONED_AFTER:
                    raise IdempotencyKeyInFlight()
                await session.delete(record)
                await session.flush()
                record = None
            if record is None:
                record = IdempotencyRecord(owner=owner, key=key, fingerprint=fingerprint)
                session.add(record)
                await session.flush()
                request.state.idempotency_record_id = record.id
                return
    except IntegrityError:
        raise IdempotencyKeyInFlight() from None
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if record.response_body is None:
        raise IdempotentResponseWithheld(record.status_code or 200)
    raise _Replay(record)


async def _replay(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Replay)
    record = exc.record
    headers = dict(record.response_headers or {})
    headers[REPLAYED_HEADER] = "true"
    return Response(record.response_body, status_code=record.status_code or 200, headers=headers)


class IdempotencyMiddleware:
    """Stores the response of a claimed request; must sit inside the request-id middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        captured: dict[str, Any] = {"body": bytearray(), "settled": False}

        async def settle(*, complete: bool) -> None:
            record_id = scope.get("state", {}).get(_STATE_KEY)
            if record_id is not None and not captured["settled"]:
                captured["settled"] = True
                await self._settle(scope, record_id, captured, complete=complete)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = {
                    name.decode("latin-1").lower(): value.decode("latin-1")
                    for name, value in message.get("headers", [])
                    if name.decode("latin-1").lower() not in _UNSTORED_HEADERS
                }
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
                if not message.get("more_body", False):
                    # Stored before the client sees the end of the response: a retry sent as
                    # soon as it arrives must be replayed, not found still in flight.
                    await settle(complete=True)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            # A response that never completed drops the claim, so that the client may retry.
            await settle(complete=False)

    async def _settle(
        self, scope: Scope, record_id: uuid.UUID, captured: dict[str, Any], *, complete: bool
    ) -> None:
        database: Database = scope["app"].state.database
        status = captured.get("status", 500)
        async with database.transaction() as session:
            if not complete or status >= 500:
                await session.execute(
                    delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id)
                )
                return
            # A response marked no-store holds a secret shown once: it is never written down.
            withheld = "no-store" in captured["headers"].get("cache-control", "")
            await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == record_id)
                .values(
                    status_code=status,
                    response_headers=None if withheld else captured["headers"],
                    response_body=None if withheld else bytes(captured["body"]),
                )
            )


def install(app: FastAPI) -> None:
    app.add_exception_handler(_Replay, _replay)
    app.add_middleware(IdempotencyMiddleware)
