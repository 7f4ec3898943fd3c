"""Display helpers: money and token counts for people (records themselves are never rounded)."""

from __future__ import annotations

from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_EVEN, Context, Decimal, localcontext

_WIDE = Context(prec=1000, rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Formatting never rounds an amount's digits away (nor depends on the caller's context)."""


def usd(amount: Decimal | None, places: int | None = None, *, min_places: int = 0) -> str:
    """``$1,234.5`` for people: exact unless ``places`` is given, never in exponent notation.

    ``min_places`` pads with zeros (``$35.10``) without rounding anything away; amounts of any
    size print every digit.

    >>> usd(Decimal("0.000285000")), usd(Decimal("12.3456"), 2), usd(None)
    ('$0.000285', '$12.35', 'unpriced')
    >>> usd(Decimal("1.6E-7")), usd(Decimal("35.1"), min_places=2), usd(Decimal("-0.5"))
    ('$0.00000016', '$35.10', '-$0.5')
    >>> usd(Decimal("12345678901234567890123456789.015"), 2)
    '$12,345,678,901,234,567,890,123,456,789.02'
    """
    if amount is None:
        return "unpriced"
    with localcontext(_WIDE):
        if places is not None:
            amount = amount.quantize(Decimal(1).scaleb(-places))
        whole, _, frac = format(abs(amount), "f").partition(".")
    if places is None:
        frac = frac.rstrip("0")
    frac = frac.ljust(min_places, "0")
    sign = "-" if amount < 0 else ""
    return f"{sign}${int(whole):,}" + (f".{frac}" if frac else "")
