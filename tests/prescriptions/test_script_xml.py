import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from pestle.exceptions import BadRequest, PayloadTooLarge
from pestle.prescriptions.script_xml import (
    MAX_SCRIPT_BYTES,
    SCRIPT_NAMESPACE,
    InvalidScriptElement,
    MalformedScript,
    MissingScriptElement,
    NotAScriptMessage,
    ScriptAddress,
    ScriptMedication,
    ScriptPatient,
    ScriptPrescriber,
    ScriptTooLarge,
    parse_script,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
NEWRX = (FIXTURES / "newrx_2017071.xml").read_bytes()
CANCELRX = (FIXTURES / "cancelrx_2017071.xml").read_bytes()
CONTROLLED = (FIXTURES / "newrx_controlled.xml").read_bytes()

WILLARD = ScriptPatient(
    first_name="Willard",
    middle_name="James",
    last_name="Donnelly",
    date_of_birth=date(1990, 1, 1),
    gender="M",
    phone="4155550142",
    address=ScriptAddress(
        address_1="1450 Mission Street",
        address_2="Apt 12",
        city="San Francisco",
        state="CA",
        zip_code="94103",
        country_code="US",
    ),
)
DELGADO = ScriptPrescriber(
    npi="1234567893",
    dea="FD1234563",
    first_name="Maya",
    last_name="Delgado",
    phone="4155550199",
    address=ScriptAddress(
        address_1="500 Howard Street",
        address_2=None,
        city="San Francisco",
        state="CA",
        zip_code="94105",
        country_code="US",
    ),
)
MUPIROCIN = ScriptMedication(
    drug_description="Mupirocin 2% Topical Cream (compounded)",
    product_code="HC-MUPI2-30",
    product_code_qualifier="ZZ",
    strength_value="2",
    strength_form_code="C28944",
    strength_unit_code="C25613",
    dea_schedule_code=None,
    quantity=Decimal(30),
    quantity_code_list_qualifier="38",
    quantity_unit_code="C48155",
    days_supply=30,
    refills=2,
    substitutions="0",
    sig="Apply a thin layer to the affected area three times daily for 10 days.",
    written_date=date(2025, 4, 25),
    expiration_date=None,
    note="Please dispense in a 30 g tube.",
)


def without_namespace(document: bytes) -> bytes:
    return document.replace(f' xmlns="{SCRIPT_NAMESPACE}"'.encode(), b"")


def remove_element(document: bytes, element: str) -> bytes:
    """The document without the first ``<element>...</element>``, however deep it is."""
    start = document.index(f"<{element}>".encode())
    closing = f"</{element}>".encode()
    end = document.index(closing, start) + len(closing)
    return document[:start] + document[end:]


def test_a_newrx_is_read_to_exact_values() -> None:
    message = parse_script(NEWRX)

    assert message.kind == "NewRx"
    assert message.message_id == "f2a1c9d04e3b4b6a9d1e2c3b4a596870"
    assert message.sent_at == datetime(2025, 4, 25, 14, 32, 7, 500000, tzinfo=UTC)
    assert message.to == "7701630"
    assert message.sender == "8563912004001"
    assert message.relates_to_message_id is None
    assert message.prescriber_order_number == "NW-ORD-2025-000417"
    assert message.patient == WILLARD
    assert message.prescriber == DELGADO
    assert message.medication == MUPIROCIN
    assert message.medication.substitution_allowed is True
    assert message.medication.dea_schedule is None
    assert message.medication.strength == "2"
    assert message.raw == NEWRX


def test_a_cancelrx_names_the_order_it_cancels() -> None:
    message = parse_script(CANCELRX)

    assert message.kind == "CancelRx"
    assert message.message_id == "0c7e5b2a91d84f3e8a6b5c4d3e2f1a09"
    assert message.relates_to_message_id == "f2a1c9d04e3b4b6a9d1e2c3b4a596870"
    assert message.sent_at == datetime(2025, 4, 26, 9, 5, 41, tzinfo=UTC)
    assert message.prescriber_order_number == "NW-ORD-2025-000417"
    assert message.patient == WILLARD
    assert message.prescriber == DELGADO
    assert message.medication.drug_description == MUPIROCIN.drug_description
    assert message.medication.note == "Cancel: switching the patient to an oral antibiotic."
    assert message.raw == CANCELRX


def test_a_controlled_newrx_carries_its_schedule_and_expiry() -> None:
    message = parse_script(CONTROLLED)
    medication = message.medication

    assert message.prescriber_order_number == "NW-ORD-2025-000588"
    assert message.sent_at == datetime(2025, 5, 2, 16, 10, tzinfo=timezone(timedelta(hours=-7)))
    assert medication.drug_description == (
        "Testosterone Cypionate 200 mg/mL Intramuscular Solution"
    )
    assert medication.product_code == "00009034702"
    assert medication.product_code_qualifier == "ND"
    assert medication.dea_schedule_code == "C48676"
    assert medication.dea_schedule == "CIII"
    assert medication.quantity == Decimal(10)
    assert medication.quantity_unit_code == "C28254"
    assert medication.days_supply == 70
    assert medication.refills == 1
    assert medication.substitutions == "1"
    assert medication.substitution_allowed is False
    # The written date came as a DateTime, the expiry as an OtherMedicationDate.
    assert medication.written_date == date(2025, 5, 2)
    assert medication.expiration_date == date(2025, 10, 31)
    assert medication.note is None


@pytest.mark.parametrize("document", [NEWRX, CANCELRX, CONTROLLED])
def test_a_document_without_namespace_reads_the_same(document: bytes) -> None:
    plain = without_namespace(document)
    assert plain != document

    with_ns = parse_script(document)
    without = parse_script(plain)

    assert without.raw == plain
    assert (without.kind, without.patient, without.prescriber, without.medication) == (
        with_ns.kind,
        with_ns.patient,
        with_ns.prescriber,
        with_ns.medication,
    )


def test_a_prefixed_namespace_reads_the_same() -> None:
    text = NEWRX.decode()
    prefixed = (
        text.replace(f'xmlns="{SCRIPT_NAMESPACE}"', f'xmlns:ns="{SCRIPT_NAMESPACE}"')
        .replace("<", "<ns:")
        .replace("<ns:/", "</ns:")
        .replace("<ns:?xml", "<?xml")
    )

    message = parse_script(prefixed.encode())

    assert message.medication == MUPIROCIN
    assert message.patient == WILLARD


def test_refills_and_dates_are_read_leniently() -> None:
    document = NEWRX.replace(
        b"<NumberOfRefills>2</NumberOfRefills>",
        b"<Refills><Qualifier>R</Qualifier><Value>3</Value></Refills>",
    ).replace(
        b"<Date>1990-01-01</Date>",
        b"<DateTime>1990-01-01T00:00:00</DateTime>",
    )

    message = parse_script(document)

    assert message.medication.refills == 3
    assert message.patient.date_of_birth == date(1990, 1, 1)


def test_absent_refills_mean_none() -> None:
    document = remove_element(NEWRX, "NumberOfRefills")

    assert parse_script(document).medication.refills == 0


@pytest.mark.parametrize(
    ("element", "path"),
    [
        ("LastName", "Message/Body/NewRx/Patient/HumanPatient/Name/LastName"),
        ("DateOfBirth", "Message/Body/NewRx/Patient/HumanPatient/DateOfBirth"),
        ("Patient", "Message/Body/NewRx/Patient/HumanPatient"),
        ("HumanPatient", "Message/Body/NewRx/Patient/HumanPatient"),
        ("DrugDescription", "Message/Body/NewRx/MedicationPrescribed/DrugDescription"),
        ("MedicationPrescribed", "Message/Body/NewRx/MedicationPrescribed"),
        ("Quantity", "Message/Body/NewRx/MedicationPrescribed/Quantity/Value"),
        (
            "QuantityUnitOfMeasure",
            "Message/Body/NewRx/MedicationPrescribed/Quantity/QuantityUnitOfMeasure/Code",
        ),
        ("WrittenDate", "Message/Body/NewRx/MedicationPrescribed/WrittenDate"),
        ("Prescriber", "Message/Body/NewRx/Prescriber"),
        ("NonVeterinarian", "Message/Body/NewRx/Prescriber/NonVeterinarian"),
        ("Identification", "Message/Body/NewRx/Prescriber/NonVeterinarian/Identification/NPI"),
        ("MessageID", "Message/Header/MessageID"),
        ("SentTime", "Message/Header/SentTime"),
        ("Header", "Message/Header"),
    ],
)
def test_a_missing_element_is_named_by_its_path(element: str, path: str) -> None:
    # The prescriber's LastName comes after the patient's, so removing the first one is the
    # patient's; the prescriber's NPI is the only one inside an Identification block we read.
    document = NEWRX
    if element == "Identification":
        start = document.index(b"<Prescriber>")
        document = document[:start] + remove_element(document[start:], element)
    else:
        document = remove_element(document, element)

    with pytest.raises(MissingScriptElement) as caught:
        parse_script(document)

    assert caught.value.path == path
    assert caught.value.message == f"The SCRIPT message lacks the required element {path}."
    assert caught.value.status_code == 400


def test_the_prescribers_last_name_is_required() -> None:
    start = NEWRX.index(b"<Prescriber>")
    document = NEWRX[:start] + remove_element(NEWRX[start:], "LastName")

    with pytest.raises(MissingScriptElement) as caught:
        parse_script(document)

    assert caught.value.path == "Message/Body/NewRx/Prescriber/NonVeterinarian/Name/LastName"


def test_an_empty_required_element_counts_as_missing() -> None:
    document = NEWRX.replace(b"<NPI>1234567893</NPI>", b"<NPI>  </NPI>")

    with pytest.raises(MissingScriptElement) as caught:
        parse_script(document)

    assert caught.value.path == "Message/Body/NewRx/Prescriber/NonVeterinarian/Identification/NPI"


def test_a_cancelrx_needs_the_prescriber_order_number() -> None:
    document = remove_element(CANCELRX, "PrescriberOrderNumber")

    with pytest.raises(MissingScriptElement) as caught:
        parse_script(document)

    assert caught.value.path == "Message/Header/PrescriberOrderNumber"


def test_a_newrx_may_omit_the_prescriber_order_number() -> None:
    document = remove_element(NEWRX, "PrescriberOrderNumber")

    assert parse_script(document).prescriber_order_number is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            b"<Value>30</Value>",
            b"<Value>thirty</Value>",
            "The SCRIPT element Message/Body/NewRx/MedicationPrescribed/Quantity/Value holds "
            "'thirty', which is not a number.",
        ),
        (
            b"<Value>30</Value>",
            b"<Value>0</Value>",
            "The SCRIPT element Message/Body/NewRx/MedicationPrescribed/Quantity/Value holds "
            "'0', which is not a positive number.",
        ),
        (
            b"<Date>1990-01-01</Date>",
            b"<Date>01/01/1990</Date>",
            "The SCRIPT element Message/Body/NewRx/Patient/HumanPatient/DateOfBirth/Date holds "
            "'01/01/1990', which is not an ISO 8601 date.",
        ),
        (
            b"<NumberOfRefills>2</NumberOfRefills>",
            b"<NumberOfRefills>-1</NumberOfRefills>",
            "The SCRIPT element Message/Body/NewRx/MedicationPrescribed/NumberOfRefills holds "
            "'-1', which is not zero or more.",
        ),
        (
            b"<SentTime>2025-04-25T14:32:07.5Z</SentTime>",
            b"<SentTime>yesterday</SentTime>",
            "The SCRIPT element Message/Header/SentTime holds 'yesterday', which is not an "
            "ISO 8601 date-time.",
        ),
    ],
)
def test_an_unreadable_value_is_named(old: bytes, new: bytes, message: str) -> None:
    assert old in NEWRX

    with pytest.raises(InvalidScriptElement) as caught:
        parse_script(NEWRX.replace(old, new, 1))

    assert caught.value.message == message
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            b"<Order><Id>1</Id></Order>",
            "The document is not a SCRIPT Message: its root is Order.",
        ),
        (
            b'<Message xmlns="urn:example:other"><Header/><Body/></Message>',
            "The document is not a SCRIPT Message: its root is {urn:example:other}Message.",
        ),
        (
            b"<Message><Header/><Body/></Message>",
            "The SCRIPT Message/Body is empty; expected NewRx or CancelRx.",
        ),
        (
            NEWRX.replace(b"NewRx>", b"RxRenewalRequest>"),
            "The SCRIPT Message/Body holds RxRenewalRequest; only NewRx and CancelRx are accepted.",
        ),
    ],
)
def test_a_document_that_is_not_a_newrx_or_cancelrx_is_refused(
    document: bytes, message: str
) -> None:
    with pytest.raises(NotAScriptMessage) as caught:
        parse_script(document)

    assert caught.value.message == message
    assert caught.value.status_code == 400


