"""Helpers for the notification tests."""

from typing import Any

import httpx

from pestle.events.catalogue import CATALOGUE

API = "/api/v1/notifications"
WEBHOOKS = f"{API}/webhooks"


def descriptors(*codes: str) -> list[dict[str, Any]]:
    """The event descriptors of ``codes``, in catalogue order; none given: every one."""
    return [
        {"name": e.name, "description": e.description, "event_code": e.event_code}
        for e in CATALOGUE
        if not codes or e.event_code in codes
    ]


async def create_webhook(
    client: httpx.AsyncClient, url: str = "http://127.0.0.1:9/hook", **body: Any
) -> dict[str, Any]:
    response = await client.post(
        WEBHOOKS, json={"event_codes": ["order.shipped", "order.delivered"], "url": url, **body}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
