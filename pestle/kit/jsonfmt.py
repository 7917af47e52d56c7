"""JSON values in the form webhook payloads use (Blend's offset-less microsecond instants)."""

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pestle.kit.time import webhook_format

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


def webhook_json(value: Any) -> JsonValue:
    """``value`` made of plain JSON types; instants become offset-less UTC microseconds."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return webhook_format(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return webhook_json(value.value)
    if isinstance(value, Mapping):
        return webhook_object(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [webhook_json(item) for item in value]
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def webhook_object(value: Mapping[str, Any]) -> dict[str, JsonValue]:
    return {str(key): webhook_json(item) for key, item in value.items()}
