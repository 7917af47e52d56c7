"""Helpers for the task tests: the users behind the test clients, a task's expected body and
its expected event, read back from the database."""

import uuid
from collections.abc import Awaitable
from typing import Any

import httpx

from pestle import models
from pestle.kit.time import rest_format, webhook_format
from pestle.models.task import TASK_CATEGORIES, TASK_STATUSES
from tests.conftest import Db
from tests.orders.support import ok

TASKS = "/api/v1/tasks"
CLINIC_A = "admin@clinic-a.pestle.dev"
CLINIC_B = "admin@clinic-b.pestle.dev"
PHARMACIST = "rph@pharmacy.pestle.dev"
UNKNOWN = "0195a0e4-2c3d-7e4f-9a50-6b7c8d9e0f1a"


async def user(db: Db, email: str) -> models.User:
    [found] = await db.all(models.User, email=email)
    return found  # type: ignore[no-any-return]


async def summary(db: Db, email: str) -> dict[str, Any]:
    """The user as a task shows it (assignee, watchers)."""
    found = await user(db, email)
    return {
        "id": str(found.id),
        "first_name": found.first_name,
        "last_name": found.last_name,
        "role": found.role,
    }


async def create_task(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Call the clinic")
    body.setdefault("category_code", "T06")
    return ok(await client.post(TASKS, json=body), 201)  # type: ignore[no-any-return]


async def stored(db: Db, task_id: str) -> models.Task:
    [found] = await db.all(models.Task, id=uuid.UUID(task_id))
    return found  # type: ignore[no-any-return]


def _shared(task: models.Task) -> dict[str, Any]:
    def text(value: object) -> str | None:
        return str(value) if value is not None else None

    return {
        "id": str(task.id),
        "name": task.name,
        "description": task.description,
        "category_code": task.category_code,
        "category_name": TASK_CATEGORIES[task.category_code],
        "status_code": task.status_code,
        "status_name": TASK_STATUSES[task.status_code],
        "assignee_id": text(task.assignee_id),
        "order_id": text(task.order_id),
        "patient_id": text(task.patient_id),
        "prescription_id": text(task.prescription_id),
        "created_by_id": text(task.created_by_id),
    }


async def expected_body(
    db: Db,
    task_id: str,
    assignee: dict[str, Any] | None = None,
    watchers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Task object of the stored task, users given as their summaries."""
    task = await stored(db, task_id)
    return _shared(task) | {
        "assignee": assignee,
        "watchers": watchers or [],
        "created_at": rest_format(task.created_at),
        "completed_at": rest_format(task.completed_at) if task.completed_at else None,
    }


async def expected_event(db: Db, task_id: str) -> dict[str, Any]:
    """The ``data`` of a task event for the stored task, as it stands now."""
    task = await stored(db, task_id)
    return _shared(task) | {
        "created_at": webhook_format(task.created_at),
        "updated_at": webhook_format(task.updated_at),
        "completed_at": webhook_format(task.completed_at) if task.completed_at else None,
    }


async def refused(
    db: Db, send: Awaitable[httpx.Response], status: int, error: dict[str, Any]
) -> None:
    """Sends the request and asserts its exact error and that it wrote nothing."""
    async with db.writes_nothing():
        response = await send
    assert (response.status_code, response.json()) == (status, error)


async def task_events(db: Db) -> list[tuple[str, uuid.UUID, dict[str, Any]]]:
    """Every task event: code, customer, data, in the order written."""
    found = [
        event for event in await db.all(models.OutboxEvent) if event.event_code.startswith("task.")
    ]
    return [(e.event_code, e.customer_id, e.data) for e in sorted(found, key=lambda e: e.id)]
