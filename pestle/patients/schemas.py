"""The wire shapes of the Patients area (blend-api/patients-prescribers.md §2 to §3)."""

import re
import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    model_validator,
)

from pestle import models
from pestle.kit.time import RestDatetime, utcnow
from pestle.kit.validators import Phone, Ssn, UsState
from pestle.kit.wire import Name, RequiredText, UsAddress, lower_stripped

ADULT_AGE = 18
OLDEST_AGE = 130
_LANGUAGE = re.compile(r"[a-z]{2}")


class GuardianRelationship(StrEnum):
    PARENT = "parent"
    LEGAL_GUARDIAN = "legal_guardian"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    SPOUSE = "spouse"
    CAREGIVER = "caregiver"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()


def age_on(date_of_birth: date, day: date) -> int:
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


def is_minor(date_of_birth: date) -> bool:
    return age_on(date_of_birth, utcnow().date()) < ADULT_AGE


def _past_birth_date(value: date) -> date:
    today = utcnow().date()
    if value > today:
        raise ValueError("a date of birth cannot be in the future")
    if age_on(value, today) > OLDEST_AGE:
        raise ValueError(f"a date of birth more than {OLDEST_AGE} years ago is not plausible")
    return value


def _language(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise ValueError("primary_language is an ISO 639-1 code: two lower-case letters")
    return value


BirthDate = Annotated[date, AfterValidator(_past_birth_date)]
Gender = Annotated[Literal["male", "female"], BeforeValidator(lower_stripped)]
Language = Annotated[str, BeforeValidator(lower_stripped), AfterValidator(_language)]
Text200 = RequiredText
Relationship = Annotated[GuardianRelationship, BeforeValidator(lower_stripped)]


Address = UsAddress


class RiskFactorsText(BaseModel):
    """Free text, split on comma, semicolon and slash, each piece matched to the vocabulary."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "allergies": "peanuts, tree nuts, shellfish",
                "conditions": "asthma, hypertension",
                "medications": "albuterol, levothyroxine",
            }
        }
    )

    allergies: Annotated[str, Field(max_length=5000)] | None = None
    conditions: Annotated[str, Field(max_length=5000)] | None = None
    medications: Annotated[str, Field(max_length=5000)] | None = None


_PATIENT_EXAMPLE: dict[str, Any] = {
    "first_name": "Willard",
    "middle_name": "Moises",
    "last_name": "Donnelly",
    "gender": "male",
    "email": "Harmon43@gmail.com",
    "phone": "6417383445",
    "date_of_birth": "1990-01-01",
    "driver_license_number": "B49188319",
    "driver_license_state": "CA",
    "primary_language": "en",
    "height_inches": 72,
    "weight_pounds": 180,
    "external_id": "1234567890",
    "is_smoker": False,
    "is_diabetic": False,
    "is_pregnant": False,
    "receive_sms": True,
    "receive_email": True,
    "address": {
        "address_1": "140 Lindgren Streets",
        "address_2": "Apt 227",
        "city": "North Consueloburgh",
        "state": "CA",
        "country": "US",
        "zip_code": "02108",
    },
}


class PatientFields(BaseModel):
    """Every writable field; all optional here, so that updates can send any subset."""

    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    middle_name: Annotated[str, Field(max_length=100)] | None = None
    last_name: Name | None = None
    gender: Gender | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    date_of_birth: BirthDate | None = None
    driver_license_number: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    driver_license_state: UsState | None = None
    ssn: Ssn | None = Field(None, description="9 digits; stored encrypted, returned masked.")
    primary_language: Language | None = None
    guardian_name: Text200 | None = None
    guardian_phone: Phone | None = None
    guardian_email: EmailStr | None = None
    guardian_relationship: Relationship | None = None
    height_inches: Annotated[float, Field(gt=0, le=108)] | None = None
    weight_pounds: Annotated[float, Field(gt=0, le=1500)] | None = None
    external_id: Text200 | None = None
    is_smoker: bool | None = None
    is_diabetic: bool | None = None
    is_pregnant: bool | None = None
    receive_sms: bool | None = None
    receive_email: bool | None = None
    address: Address | None = None
    risk_factors: RiskFactorsText | None = Field(
        None, description="Write-only free text, parsed into risk factors; never echoed."
    )


class PatientCreate(PatientFields):
    model_config = ConfigDict(json_schema_extra={"example": _PATIENT_EXAMPLE})

    first_name: Name
    last_name: Name
    email: EmailStr
    phone: Phone
    date_of_birth: BirthDate
    address: Address


class PatientUpdate(PatientFields):
    """Only the fields sent change; ``null`` clears an optional field."""

    model_config = ConfigDict(json_schema_extra={"example": {"email": "john.doe@example.com"}})


class PatientById(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID


class PatientByExternalId(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: RequiredText


# How other areas name a patient: an existing one by id or external_id, or a new one.
PatientRef = PatientById | PatientByExternalId | PatientCreate


# Fields a patient must always have: an update may change them but not clear them.
REQUIRED_FIELDS = ("first_name", "last_name", "email", "phone", "date_of_birth", "address")


class Patient(BaseModel):
    """Blend's Patient object; ``ssn`` shows only its last four digits."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0227d1e5-ba9a-42b5-8fe2-38882aa65708",
                "created_at": "2025-03-15T12:00:00Z",
                "updated_at": "2025-03-15T12:00:00Z",
                **_PATIENT_EXAMPLE,
                "ssn": "*****6789",
                "guardian_name": None,
                "guardian_phone": None,
                "guardian_email": None,
                "guardian_relationship": None,
                "is_minor": False,
            }
        }
    )

    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    first_name: str
    middle_name: str | None
    last_name: str
    gender: str | None
    email: str | None
    phone: str | None
    date_of_birth: date
    driver_license_number: str | None
    driver_license_state: str | None
    ssn: str | None
    primary_language: str | None
    guardian_name: str | None
    guardian_phone: str | None
    guardian_email: str | None
    guardian_relationship: str | None
    height_inches: float | None
    weight_pounds: float | None
    external_id: str | None
    is_smoker: bool
    is_diabetic: bool
    is_pregnant: bool
    receive_sms: bool
    receive_email: bool
    address: Address | None
    is_minor: bool

    @classmethod
    def of(cls, patient: models.Patient) -> "Patient":
        return cls.model_validate(cls.fields_of(patient))

    @staticmethod
    def fields_of(patient: models.Patient) -> dict[str, Any]:
        """The patient's fields as this object names them, not yet validated (search adds its
        rank to them and validates once)."""
        fields = {name: getattr(patient, name) for name in _COPIED_FIELDS}
        fields["ssn"] = f"*****{patient.ssn_last4}" if patient.ssn_last4 else None
        fields["is_minor"] = is_minor(patient.date_of_birth)
        fields["address"] = (
            {field: getattr(patient, field) for field in Address.model_fields}
            if patient.address_1
            else None
        )
        return fields


