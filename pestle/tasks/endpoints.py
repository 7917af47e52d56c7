import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.exceptions import RequiredFieldCleared, Responses, error_response, invalid_response
from pestle.kit.pagination import PAGINATION_HEADERS, PageParams, serve_page
from pestle.models.task import TASK_CATEGORIES, TASK_STATUSES
from pestle.tasks import schemas
from pestle.tasks.repository import TaskFilters
from pestle.tasks.service import (
    LinkedRowNotFound,
    LinksOfSeveralCustomers,
    TaskNotFound,
    UnknownTaskCode,
    UserNotInvolvable,
    codes,
    task_service,
)

router = APIRouter(prefix="/tasks", tags=["Tasks"])

TaskId = Annotated[str, Path(description="The task's id.")]
_WRITE: Responses = {
    404: error_response(LinkedRowNotFound, UserNotInvolvable),
    422: invalid_response(UnknownTaskCode, LinksOfSeveralCustomers),
}
_OWNERSHIP = (
    "A customer user's task belongs to its customer; pharmacy staff's to the customer of the "
    "linked order, patient or prescription (all links must share one), else to the pharmacy "
    "alone. `assignee` and `watchers` must be active users of that customer or pharmacy staff."
)


@router.get("/categories", response_model=list[schemas.CodeName])
async def list_categories(principal: AnyUser) -> list[schemas.CodeName]:
    """Every task category (inferred endpoint)."""
    return codes(TASK_CATEGORIES)


@router.get("/statuses", response_model=list[schemas.CodeName])
async def list_statuses(principal: AnyUser) -> list[schemas.CodeName]:
    """Every task status (inferred endpoint)."""
    return codes(TASK_STATUSES)


@router.post(
    "",
    status_code=201,
    response_model=schemas.Task,
    responses=_WRITE,
    description=(
        "Creates a task (201: the contract allows 200 or 201), `created_by_id` being the "
        f"caller. {_OWNERSHIP} Emits `task.created` (and `task.completed` when created "
        "COMPLETED) to the task's customer."
    ),
)
async def create_task(
    body: schemas.TaskCreate, session: SessionDep, principal: AnyUser
) -> schemas.Task:
    """Create a task."""
    return await task_service.create(session, principal, body)


@router.get(
    "",
    response_model=list[schemas.Task],
    responses={200: {"headers": PAGINATION_HEADERS}, 422: invalid_response(UnknownTaskCode)},
    description=(
        "Inferred endpoint: the caller's tasks (pharmacy staff: every task), oldest first, "
        "filtered by every parameter sent."
    ),
)
async def list_tasks(
    request: Request,
    response: Response,
    page: PageParams,
    session: SessionDep,
    principal: AnyUser,
    assignee_id: uuid.UUID | None = None,
    status_code: Annotated[str | None, Query(max_length=16)] = None,
    category_code: Annotated[str | None, Query(max_length=16)] = None,
    order_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    prescription_id: uuid.UUID | None = None,
) -> list[schemas.Task]:
    """List tasks."""
    filters = TaskFilters(
        assignee_id=assignee_id,
        status_code=status_code.strip().upper() if status_code else None,
        category_code=category_code.strip().upper() if category_code else None,
        order_id=order_id,
        patient_id=patient_id,
        prescription_id=prescription_id,
    )
    found = serve_page(
        await task_service.page(session, principal, filters, page), request, response
    )
    return await task_service.views(session, found)


@router.get(
    "/{task_id}",
    response_model=schemas.Task,
    responses={404: error_response(TaskNotFound)},
    description="Inferred endpoint. Another customer's task is 404.",
)
async def get_task(task_id: TaskId, session: SessionDep, principal: AnyUser) -> schemas.Task:
    """Get a task."""
    return await task_service.get(session, principal, task_id)


@router.put(
    "/{task_id}",
    response_model=schemas.Task,
    responses={
        404: error_response(TaskNotFound, LinkedRowNotFound, UserNotInvolvable),
        422: invalid_response(UnknownTaskCode, LinksOfSeveralCustomers, RequiredFieldCleared),
    },
    description=(
        "Inferred endpoint: the create body, every field optional; a field sent replaces the "
        "stored one (`watchers` the whole list) and `null` clears the optional ones. Any "
        "status may follow any other: entering COMPLETED sets `completed_at` and emits "
        "`task.completed`; leaving it clears `completed_at`. " + _OWNERSHIP
    ),
)
async def update_task(
    task_id: TaskId, body: schemas.TaskUpdate, session: SessionDep, principal: AnyUser
) -> schemas.Task:
    """Update a task."""
    return await task_service.update(session, principal, task_id, body)
