"""Reports over a SQLite ledger: what was spent, on what, and what other models would have cost.

Everything here reads the ledger in one pass with a streaming cursor and adds money as exact
``Decimal``; nothing is summed by SQLite, whose ``SUM`` over decimal text would go through floats.
Memory stays flat however many records a ledger holds: the running totals are kept per (model,
provider, UTC day), per tag value up to :data:`TAG_GROUP_LIMIT`, and the few most expensive calls.
The sums run in :data:`EXACT`, a decimal context that never rounds an addition or a product
(Python's default one rounds to 28 significant digits).

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
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from types import MappingProxyType
from typing import Any

from costwrap._errors import CostwrapError
from costwrap._money import MoneyInput, to_decimal
from costwrap._record import decimal_text
from costwrap._savings import read_savings, write_premium
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

EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
"""A decimal context in which additions and multiplications are exact, however large the numbers.

Never divide in it: a quotient that does not terminate would be worked out to ``MAX_PREC`` digits.
"""

TAG_GROUP_LIMIT = 10_000
"""Distinct tag values a report totals one by one (per table: ``tags`` and ``--by tag:NAME``).

Past it, calls whose value was not seen yet are totalled under :data:`OTHER`, so memory stays
bounded by this (a tag holding a request or user id has one value per call). Every call is still
counted exactly once: the totals do not change, only which row a late value lands in.
"""
OTHER = "(other)"
"""The group holding the calls whose tag value came after :data:`TAG_GROUP_LIMIT` others."""
UNTAGGED = "(untagged)"
"""The ``--by tag:NAME`` group of calls without that tag."""

CHAT_OPERATIONS = frozenset(
    {
        *("chat.completions", "completions", "responses", "responses.compact"),  # OpenAI
        *("messages", "messages.batches"),  # Anthropic
        *("generate_content", "batches"),  # Google (batch jobs of generate_content requests)
    }
)
"""Operations that generate text from a prompt: the calls :func:`compare` can re-price on a chat model.

