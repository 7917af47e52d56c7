"""The order statuses of DESIGN.md §3 and who may move an order from one to the next, as data."""

from dataclasses import dataclass

from pestle.models import Role


@dataclass(frozen=True)
class OrderStatus:
    code: str
    name: str
    description: str


STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus("N01", "Received", "The order arrived; products may still change."),
    OrderStatus("H01", "Paused", "The customer paused the order; unpause returns it to N01."),
    OrderStatus("P01", "Data Entry", "A technician enters the order's prescriptions."),
    OrderStatus(
        "P02",
        "Data Verification",
        "A pharmacist checks each prescription and the patient's risk factors.",
    ),
    OrderStatus(
        "P03", "Compounding", "A technician compounds the products; stock is consumed here."
    ),
    OrderStatus(
        "P04", "Final Verification", "A pharmacist checks the order, its lots and its label."
    ),
    OrderStatus("S01", "Shipping", "Packed, waiting for a shipment with carrier and tracking."),
    OrderStatus("S02", "Shipped", "The carrier has the order."),
    OrderStatus("S03", "Delivered", "The carrier delivered the order."),
    OrderStatus("X01", "Cancelled", "The order was cancelled."),
)
BY_CODE = {status.code: status for status in STATUSES}

TECHNICIAN_WORK = frozenset({Role.TECHNICIAN, Role.PHARMACIST})
PHARMACIST_WORK = frozenset({Role.PHARMACIST})
ANY_STAFF = frozenset({Role.PHARMACY_ADMIN, Role.PHARMACIST, Role.TECHNICIAN})
CANCELLING_STAFF = frozenset({Role.PHARMACY_ADMIN, Role.PHARMACIST})
CUSTOMER = frozenset({Role.ADMIN, Role.MEMBER})


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    roles: frozenset[Role]
    # How the move is made: the staff transitions endpoint, or an action of its own.
    via: str


_TRANSITIONS = "transitions"
TRANSITIONS: tuple[Transition, ...] = (
    Transition("N01", "P01", ANY_STAFF, _TRANSITIONS),
    Transition("N01", "H01", CUSTOMER | ANY_STAFF, "pause"),
    Transition("N01", "X01", CUSTOMER | CANCELLING_STAFF, "cancel"),
    Transition("H01", "N01", CUSTOMER | ANY_STAFF, "unpause"),
    Transition("H01", "X01", CUSTOMER | CANCELLING_STAFF, "cancel"),
    Transition("P01", "P02", TECHNICIAN_WORK, _TRANSITIONS),
    Transition("P02", "P03", PHARMACIST_WORK, _TRANSITIONS),
    Transition("P02", "P01", PHARMACIST_WORK, _TRANSITIONS),
    Transition("P03", "P04", TECHNICIAN_WORK, _TRANSITIONS),
    Transition("P04", "S01", PHARMACIST_WORK, _TRANSITIONS),
    Transition("P04", "P03", PHARMACIST_WORK, _TRANSITIONS),
    Transition("S01", "S02", ANY_STAFF, "shipments"),
    Transition("S02", "S03", ANY_STAFF, "delivered"),
    # An order already in the pharmacy is cancelled by staff, usually on the customer's
    # request (request_cancellation); the customer cannot cancel it directly.
    *(
        Transition(code, "X01", CANCELLING_STAFF, _TRANSITIONS)
        for code in ("P01", "P02", "P03", "P04", "S01")
    ),
)

# Where products can still change and the customer may cancel outright.
EDITABLE = frozenset({"N01", "H01"})
# Where shipping details (address, carrier) can still change: not once packed for shipping.
SHIPPING_EDITABLE = frozenset({"N01", "H01", "P01", "P02", "P03", "P04"})
# Where a customer may ask for a cancellation instead of cancelling.
IN_PROCESS = frozenset({"P01", "P02", "P03", "P04", "S01"})
FINAL = frozenset({"S03", "X01"})


# Blend's older lower-case `status` values, for the list filter.
LEGACY_NAMES = {
    "received": "N01",
    "paused": "H01",
    "shipped": "S02",
    "delivered": "S03",
    "cancelled": "X01",
}


def code_named(value: str) -> str | None:
    """The code a status name (any case) or a legacy `status` value stands for."""
    wanted = value.strip().lower()
    for status in STATUSES:
        if status.name.lower() == wanted:
            return status.code
    return LEGACY_NAMES.get(wanted)


def status_name(code: str) -> str:
    return BY_CODE[code].name


def transitions_from(code: str) -> list[Transition]:
    return [transition for transition in TRANSITIONS if transition.source == code]


def find_transition(source: str, target: str) -> Transition | None:
    for transition in TRANSITIONS:
        if transition.source == source and transition.target == target:
            return transition
    return None
