"""Instants: aware UTC inside; seconds with Z for REST, offset-less microseconds for webhooks."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pestle.kit.time import as_utc, rest_format, utcnow, webhook_format

PLUS_ONE = timezone(timedelta(hours=1))
MINUS_FIVE = timezone(timedelta(hours=-5))
INSTANT = datetime(2025, 3, 16, 22, 55, 37, 920593, tzinfo=UTC)

SAME_INSTANT = [
    pytest.param(INSTANT, id="utc"),
    pytest.param(INSTANT.replace(tzinfo=None), id="naive-is-utc"),
    pytest.param(datetime(2025, 3, 16, 23, 55, 37, 920593, tzinfo=PLUS_ONE), id="plus-one"),
    pytest.param(datetime(2025, 3, 16, 17, 55, 37, 920593, tzinfo=MINUS_FIVE), id="minus-five"),
]


class TestAsUtc:
    @pytest.mark.parametrize("value", SAME_INSTANT)
    def test_is_aware_utc(self, value: datetime) -> None:
        converted = as_utc(value)

        assert converted == INSTANT
        assert converted.tzinfo is UTC

    def test_utcnow_is_aware_utc(self) -> None:
        before = datetime.now(UTC)
        now = utcnow()

        assert now.tzinfo is UTC
        assert before <= now <= datetime.now(UTC)


class TestFormats:
    @pytest.mark.parametrize("value", SAME_INSTANT)
    def test_rest_is_seconds_with_z(self, value: datetime) -> None:
        assert rest_format(value) == "2025-03-16T22:55:37Z"

    @pytest.mark.parametrize("value", SAME_INSTANT)
    def test_webhook_is_offset_less_microseconds(self, value: datetime) -> None:
        assert webhook_format(value) == "2025-03-16T22:55:37.920593"

    def test_webhook_keeps_zero_microseconds(self) -> None:
        assert (
            webhook_format(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
            == "2025-01-02T03:04:05.000000"
        )

    def test_an_offset_can_change_the_date(self) -> None:
        late_evening = datetime(2025, 12, 31, 23, 30, tzinfo=MINUS_FIVE)

        assert rest_format(late_evening) == "2026-01-01T04:30:00Z"
        assert webhook_format(late_evening) == "2026-01-01T04:30:00.000000"
