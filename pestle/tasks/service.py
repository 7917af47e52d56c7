"""The rules of the Tasks area.

Decisions where the contract is silent (README "Tasks"):
- A task belongs to a customer: a customer user's own, or for pharmacy staff the customer of
  the order, patient or prescription it is linked to (all links must share one customer); an
  unlinked staff task is the pharmacy's own (no customer) and only staff see it.
- The assignee and watchers must be active users of the task's customer or pharmacy staff.
- Any status may follow any other. Entering COMPLETED sets ``completed_at`` and emits
  ``task.completed``; leaving it clears ``completed_at`` (the task is open again), and
  completing it again emits ``task.completed`` again.
- Events go to the task's customer; the pharmacy's own tasks raise none (no one subscribes).
- Pestle opens tasks itself (``open_automatic``) for a stuck order and a product low on
  stock, one per cause (``source_key``) while it is open.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.auth.service import Principal
from pestle.events.service import emit
from pestle.exceptions import NotFound, RequiredFieldCleared, Unprocessable
from pestle.kit.ids import parse_uuid
from pestle.kit.pagination import Page, PageRequest
from pestle.kit.time import utcnow
from pestle.models.task import TASK_CATEGORIES, TASK_STATUSES
from pestle.tasks import schemas
from pestle.tasks.repository import Linkable, TaskFilters, TaskRepository

COMPLETED = "COMPLETED"
_LINKS: dict[str, tuple[Linkable, str]] = {
    "order_id": (models.Order, "order"),
    "patient_id": (models.Patient, "patient"),
    "prescription_id": (models.Prescription, "prescription"),
}
_REQUIRED = ("name", "category_code", "status_code")


class TaskNotFound(NotFound):
    def __init__(self, task_id: object) -> None:
        super().__init__(f"No task {str(task_id)!r}.")


class UnknownTaskCode(Unprocessable):
    def __init__(self, field: str, value: str, known: Mapping[str, str]) -> None:
        choices = ", ".join(f"{code} ({name})" for code, name in known.items())
        super().__init__(f"{field}: unknown code {value!r}; known codes: {choices}.")


class LinkedRowNotFound(NotFound):
    """Worded as orders word an unknown ``patient_id``."""

    def __init__(self, field: str, kind: str, row_id: uuid.UUID) -> None:
        super().__init__(f"{field}: no {kind} {row_id}.")


class LinksOfSeveralCustomers(Unprocessable):
    def __init__(self) -> None:
        super().__init__(
            "order_id, patient_id and prescription_id must belong to the same customer."
        )


class UserNotInvolvable(NotFound):
    def __init__(self, field: str, user_id: uuid.UUID) -> None:
        super().__init__(
            f"{field}: no active user {user_id} of this task's customer or the pharmacy."
        )


def check_code(field: str, value: str, known: Mapping[str, str]) -> str:
    if value not in known:
        raise UnknownTaskCode(field, value, known)
    return value


def codes(known: Mapping[str, str]) -> list[schemas.CodeName]:
    return [schemas.CodeName(code=code, name=name) for code, name in known.items()]


def fields(task: models.Task) -> dict[str, Any]:
    """What the Task object and the task events share: everything but the users' summaries."""
    return {
        "id": task.id,
        "created_at": task.created_at,
        "name": task.name,
        "description": task.description,
        "category_code": task.category_code,
        "category_name": TASK_CATEGORIES[task.category_code],
        "status_code": task.status_code,
        "status_name": TASK_STATUSES[task.status_code],
        "assignee_id": task.assignee_id,
        "order_id": task.order_id,
        "patient_id": task.patient_id,
        "prescription_id": task.prescription_id,
        "created_by_id": task.created_by_id,
        "completed_at": task.completed_at,
    }


def event_data(task: models.Task) -> dict[str, Any]:
    """``task.created`` / ``task.completed``: the Task object with ids for its users (no
    expansion: names of people stay out of webhooks) and ``updated_at``."""
    return fields(task) | {"updated_at": task.updated_at}


