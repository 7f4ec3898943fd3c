"""The rate registry: shipped tables, the user's own prices, aliases and discounts, and ``price()``.

Lookups are cached per (provider, name), so pricing a call is a dict hit plus ``Decimal``
arithmetic. The shipped tables load lazily, one provider at a time, on first use.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, getcontext, localcontext
from pathlib import Path
from types import MappingProxyType
from typing import Any

from costwrap import _config
from costwrap._errors import PriceFileError, UnpricedModelError, UnpricedModelWarning
from costwrap._fast import fast_constructor, slot_builder
from costwrap._money import EXACT, MoneyInput, to_decimal
from costwrap._record import EMPTY_MAPPING, Usage, frozen_state, new_usage, plain_state
from costwrap.pricing._engine import compute, validate
from costwrap.pricing._match import candidates, compile_rule
from costwrap.pricing._rates import Rate, parse_rates
from costwrap.pricing._table import (
    PROVIDER_ALIASES,
    SHIPPED_PROVIDERS,
    STANDARD_CONTEXT,
    STANDARD_TIERS,
    Context,
    ModelEntry,
    Table,
    _base_ttl,
    day_number,
    shipped_table,
)

_CACHE_LIMIT = 4096

_ROOMY_BELOW = 10**15
"""Counts below this, priced in a context of 28 digits or more (Python's default), are exact:
a rate's digits plus a count's digits stay under 28. Larger counts, or a narrower context, switch
to :data:`EXACT` (``localcontext`` costs about as much as the arithmetic, so not on every call)."""
_FIRST_PARTY = ("openai", "anthropic", "google")
_EXACT_PREC = EXACT.prec


@dataclass(frozen=True, slots=True)
class Price:
    """The cost of one call: an exact ``total`` in USD and what it is made of.

    ``sum(price.breakdown.values()) == price.total`` always holds.

    >>> import costwrap
    >>> p = costwrap.price("gpt-4o-mini", input_tokens=1200, cache_read_tokens=1000, output_tokens=300)
    >>> p.total      # 200 x 0.15/M + 1000 x 0.075/M + 300 x 0.60/M
    Decimal('0.000285000')
    >>> p.total == Decimal("0.000285")
    True
    >>> sorted(p.breakdown)
    ['cache_read', 'input', 'output']
    """

    total: Decimal
    """USD, exact (never rounded)."""
    breakdown: Mapping[str, Decimal]
    """USD per component: ``input``, ``cache_read``, ``cache_write[_<ttl>]``, ``output``,
    ``input_audio``, ``output_audio``, ``input_image``, ``output_image``, ``web_search``."""
    model: str
    """The price-table entry that priced the call (e.g. ``gpt-4o`` for ``gpt-4o-2024-08-06``)."""
    provider: str
    """The table the entry came from."""
    source: str
    """Where the rates came from: ``genai-prices 0.2.3``, ``registered`` or ``file:<name>``."""
    notes: tuple[str, ...] = field(default=())
    """Fallbacks and approximations made while pricing; empty when every rate was exact."""

    __getstate__ = plain_state  # picklable, deep-copyable: the breakdown is a read-only mapping
    __setstate__ = frozen_state


_new_price = fast_constructor(Price)
_PriceBuilder: Any = slot_builder(Price)


@dataclass(frozen=True, slots=True)
class Match:
    """A name resolved to a price-table entry, with notes on how it was matched."""

    entry: ModelEntry
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class _Overrides:
    models: dict[str, ModelEntry] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    provider_discounts: dict[str, Decimal] = field(default_factory=dict)
    model_discounts: dict[str, Decimal] = field(default_factory=dict)


_time = time.time
_time_ns = time.time_ns


def _today() -> int:
    return int(_time() // 86400)


def _day(at: datetime | date | None) -> int:
    if at is None:
        return _today()
    if isinstance(at, datetime):
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
        return day_number(at.date())  # naive datetimes are UTC
    if isinstance(at, date):
        return day_number(at)
    raise TypeError(f"at must be a datetime or a date, got {type(at).__name__}")


class Registry:
    """What every model costs. The process-wide instance is :data:`costwrap.registry`.

    >>> import costwrap
    >>> costwrap.registry.register("my-ft", provider="openai", input="0.30", output="1.20", cache_read="0.15")
    >>> costwrap.price("my-ft", input_tokens=1_000_000, output_tokens=1_000_000).total == Decimal("1.50")
    True
    >>> costwrap.registry.unregister("my-ft")
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._user = _Overrides()
        self._file = _Overrides()
        self._file_path: Path | None = None
        self._file_error: tuple[Path, Exception] | None = None
        self._cache: dict[tuple[str | None, str], Match | None] = {}
        self._warned: set[tuple[str | None, str]] = set()
        self._has_discounts = False  # kept in step with the overrides: one check on the hot path

    # --- lookup -------------------------------------------------------------------------------

    def lookup(self, model: str, provider: str | None = None) -> Match | None:
        """Resolve a model name (as an SDK or a user spells it) to its price entry, or ``None``.

        ``provider`` narrows the search to that provider's table and its fallbacks (``azure``
        falls back to ``openai``); without it the name itself decides.
        """
        key = (provider, model)
        try:
            return self._cache[key]
        except KeyError:
            pass
        self._sync_file()
        with self._lock:
            found = self._resolve(model, PROVIDER_ALIASES.get(provider, provider) if provider else None, 0)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _resolve(self, model: str, provider: str | None, depth: int) -> Match | None:
        if depth > 8:
            raise ValueError(f"alias loop while resolving {model!r}")
        for name, note in candidates(model):
            for overrides in (self._user, self._file):
                target = overrides.aliases.get(name)
                if target is not None:
                    return self._resolve(target, provider, depth + 1)
                entry = overrides.models.get(name)
                if entry is not None:
                    return Match(entry, (note,) if note else ())
            for table in self._tables_for(provider, name):
                entry = table.find(name)
                if entry is not None:
                    return Match(entry, (note,) if note else ())
        return None

    def _tables_for(self, provider: str | None, name: str) -> Iterator[Table]:
        # A generator: tables load on first use, and a search that ends early loads no more.
        if provider is not None:
            table = shipped_table(provider)
            if table is not None:
                yield table
                yield from (t for p in table.fallback if (t := shipped_table(p)) is not None)
            return
        # A name that looks like a first-party model is tried in that provider's table first.
        first: list[Table] = []
        for p in SHIPPED_PROVIDERS:
            if p in _FIRST_PARTY and (t := shipped_table(p)) is not None and t.model_rule and t.model_rule(name):
                first.append(t)
                yield t
        yield from (t for p in SHIPPED_PROVIDERS if (t := shipped_table(p)) is not None and t not in first)

    # --- pricing ------------------------------------------------------------------------------

    def price(
        self,
        model: str,
        *,
        usage: Usage | None = None,  # the usual arguments first: keywords are matched in this order
        provider: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_by_ttl: Mapping[str, int] | None = None,
        reasoning_tokens: int = 0,
        input_audio_tokens: int = 0,
        output_audio_tokens: int = 0,
        input_image_tokens: int = 0,
        output_image_tokens: int = 0,
        input_video_tokens: int = 0,
        cache_read_audio_tokens: int = 0,
        web_search_requests: int = 0,
        at: datetime | date | None = None,
        service_tier: str | None = None,
        batch: bool = False,
        speed: str | None = None,
    ) -> Price | None:
        """What a call with this usage costs, in exact ``Decimal`` USD; ``None`` for an unknown model.

        Token counts follow :class:`~costwrap.Usage`: ``input_tokens`` is the whole input, the cache
        reads and writes in it included, and ``output_tokens`` includes reasoning. So
        ``input_tokens=1200, cache_read_tokens=1000`` is 200 uncached tokens plus 1000 cached ones.

        - ``cache_write_by_ttl``: cache writes split by TTL, e.g. ``{"5m": 900, "1h": 100}``, each
          priced at its own rate where the data has one.
        - ``at``: price in effect at that time (naive datetimes are UTC); default now.
        - ``service_tier`` (``flex``, ``priority``, ...), ``batch``, ``speed`` (``fast``): the variant
          that served the call.
        - ``provider``: look in that provider's table (``azure``, ``bedrock``, ...) first.

        An unknown model gives an :class:`~costwrap.UnpricedModelWarning` once per model and ``None``;
        with ``costwrap.configure(strict_pricing=True)`` it raises :class:`~costwrap.UnpricedModelError`.
        Inconsistent counts (a part larger than its total, a negative count) raise ``ValueError``.

        >>> import costwrap
        >>> costwrap.price("gpt-4o-mini", input_tokens=1200, cache_read_tokens=1000, output_tokens=300).total
        Decimal('0.000285000')
        """
        if usage is None:
            if cache_write_by_ttl:
                by_ttl: Mapping[str, int] = MappingProxyType(dict(cache_write_by_ttl))
                cache_write_tokens = cache_write_tokens or sum(by_ttl.values())
            else:
                by_ttl = EMPTY_MAPPING
            usage = new_usage(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cache_read_tokens=cache_read_tokens,
                cache_write_tokens=cache_write_tokens,
                cache_write_by_ttl=by_ttl,
                reasoning_tokens=reasoning_tokens,
                input_audio_tokens=input_audio_tokens,
                output_audio_tokens=output_audio_tokens,
                input_image_tokens=input_image_tokens,
                output_image_tokens=output_image_tokens,
                input_video_tokens=input_video_tokens,
                cache_read_audio_tokens=cache_read_audio_tokens,
                web_search_requests=web_search_requests,
            )
            for value in (
                input_tokens,
                output_tokens,
                cache_read_tokens,
                cache_write_tokens,
                reasoning_tokens,
                input_audio_tokens,
                output_audio_tokens,
                input_image_tokens,
                output_image_tokens,
                input_video_tokens,
                cache_read_audio_tokens,
                web_search_requests,
            ):
                if value.__class__ is not int:  # True is not 1 token, nor Decimal("1.5") one and a half
                    validate(usage)  # raises, naming the field
        try:
            match = self._cache[(provider, model)]
        except KeyError:
            match = self.lookup(model, provider)
        if match is None:
            validate(usage)
            self.unpriced(model, provider)
            return None
        try:
            day = _time_ns() // 86_400_000_000_000 if at is None else _day(at)  # an int with no int() call
            context = (
                STANDARD_CONTEXT
                if service_tier is None and not batch and speed is None
                else (service_tier, batch, speed)
            )
            total, breakdown, notes = self.price_parts(match, usage, day, context)
        except TypeError:
            validate(usage)  # a count that is not an int: say which one
            raise
        # Filled on its builder, then made a Price (see costwrap._fast): the cheapest way to a frozen instance.
        entry = match.entry
        price = _PriceBuilder()
        price.total = total
        price.breakdown = breakdown
        price.model = entry.id
        price.provider = entry.provider
        price.source = entry.source
        price.notes = notes
        price.__class__ = Price
        return price  # type: ignore[no-any-return]

    def price_match(self, match: Match, usage: Usage, day: int, context: Context) -> Price:
        """Price ``usage`` with a resolved entry on a UTC day number."""
        total, breakdown, notes = self.price_parts(match, usage, day, context)
        entry = match.entry
        return _new_price(
            total=total, breakdown=breakdown, model=entry.id, provider=entry.provider, source=entry.source, notes=notes
        )

    def price_parts(
        self, match: Match, usage: Usage, day: int, context: Context
    ) -> tuple[Decimal, Mapping[str, Decimal], tuple[str, ...]]:
        """:meth:`price_match` as (total, breakdown, notes), without a Price (a wrapped call's hot path).

        Exact whatever decimal context the caller has set (a narrow ``prec`` must not round money).
        """
        prec = getcontext().prec
        if prec < _EXACT_PREC and (  # (inside the block below prec is EXACT's: no second round)
            prec < 28
            or usage.input_tokens >= _ROOMY_BELOW
            or usage.output_tokens >= _ROOMY_BELOW
            or usage.web_search_requests >= _ROOMY_BELOW
        ):
            with localcontext(EXACT):
                return self.price_parts(match, usage, day, context)
        entry = match.entry
        last = entry._last  # `rates` in one step when it would give its last answer again
        if last is not None and last[0] == day and (last[1] is context or last[1] == context):
            resolved = last[2]
        else:
            resolved = entry.rates(day, context)
        total, breakdown, notes = compute(resolved, usage, entry.base_cache_ttl)
        if context is not STANDARD_CONTEXT and not resolved.variant:
            service_tier, batch, speed = context
            if batch or service_tier not in STANDARD_TIERS or speed not in (None, "standard"):
                served = "batch" if batch else service_tier if service_tier not in STANDARD_TIERS else speed
                notes = [*notes, f"no {served!r} rates for {entry.id!r} in the data: priced at standard rates"]
        if self._has_discounts:
            multiplier = self._discount(entry)
            if multiplier is not None:
                breakdown = {k: v * multiplier for k, v in breakdown.items()}
                total = total * multiplier
                notes = [*notes, f"discount multiplier {multiplier} applied"]
        if match.notes:
            notes = [*match.notes, *notes]
        return total, MappingProxyType(breakdown), tuple(notes) if notes else ()

    def price_steps(
        self,
        main: Match,
        steps: Sequence[tuple[str | None, Usage]],
        web_searches: int,
        day: int,
        context: Context,
        *,
        provider: str | None = None,
    ) -> Price:
        """Price a call made of sampling steps, each at its own model's rates; the cost is the sum.

        ``steps`` are (model, usage) pairs, ``None`` meaning the call's own model (``main``).
        Parts of another model appear in the breakdown as ``<model>:<component>``; the call's
        per-search fees are priced once, at the call's model. Raises ``ValueError`` for a step
        whose model has no price (the call then has no honest total).
        """
        with localcontext(EXACT):  # the steps' sums too: exact whatever the caller's context
            return self._price_steps(main, steps, web_searches, day, context, provider=provider)

    def _price_steps(
        self,
        main: Match,
        steps: Sequence[tuple[str | None, Usage]],
        web_searches: int,
        day: int,
        context: Context,
        *,
        provider: str | None,
    ) -> Price:
        total = Decimal(0)
        breakdown: dict[str, Decimal] = {}
        notes: list[str] = []
        models: dict[str, int] = {}
        parts: list[tuple[Match, Usage]] = [
            (main if model is None else self.lookup(model, provider) or _unpriced_step(model), usage)
            for model, usage in steps
        ]
        if web_searches:
            parts.append((main, new_usage(web_search_requests=web_searches)))
        for match, usage in parts:
            price = self.price_match(match, usage, day, context)
            prefix = "" if match.entry is main.entry else f"{match.entry.id}:"
            for component, amount in price.breakdown.items():
                breakdown[prefix + component] = breakdown.get(prefix + component, Decimal(0)) + amount
            total += price.total
            notes.extend(n for n in price.notes if n not in notes)
            if usage.total_tokens:
                models[match.entry.id] = models.get(match.entry.id, 0) + 1
        described = ", ".join(f"{n} at {model}" for model, n in models.items())
        notes.insert(0, f"priced per sampling step ({described})")
        entry = main.entry
        return _new_price(
            total=total,
            breakdown=MappingProxyType(breakdown),
            model=entry.id,
            provider=entry.provider,
            source=entry.source,
            notes=tuple(notes),
        )

    def unpriced(self, model: str, provider: str | None) -> None:
        """Warn once per model that it has no price, or raise if ``strict_pricing`` is set."""
        if _config.get_config().strict_pricing:
            raise UnpricedModelError(model, provider)
        key = (provider, model)
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(
                UnpricedModelWarning(
                    f"costwrap has no price for model {model!r}"
                    + (f" (provider {provider!r})" if provider else "")
                    + "; its cost is recorded as None. Register one with costwrap.registry.register()."
                ),
                stacklevel=3,
            )

    def _refresh_discount_flag(self) -> None:
        self._has_discounts = any(o.model_discounts or o.provider_discounts for o in (self._user, self._file))

    def _discount(self, entry: ModelEntry) -> Decimal | None:
        key = entry.id.lower()
        for overrides in (self._user, self._file):
            if key in overrides.model_discounts:
                return overrides.model_discounts[key]
        for overrides in (self._user, self._file):
            if entry.provider in overrides.provider_discounts:
                return overrides.provider_discounts[entry.provider]
        return None

    # --- the user's own prices ------------------------------------------------------------------

    def register(
        self,
        model: str,
        *,
        input: MoneyInput,  # noqa: A002 - the rate's name in the data and the docs
        output: MoneyInput | None = None,
        cache_read: MoneyInput | None = None,
        cache_write: MoneyInput | None = None,
        cache_write_1h: MoneyInput | None = None,
        input_audio: MoneyInput | None = None,
        output_audio: MoneyInput | None = None,
        web_search: MoneyInput | None = None,
        provider: str | None = None,
        context_window: int | None = None,
    ) -> None:
        """Price ``model`` at these rates (USD per million tokens; ``web_search`` per thousand).

        A registered price wins over the shipped table for that exact name. Amounts are decimal
        strings, ints or ``Decimal`` (a float is read through ``str``).
        """
        raw = {
            "input": input,
            "output": output,
            "cache_read": cache_read,
            "cache_write": cache_write,
            "cache_write_1h": cache_write_1h,
            "input_audio": input_audio,
            "output_audio": output_audio,
            "web_search": web_search,
        }
        rates = parse_rates({k: v for k, v in raw.items() if v is not None}, f"register({model!r})")
        entry = _user_entry(
            model,
            rates,
            provider=provider,
            source="registered",
            context_window=context_window,
            where=f"register({model!r})",
        )
        with self._lock:
            self._user.models[model.strip().lower()] = entry
            self._cache.clear()

    def unregister(self, model: str) -> None:
        """Forget a price registered with :meth:`register` (the shipped one applies again)."""
        with self._lock:
            self._user.models.pop(model.strip().lower(), None)
            self._cache.clear()

    def alias(self, name: str, target: str) -> None:
        """Price ``name`` as ``target``: e.g. an Azure deployment as the model behind it.

        >>> import costwrap
        >>> costwrap.registry.alias("prod-chat", "gpt-4o")
        >>> costwrap.registry.lookup("prod-chat").entry.id
        'gpt-4o'
        """
        if not name or not target:
            raise ValueError("alias(name, target): both must be non-empty model names")
        with self._lock:
            self._user.aliases[name.strip().lower()] = target
            self._cache.clear()

    def discount(self, multiplier: MoneyInput, *, provider: str | None = None, model: str | None = None) -> None:
        """Multiply the cost of one provider's or one model's calls (``"0.8"`` = 20 % off).

        A model's multiplier wins over its provider's. ``model`` is a price-table id as
        ``Price.model`` reports it (``gpt-4o``, not ``gpt-4o-2024-08-06``).
        """
        value = to_decimal(multiplier, "discount multiplier")
        if (provider is None) == (model is None):
            raise ValueError("discount(): give exactly one of provider= or model=")
        with self._lock:
            if provider is not None:
                self._user.provider_discounts[PROVIDER_ALIASES.get(provider, provider)] = value
            else:
                assert model is not None
                self._user.model_discounts[model.strip().lower()] = value
            self._has_discounts = True

    def models(self, provider: str | None = None) -> list[ModelEntry]:
        """Every priced model (user-registered first), optionally of one provider."""
        self._sync_file()
        out = [*self._user.models.values(), *self._file.models.values()]
        providers = [PROVIDER_ALIASES.get(provider, provider)] if provider else list(SHIPPED_PROVIDERS)
        for name in providers:
            table = shipped_table(name)
            if table is not None:
                out.extend(table.models)
        return [e for e in out if provider is None or e.provider == providers[0]]

    def reset(self) -> None:
        """Drop every registration, alias, discount and loaded price file."""
        with self._lock:
            self._user = _Overrides()
            self._file = _Overrides()
            self._file_path = None
            self._file_error = None
            self._cache.clear()
            self._warned.clear()
            self._has_discounts = False

    # --- price files ----------------------------------------------------------------------------

    def load_file(self, path: str | os.PathLike[str]) -> None:
        """Load price overrides from a TOML or JSON file, replacing any loaded before.

        Raises :class:`~costwrap.PriceFileError` naming the file, the entry and the field when
        the file is malformed; the previous overrides then stay in force. The format::

            [models."my-finetune"]
            provider = "openai"
            input = "0.30"          # USD per million tokens
            output = "1.20"
            cache_read = "0.15"

            [aliases]
            "prod-chat" = "gpt-4o"

            [discounts.providers]
            openai = "0.9"          # pay 90 %

            [discounts.models]
            "gpt-4o" = "0.8"
        """
        file_path = Path(path)
        overrides = _read_price_file(file_path)
        with self._lock:
            self._file = overrides
            self._file_path = file_path
            self._file_error = None
            self._cache.clear()
            self._refresh_discount_flag()

    def _sync_file(self) -> None:
        wanted = _config.get_config().prices
        if wanted == self._file_path:
            return
        if self._file_error is not None and self._file_error[0] == wanted:
            # A bad file is reported on every lookup that needs it, without re-reading it.
            raise self._file_error[1]
        if wanted is None:
            with self._lock:
                self._file = _Overrides()
                self._file_path = None
                self._cache.clear()
            return
        try:
            self.load_file(wanted)
        except PriceFileError as exc:
            self._file_error = (wanted, exc)
            raise


def _unpriced_step(model: str) -> Match:
    raise ValueError(f"a sampling step ran on {model!r}, which has no price")


def _user_entry(
    model: str, rates: dict[str, Rate], *, provider: str | None, source: str, context_window: int | None, where: str
) -> ModelEntry:
    if not model or not model.strip():
        raise ValueError(f"{where}: a model name must be non-empty")
    if "input" not in rates:
        raise ValueError(f"{where}.input: an input rate is required")
    name = model.strip().lower()
    prov = PROVIDER_ALIASES.get(provider, provider) if provider else "custom"
    return ModelEntry(
        model_id=model.strip(),
        provider=prov,
        source=source,
        rule=compile_rule({"equals": name}),
        prices=[(None, rates)],
        context_window=context_window,
        base_cache_ttl=_base_ttl(prov, name),
    )


def _read_price_file(path: Path) -> _Overrides:
    import json
    import tomllib

    where = str(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise PriceFileError(where, "file", f"cannot be read: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".json":
            doc: Any = json.loads(raw_bytes, parse_float=Decimal)
        else:
            doc = tomllib.loads(raw_bytes.decode("utf-8"), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PriceFileError(
            where, "file", f"is not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {exc}"
        ) from None
    if not isinstance(doc, Mapping):
        raise PriceFileError(where, "file", "the top level must be a table")
    unknown = set(doc) - {"models", "aliases", "discounts"}
    if unknown:
        raise PriceFileError(where, sorted(unknown)[0], "unknown section (expected models, aliases, discounts)")
    out = _Overrides()
    models = doc.get("models", {})
    if not isinstance(models, Mapping):
        raise PriceFileError(where, "models", "must be a table of models")
    source = f"file:{path.name}"
    for name, raw_spec in models.items():
        at = f"models.{name}"
        if not isinstance(raw_spec, Mapping):
            raise PriceFileError(where, at, "must be a table of rates")
        spec = dict(raw_spec)
        provider = spec.pop("provider", None)
        context_window = spec.pop("context_window", None)
        if provider is not None and not isinstance(provider, str):
            raise PriceFileError(where, f"{at}.provider", "must be a string")
        if context_window is not None and (isinstance(context_window, bool) or not isinstance(context_window, int)):
            raise PriceFileError(where, f"{at}.context_window", "must be an integer")
        try:
            rates = parse_rates(spec, at)
            entry = _user_entry(name, rates, provider=provider, source=source, context_window=context_window, where=at)
        except ValueError as exc:
            field_at, _, problem = str(exc).partition(": ")
            raise PriceFileError(where, field_at if problem else at, problem or str(exc)) from None
        out.models[name.strip().lower()] = entry
    aliases = doc.get("aliases", {})
    if not isinstance(aliases, Mapping):
        raise PriceFileError(where, "aliases", "must be a table of name = target")
    for name, target in aliases.items():
        if not isinstance(target, str) or not target:
            raise PriceFileError(where, f"aliases.{name}", "the target must be a model name string")
        out.aliases[name.strip().lower()] = target
    discounts = doc.get("discounts", {})
    if not isinstance(discounts, Mapping) or set(discounts) - {"providers", "models"}:
        raise PriceFileError(where, "discounts", "must hold the tables 'providers' and/or 'models'")
    for kind, target_map in (("providers", out.provider_discounts), ("models", out.model_discounts)):
        section = discounts.get(kind, {})
        if not isinstance(section, Mapping):
            raise PriceFileError(where, f"discounts.{kind}", "must be a table of name = multiplier")
        for name, value in section.items():
            try:
                multiplier = to_decimal(value, f"discounts.{kind}.{name}")
            except ValueError as exc:
                raise PriceFileError(where, f"discounts.{kind}.{name}", str(exc).partition(": ")[2]) from None
            key = PROVIDER_ALIASES.get(name, name) if kind == "providers" else name.strip().lower()
            target_map[str(key)] = multiplier
    return out


registry = Registry()
"""The process-wide rate registry used by wrapped calls and :func:`costwrap.price`."""

_config.on_reset(registry.reset)
_config.on_prices_change(registry.load_file)
