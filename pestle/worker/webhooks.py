"""One webhook attempt: the request Blend's receivers expect, signed the Standard Webhooks way.

The body is Blend's envelope exactly, `{"event_code": ..., "data": ...}`, as compact JSON; the
bytes signed are the bytes sent. What the contract's envelope has no room for travels in
headers: `webhook-id` (`msg_<delivery id>`, the same on every retry), `webhook-timestamp`,
`webhook-signature` (one `v1,` signature per secret still valid, so both secrets sign during a
rotation), and `webhook-sequence` / `webhook-resource`, the event's number among the events of
its resource (`order:<id>`) in commit order, for receivers that order or deduplicate."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from pestle.kit.signing import signature_header
from pestle.kit.targets import TargetRefused, resolve_public
from pestle.worker.outcome import EXCERPT_CHARS, Outcome

TIMEOUT_SECONDS = 10.0
# Retried as the receiver's passing trouble; any other 4xx (and 3xx: redirects are not
# followed) is a permanent answer.
RETRYABLE_STATUSES = frozenset({408, 429})


def new_client() -> httpx.AsyncClient:
    """The one client a worker shares across its concurrent sends."""
    return httpx.AsyncClient(
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        headers={"user-agent": "Pestle-Webhooks/1"},
    )


def message_id(delivery_id: uuid.UUID) -> str:
    return f"msg_{delivery_id.hex}"


def envelope(event_code: str, data: Any) -> bytes:
    return json.dumps(
        {"event_code": event_code, "data": data}, separators=(",", ":"), ensure_ascii=False
    ).encode()


def headers(
    delivery_id: uuid.UUID,
    timestamp: int,
    body: bytes,
    secrets: list[str],
    resource_key: str | None,
    sequence: int | None,
) -> dict[str, str]:
    result = {
        "content-type": "application/json",
        "webhook-id": message_id(delivery_id),
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, message_id(delivery_id), timestamp, body),
    }
    if resource_key is not None and sequence is not None:
        result["webhook-resource"] = resource_key
        result["webhook-sequence"] = str(sequence)
    return result


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """`Retry-After` as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


def outcome_of(response: httpx.Response, latency_ms: int, now: datetime) -> Outcome:
    status = response.status_code
    excerpt = response.text[:EXCERPT_CHARS] if response.content else None
    if 200 <= status < 300:
        return Outcome(True, False, status, latency_ms, response_excerpt=excerpt)
    if status == 410:
        return Outcome(
            False,
            False,
            status,
            latency_ms,
            error="410 Gone: the receiver asked not to be called again",
            response_excerpt=excerpt,
            disables_subscription=True,
        )
    retryable = status >= 500 or status in RETRYABLE_STATUSES
    return Outcome(
        False,
        retryable,
        status,
        latency_ms,
        error=f"HTTP {status}",
        response_excerpt=excerpt,
        retry_after=retry_after(response.headers.get("retry-after"), now) if retryable else None,
    )


async def send(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    request_headers: dict[str, str],
    allow_private: bool,
    now: datetime,
) -> Outcome:
    """POSTs one signed envelope; never raises for the receiver's or the network's failures."""
    try:
        # Again at every delivery: the name may resolve elsewhere since the subscription was made.
        await resolve_public(url, allow_private)
    except TargetRefused as refused:
        return Outcome(False, True, error=f"target refused: {refused}")
    started = time.monotonic()
    try:
        response = await client.post(url, content=body, headers=request_headers)
    except httpx.TimeoutException:
        latency = int((time.monotonic() - started) * 1000)
        return Outcome(False, True, latency_ms=latency, error="timeout after 10 s")
    except httpx.HTTPError as error:
        latency = int((time.monotonic() - started) * 1000)
        reason = str(error) or type(error).__name__
        return Outcome(False, True, latency_ms=latency, error=f"connection error: {reason}")
    latency = int((time.monotonic() - started) * 1000)
    return outcome_of(response, latency, now)
