"""Every event Pestle emits, as data: the codes integrators subscribe to."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    event_code: str
    name: str
    description: str


CATALOGUE: tuple[EventType, ...] = (
    EventType("order.created", "Order Created", "Triggered when an order is created"),
    EventType("order.updated", "Order Updated", "Triggered when an order's details change"),
    EventType(
        "order.status_changed",
        "Order Status Changed",
        "Triggered when an order moves to another status",
    ),
    EventType(
        "order.stuck",
        "Order Stuck",
        "Triggered once when an order cannot be filled; stuck_reason says why",
    ),
    EventType("order.cancelled", "Order Cancelled", "Triggered when an order is cancelled"),
    EventType("order.shipped", "Order Shipped", "Triggered when an order is shipped"),
    EventType("order.delivered", "Order Delivered", "Triggered when the carrier reports delivery"),
    EventType(
        "prescription.created",
        "Prescription Created",
        "Triggered when a prescription is received",
    ),
    EventType(
        "prescription.cancelled",
        "Prescription Cancelled",
        "Triggered when a prescription is cancelled or rejected",
    ),
    EventType("patient.created", "Patient Created", "Triggered when a patient is created"),
    EventType("patient.updated", "Patient Updated", "Triggered when a patient is updated"),
    EventType(
        "inventory.low_stock",
        "Inventory Low Stock",
        "Triggered when a product's stock falls to its reorder level",
    ),
    EventType(
        "inventory.lot_expiring",
        "Inventory Lot Expiring",
        "Triggered when an inventory lot nears its expiration date",
    ),
    EventType("task.created", "Task Created", "Triggered when a task is created"),
    EventType("task.completed", "Task Completed", "Triggered when a task is completed"),
)

EVENT_CODES = frozenset(event.event_code for event in CATALOGUE)
# Subscribes to every event, present and future; never delivered itself.
ALL = "all"
