"""Identifiers: UUIDv7 so that ids sort by creation time."""

import secrets
import string
import uuid
from datetime import datetime

import uuid6

from pestle.kit.time import as_utc

_ORDER_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID that ``value`` spells, or None when it is some other kind of reference."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def order_number(created_at: datetime) -> str:
    """``ORD`` + UTC ``yyMMddHHmmss`` + 4 upper-case alphanumerics, as Blend's examples."""
    suffix = "".join(secrets.choice(_ORDER_SUFFIX_ALPHABET) for _ in range(4))
    return f"ORD{as_utc(created_at):%y%m%d%H%M%S}{suffix}"
