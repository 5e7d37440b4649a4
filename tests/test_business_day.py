"""The business day (ledger/finance/business_day.py): an as-of date is a day in
Asia/Shanghai, over at the next local midnight (decision 0014)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.finance import business_day as day


def test_a_day_runs_from_local_midnight_to_local_midnight():
    d = date(2026, 11, 29)
    assert day.start_of(d) == datetime(2026, 11, 28, 16, tzinfo=UTC)
    assert day.end_of(d) == datetime(2026, 11, 29, 16, tzinfo=UTC)
    assert day.recorded_before_end_of(d) == "2026-11-29T16:00:00"
    # recorded_at text sorts against the bound as the instants do
    assert "2026-11-29T15:59:59.999999Z" < day.recorded_before_end_of(d) <= "2026-11-29T16:00:00.000000Z"


def test_a_day_is_finished_at_its_end_and_not_a_microsecond_before():
    d = date(2026, 11, 29)
    assert not day.is_finished(d, datetime(2026, 11, 29, 15, 59, 59, 999999, tzinfo=UTC))
    assert day.is_finished(d, datetime(2026, 11, 29, 16, tzinfo=UTC))
    assert day.last_finished(datetime(2026, 11, 29, 15, 59, tzinfo=UTC)) == date(2026, 11, 28)
    assert day.last_finished(datetime(2026, 11, 29, 16, 0, tzinfo=UTC)) == date(2026, 11, 29)


def test_the_first_and_last_dates_have_ends():
    assert day.end_of(date.max) == datetime(9999, 12, 31, 16, tzinfo=UTC)
    assert day.end_of(date.min) < day.end_of(date(1, 1, 2))
    day.start_of(date.min)  # no OverflowError


@settings(max_examples=50, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_an_instant_lies_in_its_day_and_the_last_finished_day_is_the_one_before(instant):
    d = day.day_of(instant)
    assert day.start_of(d) <= instant < day.end_of(d)
    assert day.is_finished(day.last_finished(instant), instant) and not day.is_finished(d, instant)
    assert day.end_of(d) - day.start_of(d) == timedelta(days=1)
