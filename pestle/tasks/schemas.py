"""The wire of the Tasks area: the Task object, its create and update bodies, the code lists."""

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pestle.kit.time import RestDatetime
from pestle.kit.wire import RequiredText

# Codes are checked by the service, which names the known ones; here they are only trimmed.
Code = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=16)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]
MAX_WATCHERS = 50

_EXAMPLE_ID = "0227d1e5-ba9a-42b5-8fe2-38882aa65708"
_NAME = "Confirm shelf-stability of recent batch"
_DESCRIPTION = (
    "Please find the most recent batch (April 2, 2025) of the topical rapamycin "
    "and confirm shelf-stability given the new expiration date of May 14, 2025."
)
_CREATE_EXAMPLE: dict[str, Any] = {
    "assignee": _EXAMPLE_ID,
    "name": _NAME,
    "description": _DESCRIPTION,
    "category_code": "T06",
    "status_code": "NEW",
    "order_id": _EXAMPLE_ID,
    "patient_id": _EXAMPLE_ID,
    "prescription_id": _EXAMPLE_ID,
    "watchers": [{"id": "1326d1e5-ba9a-42b5-8fe2-38882aa65708"}],
}


class UserRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": _CREATE_EXAMPLE})

    name: RequiredText
    description: Description | None = None
    assignee: uuid.UUID | None = Field(
        None,
        description="The user who should do the task: a user of the task's customer or "
        "pharmacy staff. Returned as `assignee_id` and expanded in `assignee`.",
    )
    category_code: Code = Field(description="A code of GET /api/v1/tasks/categories.")
    status_code: Code = Field("NEW", description="A code of GET /api/v1/tasks/statuses.")
    order_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    prescription_id: uuid.UUID | None = None
    watchers: list[UserRef] = Field(
        [],
        max_length=MAX_WATCHERS,
        description="Users who follow the task (same rule as `assignee`); duplicates count once.",
    )


class TaskUpdate(BaseModel):
    """Every field optional; a field sent replaces the stored one (`watchers` the whole list),
    and `null` clears the optional ones."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"status_code": "COMPLETED"}}
    )

    name: RequiredText | None = None
    description: Description | None = None
    assignee: uuid.UUID | None = None
    category_code: Code | None = None
    status_code: Code | None = None
    order_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    prescription_id: uuid.UUID | None = None
    watchers: list[UserRef] | None = Field(None, max_length=MAX_WATCHERS)


class UserSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    first_name: str
    last_name: str
    role: str


class Task(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": _EXAMPLE_ID,
                "name": _NAME,
                "description": _DESCRIPTION,
                "category_code": "T06",
                "category_name": "General",
                "status_code": "NEW",
                "status_name": "New",
                "assignee_id": _EXAMPLE_ID,
                "assignee": {
                    "id": _EXAMPLE_ID,
                    "first_name": "Rodrigo",
                    "last_name": "Davis",
                    "role": "admin",
                },
                "watchers": [
                    {
                        "id": "1326d1e5-ba9a-42b5-8fe2-38882aa65708",
                        "first_name": "Daphne",
                        "last_name": "Dafoe",
                        "role": "admin",
                    }
                ],
                "order_id": _EXAMPLE_ID,
                "patient_id": _EXAMPLE_ID,
                "prescription_id": _EXAMPLE_ID,
                "created_by_id": _EXAMPLE_ID,
                "created_at": "2025-01-01T00:00:00Z",
                "completed_at": None,
            }
        }
    )

    id: uuid.UUID
    name: str
    description: str | None
    category_code: str
    category_name: str
    status_code: str
    status_name: str
    assignee_id: uuid.UUID | None
    assignee: UserSummary | None
    watchers: list[UserSummary] = Field(description="Ordered by user id (creation order).")
    order_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    prescription_id: uuid.UUID | None
    created_by_id: uuid.UUID | None = Field(
        description="The calling user; null for tasks Pestle opened itself."
    )
    created_at: RestDatetime
    completed_at: RestDatetime | None = Field(
        description="When the task last moved to COMPLETED; null in any other status."
    )


class CodeName(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"code": "T01", "name": "Order"}})

    code: str
    name: str
