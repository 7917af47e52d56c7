"""Email through a real SMTP server (aiosmtpd on loopback), SMS through the log provider and
through a local HTTP receiver standing in for a Twilio-compatible API."""

import base64
import contextlib
import email
import email.policy
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr

from pestle import models
from pestle.config import Settings
from pestle.kit.logging import JsonFormatter
from pestle.worker import channels
from pestle.worker.loop import Worker
from pestle.worker.outcome import Outcome
from tests.conftest import Backend, Db
from tests.postgres import free_port
from tests.worker.conftest import Clinic, emit_event

ORDER_ID = "0227d1e5-ba9a-42b5-8fe2-38882aa65708"
SHIPPED = {
    "carrier": "USPS",
    "service_level": "Ground Advantage",
    "status": "shipped",
    "tracking_number": "9200190347375200504724",
    "tracking_url": "https://tools.usps.com/go/TrackConfirmAction_input?origTrackNum=92001903",
    "estimated_delivery_date": "2025-07-31T17:13:13.520651",
    "created_at": "2025-07-31T17:13:13.520283",
    "updated_at": "2025-07-31T17:13:13.520304",
    "url": "http://127.0.0.1:8000/shipments/46aaf265-60bb-4c34-bc08-be20e1628412",
    "order_id": ORDER_ID,
    "order_number": "ORD250316225537XHWD",
}
CREATED = {
    "id": ORDER_ID,
    "created_at": "2025-03-16T22:55:37.920593",
    "updated_at": "2025-03-16T22:55:37.920593",
    "url": f"http://127.0.0.1:8000/orders/{ORDER_ID}",
    "order_number": "ORD250316225537XHWD",
    "last_name": "Davis",
    "first_name": "Rodrigo",
    "status_name": "Received",
    "status_code": "N01",
}