# The fields copied as they are from the row, found once rather than per patient.
_COPIED_FIELDS = tuple(name for name in Patient.model_fields if hasattr(models.Patient, name))


class RelationshipType(BaseModel):
    value: str
    label: str


RiskFactorType = Literal["allergy", "condition", "medication"]
MatchSource = Literal["autocomplete", "text", "manual"]
MEDICATION_DETAIL_FIELDS = (
    "brand_name",
    "clinical_product_rxcui",
    "ingredient_name",
    "ingredient_rxcui",
    "name",
    "normalization_key",
    "product_rxcui",
    "scdf_name",
    "scdf_rxcui",
    "scdg_name",
    "scdg_rxcui",
)
Text500 = Annotated[str, Field(max_length=500)]
Rxcui = Annotated[str, Field(max_length=16)]


class MedicationDetail(BaseModel):
    brand_name: str | None = None
    clinical_product_rxcui: str | None = None
    ingredient_name: str | None = None
    ingredient_rxcui: str | None = None
    name: str | None = None
    normalization_key: str | None = None
    product_rxcui: str | None = None
    scdf_name: str | None = None
    scdf_rxcui: str | None = None
    scdg_name: str | None = None
    scdg_rxcui: str | None = None


class RiskFactorCreate(BaseModel):
    """One discrete risk factor: mapping fields plus the medication detail, flattened."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "medication",
                "confidence": 0.95,
                "is_active": True,
                "match_source": "autocomplete",
                "match_type": "product",
                "matched": True,
                "matched_via_synonym": False,
                "text_chunk": "liothyronine",
                "name": "liothyronine 5 MCG Oral Tablet",
                "ingredient_name": "liothyronine",
                "ingredient_rxcui": "10814",
            }
        }
    )

    type: Annotated[RiskFactorType, BeforeValidator(lower_stripped)]
    risk_factor_id: uuid.UUID | None = Field(
        None, description="A concept of the vocabulary; its name and detail fill the gaps."
    )
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None
    is_active: bool = True
    match_source: MatchSource = "manual"
    match_type: Annotated[str, Field(max_length=16)] | None = None
    matched: bool | None = None
    matched_via_synonym: bool = False
    patient_id: uuid.UUID | None = Field(None, description="Ignored: the path decides.")
    risk_factor_text_id: uuid.UUID | None = None
    text_chunk: Text500 | None = None
    brand_name: Text500 | None = None
    clinical_product_rxcui: Rxcui | None = None
    ingredient_name: Text500 | None = None
    ingredient_rxcui: Rxcui | None = None
    name: Text500 | None = None
    normalization_key: Annotated[str, Field(max_length=100)] | None = None
    product_rxcui: Rxcui | None = None
    scdf_name: Text500 | None = None
    scdf_rxcui: Rxcui | None = None
    scdg_name: Text500 | None = None
    scdg_rxcui: Rxcui | None = None

    @model_validator(mode="after")
    def _names_something(self) -> Self:
        if not (self.name or self.text_chunk or self.risk_factor_id or self.ingredient_name):
            raise ValueError(
                "a risk factor needs a name, text_chunk, ingredient_name or risk_factor_id"
            )
        return self


class RiskFactorMapping(BaseModel):
    """One patient's risk factor and what it was matched to (§2.6)."""

    id: uuid.UUID
    created_at: RestDatetime
    updated_at: RestDatetime
    type: str
    risk_factor_id: uuid.UUID | None
    confidence: float | None
    is_active: bool
    match_source: str
    match_type: str | None
    matched: bool
    matched_via_synonym: bool
    patient_id: uuid.UUID
    risk_factor_text_id: uuid.UUID | None
    text_chunk: str | None
    name: str | None
    original_name: str | None
    confirmed_at: RestDatetime | None
    medication_detail: MedicationDetail | None

    @classmethod
    def of(cls, mapping: models.RiskFactorMapping) -> "RiskFactorMapping":
        fields = {
            name: getattr(mapping, name) for name in cls.model_fields if hasattr(mapping, name)
        }
        fields["medication_detail"] = (
            MedicationDetail(**{name: getattr(mapping, name) for name in MEDICATION_DETAIL_FIELDS})
            if mapping.type == "medication"
            else None
        )
        return cls.model_validate(fields)


class RiskFactorSummary(BaseModel):
    """An allergy or condition, as the grouped list shows it (§2.7)."""

    id: uuid.UUID
    name: str | None
    type: str
    matched: bool
    original_name: str | None
    risk_factor_id: uuid.UUID | None
    confidence: float | None
    match_source: str

    @classmethod
    def of(cls, mapping: models.RiskFactorMapping) -> "RiskFactorSummary":
        return cls.model_validate(mapping, from_attributes=True)


class PatientRiskFactors(BaseModel):
    allergies: list[RiskFactorSummary]
    conditions: list[RiskFactorSummary]
    medications: list[RiskFactorMapping]

    @classmethod
    def of(cls, mappings: list[models.RiskFactorMapping]) -> "PatientRiskFactors":
        return cls(
            allergies=[RiskFactorSummary.of(m) for m in mappings if m.type == "allergy"],
            conditions=[RiskFactorSummary.of(m) for m in mappings if m.type == "condition"],
            medications=[RiskFactorMapping.of(m) for m in mappings if m.type == "medication"],
        )


class RiskFactorConfirm(BaseModel):
    """Confirm the match as it stands, or against another concept of the vocabulary."""

    risk_factor_id: uuid.UUID | None = None
