"""Identifiers: UUIDv7 that sort by creation, and Blend-style order numbers."""

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pestle.kit.ids import new_id, order_number, parse_uuid

ORDER_NUMBER = re.compile(r"ORD250316225537[A-Z0-9]{4}")


class TestNewId:
    def test_is_a_version_7_uuid(self) -> None:
        value = new_id()

        assert type(value) is uuid.UUID
        assert (value.version, value.variant) == (7, uuid.RFC_4122)

    def test_sorts_by_creation(self) -> None:
        created = [new_id() for _ in range(2000)]

        assert sorted(created) == created
        assert sorted(str(value) for value in created) == [str(value) for value in created]
        assert len(set(created)) == len(created)


class TestParseUuid:
    def test_reads_a_uuid(self) -> None:
        value = new_id()

        assert parse_uuid(str(value)) == value

    @pytest.mark.parametrize("ref", ["ORD250316225537AB12", "", "1234567890"])
    def test_anything_else_is_none(self, ref: str) -> None:
        assert parse_uuid(ref) is None


class TestOrderNumber:
    @pytest.mark.parametrize(
        "created_at",
        [
            datetime(2025, 3, 16, 22, 55, 37, 920593, tzinfo=UTC),
            datetime(2025, 3, 16, 23, 55, 37, tzinfo=timezone(timedelta(hours=1))),
            datetime(2025, 3, 16, 22, 55, 37),
        ],
        ids=["utc", "plus-one", "naive-is-utc"],
    )
    def test_is_ord_then_utc_time_then_four_characters(self, created_at: datetime) -> None:
        assert ORDER_NUMBER.fullmatch(order_number(created_at))

    def test_suffixes_vary(self) -> None:
        created_at = datetime(2025, 3, 16, 22, 55, 37, tzinfo=UTC)

        suffixes = {order_number(created_at)[-4:] for _ in range(50)}

        assert len(suffixes) > 40
