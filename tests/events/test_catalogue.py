"""GET /api/v1/notifications/events: the codes integrators can subscribe to."""

import httpx

from tests.conftest import Db

# The contract, written out: a change to the catalogue must change this list on purpose.
CATALOGUE = [
    ("order.created", "Order Created", "Triggered when an order is created"),
    ("order.updated", "Order Updated", "Triggered when an order's details change"),
    (
        "order.status_changed",
        "Order Status Changed",
        "Triggered when an order moves to another status",
    ),
    (
        "order.stuck",
        "Order Stuck",
        "Triggered once when an order cannot be filled; stuck_reason says why",
    ),
    ("order.cancelled", "Order Cancelled", "Triggered when an order is cancelled"),
    ("order.shipped", "Order Shipped", "Triggered when an order is shipped"),
    ("order.delivered", "Order Delivered", "Triggered when the carrier reports delivery"),
    ("prescription.created", "Prescription Created", "Triggered when a prescription is received"),
    (
        "prescription.cancelled",
        "Prescription Cancelled",
        "Triggered when a prescription is cancelled or rejected",
    ),
    ("patient.created", "Patient Created", "Triggered when a patient is created"),
    ("patient.updated", "Patient Updated", "Triggered when a patient is updated"),
    (
        "inventory.low_stock",
        "Inventory Low Stock",
        "Triggered when a product's stock falls to its reorder level",
    ),
    (
        "inventory.lot_expiring",
        "Inventory Lot Expiring",
        "Triggered when an inventory lot nears its expiration date",
    ),
    ("task.created", "Task Created", "Triggered when a task is created"),
    ("task.completed", "Task Completed", "Triggered when a task is completed"),
]


class TestEventCatalogue:
    async def test_lists_every_event_in_order(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.get("/api/v1/notifications/events")

        assert response.status_code == 200
        assert len(CATALOGUE) == 15
        assert response.json() == [
            {"name": name, "description": description, "event_code": code}
            for code, name, description in CATALOGUE
        ]

    async def test_needs_a_token(self, anon: httpx.AsyncClient, db: Db) -> None:
        async with db.writes_nothing():
            response = await anon.get("/api/v1/notifications/events")

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json() == {
            "detail": "Send 'Authorization: Bearer <token>'.",
            "error": "MissingCredentials",
        }
