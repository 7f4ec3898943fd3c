"""Display helpers: money and token counts for people (records themselves are never rounded)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal


def usd(amount: Decimal | None, places: int | None = None) -> str:
    """``$0.000285`` for display: exact unless ``places`` is given, never in exponent notation.

    >>> usd(Decimal("0.000285000")), usd(Decimal("12.3456"), 2), usd(None)
    ('$0.000285', '$12.35', 'unpriced')
    """
    if amount is None:
        return "unpriced"
    if places is not None:
        amount = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        return f"${amount:,.{places}f}"
    text = format(amount.normalize(), "f") if amount else "0"
    if "." in text:
        whole, frac = text.split(".")
        return f"${int(whole):,}.{frac}"
    return f"${int(text):,}"
