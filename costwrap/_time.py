"""Exact conversions between datetimes and integer microseconds since 1970 (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Exact microseconds since 1970 (naive datetimes are UTC); no float in between.

    >>> to_us(datetime(1970, 1, 1, 0, 0, 1, 5))
    1000005
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def from_us(us: int) -> datetime:
    """The UTC datetime ``us`` microseconds after 1970."""
    return _EPOCH + timedelta(microseconds=us)
