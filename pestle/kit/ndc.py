"""Drug and trade-item identifiers: the FDA's NDC and GS1's GTIN, as pure functions and types.

An NDC is printed as 10 digits in three hyphenated segments, labeler-product-package, in one
of three layouts (4-4-2, 5-3-2, 5-4-1). Billing (HIPAA, NCPDP) uses an 11-digit 5-4-2 form in
which the short segment is padded with a leading zero. The 11-digit form alone does not always
say which segment was padded (``01234-0567-01``), so Pestle stores the segments as printed and
derives the 11-digit form from them.
"""

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

TEN_DIGIT_LAYOUTS: tuple[tuple[int, int, int], ...] = ((4, 4, 2), (5, 3, 2), (5, 4, 1))
ELEVEN_DIGIT_LAYOUT = (5, 4, 2)

NDC_RULE = (
    "an NDC is 10 digits in hyphenated segments 4-4-2, 5-3-2 or 5-4-1 "
    "(e.g. 1234-5678-90), or 11 digits as 5-4-2, with or without hyphens (e.g. 12345-6789-01)"
)
ELEVEN_DIGIT_RULE = (
    "an 11-digit NDC pads one segment of a 10-digit NDC with a leading zero: "
    "its labeler, product or package segment must start with 0"
)
GTIN_LENGTHS = (8, 12, 13, 14)

_HYPHENATED = re.compile(r"(\d+)-(\d+)-(\d+)", re.ASCII)
_ELEVEN_DIGITS = re.compile(r"\d{11}", re.ASCII)
_DIGITS = re.compile(r"\d+", re.ASCII)


@dataclass(frozen=True)
class NdcSegments:
    labeler: str
    product: str
    package: str

    @property
    def layout(self) -> tuple[int, int, int]:
        return (len(self.labeler), len(self.product), len(self.package))

    @property
    def hyphenated(self) -> str:
        return f"{self.labeler}-{self.product}-{self.package}"

    @property
    def eleven(self) -> str:
        """The 11-digit 5-4-2 form, zero-padded, without hyphens (as billing sends it)."""
        return self.labeler.zfill(5) + self.product.zfill(4) + self.package.zfill(2)


def parse_ndc(value: str) -> NdcSegments:
    """The segments of ``value``; a 5-4-2 form becomes its 10-digit layout when only one
    segment carries a padding zero, and stays 5-4-2 when that is ambiguous.

    Raises ValueError naming the rule.
    """
    text = value.strip()
    if _ELEVEN_DIGITS.fullmatch(text):
        return from_eleven(text)
    matched = _HYPHENATED.fullmatch(text)
    if matched is None:
        raise ValueError(NDC_RULE)
    segments = NdcSegments(*matched.groups())
    if segments.layout == ELEVEN_DIGIT_LAYOUT:
        return from_eleven(segments.eleven)
    if segments.layout not in TEN_DIGIT_LAYOUTS:
        raise ValueError(NDC_RULE)
    return segments


def from_eleven(eleven: str) -> NdcSegments:
    """The 10-digit segments of an 11-digit NDC when exactly one segment can be the padded
    one, otherwise (ambiguous) its 5-4-2 segments."""
    if not _ELEVEN_DIGITS.fullmatch(eleven):
        raise ValueError(NDC_RULE)
    candidates = [
        ten for layout in TEN_DIGIT_LAYOUTS if (ten := to_ten(eleven, layout)) is not None
    ]
    if not candidates:
        raise ValueError(ELEVEN_DIGIT_RULE)
    if len(candidates) == 1:
        return candidates[0]
    return NdcSegments(eleven[:5], eleven[5:9], eleven[9:])


def to_ten(eleven: str, layout: tuple[int, int, int]) -> NdcSegments | None:
    """The 10-digit segments of ``eleven`` in ``layout``; None if the segment that layout
    shortens does not start with the padding zero."""
    parts = (eleven[:5], eleven[5:9], eleven[9:])
    trimmed = []
    for part, length in zip(parts, layout, strict=True):
        padding = len(part) - length
        if part[:padding] != "0" * padding:
            return None
        trimmed.append(part[padding:])
    return NdcSegments(*trimmed)


def check_ndc(value: str) -> str:
    """The NDC as stored segments, hyphenated."""
    return parse_ndc(value).hyphenated


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (weights 3, 1, 3, ... from the right)."""
    total = sum(int(char) * (3 if position % 2 == 0 else 1)
                for position, char in enumerate(reversed(body)))  # fmt: skip
    return (10 - total % 10) % 10


def check_gtin(value: str) -> str:
    """The GTIN as GTIN-14 (left-padded with zeros); GTIN-8, -12 (UPC-A), -13 (EAN) or -14."""
    digits = value.strip().replace("-", "").replace(" ", "")
    if not _DIGITS.fullmatch(digits) or len(digits) not in GTIN_LENGTHS:
        raise ValueError("a GTIN is 8, 12, 13 or 14 digits")
    if gs1_check_digit(digits[:-1]) != int(digits[-1]):
        raise ValueError("the GTIN check digit is wrong (GS1 mod 10)")
    return digits.zfill(14)


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


Ndc = Annotated[
    str,
    BeforeValidator(_strip),
    AfterValidator(check_ndc),
    Field(description=NDC_RULE[0].upper() + NDC_RULE[1:] + ".", examples=["12345-678-90"]),
]
Gtin = Annotated[
    str,
    BeforeValidator(_strip),
    AfterValidator(check_gtin),
    Field(
        description="GTIN-8, -12, -13 or -14 with a valid GS1 check digit; returned as GTIN-14.",
        examples=["00312345678906"],
    ),
]
