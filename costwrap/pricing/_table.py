"""Price tables: one per provider, read lazily from ``data/<provider>.json`` the first time needed.

A :class:`ModelEntry` knows which names it answers to, its rates over time (dated price changes)
and its variants (batch, flex, priority, fast), and resolves the rates in force for a given UTC day
and request context, caching the answer.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from costwrap.pricing._match import Rule, compile_rule
from costwrap.pricing._rates import Rate, Resolved, parse_rates

SCHEMA_VERSION = 1
SHIPPED_PROVIDERS = ("openai", "anthropic", "google", "azure", "bedrock")
"""Providers with a shipped table, in the order a name with no provider is tried."""

PROVIDER_ALIASES = {
    "gemini": "google",
    "vertex": "google",
    "vertex_ai": "google",
    "google-genai": "google",
    "aws": "bedrock",
    "azure_openai": "azure",
    "azure-openai": "azure",
}

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

Context = tuple[str | None, bool, str | None]
"""(service_tier, batch, speed) of a request: what selects a price variant."""

STANDARD_CONTEXT: Context = (None, False, None)
"""A request with no service tier, batch or speed. Callers pass this very tuple, so the hot path
can recognise it by identity (an equal tuple still prices the same, one comparison slower)."""

Variant = tuple[Mapping[str, str], int | None, dict[str, Rate]]
"""(when, start day, rates) of a price variant."""

STANDARD_TIERS = frozenset({None, "default", "standard", "auto", "on_demand"})
"""Service tiers that mean the standard price."""


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the unit dated prices are compared in)."""
    return day.toordinal() - _EPOCH_ORDINAL


class ModelEntry:
    """One priced model: its names, its rates over time and its variants."""

    __slots__ = (
        "_cache",
        "_epochs",
        "_last",
        "_loader",
        "_prices",
        "_rule",
        "_variants",
        "base_cache_ttl",
        "context_window",
        "id",
        "max_output_tokens",
        "name",
        "provider",
        "source",
    )

    def __init__(
        self,
        *,
        model_id: str,
        provider: str,
        source: str,
        rule: Rule,
        prices: Sequence[tuple[int | None, dict[str, Rate]]],
        variants: Sequence[tuple[Mapping[str, str], int | None, dict[str, Rate]]] = (),
        name: str | None = None,
        context_window: int | None = None,
        max_output_tokens: int | None = None,
        base_cache_ttl: str | None = None,
        loader: Callable[[], tuple[list[tuple[int | None, dict[str, Rate]]], list[Variant]]] | None = None,
    ) -> None:
        if not prices and loader is None:
            raise ValueError(f"{model_id}: a model needs at least one set of prices")
        self.id = model_id
        self.provider = provider
        self.source = source
        self.name = name
        self.context_window = context_window
        self.max_output_tokens = max_output_tokens
        """The most output tokens one request can produce, where known (budget pre-flight uses it)."""
        self.base_cache_ttl = base_cache_ttl
        self._rule = rule
        self._cache: dict[tuple[int, Context], Resolved] = {}
        self._last: tuple[int, Context, Resolved] | None = None  # the last answer of `rates`
        # A shipped table's rates are parsed when the model is first priced (`loader`): most
        # processes price a handful of its hundreds of models, and parsing them all was most of
        # the table's first load.
        self._loader = loader
        self._prices: tuple[tuple[int | None, dict[str, Rate]], ...] = ()
        self._variants: tuple[Variant, ...] = ()
        self._epochs: tuple[int, ...] = ()
        if loader is None:
            self._set(list(prices), list(variants))

    def _set(
        self,
        prices: list[tuple[int | None, dict[str, Rate]]],
        variants: Sequence[tuple[Mapping[str, str], int | None, dict[str, Rate]]],
    ) -> None:
        self._variants = tuple((dict(when), start, rates) for when, start, rates in variants)
        starts = {start for start, _ in prices if start is not None}
        starts |= {start for _, start, _ in self._variants if start is not None}
        self._epochs = tuple(sorted(starts))
        self._prices = tuple(prices)  # last: a reader that sees prices sees the rest

    def _load(self) -> None:
        loader = self._loader
        if loader is not None:
            prices, variants = loader()
            if not prices:
                raise ValueError(f"{self.id}: a model needs at least one set of prices")
            self._set(prices, variants)

    def matches(self, name: str) -> bool:
        """Whether this entry answers to the (lower-case) ``name``."""
        return self._rule(name)

    def rates(self, day: int, context: Context = STANDARD_CONTEXT) -> Resolved:
        """The rates in force on ``day`` (days since 1970-01-01, UTC) for a request ``context``."""
        last = self._last  # calls come on the same day with the same context, mostly
        if last is not None and last[0] == day and last[1] == context:
            return last[2]
        if not self._prices:
            self._load()
        epoch = 0
        for start in self._epochs:
            if day >= start:
                epoch += 1
            else:
                break
        key = (epoch, context)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._resolve(day, context)
            self._cache[key] = hit
        self._last = (day, context, hit)
        return hit

    def _resolve(self, day: int, context: Context) -> Resolved:
        # The last price whose start has passed wins; with none started, the first applies.
        rates = self._prices[0][1]
        for start, candidate in self._prices:
            if start is None or day >= start:
                rates = candidate
        service_tier, batch, speed = context
        request = {"service_tier": service_tier, "processing": "batch" if batch else None, "speed": speed}
        overrides: dict[str, Rate] = {}
        matched = False
        for when, start, variant_rates in self._variants:
            if start is not None and day < start:
                continue
            if all(request.get(key) == value for key, value in when.items()):
                matched = True
                for rate_name, rate in variant_rates.items():
                    overrides.setdefault(rate_name, rate)
        return Resolved({**rates, **overrides} if overrides else dict(rates), matched)

    def __repr__(self) -> str:
        return f"ModelEntry({self.provider}/{self.id})"


