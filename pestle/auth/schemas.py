import uuid

from pydantic import BaseModel, ConfigDict, Field

from pestle.kit.time import RestDatetime
from pestle.users.schemas import User


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"email": "chad@byblend.com", "password": "ch4db13nd$$"}}
    )

    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class LoginResponse(BaseModel):
    access_token: str = Field(description="JWT for every other endpoint; valid 60 minutes.")
    refresh_token: str = Field(description="JWT for /auth/refresh only; valid 7 days.")
    expires_at: RestDatetime = Field(description="When the refresh token expires.")
    user: User


class RefreshResponse(BaseModel):
    access_token: str


class VerifyResponse(BaseModel):
    valid: bool
    user: User


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["pharmacy integration"])


class ApiKey(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The secret's first characters, to tell keys apart.")
    user_id: uuid.UUID = Field(description="The user the key acts as.")
    customer_id: uuid.UUID
    created_at: RestDatetime
    revoked_at: RestDatetime | None


class ApiKeyCreated(ApiKey):
    secret: str = Field(
        description="Send as `Authorization: Bearer <secret>`. Shown only in this response."
    )