Embeddings (``embeddings``, ``embed_content``) and anything else are left out and counted.
"""

PRICE_DATA_START = date(2020, 6, 11)
"""No priced LLM API is older than this (the OpenAI API's launch): an earlier ``--at`` is a mistake
or a guess, priced at the earliest rates the data holds."""

_SAVINGS_MEMO_SIZE = 1024
"""Call shapes whose cache savings a report remembers (a ledger repeats the same shapes)."""


class ReportError(CostwrapError):
    """Input a report cannot use: a malformed date, an unknown grouping, an unknown model."""


def _utc(parsed: datetime, what: str, text: str) -> datetime:
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ReportError(f"{what} {text!r}: out of range once converted to UTC") from None


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``30m``, ``2w`` ago, or an ISO date / date-time (UTC when naive)."""
    text = text.strip()
    span = _SPAN.match(text)
    if span:
        try:
            return (now or datetime.now(UTC)) - timedelta(**{_SPAN_UNITS[span.group(2)]: int(span.group(1))})
        except OverflowError:
            raise ReportError(f"--since {text!r}: too far back (dates start at the year 1)") from None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(f"--since {text!r}: use a span like 7d, 24h, 30m, or a date like 2026-11-01") from None
    return _utc(parsed, "--since", text)


def parse_date(text: str) -> datetime:
    """An ISO date or date-time for ``--at``, in UTC (naive means UTC).

    >>> parse_date("2026-11-01T01:30+02:00")
    datetime.datetime(2026, 10, 31, 23, 30, tzinfo=datetime.timezone.utc)
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(f"{text!r} is not a date: use 2026-11-01 or 2026-11-01T12:00") from None
    return _utc(parsed, "--at", text)


@dataclass(slots=True)
class Group:
    """Totals of the calls sharing one key (a model, a tag value, a day)."""

    key: str
    calls: int = 0
    cost: Decimal = _ZERO
    """USD of the priced calls."""
    unpriced: int = 0
    """Calls without a price (counted in ``calls``, not in ``cost``)."""
    input_tokens: int = 0
    output_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as a decimal string."""
        return {
            "key": self.key,
            "calls": self.calls,
            "cost": decimal_text(self.cost),
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
            "cost": decimal_text(self.cost),
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
    cache_write_tokens: int = 0
    cache_read_savings: Decimal = _ZERO
    """What the cache reads saved: priced at the full input rate, minus what they cost."""
    cache_write_premium: Decimal = _ZERO
    """What the cache writes cost above the input rate (Anthropic's 1.25x / 2x writes)."""
    cache_savings: Decimal = _ZERO
    """What caching saved, net: ``cache_read_savings - cache_write_premium`` (negative when the
    writes cost more than the reads saved)."""
    first: datetime | None = None
    last: datetime | None = None
    groups: list[Group] = field(default_factory=list)
    """By the ``by`` dimension, most expensive first (by day: in date order). ``tag:NAME`` groups
    are capped like ``tags``."""
    models: list[Group] = field(default_factory=list)
    tags: list[Group] = field(default_factory=list)
    """Every ``key=value`` tag, most expensive first; past :data:`TAG_GROUP_LIMIT` values, the
    rest are totalled under :data:`OTHER`. A call with two tags counts in both rows."""
    days: list[Group] = field(default_factory=list)
    """Spend per UTC day with calls, in date order (the HTML chart fills the days between)."""
    top_calls: list[Call] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings, times as ISO 8601."""
        return {
            "ledger": self.ledger,
            "since": self.since.isoformat() if self.since else None,
            "by": self.by,
            "calls": self.calls,
            "cost": decimal_text(self.cost),
            "unpriced": self.unpriced,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_read_savings": decimal_text(self.cache_read_savings),
            "cache_write_premium": decimal_text(self.cache_write_premium),
            "cache_savings": decimal_text(self.cache_savings),
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "groups": [g.to_dict() for g in self.groups],
            "models": [g.to_dict() for g in self.models],
            "tags": [g.to_dict() for g in self.tags],
            "days": [g.to_dict() for g in self.days],
            "top_calls": [c.to_dict() for c in self.top_calls],
        }


# The full usage is read only for calls that wrote to the cache (for the split of writes by TTL).
_COLUMNS = (
    "id, timestamp_us, provider, model, priced_as, cost, input_tokens, output_tokens, cache_read_tokens, "
    "cache_write_tokens, CASE WHEN cache_write_tokens > 0 THEN usage END, service_tier, batch, tags, request_id"
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
    """How many records a report over ``since`` will read (for a progress bar: it is a pass of its own)."""
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


def _capped(groups: dict[str, Group], key: str, limit: int) -> Group:
    """The group of ``key``, or :data:`OTHER` once ``limit`` distinct keys are held."""
    group = groups.get(key)
    if group is None:
        if len(groups) >= limit:
            key = OTHER
            group = groups.get(key)
        if group is None:
            group = groups[key] = Group(key)
    return group


@functools.lru_cache(maxsize=4096)
def _tag_info(text: str) -> tuple[tuple[str, ...], Mapping[str, str]]:
    """A ledger's tags column, parsed once per distinct value: its ``key=value`` labels and the tags."""
    if text == "{}":
        return (), MappingProxyType({})
    tags = {str(k): str(v) for k, v in json.loads(text).items()}
    return tuple(f"{k}={v}" for k, v in tags.items()), MappingProxyType(tags)


def _ttl_split(usage_text: str | None) -> tuple[tuple[str, int], ...]:
    if usage_text is None:
        return ()
    by_ttl = json.loads(usage_text).get("cache_write_by_ttl") or {}
    return tuple(sorted(by_ttl.items()))


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
    """Read a ledger once and total it: ``by`` is ``model``, ``provider``, ``day`` or ``tag:NAME``.

    ``top`` is how many of the most expensive calls to keep (0: none). Memory is bounded: see
    :data:`TAG_GROUP_LIMIT` for tags.
    """
    if by not in ("model", "provider", "day") and not (by.startswith("tag:") and len(by) > len("tag:")):
        raise ReportError(f"--by {by!r}: use model, provider, day or tag:NAME")
    result = Report(ledger=str(path), since=since, by=by)
    tag_name = by[4:] if by.startswith("tag:") else None
    limit = TAG_GROUP_LIMIT
    # Each call is added to its (model, provider, UTC day) cell, whose number is bounded by the
    # period; model, provider and day totals are rolled up from the cells at the end. Tags are
    # totalled per value as they come, capped (a tag may be unique to every call).
    cells: dict[tuple[str, str, int], Group] = {}
    tag_groups: dict[str, Group] = {}
    by_tag: dict[str, Group] = {}
    heap: list[tuple[Decimal, int, Call]] = []
    # A ledger repeats the same shapes of call many times; remember the latest few.
    saved_by_reads = functools.lru_cache(maxsize=_SAVINGS_MEMO_SIZE)(read_savings)
    paid_for_writes = functools.lru_cache(maxsize=_SAVINGS_MEMO_SIZE)(write_premium)
    first_us = last_us = None
    with localcontext(EXACT):
        for n, row in enumerate(_rows(path, _COLUMNS, since), 1):
            if progress is not None and n % 10_000 == 0:
                progress(n)
            (rid, ts_us, provider, model, priced_as, cost_text, inp, out, cached, written, usage_text, tier, batch,
             tags_text, req_id) = row  # fmt: skip
            cost = None if cost_text is None else Decimal(cost_text)
            inp, out, cached, written = inp or 0, out or 0, cached or 0, written or 0
            first_us = ts_us if first_us is None else first_us
            last_us = ts_us
            day = ts_us // _DAY_US
            key = (model or "(unknown)", provider, day)
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = Group("")
            _add(cell, cost, inp, out)
            labels, record_tags = _tag_info(tags_text)
            for label in labels:
                _add(_capped(tag_groups, label, limit), cost, inp, out)
            if tag_name is not None:
                _add(_capped(by_tag, record_tags.get(tag_name, UNTAGGED), limit), cost, inp, out)
            result.cache_read_tokens += cached
            result.cache_write_tokens += written
            if cost is None:
                continue
            if priced_as and (cached or written):
                when = _day_date(day)
                if cached:
                    result.cache_read_savings += saved_by_reads(
                        priced_as, provider, inp, cached, when, tier, bool(batch)
                    )
                if written:
                    split = _ttl_split(usage_text)
                    result.cache_write_premium += paid_for_writes(
                        priced_as, provider, inp, written, split, when, tier, bool(batch)
                    )
            if top > 0 and (len(heap) < top or (cost, -rid) > heap[0][:2]):
                call = Call(from_us(ts_us), provider, model, cost, inp, out, record_tags, req_id)
                (heapq.heappush if len(heap) < top else heapq.heapreplace)(heap, (cost, -rid, call))
        result.cache_savings = result.cache_read_savings - result.cache_write_premium
        result.first = None if first_us is None else from_us(first_us)
        result.last = None if last_us is None else from_us(last_us)
        groups: dict[str, dict[str, Group]] = {"model": {}, "provider": {}, "day": {}}
        for (model_name, provider, day), cell in cells.items():
            for dimension, label in (
                ("model", model_name),
                ("provider", provider),
                ("day", _day_date(day).isoformat()),
            ):
                _merge(groups[dimension].setdefault(label, Group(label)), cell)
            result.calls += cell.calls
            result.cost += cell.cost
            result.unpriced += cell.unpriced
            result.input_tokens += cell.input_tokens
            result.output_tokens += cell.output_tokens
    result.models = _ranked(groups["model"])
    result.tags = _ranked(tag_groups)
    result.days = [groups["day"][d] for d in sorted(groups["day"])]
    if by == "model":
        result.groups = result.models
    elif by == "provider":
        result.groups = _ranked(groups["provider"])
    elif by == "day":
        result.groups = result.days
    else:
        result.groups = _ranked(by_tag)
    result.top_calls = [call for _, _, call in sorted(heap, key=lambda i: i[:2], reverse=True)]
    return result


EXCLUSIONS = ("not_chat", "no_usage", "unpriced", "invalid_usage")
"""Why :func:`compare` leaves a call out, in the order checked: not a chat/generation call (an
embedding, ...), no usage recorded, no price as it ran, usage that cannot be priced."""


@dataclass(slots=True)
class Actual:
    """A ledger's calls as they ran, and the like-for-like part that :func:`compare` re-prices.

    The comparison holds only calls that can be priced on both sides: chat/generation calls with
    usage and a price as they ran. ``excluded`` says how many were left out, by reason.
    """

    calls: int = 0
    """Every call read."""
    cost: Decimal = _ZERO
    """USD of every priced call, compared or not."""
    unpriced: int = 0
    compared_calls: int = 0
    compared_cost: Decimal = _ZERO
    """What the compared calls cost as they ran: the figure each alternative is set against."""
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXCLUSIONS, 0))
    """Calls left out, by reason (see :data:`EXCLUSIONS`)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings."""
        return {
            "calls": self.calls,
            "cost": decimal_text(self.cost),
            "unpriced": self.unpriced,
            "compared_calls": self.compared_calls,
            "compared_cost": decimal_text(self.compared_cost),
            "excluded": dict(self.excluded),
        }


