"""webhook_json: plain JSON values in the form webhook payloads use."""

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum

import pytest

from pestle.kit.jsonfmt import webhook_json, webhook_object


class Colour(StrEnum):
    AMBER = "amber"


class Priority(IntEnum):
    HIGH = 1


class Wrapped(Enum):
    DAY = date(2025, 3, 18)


ORDER_ID = uuid.UUID("0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e61")


class TestWebhookJson:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (None, None),
            (True, True),
            (7, 7),
            (2.5, 2.5),
            ("text", "text"),
            (ORDER_ID, "0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e61"),
            (Decimal("12.50"), "12.50"),
            (date(2025, 3, 18), "2025-03-18"),
            (datetime(2025, 3, 16, 22, 55, 37, 920593, tzinfo=UTC), "2025-03-16T22:55:37.920593"),
            (Colour.AMBER, "amber"),
            (Priority.HIGH, 1),
            (Wrapped.DAY, "2025-03-18"),
            ((1, "two"), [1, "two"]),
            (frozenset({Decimal("1.0")}), ["1.0"]),
        ],
        ids=lambda value: type(value).__name__,
    )
    def test_renders_each_type(self, value: object, expected: object) -> None:
        rendered = webhook_json(value)

        assert rendered == expected
        assert json.dumps(rendered) == json.dumps(expected)

    def test_renders_nested_values_and_stringifies_keys(self) -> None:
        value = {
            "order": {"id": ORDER_ID, "lines": [{"qty": Decimal("2"), "due": date(2025, 3, 18)}]},
            1: Colour.AMBER,
        }

        assert webhook_object(value) == {
            "order": {
                "id": "0195a0e2-7a44-7c1d-9a3e-5f0c2b8d4e61",
                "lines": [{"qty": "2", "due": "2025-03-18"}],
            },
            "1": "amber",
        }

    @pytest.mark.parametrize("value", [object(), {"nested": [object()]}], ids=["bare", "nested"])
    def test_refuses_anything_else(self, value: object) -> None:
        with pytest.raises(TypeError, match=r"^object is not JSON-serialisable$"):
            webhook_json(value)
