"""Everything costwrap raises or warns on purpose.

costwrap raises only where a user asked for enforcement (``strict_pricing``, and later budgets);
every other fault of ours is logged once and swallowed, so it never changes what the caller's
LLM call returns or raises.
"""

from __future__ import annotations


class CostwrapError(Exception):
    """Base class of every exception costwrap raises on purpose."""


class UnpricedModelError(CostwrapError, LookupError):
    """No price is known for a model, where a price was required.

    Raised by :func:`costwrap.price` and by wrapped calls when
    ``costwrap.configure(strict_pricing=True)`` is set, and before a call under a USD budget (which
    cannot count a call it cannot price) unless the budget says ``on_unpriced="allow"``. Otherwise
    an unknown model gives an :class:`UnpricedModelWarning` (once per model) and a cost of ``None``.
    """

    def __init__(self, model: str, provider: str | None = None, *, budget: str | None = None) -> None:
        where = f" (provider {provider!r})" if provider else ""
        why = ""
        if budget:
            why = f"; the USD budget {budget!r} cannot count it, so the call was refused (see on_unpriced)"
        super().__init__(
            f"no price is known for model {model!r}{where}{why}; register one with "
            f"costwrap.registry.register({model!r}, input=..., output=...)"
        )
        self.model = model
        self.provider = provider
        self.budget = budget


class PriceFileError(CostwrapError, ValueError):
    """A price override file (``COSTWRAP_PRICES`` or ``configure(prices=...)``) is malformed.

    The message names the file, the entry and the field that is wrong.
    """

    def __init__(self, path: str, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}")
        self.path = path
        self.where = where
        self.problem = problem


class UnpricedModelWarning(UserWarning):
    """A call used a model costwrap has no price for; its cost is recorded as ``None``.

    Issued once per model and provider. Register a price with
    :meth:`costwrap.registry.register` or map the name with :meth:`costwrap.registry.alias`.
    """


class BudgetExceeded(CostwrapError):  # noqa: N818 - the name users catch, as the budget contract spells it
    """A budget refused a call, or a call took it over its limit.

    Raised before the request is sent when the call's worst case (``estimate``) could cross the
    limit (pre-flight), or after the call when its actual cost did (``record``); in the second case
    the record has already reached every sink. ``dimension`` is ``usd``, ``tokens`` or ``calls``.
    """

    def __init__(
        self,
        *,
        budget: str,
        limit: object,
        spent: object,
        dimension: str = "usd",
        record: object = None,
        estimate: object = None,
        reason: str | None = None,
    ) -> None:
        self.budget = budget
        self.limit = limit
        self.spent = spent
        self.dimension = dimension
        self.record = record
        self.estimate = estimate
        unit = {"usd": " USD", "tokens": " tokens", "calls": " calls"}.get(dimension, "")
        if reason is None:
            if estimate is not None:
                reason = f"this call could cost up to {estimate}{unit}, which would take it past its limit"
            else:
                reason = "the last call took it past its limit"
        super().__init__(f"budget {budget!r} ({limit}{unit}, spent {spent}{unit}): {reason}")


class BudgetStoreError(CostwrapError):
    """A shared budget's store (Redis) could not be reached or answered wrongly.

    Budgets fail closed by default: the call is refused. ``on_store_error="allow"`` lets calls
    through with a warning instead.
    """
