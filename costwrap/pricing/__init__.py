"""Pricing: the rate registry and :func:`price`, with no knowledge of SDKs or sinks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from costwrap._record import Usage
from costwrap.pricing._rates import Tiered
from costwrap.pricing._registry import Match, Price, Registry, registry
from costwrap.pricing._table import ModelEntry


def price(
    model: str,
    *,
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
    web_search_requests: int = 0,
    usage: Usage | None = None,
    provider: str | None = None,
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
    return registry.price(
        model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        cache_write_by_ttl=cache_write_by_ttl,
        reasoning_tokens=reasoning_tokens,
        input_audio_tokens=input_audio_tokens,
        output_audio_tokens=output_audio_tokens,
        input_image_tokens=input_image_tokens,
        output_image_tokens=output_image_tokens,
        web_search_requests=web_search_requests,
        usage=usage,
        provider=provider,
        at=at,
        service_tier=service_tier,
        batch=batch,
        speed=speed,
    )


__all__ = ["Match", "ModelEntry", "Price", "Registry", "Tiered", "price", "registry"]
