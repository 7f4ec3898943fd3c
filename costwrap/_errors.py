"""Everything costwrap raises or warns on purpose.

costwrap raises only where a user asked for enforcement (``strict_pricing``, and later budgets);
every other fault of ours is logged once and swallowed, so it never changes what the caller's
LLM call returns or raises.
"""

from __future__ import annotations


class CostwrapError(Exception):
    """Base class of every exception costwrap raises on purpose."""


class UnpricedModelError(CostwrapError, LookupError):
    """No price is known for a model and the user asked for strict pricing.

    Raised by :func:`costwrap.price` and by wrapped calls when
    ``costwrap.configure(strict_pricing=True)`` is set. Without strict pricing an unknown model
    gives an :class:`UnpricedModelWarning` (once per model) and a cost of ``None``.
    """

    def __init__(self, model: str, provider: str | None = None) -> None:
        where = f" (provider {provider!r})" if provider else ""
        super().__init__(
            f"no price is known for model {model!r}{where}; register one with "
            f"costwrap.registry.register({model!r}, input=..., output=...)"
        )
        self.model = model
        self.provider = provider


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
