"""Clinical and postal identifiers, as pydantic types whose errors name the rule that failed.

Each ``check_*`` raises ValueError with a sentence an integrator can act on; used as
``Annotated[str, AfterValidator(check_*)]`` the error becomes a 422 naming the field.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

_STATES_AND_DC = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
# Territories and the military "states" that USPS also delivers to.
_TERRITORIES_AND_MILITARY = "AS GU MP PR VI UM AA AE AP"
US_STATES = frozenset(f"{_STATES_AND_DC} {_TERRITORIES_AND_MILITARY}".split(" "))

# re.ASCII: a bare \d also matches other scripts' digits (Arabic-Indic, Devanagari, ...).
_TEN_DIGITS = re.compile(r"\d{10}", re.ASCII)
_ZIP = re.compile(r"\d{5}(?:-?\d{4})?", re.ASCII)
_DEA = re.compile(r"[A-Z]{2}\d{7}", re.ASCII)
_SSN = re.compile(r"\d{9}", re.ASCII)
# The NPI check digit is the Luhn digit of the number prefixed with 80840 (ISO 7812 issuer).
_NPI_PREFIX_SUM = 24


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def check_phone(value: str) -> str:
    if not _TEN_DIGITS.fullmatch(value):
        raise ValueError("a phone number must be exactly 10 digits, with no punctuation")
    return value


def check_state(value: str) -> str:
    upper = value.upper()
    if upper not in US_STATES:
        raise ValueError(f"{value!r} is not a USPS state code")
    return upper


def check_zip(value: str) -> str:
    if not _ZIP.fullmatch(value):
        raise ValueError("a ZIP code must be 5 digits or ZIP+4 (9 digits, optionally 12345-6789)")
    return value.replace("-", "")


def luhn_check_digit(digits: str) -> int:
    """The Luhn digit to append to ``digits``."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def npi_check_digit(first_nine: str) -> int:
    return luhn_check_digit("80840" + first_nine)


def check_npi(value: str) -> str:
    if not _TEN_DIGITS.fullmatch(value):
        raise ValueError("an NPI must be exactly 10 digits")
    if value[0] not in "12":
        raise ValueError("an NPI starts with 1 (individual) or 2 (organisation)")
    if npi_check_digit(value[:9]) != int(value[9]):
        raise ValueError("the NPI check digit is wrong (Luhn with the 80840 prefix)")
    return value


def dea_check_digit(six_digits: str) -> int:
    d = [int(char) for char in six_digits]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10


def check_dea(value: str) -> str:
    upper = value.upper()
    if not _DEA.fullmatch(upper):
        raise ValueError("a DEA number is 2 letters followed by 7 digits")
    if dea_check_digit(upper[2:8]) != int(upper[8]):
        raise ValueError("the DEA check digit is wrong: (d1+d3+d5) + 2*(d2+d4+d6) must end in d7")
    return upper


def check_ssn(value: str) -> str:
    digits = value.replace("-", "")
    if not _SSN.fullmatch(digits):
        raise ValueError("an SSN is 9 digits (dashes allowed: 123-45-6789)")
    if (
        digits[:3] in ("000", "666")
        or digits[0] == "9"
        or digits[3:5] == "00"
        or digits[5:] == "0000"
    ):
        raise ValueError("this is not an SSN the Social Security Administration issues")
    return digits


Phone = Annotated[str, BeforeValidator(_strip), AfterValidator(check_phone)]
UsState = Annotated[str, BeforeValidator(_strip), AfterValidator(check_state)]
ZipCode = Annotated[str, BeforeValidator(_strip), AfterValidator(check_zip)]
Npi = Annotated[str, BeforeValidator(_strip), AfterValidator(check_npi)]
Dea = Annotated[str, BeforeValidator(_strip), AfterValidator(check_dea)]
Ssn = Annotated[str, BeforeValidator(_strip), AfterValidator(check_ssn)]
ShortText = Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=200)]
