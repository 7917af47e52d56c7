"""Sample payloads: previewed, and sent to a real receiver in the delivery envelope."""

import json

import httpx
import pytest

from pestle.events.catalogue import CATALOGUE
from pestle.events.samples import sample
from tests.conftest import Db
from tests.notifications.conftest import Receiver
from tests.notifications.support import API

APP_URL = "http://127.0.0.1:8000"  # PESTLE_APP_URL's default, which the test server keeps


class TestPreview:
    async def test_every_event_has_one(self, clinic_a: httpx.AsyncClient) -> None:
        for event in CATALOGUE:
            response = await clinic_a.get(f"{API}/sample/{event.event_code}")
            assert response.status_code == 200, response.text
            assert response.json() == {
                "event_code": event.event_code,
                "payload_preview": sample(event.event_code, APP_URL),
            }

    async def test_shipped_is_the_contracts_shipment(self, pharmacist: httpx.AsyncClient) -> None:
        response = await pharmacist.get(f"{API}/sample/order.shipped")
        preview = response.json()["payload_preview"]
        assert preview["carrier"] == "USPS"
        assert preview["url"] == f"{APP_URL}/shipments/46aaf265-60bb-4c34-bc08-be20e1628412"

    async def test_alias(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.get(f"{API}/sample/item.stuck")
        assert response.json()["event_code"] == "order.stuck"

    @pytest.mark.parametrize("code", ["order.exploded", "all"])
    async def test_unknown_is_404(self, clinic_a: httpx.AsyncClient, code: str) -> None:
        response = await clinic_a.get(f"{API}/sample/{code}")
        assert response.status_code == 404
        assert response.json() == {
            "error": "UnknownEventCode",
            "detail": f"No event code {code!r}; GET /api/v1/notifications/events lists them.",
        }


class TestSend:
    async def test_posts_the_envelope(
        self, clinic_a: httpx.AsyncClient, receiver: Receiver, db: Db
    ) -> None:
        async with db.writes_nothing():
            response = await clinic_a.post(
                f"{API}/sample", json={"event_code": "order.shipped", "webhook_url": receiver.url}
            )
        assert response.status_code == 200, response.text
        expected = sample("order.shipped", APP_URL)
        assert response.json() == {
            "event_code": "order.shipped",
            "payload_preview": expected,
            "message": "Sample webhook sent successfully",
            "webhook_url": receiver.url,
        }
        [received] = receiver.requests
        assert json.loads(received.body) == {"event_code": "order.shipped", "data": expected}
        assert received.headers["content-type"] == "application/json"
        assert received.headers["user-agent"] == "Pestle-Webhooks/1"
        # A sample belongs to no subscription: there is no secret to sign it with.
        assert "webhook-signature" not in received.headers

    async def test_a_non_2xx_answer_is_502(
        self, clinic_a: httpx.AsyncClient, receiver: Receiver
    ) -> None:
        receiver.status = 500
        response = await clinic_a.post(
            f"{API}/sample", json={"event_code": "order.created", "webhook_url": receiver.url}
        )
        assert response.status_code == 502
        assert response.json() == {
            "error": "SampleNotDelivered",
            "detail": "The webhook_url answered 500; a 2xx acknowledges a webhook.",
        }
        assert len(receiver.requests) == 1

    async def test_nobody_listening_is_502(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.post(
            f"{API}/sample",
            json={"event_code": "order.created", "webhook_url": "http://127.0.0.1:9/hook"},
        )
        assert response.status_code == 502
        assert response.json() == {
            "error": "SampleNotDelivered",
            "detail": "The webhook_url could not be reached: the connection failed.",
        }

    async def test_refused_target_is_422(self, clinic_a: httpx.AsyncClient) -> None:
        response = await clinic_a.post(
            f"{API}/sample",
            json={"event_code": "order.created", "webhook_url": "file:///etc/passwd"},
        )
        assert response.status_code == 422
        assert response.json() == {
            "error": "WebhookUrlRefused",
            "detail": "webhook_url: the URL must use https or http.",
        }

    async def test_unknown_code_is_404_and_sends_nothing(
        self, clinic_a: httpx.AsyncClient, receiver: Receiver
    ) -> None:
        response = await clinic_a.post(
            f"{API}/sample", json={"event_code": "nope", "webhook_url": receiver.url}
        )
        assert response.status_code == 404
        assert receiver.requests == []

    async def test_a_slow_answer_is_502(
        self, clinic_a: httpx.AsyncClient, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The server runs in this process: its 10 s deadline is shortened for the test.
        monkeypatch.setattr("pestle.notifications.service.SAMPLE_TIMEOUT_SECONDS", 0.5)
        receiver.delay = 2.0
        response = await clinic_a.post(
            f"{API}/sample", json={"event_code": "order.created", "webhook_url": receiver.url}
        )
        assert response.status_code == 502
        assert response.json() == {
            "error": "SampleNotDelivered",
            "detail": "The webhook_url did not answer within 0.5 seconds.",
        }
