"""What prompt caching saved on a call: its cache reads priced at the input rate, minus their cost."""

from __future__ import annotations

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

    def priced(cache_read_tokens: int) -> Decimal | None:
        price = registry.price(
            record.priced_as or "",
            input_tokens=usage.input_tokens,
            cache_read_tokens=cache_read_tokens,
            provider=record.provider,
            at=record.timestamp,
            service_tier=record.service_tier,
            batch=record.batch,
        )
        return None if price is None else price.total

    full, cached = priced(0), priced(usage.cache_read_tokens)
    if full is None or cached is None:
        return _ZERO
    return full - cached
