"""GS1 element strings as scanned from drug packages, read with biip.

A US drug package's DataMatrix carries (01) GTIN, (17) expiry, (10) lot and (21) serial (the
DSCSA product identifier). An NDC-based GTIN-14 is an indicator digit, the GS1 US prefix
``03``, the 10 NDC digits and a check digit.
"""

import re
from dataclasses import dataclass
from datetime import date

from biip import ParseError
from biip.gs1_messages import GS1Message

from pestle.exceptions import Unprocessable

GS = "\x1d"
_SYMBOLOGY_IDENTIFIER = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_NDC_PREFIX = "03"


class NotGs1(Unprocessable):
    def __init__(self, reason: str) -> None:
        super().__init__(f"barcode_value: not a GS1 element string: {reason}")


class InvalidGs1Element(Unprocessable):
    def __init__(self, ai: str, reason: str) -> None:
        super().__init__(f"barcode_value: ({ai}) {reason}")


@dataclass(frozen=True)
class Element:
    ai: str
    title: str
    value: str


@dataclass(frozen=True)
class Gs1Data:
    elements: list[Element]
    gtin: str | None
    expiration_date: date | None
    batch_number: str | None
    serial_number: str | None

    @property
    def ndc_digits(self) -> str | None:
        """The 10 NDC digits of an NDC-based GTIN, else None."""
        if self.gtin is None or self.gtin[1:3] != _NDC_PREFIX:
            return None
        return self.gtin[3:13]

    @property
    def upc(self) -> str | None:
        """The GTIN-12 (UPC-A) a GTIN-14 with two leading zeros carries."""
        if self.gtin is None or not self.gtin.startswith("00"):
            return None
        return self.gtin[2:]


def _normalized(scanned: str) -> str:
    # GS1's character set has no spaces or line breaks: what a scanner or a copy added goes.
    # (Not \s: Python counts GS, 0x1D, as whitespace.)
    text = re.sub(r"[ \t\r\n]+", "", scanned)
    text = text.replace("<GS>", GS)
    text = _SYMBOLOGY_IDENTIFIER.sub("", text)
    # A leading FNC1 marks a GS1 symbol; some scanners pass it on as GS.
    return text.lstrip(GS)


def parse(scanned: str) -> Gs1Data:
    """The elements of a scanned GS1 element string; raises NotGs1 or InvalidGs1Element."""
    text = _normalized(scanned)
    if not text:
        raise NotGs1("it is empty")
    try:
        message = GS1Message.parse_hri(text) if text.startswith("(") else GS1Message.parse(text)
    except ParseError as error:
        raise NotGs1(str(error)) from None
    gtin = expiry = batch = serial = None
    elements = []
    for element in message.element_strings:
        ai = element.ai.ai
        if element.gtin_error:
            raise InvalidGs1Element(ai, element.gtin_error)
        elements.append(Element(ai=ai, title=element.ai.data_title, value=element.value))
        if ai == "01":
            gtin = element.value
        elif ai == "17":
            expiry = element.date
        elif ai == "10":
            batch = element.value
        elif ai == "21":
            serial = element.value
    return Gs1Data(
        elements=elements,
        gtin=gtin,
        expiration_date=expiry,
        batch_number=batch,
        serial_number=serial,
    )
