import uuid

from pydantic import BaseModel, ConfigDict, Field

from pestle.kit.time import RestDatetime


class User(BaseModel):
    """Blend's user object, plus the customer the user belongs to (null for pharmacy staff)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
                "created_at": "2025-03-15T12:00:00Z",
                "updated_at": "2025-03-15T12:00:00Z",
                "email": "chad@byblend.com",
                "first_name": "Chad",
                "last_name": "Birkenstock",
                "is_active": True,
                "role": "admin",
                "customer_id": "b658f16f-819c-4503-aede-bd555fc4ebfb",
            }
        },
    )

    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    email: str
    first_name: str
    last_name: str
    is_active: bool
    role: str = Field(
        description="admin or member (customer users); pharmacy_admin, pharmacist or technician "
        "(pharmacy staff)."
    )
    customer_id: uuid.UUID | None
