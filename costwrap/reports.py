"""Reports over a SQLite ledger: what was spent, on what, and what other models would have cost.

Everything here reads the ledger in one pass with a streaming cursor (memory stays flat however
many records it holds) and adds money as exact ``Decimal``; nothing is summed by SQLite, whose
``SUM`` over decimal text would go through floats.

>>> from costwrap.reports import parse_since
>>> parse_since("7d", now=datetime(2026, 11, 28, tzinfo=UTC))
datetime.datetime(2026, 11, 21, 0, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import functools
import heapq
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from costwrap._errors import CostwrapError
from costwrap._money import MoneyInput, to_decimal
from costwrap._savings import read_savings
from costwrap._time import from_us, to_us
from costwrap.pricing import registry
from costwrap.sinks.sqlite import connect, usage_from_json

_ZERO = Decimal(0)
_DAY_US = 86_400_000_000
_EPOCH_DATE = date(1970, 1, 1)
_SPAN = re.compile(r"^(\d+)\s*([mhdw])$")
_SPAN_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DAYS_PER_MONTH = 30
"""The month a projection multiplies a day by."""


class ReportError(CostwrapError):
    """Input a report cannot use: a malformed date, an unknown grouping, an unknown model."""


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``30m``, ``2w`` ago, or an ISO date / date-time (UTC when naive)."""
    text = text.strip()
    span = _SPAN.match(text)
    if span:
        return (now or datetime.now(UTC)) - timedelta(**{_SPAN_UNITS[span.group(2)]: int(span.group(1))})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(f"--since {text!r}: use a span like 7d, 24h, 30m, or a date like 2026-11-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(text: str) -> datetime:
    """An ISO date or date-time (UTC when naive), for ``--at``."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(f"{text!r} is not a date: use 2026-11-01 or 2026-11-01T12:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(slots=True)
class Group:
    """Totals of the calls sharing one key (a model, a tag value, a day)."""

    key: str
    calls: int = 0
    cost: Decimal = _ZERO
    unpriced: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as a decimal string."""
        return {
            "key": self.key,
            "calls": self.calls,
            "cost": str(self.cost),
            "unpriced": self.unpriced,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


@dataclass(frozen=True, slots=True)
class Call:
    """One expensive call, as a report lists it."""

    timestamp: datetime
    provider: str
    model: str | None
    cost: Decimal
    input_tokens: int
    output_tokens: int
    tags: Mapping[str, str]
    request_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as a decimal string, time as ISO 8601."""
        return {
            "timestamp": self.timestamp.isoformat(),
            "provider": self.provider,
            "model": self.model,
            "cost": str(self.cost),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tags": dict(self.tags),
            "request_id": self.request_id,
        }


@dataclass(slots=True)
class Report:
    """A ledger's spend over a period: totals, groups, the top calls and what caching saved."""

    ledger: str
    since: datetime | None
    by: str
    calls: int = 0
    cost: Decimal = _ZERO
    unpriced: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_savings: Decimal = _ZERO
    first: datetime | None = None
    last: datetime | None = None
    groups: list[Group] = field(default_factory=list)
    """By the ``by`` dimension, most expensive first (by day: in date order)."""
    models: list[Group] = field(default_factory=list)
    tags: list[Group] = field(default_factory=list)
    """Every ``key=value`` tag, most expensive first."""
    days: list[Group] = field(default_factory=list)
    """Spend per UTC day, in date order (what the HTML chart draws)."""
    top_calls: list[Call] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings, times as ISO 8601."""
        return {
            "ledger": self.ledger,
            "since": self.since.isoformat() if self.since else None,
            "by": self.by,
            "calls": self.calls,
            "cost": str(self.cost),
            "unpriced": self.unpriced,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_savings": str(self.cache_savings),
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "groups": [g.to_dict() for g in self.groups],
            "models": [g.to_dict() for g in self.models],
            "tags": [g.to_dict() for g in self.tags],
            "days": [g.to_dict() for g in self.days],
            "top_calls": [c.to_dict() for c in self.top_calls],
        }


_COLUMNS = (
    "id, timestamp_us, provider, model, priced_as, cost, input_tokens, output_tokens, cache_read_tokens, "
    "service_tier, batch, tags, request_id"
)


def _rows(path: str | os.PathLike[str], columns: str, since: datetime | None) -> Iterable[tuple[Any, ...]]:
    conn = connect(path, create=False)
    try:
        query, params = f"SELECT {columns} FROM records", []  # the columns are ours, never input
        if since is not None:
            query += " WHERE timestamp_us >= ?"
            params.append(to_us(since))
        yield from conn.execute(query + " ORDER BY timestamp_us, id", params)
    finally:
        conn.close()


def count_records(path: str | os.PathLike[str], since: datetime | None = None) -> int:
    """How many records a report over ``since`` will read (for a progress bar)."""
    conn = connect(path, create=False)
    try:
        if since is None:
            return int(conn.execute("SELECT count(*) FROM records").fetchone()[0])
        return int(conn.execute("SELECT count(*) FROM records WHERE timestamp_us >= ?", (to_us(since),)).fetchone()[0])
    finally:
        conn.close()


def _add(group: Group, cost: Decimal | None, input_tokens: int, output_tokens: int) -> None:
    group.calls += 1
    group.input_tokens += input_tokens
    group.output_tokens += output_tokens
    if cost is None:
        group.unpriced += 1
    else:
        group.cost += cost


def _merge(into: Group, cell: Group) -> None:
    into.calls += cell.calls
    into.cost += cell.cost
    into.unpriced += cell.unpriced
    into.input_tokens += cell.input_tokens
    into.output_tokens += cell.output_tokens


@functools.lru_cache(maxsize=4096)
def _tags(text: str) -> Mapping[str, str]:
    """A ledger's tags column, parsed once per distinct value (read-only: it is shared)."""
    return MappingProxyType(json.loads(text)) if text != "{}" else MappingProxyType({})


def _day_date(day: int) -> date:
    return _EPOCH_DATE + timedelta(days=day)


def _ranked(groups: Mapping[str, Group]) -> list[Group]:
    return sorted(groups.values(), key=lambda g: (-g.cost, -g.calls, g.key))


def report(
    path: str | os.PathLike[str],
    *,
    since: datetime | None = None,
    by: str = "model",
    top: int = 10,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Read a ledger once and total it: ``by`` is ``model``, ``provider``, ``day`` or ``tag:NAME``."""
    if by not in ("model", "provider", "day") and not (by.startswith("tag:") and len(by) > len("tag:")):
        raise ReportError(f"--by {by!r}: use model, provider, day or tag:NAME")
    result = Report(ledger=str(path), since=since, by=by)
    # One pass adds each call to a cell (model, provider, UTC day, tags); the groups are rolled up
    # from the cells at the end, so a row costs one dictionary look-up however many groups exist.
    cells: dict[tuple[str, str, int, str], Group] = {}
    heap: list[tuple[Decimal, int, Call]] = []
    savings: dict[tuple[Any, ...], Decimal] = {}
    first_us = last_us = None
    for n, row in enumerate(_rows(path, _COLUMNS, since), 1):
        if progress is not None and n % 10_000 == 0:
            progress(n)
        (rid, ts_us, provider, model, priced_as, cost_text, inp, out, cached, tier, batch, tags_text, req_id) = row
        cost = None if cost_text is None else Decimal(cost_text)
        inp, out, cached = inp or 0, out or 0, cached or 0
        first_us = ts_us if first_us is None else first_us
        last_us = ts_us
        day = ts_us // _DAY_US
        key = (model or "(unknown)", provider, day, tags_text)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = Group("")
        _add(cell, cost, inp, out)
        result.cache_read_tokens += cached
        if cost is None:
            continue
        if cached and priced_as:
            shape = (priced_as, provider, inp, cached, _day_date(day), tier, bool(batch))
            saved = savings.get(shape)
            if saved is None:  # a ledger repeats the same shapes of call many times
                saved = savings[shape] = read_savings(*shape)
            result.cache_savings += saved
        if top > 0 and (len(heap) < top or (cost, -rid) > heap[0][:2]):
            call = Call(from_us(ts_us), provider, model, cost, inp, out, _tags(tags_text), req_id)
            (heapq.heappush if len(heap) < top else heapq.heapreplace)(heap, (cost, -rid, call))
    result.first = None if first_us is None else from_us(first_us)
    result.last = None if last_us is None else from_us(last_us)
    groups: dict[str, dict[str, Group]] = {"model": {}, "provider": {}, "day": {}, "tag": {}, "by_tag": {}}
    tag_name = by[4:] if by.startswith("tag:") else None
    for (model_name, provider, day, tags_text), cell in cells.items():
        record_tags = _tags(tags_text)
        labels = {
            "model": [model_name],
            "provider": [provider],
            "day": [_day_date(day).isoformat()],
            "tag": [f"{k}={v}" for k, v in record_tags.items()],
            "by_tag": [str(record_tags.get(tag_name, "(untagged)"))] if tag_name else [],
        }
        for dimension, keys in labels.items():
            for label in keys:
                _merge(groups[dimension].setdefault(label, Group(label)), cell)
    for cell in cells.values():
        result.calls += cell.calls
        result.cost += cell.cost
        result.unpriced += cell.unpriced
        result.input_tokens += cell.input_tokens
        result.output_tokens += cell.output_tokens
    result.models = _ranked(groups["model"])
    result.tags = _ranked(groups["tag"])
    result.days = [groups["day"][d] for d in sorted(groups["day"])]
    result.groups = {
        "model": result.models,
        "provider": _ranked(groups["provider"]),
        "day": result.days,
    }.get(by) or _ranked(groups["by_tag"])
    result.top_calls = [call for _, _, call in sorted(heap, key=lambda i: i[:2], reverse=True)]
    return result


@dataclass(slots=True)
class Alternative:
    """What a ledger's calls would have cost on one model."""

    model: str
    cost: Decimal = _ZERO
    priced_calls: int = 0
    skipped: int = 0
    """Calls that could not be re-priced: no usage recorded."""
    priced_as: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as a decimal string."""
        return {
            "model": self.model,
            "priced_as": self.priced_as,
            "cost": str(self.cost),
            "priced_calls": self.priced_calls,
            "skipped": self.skipped,
        }


def compare(
    path: str | os.PathLike[str],
    models: Iterable[str],
    *,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Group, list[Alternative]]:
    """What the ledger's calls cost, and what they would have cost on each of ``models``.

    Every recorded call's usage is re-priced on its own: long-context tiers, the call's date and
    its batch mode all apply as they would have.
    """
    names = [m.strip() for m in models if m.strip()]
    if not names:
        raise ReportError("--models: name at least one model to compare against")
    alternatives = []
    for name in names:
        match = registry.lookup(name)
        if match is None:
            raise ReportError(f"unknown model {name!r}: `costwrap models --search` lists the priced ones")
        alternatives.append(Alternative(name, priced_as=match.entry.id))
    actual = Group("actual")
    columns = "timestamp_us, cost, input_tokens, output_tokens, usage, batch"
    for n, (ts_us, cost_text, inp, out, usage_text, batch) in enumerate(_rows(path, columns, since), 1):
        _add(actual, None if cost_text is None else Decimal(cost_text), inp or 0, out or 0)
        usage = usage_from_json(usage_text)
        at = from_us(ts_us)
        for alt in alternatives:
            if usage is None:
                alt.skipped += 1
                continue
            price = registry.price(alt.model, usage=usage, at=at, batch=bool(batch))
            assert price is not None  # looked up above
            alt.cost += price.total
            alt.priced_calls += 1
        if progress is not None and n % 10_000 == 0:
            progress(n)
    return actual, alternatives


@dataclass(frozen=True, slots=True)
class Projection:
    """A model's cost for a steady volume of identical requests."""

    model: str
    priced_as: str
    per_request: Decimal
    per_day: Decimal
    per_month: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings."""
        return {
            "model": self.model,
            "priced_as": self.priced_as,
            "per_request": str(self.per_request),
            "per_day": str(self.per_day),
            "per_month": str(self.per_month),
        }


def project(
    model: str,
    *,
    requests_per_day: int,
    input_tokens: int,
    output_tokens: int,
    cached_share: MoneyInput = 0,
    batch: bool = False,
    at: date | datetime | None = None,
    days_per_month: int = DAYS_PER_MONTH,
) -> Projection:
    """Tokens per request x volume x rate: one request priced exactly, times the volume.

    ``cached_share`` of the input is read from the cache (rounded down to whole tokens, so the
    projection never flatters the cache).
    """
    share = to_decimal(cached_share, "cached share")
    if not 0 <= share <= 1:
        raise ReportError(f"--cached-share {share}: a fraction between 0 and 1")
    for label, value in (("requests per day", requests_per_day), ("input", input_tokens), ("output", output_tokens)):
        if value < 0:
            raise ReportError(f"{label} must not be negative, got {value}")
    match = registry.lookup(model)
    if match is None:
        raise ReportError(f"unknown model {model!r}: `costwrap models --search` lists the priced ones")
    cached = int(input_tokens * share)
    price = registry.price(
        model, input_tokens=input_tokens, cache_read_tokens=cached, output_tokens=output_tokens, batch=batch, at=at
    )
    assert price is not None  # looked up above
    per_day = price.total * requests_per_day
    return Projection(model, price.model, price.total, per_day, per_day * days_per_month)
