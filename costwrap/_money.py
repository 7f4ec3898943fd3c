"""Turning user input into exact money: one place that decides what a price may be."""

from __future__ import annotations

from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation

EXACT = Context(prec=1000, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Where costwrap adds and multiplies money when the caller's decimal context could round it
(an application may set ``getcontext().prec = 4`` for its own sums; costwrap's must not follow).
A thousand digits: a rate's few digits times any count, summed over any number of calls."""
exact_add = EXACT.add
exact_subtract = EXACT.subtract

MoneyInput = str | int | Decimal | float
"""What the public API accepts for an amount of USD or a rate: ``"0.30"``, ``3``, ``Decimal``.

A ``float`` is accepted through ``Decimal(str(x))`` so ``0.3`` means 0.3, not 0.2999...
"""


def to_decimal(value: object, what: str, *, allow_negative: bool = False) -> Decimal:
    """Convert ``value`` to a finite ``Decimal`` or raise ``ValueError`` naming ``what``.

    >>> to_decimal("0.30", "input")
    Decimal('0.30')
    >>> to_decimal(0.1, "input")
    Decimal('0.1')
    """
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a decimal amount, got a bool")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{what}: {value!r} is not a decimal number") from None
    else:
        raise ValueError(f"{what}: expected a decimal string, int or Decimal, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{what}: {value!r} is not a finite number")
    if result < 0 and not allow_negative:
        raise ValueError(f"{what}: {value!r} is negative")
    return result
