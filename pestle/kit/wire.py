"""Wire types shared by more than one area: names, free text and a US postal address."""

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from pestle.kit.validators import UsState, ZipCode


def lower_stripped(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def upper_stripped(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
RequiredText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
Country = Annotated[Literal["US"], BeforeValidator(upper_stripped)]


class UsAddress(BaseModel):
    """A US postal address, as patients and prescribers carry it."""

    model_config = ConfigDict(extra="forbid")

    address_1: RequiredText
    address_2: OptionalText | None = None
    city: Name
    state: UsState
    zip_code: ZipCode = Field(description="5 digits or ZIP+4; returned as digits only.")
    country: Country = "US"