class Table:
    """The models of one provider, matched in order (the first whose rule matches wins)."""

    __slots__ = ("fallback", "model_rule", "models", "provider", "source")

    def __init__(
        self,
        provider: str,
        source: str,
        models: Sequence[ModelEntry],
        *,
        model_rule: Rule | None = None,
        fallback: Sequence[str] = (),
    ) -> None:
        self.provider = provider
        self.source = source
        self.models = tuple(models)
        self.model_rule = model_rule
        self.fallback = tuple(fallback)

    def find(self, name: str) -> ModelEntry | None:
        """The first model answering to ``name``, or ``None``."""
        for model in self.models:
            if model.matches(name):
                return model
        return None


def _start_day(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected an ISO date string")
    try:
        return day_number(date.fromisoformat(value))
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _base_ttl(provider: str, model_id: str) -> str | None:
    # The base `cache_write` rate is Anthropic's 5-minute write and OpenAI's 30-minute one.
    if "claude" in model_id:
        return "5m"
    return {"openai": "30m", "azure": "30m", "anthropic": "5m", "bedrock": "5m"}.get(provider)


def _parse_prices(raw: Mapping[str, Any], at: str) -> tuple[list[tuple[int | None, dict[str, Rate]]], list[Variant]]:
    prices = [
        (
            _start_day(p.get("from"), f"{at}.prices[{j}].from"),
            parse_rates(p.get("rates"), f"{at}.prices[{j}].rates"),
        )
        for j, p in enumerate(raw.get("prices") or [])
    ]
    variants: list[Variant] = []
    for j, v in enumerate(raw.get("variants") or []):
        when = v.get("when")
        if not isinstance(when, Mapping) or not when:
            raise ValueError(f"{at}.variants[{j}].when: expected a non-empty table")
        variants.append(
            (
                {str(k): str(val) for k, val in when.items()},
                _start_day(v.get("from"), f"{at}.variants[{j}].from"),
                parse_rates(v.get("rates"), f"{at}.variants[{j}].rates"),
            )
        )
    return prices, variants


def table_from_document(doc: Mapping[str, Any], where: str, *, lazy: bool = False) -> Table:
    """Build a :class:`Table` from a price document (the shipped JSON format), validating it.

    ``lazy`` (the shipped tables, already checked by the test suite) parses each model's rates
    on its first use instead of now.
    """
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{where}: schema_version must be {SCHEMA_VERSION}")
    provider = doc.get("provider")
    if not isinstance(provider, str) or not provider:
        raise ValueError(f"{where}: 'provider' must be a non-empty string")
    src = doc.get("source")
    if not isinstance(src, Mapping) or not src.get("name") or not src.get("version"):
        raise ValueError(f"{where}: 'source' must name the data's origin and version")
    source = f"{src['name']} {src['version']}"
    models: list[ModelEntry] = []
    raw_models = doc.get("models")
    if not isinstance(raw_models, list):
        raise ValueError(f"{where}: 'models' must be a list")
    for i, raw in enumerate(raw_models):
        at = f"{where}: models[{i}]"
        model_id = raw.get("id") if isinstance(raw, Mapping) else None
        if not isinstance(model_id, str) or not model_id:
            raise ValueError(f"{at}: 'id' must be a non-empty string")
        at = f"{where}: model {model_id!r}"
        loader = functools.partial(_parse_prices, raw, at)
        prices, variants = ([], []) if lazy else loader()
        models.append(
            ModelEntry(
                model_id=model_id,
                provider=provider,
                source=source,
                rule=compile_rule(raw.get("match") or {"equals": model_id}, f"{at}.match"),
                prices=prices,
                variants=variants,
                loader=loader if lazy else None,
                name=raw.get("name"),
                context_window=raw.get("context_window"),
                max_output_tokens=raw.get("max_output_tokens"),
                base_cache_ttl=_base_ttl(provider, model_id),
            )
        )
    model_match = doc.get("model_match")
    return Table(
        provider,
        source,
        models,
        model_rule=compile_rule(model_match, f"{where}: model_match") if model_match else None,
        fallback=tuple(doc.get("fallback") or ()),
    )


_shipped: dict[str, Table] = {}
_shipped_lock = threading.Lock()


def shipped_table(provider: str) -> Table | None:
    """The shipped table of ``provider`` (loaded on first use), or ``None`` if there is none."""
    table = _shipped.get(provider)
    if table is None and provider in SHIPPED_PROVIDERS:
        with _shipped_lock:
            table = _shipped.get(provider)
            if table is None:
                import json
                from importlib import resources

                name = f"data/{provider}.json"
                text = resources.files("costwrap.pricing").joinpath(name).read_text(encoding="utf-8")
                table = table_from_document(json.loads(text), name, lazy=True)
                _shipped[provider] = table
    return table
