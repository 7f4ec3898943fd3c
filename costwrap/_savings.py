"""What prompt caching saved on a call, and what its cache writes cost on top of the input rate.

Reads are billed below the input rate (the saving) and writes above it (the premium, e.g. 1.25x
for Anthropic's 5-minute writes). Each side is priced on the call's own request: same total input
(so the same long-context tier), the same day, service tier and batch mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from costwrap._record import CostRecord
from costwrap.pricing import registry

_ZERO = Decimal(0)


def cache_savings(record: CostRecord) -> Decimal:
    """USD the call's cache reads saved against paying the full input rate for them.

    Both sides are priced on the same request (same total input, so the same long-context tier,
    the same day and service tier); 0 when the call read nothing from the cache or is unpriced.
    The premium its cache writes cost is :func:`write_premium`.
    """
    usage = record.usage
    if usage is None or not usage.cache_read_tokens or record.cost is None or record.priced_as is None:
        return _ZERO
    return read_savings(
        record.priced_as,
        record.provider,
        usage.input_tokens,
        usage.cache_read_tokens,
        record.timestamp.date(),
        record.service_tier,
        record.batch,
    )


def _input_cost(  # noqa: PLR0917 - the same positional shape as the public functions below
    priced_as: str,
    provider: str,
    input_tokens: int,
    day: date,
    service_tier: str | None,
    batch: bool,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_write_by_ttl: Mapping[str, int] | None = None,
) -> Decimal | None:
    price = registry.price(
        priced_as,
        input_tokens=input_tokens,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        cache_write_by_ttl=cache_write_by_ttl,
        provider=provider,
        at=day,
        service_tier=service_tier,
        batch=batch,
    )
    return None if price is None else price.total


def read_savings(  # noqa: PLR0917 - positional, so a report can memoise on the argument tuple
    priced_as: str,
    provider: str,
    input_tokens: int,
    cache_read_tokens: int,
    day: date,
    service_tier: str | None,
    batch: bool,
) -> Decimal:
    """USD saved by ``cache_read_tokens`` of ``input_tokens`` read from the cache (0 if unpriced)."""
    full = _input_cost(priced_as, provider, input_tokens, day, service_tier, batch)
    cached = _input_cost(priced_as, provider, input_tokens, day, service_tier, batch, cache_read_tokens)
    if full is None or cached is None:
        return _ZERO
    return full - cached


def write_premium(  # noqa: PLR0917 - positional, so a report can memoise on the argument tuple
    priced_as: str,
    provider: str,
    input_tokens: int,
    cache_write_tokens: int,
    cache_write_by_ttl: tuple[tuple[str, int], ...],
    day: date,
    service_tier: str | None,
    batch: bool,
) -> Decimal:
    """USD that ``cache_write_tokens`` of ``input_tokens`` written to the cache cost above the input rate.

    ``cache_write_by_ttl`` is the split by TTL as ``(ttl, tokens)`` pairs (each TTL at its own
    rate). 0 if unpriced, or where writes cost no more than input (OpenAI).
    """
    plain = _input_cost(priced_as, provider, input_tokens, day, service_tier, batch)
    written = _input_cost(
        priced_as, provider, input_tokens, day, service_tier, batch, 0, cache_write_tokens, dict(cache_write_by_ttl)
    )
    if plain is None or written is None:
        return _ZERO
    return written - plain
