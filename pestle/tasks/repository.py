"""The Tasks area's SQL. Tasks carry a nullable customer (the pharmacy's own tasks have none),
so the tenant filter is written here rather than inherited from ``TenantRepository``."""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pestle import models
from pestle.kit.pagination import Page, PageRequest, fetch_page

OPEN_STATUSES = ("NEW", "IN_PROGRESS")
Linkable = type[models.Order] | type[models.Patient] | type[models.Prescription]


@dataclass(frozen=True)
class TaskFilters:
    assignee_id: uuid.UUID | None = None
    status_code: str | None = None
    category_code: str | None = None
    order_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    prescription_id: uuid.UUID | None = None


class TaskRepository:
    def __init__(self, session: AsyncSession, customer_id: uuid.UUID | None) -> None:
        """``customer_id`` None is pharmacy staff (or Pestle itself), who see every task."""
        self.session = session
        self.customer_id = customer_id

    def select(self) -> Select[models.Task]:
        statement = select(models.Task)
        if self.customer_id is not None:
            statement = statement.where(models.Task.customer_id == self.customer_id)
        return statement

    async def get(self, task_id: uuid.UUID) -> models.Task | None:
        found: models.Task | None = await self.session.scalar(
            self.select().where(models.Task.id == task_id)
        )
        return found

    async def page(self, filters: TaskFilters, wanted: PageRequest) -> Page[models.Task]:
        task = models.Task
        statement = self.select()
        for column, value in (
            (task.assignee_id, filters.assignee_id),
            (task.status_code, filters.status_code),
            (task.category_code, filters.category_code),
            (task.order_id, filters.order_id),
            (task.patient_id, filters.patient_id),
            (task.prescription_id, filters.prescription_id),
        ):
            if value is not None:
                statement = statement.where(column == value)
        return await fetch_page(self.session, statement.order_by(task.id), wanted)

    async def open_by_source(self, source_key: str) -> models.Task | None:
        found: models.Task | None = await self.session.scalar(
            self.select()
            .where(
                models.Task.source_key == source_key,
                models.Task.status_code.in_(OPEN_STATUSES),
            )
            .limit(1)
        )
        return found

    async def add(self, task: models.Task) -> models.Task:
        self.session.add(task)
        await self.session.flush()
        return task

    async def flush(self) -> None:
        await self.session.flush()

    async def watchers(self, task_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        """Each task's watchers, by user id."""
        ids = list(task_ids)
        found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        if not ids:
            return found
        watcher = models.TaskWatcher
        rows = await self.session.execute(
            select(watcher.task_id, watcher.user_id)
            .where(watcher.task_id.in_(ids))
            .order_by(watcher.task_id, watcher.user_id)
        )
        for task_id, user_id in rows:
            found[task_id].append(user_id)
        return found

    async def set_watchers(self, task_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> None:
        watcher = models.TaskWatcher
        await self.session.execute(delete(watcher).where(watcher.task_id == task_id))
        self.session.add_all(watcher(task_id=task_id, user_id=user_id) for user_id in user_ids)
        await self.session.flush()

    async def users(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, models.User]:
        ids = set(user_ids)
        if not ids:
            return {}
        rows = await self.session.scalars(select(models.User).where(models.User.id.in_(ids)))
        return {user.id: user for user in rows}

    async def owner_of(self, model: Linkable, row_id: uuid.UUID) -> uuid.UUID | None:
        """The customer of the order, patient or prescription ``row_id`` in the caller's
        tenant; None when there is no such row there."""
        statement = select(model.customer_id).where(model.id == row_id)
        if self.customer_id is not None:
            statement = statement.where(model.customer_id == self.customer_id)
        found: uuid.UUID | None = await self.session.scalar(statement)
        return found
