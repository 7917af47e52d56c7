"""Reading NCPDP SCRIPT 2017071 NewRx and CancelRx documents into plain dataclasses.

Parsing goes through defusedxml with DTDs, entities and external references all forbidden: a
SCRIPT message never needs them, so a document that has one is refused whole rather than
parsed with the dangerous part skipped. Namespaced (``http://www.ncpdp.org/schema/SCRIPT``)
and un-namespaced documents read the same. Element paths in errors are SCRIPT's own, so the
sender can find what is missing in its implementation guide.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, TypeVar, cast
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from pestle.exceptions import BadRequest, PayloadTooLarge

SCRIPT_NAMESPACE = "http://www.ncpdp.org/schema/SCRIPT"
MAX_SCRIPT_BYTES = 1024 * 1024

ScriptKind = Literal["NewRx", "CancelRx"]
SCRIPT_KINDS: tuple[ScriptKind, ...] = ("NewRx", "CancelRx")

# NCPDP DEA schedule codes (NCI thesaurus) -> the schedule as pharmacists write it.
DEA_SCHEDULES = {
    "C48672": "CI",
    "C48675": "CII",
    "C48676": "CIII",
    "C48677": "CIV",
    "C48679": "CV",
}
# Substitutions code 0: the prescriber allows a substitute; every other code restricts it.
SUBSTITUTION_ALLOWED = "0"

_T = TypeVar("_T")


class MalformedScript(BadRequest):
    """The body is not a well-formed, safe XML document."""


class ScriptTooLarge(PayloadTooLarge):
    def __init__(self, size: int) -> None:
        super().__init__(
            f"The SCRIPT document is {size} bytes; at most {MAX_SCRIPT_BYTES} bytes are accepted."
        )


class NotAScriptMessage(BadRequest):
    """Well-formed XML that is not a SCRIPT NewRx or CancelRx message."""


class MissingScriptElement(BadRequest):
    def __init__(self, path: str) -> None:
        super().__init__(f"The SCRIPT message lacks the required element {path}.")
        self.path = path


class InvalidScriptElement(BadRequest):
    def __init__(self, path: str, value: str, expected: str) -> None:
        super().__init__(f"The SCRIPT element {path} holds {value!r}, which is not {expected}.")
        self.path = path


@dataclass(frozen=True, slots=True)
class ScriptAddress:
    address_1: str | None
    address_2: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    country_code: str | None


@dataclass(frozen=True, slots=True)
class ScriptPatient:
    first_name: str | None
    middle_name: str | None
    last_name: str
    date_of_birth: date
    gender: str | None
    phone: str | None
    address: ScriptAddress | None


@dataclass(frozen=True, slots=True)
class ScriptPrescriber:
    npi: str
    dea: str | None
    first_name: str | None
    last_name: str
    phone: str | None
    address: ScriptAddress | None


@dataclass(frozen=True, slots=True)
class ScriptMedication:
    drug_description: str
    product_code: str | None
    product_code_qualifier: str | None
    strength_value: str | None
    strength_form_code: str | None
    strength_unit_code: str | None
    dea_schedule_code: str | None
    quantity: Decimal
    quantity_code_list_qualifier: str | None
    quantity_unit_code: str
    days_supply: int | None
    refills: int
    substitutions: str | None
    sig: str | None
    written_date: date
    expiration_date: date | None
    note: str | None

    @property
    def substitution_allowed(self) -> bool:
        return self.substitutions in (None, SUBSTITUTION_ALLOWED)

    @property
    def dea_schedule(self) -> str | None:
        """``CII`` .. ``CV`` when the eRx carries a DEA schedule code that we know."""
        return DEA_SCHEDULES.get(self.dea_schedule_code or "")

    @property
    def strength(self) -> str | None:
        return self.strength_value


@dataclass(frozen=True, slots=True)
class ScriptMessage:
    kind: ScriptKind
    message_id: str
    sent_at: datetime
    to: str | None
    sender: str | None
    relates_to_message_id: str | None
    prescriber_order_number: str | None
    patient: ScriptPatient
    prescriber: ScriptPrescriber
    medication: ScriptMedication
    raw: bytes


def _local(tag: object) -> str:
    # Comments and processing instructions carry a function as their tag.
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str | None:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else None


class _Node:
    """An element with its SCRIPT path, looked up by local names whatever the namespace."""

    def __init__(self, element: Element, path: str) -> None:
        self.element = element
        self.path = path

    def child(self, name: str) -> "_Node | None":
        for candidate in self.element:
            if _local(candidate.tag) == name:
                return _Node(candidate, f"{self.path}/{name}")
        return None

    def find(self, path: str) -> "_Node | None":
        node: _Node | None = self
        for name in path.split("/"):
            if node is None:
                return None
            node = node.child(name)
        return node

    def require(self, path: str) -> "_Node":
        node = self.find(path)
        if node is None:
            raise MissingScriptElement(f"{self.path}/{path}")
        return node

    def text(self, path: str) -> str | None:
        node = self.find(path)
        if node is None or node.element.text is None:
            return None
        return node.element.text.strip() or None

    def required_text(self, path: str) -> str:
        value = self.text(path)
        if value is None:
            raise MissingScriptElement(f"{self.path}/{path}")
        return value

    def first_child_name(self) -> str | None:
        for candidate in self.element:
            name = _local(candidate.tag)
            if name:
                return name
        return None


def _convert(path: str, value: str, convert: Callable[[str], _T], expected: str) -> _T:
    try:
        return convert(value)
    except (ValueError, InvalidOperation) as exc:
        raise InvalidScriptElement(path, value, expected) from exc


def _date_in(node: _Node, path: str, *, required: bool) -> date | None:
    """A SCRIPT date element, whose child is ``Date`` or, from some senders, ``DateTime``."""
    holder = node.find(path)
    if holder is None:
        if required:
            raise MissingScriptElement(f"{node.path}/{path}")
        return None
    for child_name, parse in (
        ("Date", date.fromisoformat),
        ("DateTime", lambda value: datetime.fromisoformat(value).date()),
    ):
        value = holder.text(child_name)
        if value is not None:
            return _convert(f"{holder.path}/{child_name}", value, parse, "an ISO 8601 date")
    if required:
        raise MissingScriptElement(f"{holder.path}/Date")
    return None


def _address(node: _Node | None) -> ScriptAddress | None:
    if node is None:
        return None
    return ScriptAddress(
        address_1=node.text("AddressLine1"),
        address_2=node.text("AddressLine2"),
        city=node.text("City"),
        state=node.text("StateProvince"),
        zip_code=node.text("PostalCode"),
        country_code=node.text("CountryCode"),
    )


def _patient(body: _Node) -> ScriptPatient:
    human = body.require("Patient/HumanPatient")
    return ScriptPatient(
        first_name=human.text("Name/FirstName"),
        middle_name=human.text("Name/MiddleName"),
        last_name=human.required_text("Name/LastName"),
        date_of_birth=cast(date, _date_in(human, "DateOfBirth", required=True)),
        gender=human.text("Gender"),
        phone=human.text("CommunicationNumbers/PrimaryTelephone/Number"),
        address=_address(human.find("Address")),
    )


def _prescriber(body: _Node) -> ScriptPrescriber:
    prescriber = body.require("Prescriber")
    # 2017071 wraps the prescriber in NonVeterinarian or Veterinarian; take whichever is sent.
    person = prescriber.child("NonVeterinarian") or prescriber.child("Veterinarian")
    if person is None:
        raise MissingScriptElement(f"{prescriber.path}/NonVeterinarian")
    return ScriptPrescriber(
        npi=person.required_text("Identification/NPI"),
        dea=person.text("Identification/DEANumber"),
        first_name=person.text("Name/FirstName"),
        last_name=person.required_text("Name/LastName"),
        phone=person.text("CommunicationNumbers/PrimaryTelephone/Number"),
        address=_address(person.find("Address")),
    )


def _refills(medication: _Node) -> int:
    # 2017071 sends NumberOfRefills; 10.6-era senders send Refills with a Value or Quantity.
    for path in ("NumberOfRefills", "Refills/Value", "Refills/Quantity", "Refills"):
        value = medication.text(path)
        if value is not None:
            count = _convert(f"{medication.path}/{path}", value, int, "a whole number")
            if count < 0:
                raise InvalidScriptElement(f"{medication.path}/{path}", value, "zero or more")
            return count
    return 0


def _expiration_date(medication: _Node) -> date | None:
    direct = _date_in(medication, "ExpirationDate", required=False)
    if direct is not None:
        return direct
    for candidate in medication.element:
        if _local(candidate.tag) != "OtherMedicationDate":
            continue
        other = _Node(candidate, f"{medication.path}/OtherMedicationDate")
        if other.text("OtherMedicationDateQualifier") == "ExpirationDate":
            return _date_in(other, "OtherMedicationDate", required=False)
    return None


def _medication(body: _Node) -> ScriptMedication:
    medication = body.require("MedicationPrescribed")
    quantity_path = "Quantity/Value"
    quantity = _convert(
        f"{medication.path}/{quantity_path}",
        medication.required_text(quantity_path),
        Decimal,
        "a number",
    )
    if not quantity.is_finite() or quantity <= 0:
        raise InvalidScriptElement(
            f"{medication.path}/{quantity_path}", str(quantity), "a positive number"
        )
    days_supply_text = medication.text("DaysSupply")
    days_supply = (
        None
        if days_supply_text is None
        else _convert(f"{medication.path}/DaysSupply", days_supply_text, int, "a whole number")
    )
    return ScriptMedication(
        drug_description=medication.required_text("DrugDescription"),
        product_code=medication.text("DrugCoded/ProductCode/Code"),
        product_code_qualifier=medication.text("DrugCoded/ProductCode/Qualifier"),
        strength_value=medication.text("DrugCoded/Strength/StrengthValue"),
        strength_form_code=medication.text("DrugCoded/Strength/StrengthForm/Code"),
        strength_unit_code=medication.text("DrugCoded/Strength/StrengthUnitOfMeasure/Code"),
        dea_schedule_code=medication.text("DrugCoded/DEASchedule/Code"),
        quantity=quantity,
        quantity_code_list_qualifier=medication.text("Quantity/CodeListQualifier"),
        quantity_unit_code=medication.required_text("Quantity/QuantityUnitOfMeasure/Code"),
        days_supply=days_supply,
        refills=_refills(medication),
        substitutions=medication.text("Substitutions"),
        sig=medication.text("Sig/SigText"),
        written_date=cast(date, _date_in(medication, "WrittenDate", required=True)),
        expiration_date=_expiration_date(medication),
        note=medication.text("Note"),
    )


def _parse_xml(document: bytes) -> Element:
    try:
        return fromstring(document, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise MalformedScript("XML with a DTD or entities is refused.") from exc
    except ParseError as exc:
        raise MalformedScript(f"The body is not well-formed XML: {exc}.") from exc


def parse_script(document: bytes) -> ScriptMessage:
    """Read a SCRIPT 2017071 NewRx or CancelRx; raise a 400 (or 413) naming what is wrong."""
    if len(document) > MAX_SCRIPT_BYTES:
        raise ScriptTooLarge(len(document))
    root = _parse_xml(document)
    root_name = _local(root.tag)
    namespace = _namespace(root.tag)
    if root_name != "Message" or namespace not in (None, SCRIPT_NAMESPACE):
        found = root.tag if namespace not in (None, SCRIPT_NAMESPACE) else root_name
        raise NotAScriptMessage(f"The document is not a SCRIPT Message: its root is {found}.")
    message = _Node(root, "Message")
    header = message.require("Header")
    body_holder = message.require("Body")
    kind = body_holder.first_child_name()
    if kind is None:
        raise NotAScriptMessage("The SCRIPT Message/Body is empty; expected NewRx or CancelRx.")
    if kind not in SCRIPT_KINDS:
        raise NotAScriptMessage(
            f"The SCRIPT Message/Body holds {kind}; only NewRx and CancelRx are accepted."
        )
    body = body_holder.require(kind)
    sent_at = _convert(
        f"{header.path}/SentTime",
        header.required_text("SentTime"),
        datetime.fromisoformat,
        "an ISO 8601 date-time",
    )
    order_number = header.text("PrescriberOrderNumber")
    if kind == "CancelRx" and order_number is None:
        raise MissingScriptElement(f"{header.path}/PrescriberOrderNumber")
    return ScriptMessage(
        kind=kind,
        message_id=header.required_text("MessageID"),
        sent_at=sent_at,
        to=header.text("To"),
        sender=header.text("From"),
        relates_to_message_id=header.text("RelatesToMessageID"),
        prescriber_order_number=order_number,
        patient=_patient(body),
        prescriber=_prescriber(body),
        medication=_medication(body),
        raw=document,
    )