@dataclass(slots=True)
class Alternative:
    """What the compared calls would have cost on one model."""

    model: str
    cost: Decimal = _ZERO
    priced_calls: int = 0
    """The calls re-priced: :attr:`Actual.compared_calls`, the same for every model."""
    priced_as: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as a decimal string."""
        return {
            "model": self.model,
            "priced_as": self.priced_as,
            "cost": decimal_text(self.cost),
            "priced_calls": self.priced_calls,
        }


def compare(
    path: str | os.PathLike[str],
    models: Iterable[str],
    *,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Actual, list[Alternative]]:
    """What the ledger's calls cost, and what the same calls would have cost on each of ``models``.

    Like for like: only chat/generation calls with usage and a price as they ran are compared
    (:attr:`Actual.compared_cost` against each :attr:`Alternative.cost`); the rest are counted in
    :attr:`Actual.excluded`. Each call's usage is re-priced on its own: long-context tiers, the
    call's date and its batch mode all apply as they would have.
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
    actual = Actual()
    excluded = actual.excluded
    columns = "timestamp_us, operation, cost, usage, batch"
    with localcontext(EXACT):
        for n, (ts_us, operation, cost_text, usage_text, batch) in enumerate(_rows(path, columns, since), 1):
            if progress is not None and n % 10_000 == 0:
                progress(n)
            actual.calls += 1
            cost = None if cost_text is None else Decimal(cost_text)
            if cost is None:
                actual.unpriced += 1
            else:
                actual.cost += cost
            if operation not in CHAT_OPERATIONS:
                excluded["not_chat"] += 1
                continue
            if usage_text is None:
                excluded["no_usage"] += 1
                continue
            if cost is None:
                excluded["unpriced"] += 1
                continue
            usage, at = usage_from_json(usage_text), from_us(ts_us)
            try:
                prices = [registry.price(alt.model, usage=usage, at=at, batch=bool(batch)) for alt in alternatives]
            except (ValueError, TypeError):  # counts no model could price (a hand-edited ledger)
                excluded["invalid_usage"] += 1
                continue
            actual.compared_calls += 1
            actual.compared_cost += cost
            for alt, price in zip(alternatives, prices, strict=True):
                assert price is not None  # looked up above
                alt.cost += price.total
                alt.priced_calls += 1
    return actual, alternatives


@dataclass(frozen=True, slots=True)
class Projection:
    """A model's cost for a steady volume of identical requests (exact: ``per_day * days == per_month``)."""

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
            "per_request": decimal_text(self.per_request),
            "per_day": decimal_text(self.per_day),
            "per_month": decimal_text(self.per_month),
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
    projection never flatters the cache). Nothing is rounded, however large the volume.
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
    with localcontext(EXACT):
        cached = int(input_tokens * share)
        price = registry.price(
            model, input_tokens=input_tokens, cache_read_tokens=cached, output_tokens=output_tokens, batch=batch, at=at
        )
        assert price is not None  # looked up above
        per_day = price.total * requests_per_day
        per_month = per_day * days_per_month
    return Projection(model, price.model, price.total, per_day, per_month)
