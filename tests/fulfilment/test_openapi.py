"""The pharmacy workflow in /openapi.json: its routes, descriptions and declared errors."""

import httpx

BASE = "/api/v1/orders/{order_id}"


async def test_routes_descriptions_and_errors(anon: httpx.AsyncClient) -> None:
    paths = (await anon.get("/openapi.json")).json()["paths"]
    operations = {
        (f"{BASE}/transitions", "post"): (
            "Move an order to its next pharmacy status (staff; see the order's "
            "allowed_transitions).",
            ["200", "403", "404", "409", "422"],
        ),
        (f"{BASE}/shipments", "get"): (
            "The order's shipments, oldest first.",
            ["200", "404", "409"],
        ),
        (f"{BASE}/shipments", "post"): (
            "Attach a shipment (staff); the first one moves the order from S01 to S02.",
            ["201", "403", "404", "409", "422"],
        ),
        (f"{BASE}/shipments/{{shipment_id}}/delivered", "post"): (
            "Mark a shipment delivered (staff); the order's last one moves it from S02 to S03.",
            ["200", "403", "404", "409"],
        ),
    }
    for (path, method), (description, statuses) in operations.items():
        operation = paths[path][method]
        assert operation["tags"] == ["Pharmacy workflow"]
        assert operation["description"] == description
        assert sorted(status for status in operation["responses"] if status != "422") == [
            status for status in statuses if status != "422"
        ]
        assert "422" in operation["responses"]
    conflicts = paths[f"{BASE}/transitions"]["post"]["responses"]["409"]["description"]
    assert conflicts == (
        "InvalidTransition, PrescriptionsNotUsable, RiskFactorConflicts, NotEnoughStock, "
        "AmbiguousOrderRef"
    )
