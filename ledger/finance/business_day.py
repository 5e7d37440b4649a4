"""The business day: which instants a reconciliation's as-of date covers.

Scope: the calendar the funding systems book in. Their ``booked_on`` dates are
dates in China (docs/contracts.md §2.6: business dates), so an as-of date D is
the day D in Asia/Shanghai, from D 00:00 to D+1 00:00 local time (16:00 UTC the
day before to 16:00 UTC on D). The ledger is read at the end of that day, and a
day is reconciled only once it is over (decision 0014). Non-scope: the log's
timestamps, which stay UTC (``recorded_at``).

Time is a parameter (``now``): nothing here reads a clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")  # UTC+8, no daylight saving since 1991
ZONE_NAME = "Asia/Shanghai"


def start_of(day: date) -> datetime:
    """The first instant of ``day`` (local), in UTC. 0001-01-01 starts before
    ``datetime`` can say in UTC: the earliest instant it can is used."""
    try:
        return datetime.combine(day, time(0), ZONE).astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def end_of(day: date) -> datetime:
    """The first instant after ``day`` (local), in UTC. Computed without passing
    through the start of the day, so that every date's end can be said
    (9999-12-31 ends at 9999-12-31T16:00Z, 0001-01-01 at 0001-01-01T16:00Z)."""
    midnight = datetime.combine(day, time(0))
    offset = ZONE.utcoffset(midnight) or timedelta(0)
    return (midnight + (timedelta(days=1) - offset)).replace(tzinfo=UTC)


def recorded_before_end_of(day: date) -> str:
    """An upper bound for ``recorded_at`` text (RFC 3339 UTC, ``...T..:..:..[.ffffff]Z``):
    an entry was recorded on or before ``day`` (local) iff its ``recorded_at`` sorts
    before this string. Text comparison is what SQL indexes serve."""
    return end_of(day).strftime("%Y-%m-%dT%H:%M:%S")


def day_of(instant: datetime) -> date:
    """The local business day an instant falls on."""
    return instant.astimezone(ZONE).date()


def is_finished(day: date, now: datetime) -> bool:
    """Whether ``day`` (local) is over at ``now``."""
    return now >= end_of(day)


def last_finished(now: datetime) -> date:
    """The latest business day that is over at ``now``: yesterday, local time."""
    return day_of(now) - timedelta(days=1)
