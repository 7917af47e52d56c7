"""A router that exercises the shared mechanics through the real dependencies.

The only authenticated POST of the API today withholds its response from replays, so the
idempotency, outbox and last-resort error tests add these routes to the real app instead.
"""

import asyncio
import threading
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Header, Request
from pydantic import BaseModel

from pestle import models
from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.events.service import emit
from pestle.exceptions import Conflict, ServiceUnavailable

PREFIX = "/api/v1/probe"
GATE_TIMEOUT_SECONDS = 30
ORDER_ID = "0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e61"


class Failure(StrEnum):
    """How a probe request fails after emitting; sent in X-Probe-Failure, outside the body."""

    CONFLICT = "conflict"
    CRASH = "crash"
    UNAVAILABLE = "unavailable"


class ProbeConflict(Conflict):
    def __init__(self) -> None:
        super().__init__("The probe refused after emitting.")


class ProbeUnavailable(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("The probe is unavailable.")


# What each failure answers; the outbox row emitted before it is rolled back every time.
FAILURE_RESPONSES: dict[Failure, tuple[int, dict[str, str]]] = {
    Failure.CONFLICT: (
        409,
        {"detail": "The probe refused after emitting.", "error": "ProbeConflict"},
    ),
    Failure.CRASH: (
        500,
        {"detail": "The server failed to handle this request.", "error": "InternalError"},
    ),
    Failure.UNAVAILABLE: (
        503,
        {"detail": "The probe is unavailable.", "error": "ProbeUnavailable"},
    ),
}


class ProbeEvent(BaseModel):
    order_id: uuid.UUID
    placed_at: datetime
    note: str = ""


class Gate:
    """Holds a gated probe request inside its endpoint until the test opens the gate."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def reset(self) -> None:
        self.entered.clear()
        self.opened.clear()


def event_json(event: models.OutboxEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "event_code": event.event_code,
        "customer_id": str(event.customer_id),
        "data": event.data,
    }


router = APIRouter(prefix=PREFIX)


@router.post("/events", status_code=201)
async def create_event(
    body: ProbeEvent,
    session: SessionDep,
    principal: AnyUser,
    failure: Annotated[Failure | None, Header(alias="X-Probe-Failure")] = None,
) -> dict[str, Any]:
    assert principal.customer_id is not None
    event = await emit(session, "order.created", body.model_dump(), principal.customer_id)
    if failure is Failure.CONFLICT:
        raise ProbeConflict()
    if failure is Failure.UNAVAILABLE:
        raise ProbeUnavailable()
    if failure is Failure.CRASH:
        raise RuntimeError("the probe crashed")
    return event_json(event)


@router.post("/gated", status_code=201)
async def create_gated_event(
    body: ProbeEvent, request: Request, session: SessionDep, principal: AnyUser
) -> dict[str, Any]:
    assert principal.customer_id is not None
    gate: Gate = request.app.state.gate
    gate.entered.set()
    await asyncio.to_thread(gate.opened.wait, GATE_TIMEOUT_SECONDS)
    event = await emit(session, "order.created", body.model_dump(), principal.customer_id)
    return event_json(event)


def order_body(note: str = "first") -> dict[str, str]:
    """A probe body; ``placed_at`` is 22:55:37.920593 UTC written with a +01:00 offset."""
    return {"order_id": ORDER_ID, "placed_at": "2025-03-16T23:55:37.920593+01:00", "note": note}


def order_data(note: str = "first") -> dict[str, str]:
    """The outbox ``data`` of ``order_body(note)``: instants offset-less, UTC, microseconds."""
    return {"order_id": ORDER_ID, "placed_at": "2025-03-16T22:55:37.920593", "note": note}


async def post_event(
    client: httpx.AsyncClient,
    body: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    failure: Failure | None = None,
    route: str = "events",
) -> httpx.Response:
    headers = {}
    if key is not None:
        headers["Idempotency-Key"] = key
    if failure is not None:
        headers["X-Probe-Failure"] = failure.value
    return await client.post(f"{PREFIX}/{route}", json=body or order_body(), headers=headers)
