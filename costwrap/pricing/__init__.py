"""Pricing: the rate registry and :func:`price`, with no knowledge of SDKs or sinks."""

from __future__ import annotations

from costwrap.pricing._rates import Tiered
from costwrap.pricing._registry import Match, Price, Registry, registry
from costwrap.pricing._table import ModelEntry

price = registry.price
"""What a call with this usage costs; see :meth:`Registry.price` (the process-wide registry's)."""

__all__ = ["Match", "ModelEntry", "Price", "Registry", "Tiered", "price", "registry"]
