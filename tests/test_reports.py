"""costwrap.reports over real SQLite ledgers: bounded memory, capped tag groups, exact money.

Rates used (per million tokens): gpt-4o-mini input $0.15, cached $0.075, output $0.60.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from costwrap import CostRecord, Usage, reports
from costwrap._format import usd
from costwrap.sinks import SQLiteSink, sqlite

MICRO = Decimal("0.000001")
START = datetime(2026, 11, 2, tzinfo=UTC)


def call(i: int, *, tags: dict[str, str] | None = None, cached: int = 0, **changes: object) -> CostRecord:
    """A gpt-4o-mini call of 1000 input (``cached`` of them cached) + 100 output tokens."""
    cost = ((1000 - cached) * Decimal("0.15") + cached * Decimal("0.075") + 100 * Decimal("0.6")) * MICRO
    record = CostRecord(
        provider="openai",
        model="gpt-4o-mini",
        request_model="gpt-4o-mini",
        operation="chat.completions",
        usage=Usage(input_tokens=1000, output_tokens=100, cache_read_tokens=cached),
        cost=cost,
        timestamp=START + timedelta(seconds=i),
        tags=tags or {},
        priced_as="gpt-4o-mini",
        request_id=f"req-{i}",
    )
    return replace(record, **changes)


def write(path: Path, records: Iterable[CostRecord]) -> Path:
    sink = SQLiteSink(path)
    for record in records:
        sink(record)
    sink.close()
    return path


def copies(path: Path, n: int) -> Path:
    """Grow a one-record ledger to ``n`` records, each with its own tag value and token shape."""
    conn = sqlite.connect(path)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(records)") if row[1] != "id"]
    varied = {
        "timestamp_us": "timestamp_us + i",
        "input_tokens": "input_tokens + i",
        "cache_read_tokens": "cache_read_tokens + i",
        "request_id": "request_id || '-' || i",
        "tags": """'{"request":"r' || i || '"}'""",
    }
    select = ", ".join(varied.get(c, c) for c in columns)
    conn.execute("BEGIN")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        f"INSERT INTO records ({', '.join(columns)}) SELECT {select} FROM records, n WHERE records.id = 1",
        (n - 1,),
    )
    conn.execute("COMMIT")
    conn.close()
    return path


def test_tag_values_past_the_limit_are_totalled_as_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reports, "TAG_GROUP_LIMIT", 3, raising=False)
    # Six users, one call each, then u0 again: 1000 x 0.15 + 100 x 0.60 = 210 micro-dollars a call.
    users = ["u0", "u1", "u2", "u3", "u4", "u5", "u0"]
    path = write(tmp_path / "tags.db", [call(i, tags={"user": u}) for i, u in enumerate(users)])

    result = reports.report(path, by="tag:user")
    by_key = {g.key: (g.calls, g.cost) for g in result.groups}
    assert by_key == {
        "u0": (2, 420 * MICRO),
        "u1": (1, 210 * MICRO),
        "u2": (1, 210 * MICRO),
        reports.OTHER: (3, 630 * MICRO),  # u3, u4, u5 came after the first three values
    }
    assert {g.key: g.calls for g in result.tags} == {"user=u0": 2, "user=u1": 1, "user=u2": 1, reports.OTHER: 3}
    assert result.cost == sum(g.cost for g in result.groups) == 7 * 210 * MICRO


def _peak_of_report(path: Path) -> int:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = reports.report(path)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert result.calls > 0
    return peak


def test_report_memory_does_not_grow_with_distinct_tags_or_call_shapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every call has its own tag value and its own token shape (cache savings are priced per shape).
    monkeypatch.setattr(reports, "TAG_GROUP_LIMIT", 500, raising=False)
    small = copies(write(tmp_path / "small.db", [call(0, cached=1)]), 4_500)
    large = copies(write(tmp_path / "large.db", [call(0, cached=1)]), 9_000)
    reports.report(small)  # load the price tables and fill the bounded caches before measuring
    growth = _peak_of_report(large) - _peak_of_report(small)
    # 4,500 more distinct tags and shapes: megabytes if anything were kept per tag text or per shape.
    assert growth < 2 * 1024 * 1024, f"peak memory grew by {growth / 1024 / 1024:.1f} MiB"


def test_compare_leaves_out_usage_no_model_can_price(tmp_path: Path) -> None:
    broken = Usage(input_tokens=10, output_tokens=5, cache_read_tokens=50)  # more cached than input
    path = write(tmp_path / "broken.db", [call(0), call(1, usage=broken)])
    actual, [alternative] = reports.compare(path, ["gpt-4o-mini"])
    assert (actual.calls, actual.compared_calls) == (2, 1)
    assert actual.excluded["invalid_usage"] == 1
    assert alternative.cost == actual.compared_cost == 210 * MICRO


@pytest.mark.parametrize(
    ("amount", "places", "min_places", "text"),
    [
        (Decimal("1.6E-7"), None, 0, "$0.00000016"),
        (Decimal("1E+30"), None, 0, "$1,000,000,000,000,000,000,000,000,000,000"),
        (Decimal("35.1"), None, 2, "$35.10"),
        (Decimal("0.000021"), None, 2, "$0.000021"),
        (Decimal("-0.5"), None, 0, "-$0.5"),
        (Decimal("-1234.5"), 2, 0, "-$1,234.50"),
        (Decimal("0E-9"), None, 2, "$0.00"),
        (Decimal("123456789012345678901234567890.125"), 2, 0, "$123,456,789,012,345,678,901,234,567,890.12"),
    ],
)
def test_usd_is_exact_signed_and_never_in_exponent_notation(
    amount: Decimal, places: int | None, min_places: int, text: str
) -> None:
    assert usd(amount, places, min_places=min_places) == text


def test_parse_since_and_parse_date_refuse_dates_off_the_calendar() -> None:
    with pytest.raises(reports.ReportError, match="--since '999999d'"):
        reports.parse_since("999999d")
    with pytest.raises(reports.ReportError, match="--at '0001-01-01T00:00\\+01:00'"):
        reports.parse_date("0001-01-01T00:00+01:00")
    assert reports.parse_date("2026-11-01T01:30+02:00") == datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