@dataclass(frozen=True)
class Links:
    order_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    prescription_id: uuid.UUID | None


class TaskService:
    async def create(
        self, session: AsyncSession, principal: Principal, body: schemas.TaskCreate
    ) -> schemas.Task:
        check_code("category_code", body.category_code, TASK_CATEGORIES)
        check_code("status_code", body.status_code, TASK_STATUSES)
        repository = TaskRepository(session, principal.customer_id)
        links = Links(body.order_id, body.patient_id, body.prescription_id)
        customer_id = await self._customer(repository, principal, links, principal.customer_id)
        watcher_ids = list(dict.fromkeys(watcher.id for watcher in body.watchers))
        await self._check_users(repository, customer_id, body.assignee, watcher_ids)
        now = utcnow()
        task = models.Task(
            customer_id=customer_id,
            name=body.name,
            description=body.description,
            category_code=body.category_code,
            status_code=body.status_code,
            assignee_id=body.assignee,
            order_id=links.order_id,
            patient_id=links.patient_id,
            prescription_id=links.prescription_id,
            created_by_id=principal.user.id,
            completed_at=now if body.status_code == COMPLETED else None,
            created_at=now,
            updated_at=now,
        )
        await repository.add(task)
        await repository.set_watchers(task.id, watcher_ids)
        await self._announce(session, task, created=True)
        return (await self.views(session, [task]))[0]

    async def get(self, session: AsyncSession, principal: Principal, task_id: str) -> schemas.Task:
        task = await self._task(TaskRepository(session, principal.customer_id), task_id)
        return (await self.views(session, [task]))[0]

    async def page(
        self,
        session: AsyncSession,
        principal: Principal,
        filters: TaskFilters,
        wanted: PageRequest,
    ) -> Page[models.Task]:
        if filters.status_code is not None:
            check_code("status_code", filters.status_code, TASK_STATUSES)
        if filters.category_code is not None:
            check_code("category_code", filters.category_code, TASK_CATEGORIES)
        return await TaskRepository(session, principal.customer_id).page(filters, wanted)

    async def update(
        self,
        session: AsyncSession,
        principal: Principal,
        task_id: str,
        body: schemas.TaskUpdate,
    ) -> schemas.Task:
        repository = TaskRepository(session, principal.customer_id)
        task = await self._task(repository, task_id)
        sent = body.model_dump(include=body.model_fields_set)
        for field in _REQUIRED:
            if field in sent and sent[field] is None:
                raise RequiredFieldCleared(field)
        if body.category_code is not None:
            check_code("category_code", body.category_code, TASK_CATEGORIES)
        if body.status_code is not None:
            check_code("status_code", body.status_code, TASK_STATUSES)
        links = Links(*(sent[field] if field in sent else getattr(task, field) for field in _LINKS))
        customer_id = await self._customer(repository, principal, links, task.customer_id)
        watcher_ids = (
            list(dict.fromkeys(watcher.id for watcher in body.watchers or []))
            if "watchers" in sent
            else None
        )
        # Users sent now are checked; kept ones only when the task changes customer.
        moved = customer_id != task.customer_id
        kept_watchers = (await repository.watchers([task.id]))[task.id]
        await self._check_users(
            repository,
            customer_id,
            sent.get("assignee", task.assignee_id if moved else None),
            watcher_ids if watcher_ids is not None else (kept_watchers if moved else []),
        )
        # Every refusal is above: from here on the task changes.
        was_completed = task.status_code == COMPLETED
        for field in ("name", "description", "category_code", "status_code", *_LINKS):
            if field in sent:
                setattr(task, field, sent[field])
        if "assignee" in sent:
            task.assignee_id = sent["assignee"]
        task.customer_id = customer_id
        now = utcnow()
        task.updated_at = now
        if task.status_code == COMPLETED and not was_completed:
            task.completed_at = now
        elif task.status_code != COMPLETED:
            task.completed_at = None
        await repository.flush()
        if watcher_ids is not None:
            await repository.set_watchers(task.id, watcher_ids)
        if task.status_code == COMPLETED and not was_completed:
            await self._announce(session, task, created=False)
        return (await self.views(session, [task]))[0]

    async def views(
        self, session: AsyncSession, tasks: Iterable[models.Task]
    ) -> list[schemas.Task]:
        """The Task objects, their users loaded in two queries for the whole list."""
        tasks = list(tasks)
        repository = TaskRepository(session, None)
        watchers = await repository.watchers(task.id for task in tasks)
        wanted = {task.assignee_id for task in tasks if task.assignee_id is not None}
        wanted.update(user_id for ids in watchers.values() for user_id in ids)
        users = {
            user_id: schemas.UserSummary.model_validate(user)
            for user_id, user in (await repository.users(wanted)).items()
        }
        return [
            schemas.Task(
                **fields(task),
                assignee=users.get(task.assignee_id) if task.assignee_id else None,
                watchers=[users[user_id] for user_id in watchers[task.id]],
            )
            for task in tasks
        ]

    async def open_automatic(
        self,
        session: AsyncSession,
        *,
        source_key: str,
        category_code: str,
        name: str,
        description: str,
        customer_id: uuid.UUID | None,
        order_id: uuid.UUID | None = None,
        patient_id: uuid.UUID | None = None,
    ) -> models.Task | None:
        """Opens a task for the pharmacy's staff about ``source_key`` unless one is still open
        (NEW or IN_PROGRESS); the new task, or None. Callers reach here once per change of
        state (a conditional update decided it), so two callers do not race for one cause."""
        repository = TaskRepository(session, None)
        if await repository.open_by_source(source_key) is not None:
            return None
        now = utcnow()
        task = models.Task(
            customer_id=customer_id,
            name=name[:200],
            description=description,
            category_code=category_code,
            status_code="NEW",
            order_id=order_id,
            patient_id=patient_id,
            source_key=source_key,
            created_at=now,
            updated_at=now,
        )
        await repository.add(task)
        await self._announce(session, task, created=True)
        return task

    async def _task(self, repository: TaskRepository, task_id: str) -> models.Task:
        parsed = parse_uuid(task_id)
        task = await repository.get(parsed) if parsed is not None else None
        if task is None:
            raise TaskNotFound(task_id)
        return task

    async def _customer(
        self,
        repository: TaskRepository,
        principal: Principal,
        links: Links,
        unlinked: uuid.UUID | None,
    ) -> uuid.UUID | None:
        """The customer the task belongs to: the caller's, or the linked rows' for staff
        (``unlinked`` when nothing is linked). Every link must exist in the caller's tenant."""
        owners = set()
        for field, (model, kind) in _LINKS.items():
            row_id: uuid.UUID | None = getattr(links, field)
            if row_id is None:
                continue
            owner = await repository.owner_of(model, row_id)
            if owner is None:
                raise LinkedRowNotFound(field, kind, row_id)
            owners.add(owner)
        if principal.customer_id is not None:
            return principal.customer_id
        if len(owners) > 1:
            raise LinksOfSeveralCustomers()
        return owners.pop() if owners else unlinked

    async def _check_users(
        self,
        repository: TaskRepository,
        customer_id: uuid.UUID | None,
        assignee: uuid.UUID | None,
        watchers: list[uuid.UUID],
    ) -> None:
        named = [("assignee", assignee)] if assignee is not None else []
        named += [("watchers", user_id) for user_id in watchers]
        users = await repository.users(user_id for _, user_id in named)
        for field, user_id in named:
            user = users.get(user_id)
            if (
                user is None
                or not user.is_active
                or (user.customer_id is not None and user.customer_id != customer_id)
            ):
                raise UserNotInvolvable(field, user_id)

    async def _announce(self, session: AsyncSession, task: models.Task, *, created: bool) -> None:
        if task.customer_id is None:
            return
        data = event_data(task)
        if created:
            await emit(session, "task.created", data, task.customer_id)
        if task.status_code == COMPLETED:
            await emit(session, "task.completed", data, task.customer_id)


task_service = TaskService()
