"""Instants: always aware UTC inside Pestle, two wire formats outside it."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken to be UTC already (SQLite keeps no offset)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def rest_format(value: datetime) -> str:
    """REST bodies: second precision with ``Z`` (``2025-03-15T12:00:00Z``)."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def webhook_format(value: datetime) -> str:
    """Webhook payloads: offset-less microseconds (``2025-03-16T22:55:37.920593``)."""
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="microseconds")


RestDatetime = Annotated[
    datetime, PlainSerializer(rest_format, return_type=str, when_used="json-unless-none")
]
