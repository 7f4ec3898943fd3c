"""What prompt caching saved on a call: its cache reads priced at the input rate, minus their cost."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from costwrap._record import CostRecord
from costwrap.pricing import registry

_ZERO = Decimal(0)


def cache_savings(record: CostRecord) -> Decimal:
    """USD the call's cache reads saved against paying the full input rate for them.

    Both sides are priced on the same request (same total input, so the same long-context tier,
    the same day and service tier); 0 when the call read nothing from the cache or is unpriced.
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

    def priced(reads: int) -> Decimal | None:
        price = registry.price(
            priced_as,
            input_tokens=input_tokens,
            cache_read_tokens=reads,
            provider=provider,
            at=day,
            service_tier=service_tier,
            batch=batch,
        )
        return None if price is None else price.total

    full, cached = priced(0), priced(cache_read_tokens)
    if full is None or cached is None:
        return _ZERO
    return full - cached
