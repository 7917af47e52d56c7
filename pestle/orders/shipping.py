"""Carriers and service levels an order may ask for, and the rule that ties the two together.

A carrier's service-level codes start with the carrier's code (`usps_ground_advantage`), so a
bare service level names its carrier; the generic levels (`ground`, `two_day`, `next_day`) leave
the carrier to the pharmacy, which picks one when it ships.
"""

from dataclasses import dataclass

from pestle.exceptions import Unprocessable


@dataclass(frozen=True)
class ServiceLevel:
    code: str
    name: str


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    service_levels: tuple[ServiceLevel, ...]


CARRIERS: tuple[Carrier, ...] = (
    Carrier(
        "usps",
        "USPS",
        (
            ServiceLevel("usps_ground_advantage", "Ground Advantage"),
            ServiceLevel("usps_priority_mail", "Priority Mail"),
            ServiceLevel("usps_priority_mail_express", "Priority Mail Express"),
        ),
    ),
    Carrier(
        "ups",
        "UPS",
        (
            ServiceLevel("ups_ground", "Ground"),
            ServiceLevel("ups_3_day_select", "3 Day Select"),
            ServiceLevel("ups_2nd_day_air", "2nd Day Air"),
            ServiceLevel("ups_next_day_air_saver", "Next Day Air Saver"),
            ServiceLevel("ups_next_day_air", "Next Day Air"),
        ),
    ),
    Carrier(
        "fedex",
        "FedEx",
        (
            ServiceLevel("fedex_ground", "Ground"),
            ServiceLevel("fedex_home_delivery", "Home Delivery"),
            ServiceLevel("fedex_express_saver", "Express Saver"),
            ServiceLevel("fedex_2_day", "2Day"),
            ServiceLevel("fedex_standard_overnight", "Standard Overnight"),
            ServiceLevel("fedex_priority_overnight", "Priority Overnight"),
        ),
    ),
)
GENERIC_LEVELS: tuple[ServiceLevel, ...] = (
    ServiceLevel("ground", "Ground (carrier chosen by the pharmacy)"),
    ServiceLevel("two_day", "Two-day (carrier chosen by the pharmacy)"),
    ServiceLevel("next_day", "Next day (carrier chosen by the pharmacy)"),
)

CARRIER_BY_CODE = {carrier.code: carrier for carrier in CARRIERS}
_LEVEL_CARRIER = {level.code: carrier for carrier in CARRIERS for level in carrier.service_levels}
_GENERIC = {level.code for level in GENERIC_LEVELS}


class UnknownCarrier(Unprocessable):
    def __init__(self, field: str, value: str) -> None:
        known = ", ".join(CARRIER_BY_CODE)
        super().__init__(f"{field}: unknown carrier {value!r}; one of {known}.")


class UnknownServiceLevel(Unprocessable):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(
            f"{field}: unknown service level {value!r}; see GET /api/v1/orders/shipping_options."
        )


class CarrierServiceMismatch(Unprocessable):
    def __init__(self, field: str, carrier: str, level: str) -> None:
        super().__init__(f"{field}: service level {level!r} is not offered by carrier {carrier!r}.")


class ShippingChoiceEmpty(Unprocessable):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: give a carrier, a service level or both.")


def resolve(field: str, carrier: str | None, level: str | None) -> tuple[str | None, str | None]:
    """The (carrier, service level) codes an order stores for a requested choice.

    A carrier alone keeps no level (the pharmacy picks the carrier's usual one); a carrier's
    own level alone names the carrier; a generic level works with any carrier or none.
    """
    carrier = carrier.strip().lower() if carrier is not None else None
    level = level.strip().lower() if level is not None else None
    if carrier is None and level is None:
        raise ShippingChoiceEmpty(field)
    if carrier is not None and carrier not in CARRIER_BY_CODE:
        raise UnknownCarrier(f"{field}.carrier", carrier)
    if level is None:
        return carrier, None
    if level in _GENERIC:
        return carrier, level
    owner = _LEVEL_CARRIER.get(level)
    if owner is None:
        raise UnknownServiceLevel(f"{field}.service_level", level)
    if carrier is not None and owner.code != carrier:
        raise CarrierServiceMismatch(field, carrier, level)
    return owner.code, level


def display_names(carrier: str, level: str) -> tuple[str, str]:
    """The names a shipment payload shows: `USPS`, `Ground Advantage`."""
    known = CARRIER_BY_CODE.get(carrier)
    carrier_name = known.name if known is not None else carrier
    levels = {lv.code: lv.name for lv in (known.service_levels if known else ())}
    levels |= {lv.code: lv.name for lv in GENERIC_LEVELS}
    return carrier_name, levels.get(level, level)
