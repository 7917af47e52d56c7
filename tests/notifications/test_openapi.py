"""The Notifications area in /openapi.json: every route, its declared errors, the DEP flags."""

import httpx

BASE = "/api/v1/notifications"
HOOK = f"{BASE}/webhooks/{{webhook_id}}"


async def test_routes_and_errors(anon: httpx.AsyncClient) -> None:
    paths = (await anon.get("/openapi.json")).json()["paths"]
    declared = {
        (path, method): sorted(operation["responses"])
        for path, operations in paths.items()
        if path.startswith(BASE)
        for method, operation in operations.items()
    }
    assert declared == {
        (f"{BASE}/events", "get"): ["200"],
        (f"{BASE}/webhooks", "post"): ["201", "403", "422"],
        (f"{BASE}/webhooks", "get"): ["200", "403", "422"],
        (HOOK, "get"): ["200", "403", "404", "422"],
        (HOOK, "put"): ["200", "403", "404", "422"],
        (HOOK, "delete"): ["200", "403", "404", "422"],
        (f"{HOOK}/enable", "post"): ["200", "403", "404", "422"],
        (f"{HOOK}/rotate_secret", "post"): ["200", "403", "404", "422"],
        (f"{HOOK}/deliveries", "get"): ["200", "403", "404", "422"],
        (f"{HOOK}/deliveries/{{delivery_id}}/redeliver", "post"): [
            "200",
            "403",
            "404",
            "409",
            "422",
        ],
        (f"{HOOK}/replay", "post"): ["200", "403", "404", "409", "422"],
        (f"{BASE}/email", "put"): ["200", "403", "422"],
        (f"{BASE}/sms", "put"): ["200", "403", "422"],
        (f"{BASE}/sample", "post"): ["200", "404", "422", "502"],
        (f"{BASE}/sample/{{event_code}}", "get"): ["200", "404", "422"],
        (BASE, "get"): ["200", "403"],
        (BASE, "post"): ["201", "403", "409", "422"],
    }
    assert paths[BASE]["get"]["deprecated"] is True
    assert paths[BASE]["get"]["summary"] == "DEP: Get subscriptions"
    assert paths[BASE]["post"]["summary"] == "DEP: Create a new subscription"
    assert "deprecated" not in paths[f"{BASE}/webhooks"]["post"]
    secret = paths[f"{BASE}/webhooks"]["post"]["responses"]["201"]
    assert secret["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubscriptionWithSecret"
    }
