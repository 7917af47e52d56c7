"""Email and SMS: one event told to one person, and the note that a subscription was disabled.

What a message says is deliberately little. Email and SMS leave the pharmacy's systems in clear
text, so a message names the event, the order number (or the lot's batch number), the status and
the link (`url`) into Pestle when the payload has one; never a patient's name, a medication, an
address or a tracking number. The reader follows the link and logs in for the rest.

Decisions:
- Email goes to the subscription owner's `User.email` (the contract: "delivered to the
  address/phone stored on the user's profile").
- SMS goes to the number the SMS subscription holds (`PUT /api/v1/notifications/sms` takes it:
  Pestle's user profiles carry no phone); without one the delivery fails permanently with "no
  phone number for SMS". A 10-digit US number is sent as E.164 (`+1` and the digits).
- The `log` SMS provider (the default) sends nothing: it logs one line with the last 4 digits of
  the number and the length of the text, never the text, and succeeds. Fit for development and
  for pharmacies without an SMS contract.
- The attempt log keeps a response excerpt only of failures: a provider's success echoes the
  number and the text.
- SMTP: `smtp://` connects in clear and upgrades with STARTTLS when the server offers it,
  `smtps://` speaks TLS from the start; the port defaults to 25 and 465. A reply of 4xx, a
  timeout or a refused connection is retried; a 5xx is permanent.
"""

import logging
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx

from pestle import models
from pestle.config import Settings
from pestle.events.catalogue import CATALOGUE
from pestle.worker.outcome import EXCERPT_CHARS, Outcome

TIMEOUT_SECONDS = 10.0
SMS_MAX_CHARS = 320
logger = logging.getLogger("pestle.worker.channels")

_EVENT_NAMES = {event.event_code: event.name for event in CATALOGUE}
_SMTP_PORTS = {"smtp": 25, "smtps": 465}


# -- rendering ---------------------------------------------------------------------------------


def event_name(event_code: str) -> str:
    return _EVENT_NAMES.get(event_code, event_code)


def _reference(data: Mapping[str, Any]) -> str | None:
    """What the event is about, in words safe to send: an order number or a lot's batch."""
    if data.get("order_number"):
        return str(data["order_number"])
    if data.get("batch_number"):
        return f"lot {data['batch_number']}"
    return None


def _status(event_code: str, data: Mapping[str, Any]) -> str | None:
    if data.get("status_name"):
        return (
            f"{data['status_name']} ({data['status_code']})"
            if data.get("status_code")
            else str(data["status_name"])
        )
    # A shipment's own status (`order.shipped`, `order.delivered`).
    if event_code.startswith("order.") and isinstance(data.get("status"), str):
        return str(data["status"]).capitalize()
    return None


def render(event_code: str, data: Mapping[str, Any]) -> tuple[str, str, str]:
    """The email subject, the email text and the SMS text telling ``event_code``: only the
    fields listed in the module docstring are read, whatever else the payload holds."""
    name = event_name(event_code)
    reference = _reference(data)
    status = _status(event_code, data)
    url = data.get("url") if isinstance(data.get("url"), str) else None
    subject = f"[Pestle] {name}: {reference}" if reference else f"[Pestle] {name}"
    lines = [name, ""]
    if data.get("order_number"):
        lines.append(f"Order: {data['order_number']}")
    if status:
        lines.append(f"Status: {status}")
    if data.get("batch_number"):
        lines.append(f"Lot: {data['batch_number']}")
        if isinstance(data.get("expiration_date"), str):
            lines.append(f"Expires: {data['expiration_date'][:10]}")
    if url:
        lines.append(f"Details: {url}")
    lines += [
        "",
        f"You receive this email because you subscribed to {event_code} in Pestle.",
        "Patient details are never sent by email: follow the link and log in to see them.",
    ]
    sms = " ".join(
        part
        for part in (f"Pestle: {name}", reference, f"- {status}" if status else None, url)
        if part
    )
    return subject, "\n".join(lines) + "\n", sms[:SMS_MAX_CHARS]


def _safe_target(url: str | None) -> str:
    """A webhook URL without its query, user info or fragment, which may carry a token."""
    if not url:
        return "(none)"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}" + (
        parts.path or "/"
    )


# -- email -------------------------------------------------------------------------------------


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _smtp_failure(error: Exception, started: float) -> Outcome:
    latency = _elapsed_ms(started)
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        error = error.recipients[0]
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code >= 400:
        permanent = 500 <= error.code < 600
        return Outcome(
            succeeded=False,
            retryable=not permanent,
            status_code=error.code,
            latency_ms=latency,
            error=f"SMTP {error.code}: {error.message}"[:EXCERPT_CHARS],
        )
    # Connection refused or dropped, timeouts, TLS trouble: the server may be back later.
    return Outcome(
        succeeded=False,
        retryable=True,
        latency_ms=latency,
        error=f"SMTP: {type(error).__name__}: {error}"[:EXCERPT_CHARS],
    )


