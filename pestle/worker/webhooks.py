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
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx

from pestle.kit.signing import signature_header
from pestle.kit.targets import TargetRefused, resolve_public
from pestle.worker.outcome import EXCERPT_CHARS, Outcome

TIMEOUT_SECONDS = 10.0
# Retried as the receiver's passing trouble; any other 4xx (and 3xx: redirects are not
# followed) is a permanent answer.
RETRYABLE_STATUSES = frozenset({408, 429})


class _PublicOnly(httpcore.AsyncNetworkBackend):
    """Connects only to addresses that pass the target rule, checked as the connection is made:
    a name that resolved to a public address for the check before a delivery cannot point
    elsewhere by the time the socket opens (DNS rebinding). TLS still verifies the name."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        netloc = f"[{host}]" if ":" in host else host
        try:
            addresses = await resolve_public(f"https://{netloc}:{port}/", self._allow_private)
        except TargetRefused as refused:
            raise httpcore.ConnectError(f"target refused: {refused}") from None
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not sent to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Transport(httpx.AsyncHTTPTransport):
    def __init__(self, allow_private: bool, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx takes no network backend; its pool does. The environment's proxies are ignored
        # (trust_env=False): a proxy would resolve the names itself, past the target rule.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PublicOnly(allow_private),
        )


def new_client(allow_private: bool) -> httpx.AsyncClient:
    """The one client a worker shares across its concurrent sends."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    return httpx.AsyncClient(
        transport=_Transport(allow_private, limits),
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        trust_env=False,
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
