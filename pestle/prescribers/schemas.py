"""The wire shapes of the Prescribers area (blend-api/patients-prescribers.md §4)."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    computed_field,
    model_validator,
)

from pestle import models
from pestle.kit.time import RestDatetime, utcnow
from pestle.kit.validators import Dea, Npi, Phone, UsState
from pestle.kit.wire import Name, OptionalText, UsAddress, lower_stripped

LicenseNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
]


def _capitalized(value: object) -> object:
    return value.strip().capitalize() if isinstance(value, str) else value


def _not_future(value: date) -> date:
    if value > utcnow().date():
        raise ValueError("a date of birth cannot be in the future")
    return value


Gender = Annotated[
    Literal["Male", "Female"],
    BeforeValidator(_capitalized),
    Field(description="`Male` or `Female`, accepted in any case, returned capitalised."),
]
AddressType = Annotated[Literal["practice", "mailing", "billing"], BeforeValidator(lower_stripped)]
BirthDate = Annotated[date, AfterValidator(_not_future)]


class PrescriberAddressIn(UsAddress):
    type: AddressType = Field("practice", description="practice, mailing or billing.")


class PrescriberAddress(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    address_1: str
    address_2: str | None
    city: str
    state: str
    zip_code: str
    country: str
    type: str


class Credential(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    credential_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
    ] = Field(examples=["MD"])


class RestrictionRef(BaseModel):
    """A restriction of Blend's catalogue, by id; Pestle stores the reference as sent."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, data: Any) -> Any:
        if isinstance(data, models.PrescriberRestriction):
            return {"id": data.restriction_id}
        return data


class QualificationIn(BaseModel):
    """A state licence as sent."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "state": "CA",
                "license_number": "1234567890",
                "description": "Nurse Practitioner, Family",
                "expiration_date": "2025-03-15",
                "is_active": True,
            }
        },
    )

    state: UsState
    license_number: LicenseNumber
    description: OptionalText | None = None
    expiration_date: date | None = None
    is_active: bool = True


class Qualification(BaseModel):
    """A state licence. A replaced licence stays, inactive, with what replaced it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
                "created_at": "2025-03-15T12:00:00Z",
                "updated_at": "2025-03-15T12:00:00Z",
                "state": "CA",
                "license_number": "1234567890",
                "description": "Nurse Practitioner, Family",
                "expiration_date": "2025-03-15",
                "is_active": True,
                "is_expired": True,
                "replaced_at": None,
                "replaced_by_id": None,
            }
        },
    )

    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    state: str
    license_number: str
    description: str | None
    expiration_date: date | None
    is_active: bool
    replaced_at: RestDatetime | None = Field(
        description="When a new licence number replaced this one."
    )
    replaced_by_id: uuid.UUID | None = Field(description="The qualification that replaced it.")

    @computed_field(description="expiration_date is before today (UTC).")  # type: ignore[prop-decorator]
    @property
    def is_expired(self) -> bool:
        return self.expiration_date is not None and self.expiration_date < utcnow().date()


def _one_per_state(items: list[QualificationIn]) -> list[QualificationIn]:
    states = [item.state for item in items]
    repeated = sorted({state for state in states if states.count(state) > 1})
    if repeated:
        raise ValueError(
            f"one qualification per state; {', '.join(repeated)} appears more than once"
        )
    return items


# Credentials and restrictions are sets: a repeat is dropped (the items are their keys).
def _distinct_credentials(items: list[Credential]) -> list[Credential]:
    return list({item.credential_code: item for item in items}.values())


def _distinct_restrictions(items: list[RestrictionRef]) -> list[RestrictionRef]:
    return list({item.id: item for item in items}.values())


Addresses = Annotated[list[PrescriberAddressIn], Field(max_length=20)]
Credentials = Annotated[
    list[Credential], Field(max_length=50), AfterValidator(_distinct_credentials)
]
Restrictions = Annotated[
    list[RestrictionRef], Field(max_length=100), AfterValidator(_distinct_restrictions)
]
Qualifications = Annotated[
    list[QualificationIn], Field(max_length=60), AfterValidator(_one_per_state)
]

DEA_DESCRIPTION = (
    "2 letters and 7 digits with a valid check digit. For a practitioner's number (first "
    "letter A, B, F, G, M or X) the second letter is the initial of the last name."
)