async def send_email(settings: Settings, to: str, subject: str, text: str) -> Outcome:
    """Sends a plain-text email through ``PESTLE_SMTP_URL``."""
    if settings.smtp_url is None:
        return Outcome(
            succeeded=False, retryable=False, error="email is not configured (PESTLE_SMTP_URL)"
        )
    server = urlsplit(settings.smtp_url.get_secret_value())
    if server.scheme not in _SMTP_PORTS or not server.hostname:
        return Outcome(
            succeeded=False,
            retryable=False,
            error="PESTLE_SMTP_URL must be smtp://[USER:PASSWORD@]HOST[:PORT] or smtps://...",
        )
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    # A line break in a header would end it (header injection); the email package refuses one.
    message["Subject"] = " ".join(subject.split())
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex, domain=domain)
    message.set_content(text)
    started = time.monotonic()
    try:
        await aiosmtplib.send(
            message,
            hostname=server.hostname,
            port=server.port or _SMTP_PORTS[server.scheme],
            username=unquote(server.username) if server.username else None,
            password=unquote(server.password) if server.password else None,
            use_tls=server.scheme == "smtps",
            timeout=TIMEOUT_SECONDS,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        return _smtp_failure(error, started)
    return Outcome(
        succeeded=True, retryable=False, status_code=250, latency_ms=_elapsed_ms(started)
    )


# -- SMS ---------------------------------------------------------------------------------------


def e164(phone: str) -> str:
    """`+1` and the digits of a 10-digit US number; other numbers as given, digits only."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) == 10:
        return f"+1{digits}"
    return f"+{digits}"


def _last4(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())[-4:]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


async def send_sms(settings: Settings, to: str, text: str) -> Outcome:
    """Sends ``text`` to ``to`` through the configured provider (`log` or `http`)."""
    if settings.sms_provider == "log":
        # No PHI in logs: neither the text nor the whole number.
        logger.info(
            "sms not sent: the log provider only records it",
            extra={"channel": "sms", "provider": "log", "to_last4": _last4(to), "chars": len(text)},
        )
        return Outcome(succeeded=True, retryable=False, latency_ms=0)
    if not (settings.sms_url and settings.sms_from and settings.sms_account and settings.sms_token):
        return Outcome(
            succeeded=False,
            retryable=False,
            error="SMS is not configured: set PESTLE_SMS_URL, PESTLE_SMS_FROM, "
            "PESTLE_SMS_ACCOUNT and PESTLE_SMS_TOKEN",
        )
    url = settings.sms_url.replace("{sid}", settings.sms_account)
    form = {"To": e164(to), "From": settings.sms_from, "Body": text}
    auth = (settings.sms_account, settings.sms_token.get_secret_value())
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = await client.post(url, data=form, auth=auth)
    except httpx.HTTPError as error:
        return Outcome(
            succeeded=False,
            retryable=True,
            latency_ms=_elapsed_ms(started),
            error=f"SMS provider: {type(error).__name__}: {error}"[:EXCERPT_CHARS],
        )
    latency = _elapsed_ms(started)
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(succeeded=True, retryable=False, status_code=code, latency_ms=latency)
    retry_after = _retry_after(response)
    return Outcome(
        succeeded=False,
        retryable=code == 429 or code >= 500,
        status_code=code,
        latency_ms=latency,
        error=f"SMS provider answered {code}",
        response_excerpt=response.text[:EXCERPT_CHARS],
        retry_after=timedelta(seconds=retry_after) if retry_after is not None else None,
    )


# -- a subscription's person -------------------------------------------------------------------


async def deliver(
    settings: Settings,
    subscription: models.Subscription,
    user: models.User,
    event: models.OutboxEvent,
) -> Outcome:
    """Tells ``user`` of ``event`` by the email or SMS ``subscription``."""
    if not user.is_active:
        return Outcome(succeeded=False, retryable=False, error="the subscriber is deactivated")
    subject, text, sms = render(event.event_code, event.data)
    if subscription.type == "email":
        return await send_email(settings, user.email, subject, text)
    if subscription.type == "sms":
        number = subscription.phone
        if number is None:
            return Outcome(succeeded=False, retryable=False, error="no phone number for SMS")
        return await send_sms(settings, number, sms)
    raise ValueError(f"{subscription.type} subscriptions are not delivered by email or SMS")


async def notify_disabled(
    settings: Settings, user: models.User, subscription: models.Subscription, reason: str
) -> Outcome:
    """Emails the owner of ``subscription`` that it was disabled, and why."""
    if subscription.type == "webhook":
        what = f"Your webhook subscription to {_safe_target(subscription.url)}"
        how = (
            "Fix the receiver, then update the subscription\n"
            f"(PUT /api/v1/notifications/webhooks/{subscription.id}) to enable it again."
        )
    else:
        what = f"Your {subscription.type} subscription"
        how = f"Send it again (PUT /api/v1/notifications/{subscription.type}) to enable it."
    text = (
        f"{what} (id {subscription.id}) was disabled: {reason}\n\n"
        f"Pestle sends it nothing more until then. {how}\n"
    )
    return await send_email(settings, user.email, "[Pestle] Subscription disabled", text)