# -- an SMTP server ------------------------------------------------------------------------------


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message and refuses the addresses in ``refuse``."""

    messages: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def _text(message: EmailMessage) -> str:
    """The body as written: SMTP carries line ends as CRLF."""
    content = message.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def _settings(**values: Any) -> Settings:
    return Settings(database_url="sqlite+aiosqlite:///:memory:", **values)


def _user(email_address: str = "ops@clinic-a.pestle.dev") -> models.User:
    return models.User(id=uuid.uuid4(), email=email_address, role="admin", is_active=True)


def _subscription(
    kind: str, url: str | None = None, phone: str | None = None
) -> models.Subscription:
    return models.Subscription(id=uuid.uuid4(), type=kind, url=url, phone=phone, is_active=True)


def _event(code: str, data: dict[str, Any]) -> models.OutboxEvent:
    return models.OutboxEvent(id=uuid.uuid4(), event_code=code, data=data)


async def test_email_is_delivered_without_patient_details(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    settings = _settings(smtp_url=f"smtp://127.0.0.1:{port}")

    outcome = await channels.deliver(
        settings, _subscription("email"), _user(), _event("order.created", CREATED)
    )

    assert outcome.succeeded
    assert outcome.status_code == 250
    [(envelope, message)] = recorder.messages
    assert envelope.mail_from == "no-reply@localhost"
    assert envelope.rcpt_tos == ["ops@clinic-a.pestle.dev"]
    assert message["From"] == "Pestle <no-reply@localhost>"
    assert message["To"] == "ops@clinic-a.pestle.dev"
    assert message["Subject"] == "[Pestle] Order Created: ORD250316225537XHWD"
    body = _text(message)
    assert body == (
        "Order Created\n"
        "\n"
        "Order: ORD250316225537XHWD\n"
        "Status: Received (N01)\n"
        f"Details: http://127.0.0.1:8000/orders/{ORDER_ID}\n"
        "\n"
        "You receive this email because you subscribed to order.created in Pestle.\n"
        "Patient details are never sent by email: follow the link and log in to see them.\n"
    )
    raw = message.as_string()
    assert "Davis" not in raw
    assert "Rodrigo" not in raw


async def test_shipped_email_has_no_tracking_number(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    settings = _settings(smtp_url=f"smtp://127.0.0.1:{port}", smtp_from="Rx <rx@pharmacy.test>")

    outcome = await channels.deliver(
        settings, _subscription("email"), _user(), _event("order.shipped", SHIPPED)
    )

    assert outcome.succeeded
    [(envelope, message)] = recorder.messages
    assert envelope.mail_from == "rx@pharmacy.test"
    assert message["Subject"] == "[Pestle] Order Shipped: ORD250316225537XHWD"
    body = _text(message)
    assert "Status: Shipped\n" in body
    assert f"Details: {SHIPPED['url']}\n" in body
    assert "9200190347375200504724" not in message.as_string()
    assert message["Message-ID"].endswith("@pharmacy.test>")


async def test_a_line_break_cannot_add_headers(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    settings = _settings(smtp_url=f"smtp://127.0.0.1:{port}")
    data = {"batch_number": "B-17\r\nBcc: thief@elsewhere.test"}

    outcome = await channels.deliver(
        settings, _subscription("email"), _user(), _event("inventory.lot_expiring", data)
    )

    assert outcome.succeeded
    [(envelope, message)] = recorder.messages
    assert envelope.rcpt_tos == ["ops@clinic-a.pestle.dev"]
    assert message["Subject"] == (
        "[Pestle] Inventory Lot Expiring: lot B-17 Bcc: thief@elsewhere.test"
    )
    assert message["Bcc"] is None


async def test_email_unconfigured_is_a_permanent_failure() -> None:
    outcome = await channels.send_email(_settings(), "ops@clinic-a.pestle.dev", "s", "t")

    assert outcome == Outcome(
        succeeded=False, retryable=False, error="email is not configured (PESTLE_SMTP_URL)"
    )


async def test_smtp_server_down_is_retryable() -> None:
    settings = _settings(smtp_url=f"smtp://127.0.0.1:{free_port()}")

    outcome = await channels.send_email(settings, "ops@clinic-a.pestle.dev", "s", "t")

    assert not outcome.succeeded
    assert outcome.retryable
    assert outcome.status_code is None
    assert outcome.error is not None
    assert outcome.error.startswith("SMTP: ")


async def test_smtp_550_is_permanent(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    recorder.refuse["gone@clinic-a.pestle.dev"] = "550 5.1.1 No such user"
    settings = _settings(smtp_url=f"smtp://127.0.0.1:{port}")

    outcome = await channels.send_email(settings, "gone@clinic-a.pestle.dev", "s", "t")

    assert not outcome.succeeded
    assert not outcome.retryable
    assert outcome.status_code == 550
    assert outcome.error == "SMTP 550: 5.1.1 No such user"
    assert recorder.messages == []


async def test_smtp_451_is_retryable(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    recorder.refuse["busy@clinic-a.pestle.dev"] = "451 4.3.0 Try again later"
    settings = _settings(smtp_url=f"smtp://127.0.0.1:{port}")

    outcome = await channels.send_email(settings, "busy@clinic-a.pestle.dev", "s", "t")

    assert not outcome.succeeded
    assert outcome.retryable
    assert outcome.status_code == 451


async def test_notify_disabled_emails_the_owner_without_the_query(
    smtp: tuple[Recorder, int],
) -> None:
    recorder, port = smtp
    settings = _settings(smtp_url=f"smtp://127.0.0.1:{port}")
    subscription = _subscription("webhook", "https://hooks.clinic-a.test/in?token=s3cret")

    outcome = await channels.notify_disabled(
        settings, _user(), subscription, "the receiver answered 410 Gone"
    )

    assert outcome.succeeded
    [(_, message)] = recorder.messages
    assert message["Subject"] == "[Pestle] Subscription disabled"
    assert _text(message) == (
        f"Your webhook subscription to https://hooks.clinic-a.test/in (id {subscription.id}) "
        "was disabled: the receiver answered 410 Gone\n"
        "\n"
        "Pestle sends it nothing more until then. Fix the receiver, then update the "
        "subscription\n"
        f"(PUT /api/v1/notifications/webhooks/{subscription.id}) to enable it again.\n"
    )
    assert "s3cret" not in message.as_string()


# -- SMS -----------------------------------------------------------------------------------------


async def test_sms_log_provider_logs_no_number_and_no_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pestle.worker.channels")

    outcome = await channels.deliver(
        _settings(),
        _subscription("sms", phone="6417383445"),
        _user(),
        _event("order.created", CREATED),
    )

    assert outcome.succeeded
    [record] = caplog.records
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["to_last4"] == "3445"
    assert entry["provider"] == "log"
    assert "641738" not in line
    assert "ORD250316225537XHWD" not in line
    assert "Order Created" not in line


async def test_sms_without_a_phone_is_a_permanent_failure() -> None:
    outcome = await channels.deliver(
        _settings(), _subscription("sms"), _user(), _event("order.created", CREATED)
    )

    assert outcome == Outcome(succeeded=False, retryable=False, error="no phone number for SMS")


@dataclass
class Receiver:
    """A local HTTP server answering ``status`` and keeping each request."""

    port: int
    status: int = 201
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.requests.append((self.path, dict(self.headers), body))
            self.send_response(receiver.status)
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            payload = b'{"to": "+16417383445", "body": "echoed"}'
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _http_sms(receiver: Receiver) -> Settings:
    return _settings(
        sms_provider="http",
        sms_url=f"http://127.0.0.1:{receiver.port}/2010-04-01/Accounts/{{sid}}/Messages.json",
        sms_account="AC123",
        sms_token="tok-456",
        sms_from="+15005550006",
    )


async def test_sms_http_provider_posts_the_form_with_basic_auth() -> None:
    with receiving() as receiver:
        outcome = await channels.deliver(
            _http_sms(receiver),
            _subscription("sms", phone="6417383445"),
            _user(),
            _event("order.shipped", SHIPPED),
        )

    assert outcome.succeeded
    assert outcome.status_code == 201
    assert outcome.response_excerpt is None
    [(path, headers, body)] = receiver.requests
    assert path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"AC123:tok-456").decode()
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(body.decode()) == {
        "To": ["+16417383445"],
        "From": ["+15005550006"],
        "Body": [f"Pestle: Order Shipped ORD250316225537XHWD - Shipped {SHIPPED['url']}"],
    }


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (401, False)]
)
async def test_sms_http_provider_failures(status: int, retryable: bool) -> None:
    with receiving() as receiver:
        receiver.status = status
        receiver.headers = {"Retry-After": "120"} if status == 429 else {}
        outcome = await channels.send_sms(_http_sms(receiver), "6417383445", "hello")

    assert not outcome.succeeded
    assert outcome.retryable is retryable
    assert outcome.status_code == status
    assert outcome.error == f"SMS provider answered {status}"
    assert outcome.retry_after == (timedelta(seconds=120) if status == 429 else None)


async def test_sms_http_provider_unreachable_is_retryable() -> None:
    settings = _settings(
        sms_provider="http",
        sms_url=f"http://127.0.0.1:{free_port()}/Messages.json",
        sms_account="AC123",
        sms_token="tok-456",
        sms_from="+15005550006",
    )

    outcome = await channels.send_sms(settings, "6417383445", "hello")

    assert not outcome.succeeded
    assert outcome.retryable
    assert outcome.status_code is None


async def test_sms_http_provider_unconfigured_is_permanent() -> None:
    outcome = await channels.send_sms(_settings(sms_provider="http"), "6417383445", "hello")

    assert not outcome.succeeded
    assert not outcome.retryable
    assert outcome.error is not None
    assert outcome.error.startswith("SMS is not configured")


def test_render_lot_expiring() -> None:
    subject, text, sms = channels.render(
        "inventory.lot_expiring",
        {
            "lot_id": str(uuid.uuid4()),
            "batch_number": "B-17",
            "expiration_date": "2026-01-31T00:00:00.000000",
            "days_left": 12,
        },
    )

    assert subject == "[Pestle] Inventory Lot Expiring: lot B-17"
    assert "Lot: B-17\nExpires: 2026-01-31\n" in text
    assert sms == "Pestle: Inventory Lot Expiring lot B-17"


# -- through the worker --------------------------------------------------------------------------


async def test_the_worker_emails_an_email_subscription(
    db: Db, backend: Backend, clinic: Clinic, smtp: tuple[Recorder, int]
) -> None:
    recorder, port = smtp
    settings = backend.settings.model_copy(
        update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{port}")}
    )
    async with db.database.transaction() as session:
        session.add(
            models.Subscription(
                customer_id=clinic.customer_id,
                user_id=clinic.user_id,
                type="email",
                event_codes=["order.created"],
            )
        )
    await emit_event(db, clinic, "order.created", CREATED)
    worker = Worker(db.database, settings)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.close()

    [(envelope, message)] = recorder.messages
    assert envelope.rcpt_tos == ["admin@clinic-a.pestle.dev"]
    assert message["Subject"] == "[Pestle] Order Created: ORD250316225537XHWD"
    assert "Davis" not in message.as_string()
    [delivery] = await db.all(models.Delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 250)
    [attempt] = await db.all(models.DeliveryAttempt)
    assert (attempt.status_code, attempt.error) == (250, None)
