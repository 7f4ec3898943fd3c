"""Rates as the price data states them: per-million-token prices, fees per thousand, cliff tiers.

A rate is either a ``Decimal`` or a :class:`Tiered` rate whose whole-request price changes when the
request's total input is *greater than* a threshold (the providers' "long context" cliffs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costwrap._money import to_decimal

TOKEN_RATES = frozenset(
    {
        "input",
        "output",
        "cache_read",
        "cache_write",
        "cache_write_5m",
        "cache_write_1h",
        "input_audio",
        "output_audio",
        "cache_read_audio",
        "input_image",
        "output_image",
        "cache_read_image",
        "input_video",
        "output_video",
    }
)
"""Rates in USD per million tokens."""

FEE_RATES = frozenset({"web_search", "file_search"})
"""Rates in USD per thousand requests."""

OTHER_RATES = frozenset({"audio_hour", "input_audio_hour", "input_mchar"})
"""Rates costwrap keeps from the source but does not price (audio hours, characters)."""

KNOWN_RATES = TOKEN_RATES | FEE_RATES | OTHER_RATES


@dataclass(frozen=True, slots=True)
class Tiered:
    """A rate with long-context cliffs: ``base`` until the total input exceeds a tier's start.

    >>> t = Tiered(Decimal("5"), ((272000, Decimal("10")),))
    >>> t.at(272000), t.at(272001)
    (Decimal('5'), Decimal('10'))
    """

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...]
    """(start, rate) pairs in ascending order of start."""

    def at(self, input_tokens: int) -> Decimal:
        """The rate for a request whose total input is ``input_tokens``."""
        rate = self.base
        for start, tier_rate in self.tiers:
            if input_tokens > start:
                rate = tier_rate
            else:
                break
        return rate


Rate = Decimal | Tiered


def parse_rate(value: Any, where: str) -> Rate:
    """Read one rate from data: a decimal string/int, or ``{"base": ..., "tiers": [[start, rate]]}``."""
    if isinstance(value, Mapping):
        if set(value) != {"base", "tiers"}:
            raise ValueError(f"{where}: a tiered rate has exactly the keys 'base' and 'tiers'")
        base = to_decimal(value["base"], f"{where}.base")
        tiers: list[tuple[int, Decimal]] = []
        raw_tiers = value["tiers"]
        if not isinstance(raw_tiers, list):
            raise ValueError(f"{where}.tiers: expected a list of [start, rate] pairs")
        for i, pair in enumerate(raw_tiers):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError(f"{where}.tiers[{i}]: expected [start, rate]")
            start, rate = pair
            if isinstance(start, bool) or not isinstance(start, int) or start < 0:
                raise ValueError(f"{where}.tiers[{i}]: start must be a non-negative integer")
            if tiers and start <= tiers[-1][0]:
                raise ValueError(f"{where}.tiers[{i}]: starts must increase")
            tiers.append((start, to_decimal(rate, f"{where}.tiers[{i}]")))
        return Tiered(base, tuple(tiers))
    return to_decimal(value, where)


def parse_rates(raw: Any, where: str) -> dict[str, Rate]:
    """Read a mapping of rate name to rate, rejecting names costwrap does not know."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a table of rates")
    rates: dict[str, Rate] = {}
    for name, value in raw.items():
        if name not in KNOWN_RATES:
            known = ", ".join(sorted(TOKEN_RATES | FEE_RATES))
            raise ValueError(f"{where}.{name}: unknown rate (known: {known})")
        rates[name] = parse_rate(value, f"{where}.{name}")
    return rates


def _per_unit(name: str, rate: Rate) -> Rate:
    # Token rates are per million, fees per thousand: shift the exponent once, here, not per call.
    shift = -6 if name in TOKEN_RATES else -3 if name in FEE_RATES else 0
    if isinstance(rate, Tiered):
        return Tiered(rate.base.scaleb(shift), tuple((start, r.scaleb(shift)) for start, r in rate.tiers))
    return rate.scaleb(shift)


class Resolved:
    """The rates in force for one day and request context, as data gives them and ready to multiply.

    ``per_million`` is what the data says (per million tokens, fees per thousand); ``per_unit`` is
    the same per token and per request, so pricing a part is one exact multiplication.
    """

    __slots__ = ("_by_tier", "_starts", "flat", "per_million", "per_unit", "text", "tiered", "variant")

    def __init__(self, per_million: dict[str, Rate], variant: bool) -> None:
        self.per_million = per_million
        self.variant = variant
        """Whether a variant (batch, flex, priority, fast) supplied any of the rates."""
        self.per_unit = {name: _per_unit(name, rate) for name, rate in per_million.items()}
        self.tiered = any(isinstance(rate, Tiered) for rate in per_million.values())
        self.flat: dict[str, Decimal] = {} if self.tiered else self.per_unit  # type: ignore[assignment]
        """The per-unit rates when no rate is tiered (the common case: no call to :meth:`at`)."""
        self.text = None if self.tiered else _text_rates(self.flat)
        """Flat input, cache-read and output rates, when the data has all three (the fast path)."""
        # Every tier start of every rate: between two of them all rates are constant, so the
        # resolved rates are built once per such band, not per request.
        self._starts = tuple(
            sorted({start for rate in self.per_unit.values() if isinstance(rate, Tiered) for start, _ in rate.tiers})
        )
        self._by_tier: dict[int, tuple[dict[str, Decimal], TextRates | None]] = {}

    def at(self, input_tokens: int) -> dict[str, Decimal]:
        """Per-unit rates for a request with this total input (tiers resolved). Do not mutate."""
        if not self.tiered:
            return self.per_unit  # type: ignore[return-value]
        return self._band(input_tokens)[0]

    def text_at(self, input_tokens: int) -> TextRates | None:
        """:attr:`text` for a request with this total input (tiers resolved)."""
        if not self.tiered:
            return self.text
        return self._band(input_tokens)[1]

    def _band(self, input_tokens: int) -> tuple[dict[str, Decimal], TextRates | None]:
        band = 0
        for start in self._starts:
            if input_tokens > start:
                band += 1
            else:
                break
        hit = self._by_tier.get(band)
        if hit is None:
            rates = {k: v.at(input_tokens) if isinstance(v, Tiered) else v for k, v in self.per_unit.items()}
            hit = self._by_tier[band] = (rates, _text_rates(rates))
        return hit


TextRates = tuple[Decimal, Decimal, Decimal]
"""Per-token input, cache-read and output rates."""


def _text_rates(rates: Mapping[str, Rate]) -> TextRates | None:
    text = (rates.get("input"), rates.get("cache_read"), rates.get("output"))
    if all(isinstance(rate, Decimal) for rate in text):
        return text  # type: ignore[return-value]
    return None
