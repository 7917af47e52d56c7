"""One webhook attempt: the request Blend's receivers expect, signed the Standard Webhooks way.

The body is Blend's envelope exactly, `{"event_code": ..., "data": ...}`, as compact JSON; the
bytes signed are the bytes sent. What the contract's envelope has no room for travels in
headers: `webhook-id` (`msg_<delivery id>`, the same on every retry), `webhook-timestamp`,
`webhook-signature` (one `v1,` signature per secret still valid, so both secrets sign during a
rotation), and `webhook-sequence` / `webhook-resource`, the event's number among the events of
its resource (`order:<id>`) in commit order, for receivers that order or deduplicate."""

import json
import socket
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from pestle.kit.signing import signature_header
from pestle.kit.targets import TargetRefused, check_literal, resolve_host
from pestle.worker.outcome import EXCERPT_CHARS, Outcome

TIMEOUT_SECONDS = 10.0
# Retried as the receiver's passing trouble, with 5xx; any other 4xx (and 3xx: redirects are not
# followed) is a permanent answer unless PESTLE_WEBHOOK_RETRY_STATUSES names it.
RETRYABLE_STATUSES = frozenset({408, 429})
REFUSED = "target refused: "
TIMED_OUT = "timeout"
# A longer answer is cut there (and its connection dropped): an excerpt is all that is kept.
BODY_READ_LIMIT = 64 * 1024


class _Refused(OSError):
    """The target rule refused every address of a name; the client reports it as a failed
    connection whose cause is this error."""


class _PublicResolver(AbstractResolver):
    """Resolves names only to addresses that pass the target rule, as each connection is made:
    a name that pointed at a public address when the subscription was saved cannot point
    elsewhere by the time a socket opens (DNS rebinding). TLS still verifies the name. Hosts
    written as IP addresses never reach a resolver: `send` checks those itself."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await resolve_host(host, port, self._allow_private)
        except TargetRefused as refused:
            raise _Refused(f"{REFUSED}{refused}") from None
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def new_client(allow_private: bool, timeout: float = TIMEOUT_SECONDS) -> aiohttp.ClientSession:
    """The one client a worker shares across its concurrent sends (aiohttp: several times the
    sends per second of httpx on the same core, which the worker's throughput depends on).
    The environment's proxies are ignored (trust_env=False): a proxy would resolve the names
    itself, past the target rule."""
    connector = aiohttp.TCPConnector(
        resolver=_PublicResolver(allow_private), limit=200, limit_per_host=100
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        trust_env=False,
        headers={"user-agent": "Pestle-Webhooks/1"},
        auto_decompress=False,
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


def outcome_of(
    status: int,
    response_headers: Mapping[str, str],
    excerpt: str | None,
    latency_ms: int,
    now: datetime,
    retry_statuses: frozenset[int] = frozenset(),
) -> Outcome:
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
    retryable = status >= 500 or status in RETRYABLE_STATUSES or status in retry_statuses
    return Outcome(
        False,
        retryable,
        status,
        latency_ms,
        error=f"HTTP {status}",
        response_excerpt=excerpt,
        retry_after=retry_after(response_headers.get("retry-after"), now) if retryable else None,
    )


async def _excerpt(response: aiohttp.ClientResponse) -> str | None:
    body = b""
    while len(body) < BODY_READ_LIMIT and (chunk := await response.content.read(BODY_READ_LIMIT)):
        body += chunk
    return body.decode("utf-8", errors="replace")[:EXCERPT_CHARS] or None


async def send(
    client: aiohttp.ClientSession,
    url: str,
    body: bytes,
    request_headers: dict[str, str],
    now: datetime,
    allow_private: bool,
    retry_statuses: frozenset[int] = frozenset(),
) -> Outcome:
    """POSTs one signed envelope; never raises for the receiver's or the network's failures.

    The target rule holds at every delivery: here for the URL's form and a host written as an
    address, and in the client's resolver for every connection it opens to a name (a kept-alive
    connection already goes to an address that passed)."""
    try:
        check_literal(url, allow_private)
    except TargetRefused as refused:
        return Outcome(False, True, error=f"{REFUSED}{refused}")
    started = time.monotonic()
    try:
        async with client.post(
            url, data=body, headers=request_headers, allow_redirects=False
        ) as response:
            excerpt = await _excerpt(response)
    except TimeoutError:
        latency = int((time.monotonic() - started) * 1000)
        return Outcome(
            False, True, latency_ms=latency, error=f"{TIMED_OUT} after {client.timeout.total:g} s"
        )
    except aiohttp.ClientConnectorError as error:
        if isinstance(error.os_error, _Refused):
            return Outcome(False, True, error=str(error.os_error))
        latency = int((time.monotonic() - started) * 1000)
        return Outcome(False, True, latency_ms=latency, error=f"connection error: {error}")
    except aiohttp.ClientError as error:
        latency = int((time.monotonic() - started) * 1000)
        reason = str(error) or type(error).__name__
        return Outcome(False, True, latency_ms=latency, error=f"connection error: {reason}")
    latency = int((time.monotonic() - started) * 1000)
    return outcome_of(response.status, response.headers, excerpt, latency, now, retry_statuses)