# The contract's example with an NPI and a DEA number that pass their checks: the contract's
# own (1234567890, F91234563) fail the NPI check digit and the 2-letter DEA format.
_PRESCRIBER_EXAMPLE: dict[str, Any] = {
    "first_name": "Willard",
    "middle_name": "Moises",
    "last_name": "Donnelly",
    "email": "Harmon43@gmail.com",
    "phone": "6417383445",
    "date_of_birth": "1990-01-01",
    "gender": "Male",
    "npi": "1234567893",
    "dea": "FD1234563",
    "spi": "1234567890ABCDEF",
    "driver_license_number": "B49188319",
    "driver_license_state": "CA",
    "is_active": True,
    "credential_npi": "M.D./Ph.D",
    "addresses": [
        {
            "address_1": "140 Lindgren Streets",
            "address_2": "Apt 227",
            "city": "North Consueloburgh",
            "state": "CA",
            "country": "US",
            "zip_code": "02108",
            "type": "practice",
        }
    ],
    "credentials": [{"credential_code": "MD"}],
    "restrictions": [{"id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708"}],
    "qualifications": [
        {
            "state": "CA",
            "license_number": "1234567890",
            "description": "Nurse Practitioner, Family",
            "expiration_date": "2025-03-15",
            "is_active": True,
        }
    ],
}


class PrescriberFields(BaseModel):
    """Every writable field; all optional here, so that an update can send any subset."""

    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    middle_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = (
        None
    )
    last_name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    date_of_birth: BirthDate | None = None
    gender: Gender | None = None
    npi: Npi | None = Field(None, description="10 digits, Luhn check digit with prefix 80840.")
    dea: Dea | None = Field(None, description=DEA_DESCRIPTION)
    spi: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=35)] | None
    ) = Field(None, description="Surescripts Prescriber ID.")
    driver_license_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None
    ) = None
    driver_license_state: UsState | None = None
    is_active: bool | None = None
    credential_npi: OptionalText | None = Field(
        None, description="Credential text as registered with the NPI, e.g. M.D./Ph.D"
    )
    addresses: Addresses | None = None
    credentials: Credentials | None = None
    restrictions: Restrictions | None = None
    qualifications: Qualifications | None = Field(
        None, description="State licences, at most one per state."
    )


class PrescriberCreate(PrescriberFields):
    model_config = ConfigDict(json_schema_extra={"example": _PRESCRIBER_EXAMPLE})

    first_name: Name
    last_name: Name
    npi: Npi = Field(description="10 digits, Luhn check digit with prefix 80840; unique.")
    is_active: bool = True
    addresses: Addresses = []
    credentials: Credentials = []
    restrictions: Restrictions = []
    qualifications: Qualifications = Field([], description="State licences, one per state.")


class PrescriberById(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID


class PrescriberByNpi(BaseModel):
    model_config = ConfigDict(extra="forbid")
    npi: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]


class PrescriberUpdate(PrescriberFields):
    """Only the fields sent change; ``null`` clears an optional field; a list sent replaces
    the previous one. ``qualifications`` sent become the active licences: a new number for a
    state replaces that state's licence (the old one is kept, inactive), and the active
    licences of states left out are deactivated."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"phone": "6417383446", "credentials": []}}
    )


# Fields a prescriber must always have: an update may change them but not clear them.
REQUIRED_FIELDS = ("first_name", "last_name", "npi", "is_active")
COLLECTIONS = ("addresses", "credentials", "restrictions", "qualifications")


class Prescriber(BaseModel):
    """Blend's Prescriber, with every qualification ever recorded (replaced ones inactive)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
                "created_at": "2025-03-15T12:00:00Z",
                "updated_at": "2025-03-15T12:00:00Z",
                **_PRESCRIBER_EXAMPLE,
                "addresses": [
                    {
                        "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65709",
                        "created_at": "2025-03-15T12:00:00Z",
                        "updated_at": "2025-03-15T12:00:00Z",
                        **_PRESCRIBER_EXAMPLE["addresses"][0],
                    }
                ],
                "qualifications": [
                    {
                        "id": "0227d1e5-ba9a-42b5-8fe2-38882aa6570a",
                        "created_at": "2025-03-15T12:00:00Z",
                        "updated_at": "2025-03-15T12:00:00Z",
                        **_PRESCRIBER_EXAMPLE["qualifications"][0],
                        "is_expired": True,
                        "replaced_at": None,
                        "replaced_by_id": None,
                    }
                ],
            }
        },
    )

    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    first_name: str
    middle_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    date_of_birth: date | None
    gender: str | None
    npi: str
    dea: str | None
    spi: str | None
    driver_license_number: str | None
    driver_license_state: str | None
    is_active: bool
    credential_npi: str | None
    addresses: list[PrescriberAddress]
    credentials: list[Credential]
    restrictions: list[RestrictionRef]
    qualifications: list[Qualification]
