"""The NCPDP QuantityUnitOfMeasure code list (NCI thesaurus subset C89510), shipped as data.

``current`` marks the codes Surescripts still accepts on new prescriptions since the 2022 sunset
of the vaguer ones (Bottle, Box, Vial, ...); the sunset codes stay in the list because senders
and older eRx documents still carry them and a CancelRx may quote them.
"""

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

# The NCI thesaurus subset that the codes belong to, served with each unit (contract §3.6).
UNIT_TYPE = "Quantity Unit of Measure"
UNIT_TYPE_CODE = "C89510"


@dataclass(frozen=True, slots=True)
class QuantityUnit:
    code: str
    name: str
    current: bool = True


@cache
def load_quantity_units() -> tuple[QuantityUnit, ...]:
    text = resources.files("pestle.prescriptions").joinpath("data/quantity_units.json").read_text()
    rows = json.loads(text)
    return tuple(
        QuantityUnit(code=row["code"], name=row["term"], current=bool(row["current"]))
        for row in rows
    )


@cache
def _by_key() -> dict[str, QuantityUnit]:
    index: dict[str, QuantityUnit] = {}
    for unit in load_quantity_units():
        index[unit.code] = unit
        index[unit.name.casefold()] = unit
    return index


def find_unit(code_or_name: str) -> QuantityUnit | None:
    """The unit with this exact NCI code, or this name in any case; ``None`` if there is none."""
    key = code_or_name.strip()
    index = _by_key()
    return index.get(key) or index.get(key.casefold())


QUANTITY_UNITS: tuple[QuantityUnit, ...] = load_quantity_units()