@pytest.mark.parametrize("document", [b"", b"not xml", b"<Message><Header></Message>"])
def test_malformed_xml_is_refused(document: bytes) -> None:
    with pytest.raises(MalformedScript) as caught:
        parse_script(document)

    assert caught.value.message.startswith("The body is not well-formed XML: ")
    assert isinstance(caught.value, BadRequest)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Message><Header><MessageID>&lol9;</MessageID></Header></Message>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Message><Header><MessageID>&xxe;</MessageID></Header></Message>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Message SYSTEM "http://127.0.0.1:9/script.dtd">
<Message><Header/><Body/></Message>
"""
# A DTD with nothing dangerous in it is refused all the same: SCRIPT never needs one.
PLAIN_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Message [<!ELEMENT Message ANY>]>
<Message><Header/><Body/></Message>
"""


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PLAIN_DTD],
    ids=["billion-laughs", "external-entity", "external-dtd", "plain-dtd"],
)
def test_hostile_xml_is_refused_quickly(document: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(MalformedScript) as caught:
        parse_script(document)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    assert caught.value.message == "XML with a DTD or entities is refused."
    assert caught.value.status_code == 400
    assert "root:" not in caught.value.message


def test_a_hostile_dtd_inside_a_real_newrx_is_refused() -> None:
    prologue = b'<?xml version="1.0" encoding="UTF-8"?>'
    document = NEWRX.replace(
        prologue,
        prologue + b'\n<!DOCTYPE Message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    ).replace(b"<Note>Please dispense in a 30 g tube.</Note>", b"<Note>&xxe;</Note>")

    with pytest.raises(MalformedScript):
        parse_script(document)


def test_a_five_megabyte_document_is_refused_before_parsing() -> None:
    padding = b"<!-- " + b"x" * (5 * 1024 * 1024) + b" -->"
    document = NEWRX.replace(b"<Body>", b"<Body>" + padding)
    assert len(document) > 5 * 1024 * 1024

    started = time.perf_counter()
    with pytest.raises(ScriptTooLarge) as caught:
        parse_script(document)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    assert isinstance(caught.value, PayloadTooLarge)
    assert caught.value.status_code == 413
    assert caught.value.message == (
        f"The SCRIPT document is {len(document)} bytes; at most {MAX_SCRIPT_BYTES} bytes are "
        "accepted."
    )


def test_a_document_at_the_limit_is_read() -> None:
    comment = b"<!--  -->"
    filler = MAX_SCRIPT_BYTES - len(NEWRX) - len(comment)
    document = NEWRX.replace(b"<Body>", b"<Body><!-- " + b"x" * filler + b" -->")
    assert len(document) == MAX_SCRIPT_BYTES

    assert parse_script(document).medication == MUPIROCIN
