"""costwrap: what every LLM call costs, exactly, recorded without changing how you call.

>>> import costwrap
>>> costwrap.price("gpt-4o-mini", input_tokens=1200, cache_read_tokens=1000, output_tokens=300).total
Decimal('0.000285000')

Wrap a client in one line (``client = costwrap.wrap(OpenAI())``) or every client in the process
(``costwrap.instrument()``); each call then yields one :class:`CostRecord` for the sinks you add.
Importing costwrap imports no provider SDK and no tokenizer, and does no I/O.
"""

from __future__ import annotations

import importlib
import sys
import types

# Not `typing.TYPE_CHECKING`: importing typing alone would cost more than the rest of this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from costwrap._config import Config, add_sink, configure, get_config, remove_sink, reset
    from costwrap._errors import (
        BudgetExceeded,
        BudgetStoreError,
        CostwrapError,
        PriceFileError,
        UnpricedModelError,
        UnpricedModelWarning,
    )
    from costwrap._patch import instrument, uninstrument, unwrap, wrap
    from costwrap._record import CostRecord, Usage
    from costwrap.budget import Budget, budget
    from costwrap.pricing import Price, Registry, Tiered, price, registry
    from costwrap.sinks import LoggingSink
    from costwrap.stores import MemoryBudgetStore, RedisBudgetStore
    from costwrap.track import Tracker, track

__version__ = "0.1.0"

# Each public name and the module that defines it. They load on first use (PEP 562), so
# `import costwrap` costs about a millisecond and a process pays only for what it touches:
# a script that only prices never loads the wrappers, budgets or sinks.
_EXPORTS: dict[str, str] = {
    "Budget": "costwrap.budget",
    "BudgetExceeded": "costwrap._errors",
    "BudgetStoreError": "costwrap._errors",
    "Config": "costwrap._config",
    "CostRecord": "costwrap._record",
    "CostwrapError": "costwrap._errors",
    "LoggingSink": "costwrap.sinks",
    "MemoryBudgetStore": "costwrap.stores",
    "Price": "costwrap.pricing",
    "PriceFileError": "costwrap._errors",
    "RedisBudgetStore": "costwrap.stores",
    "Registry": "costwrap.pricing",
    "Tiered": "costwrap.pricing",
    "Tracker": "costwrap.track",
    "UnpricedModelError": "costwrap._errors",
    "UnpricedModelWarning": "costwrap._errors",
    "Usage": "costwrap._record",
    "add_sink": "costwrap._config",
    "budget": "costwrap.budget",
    "configure": "costwrap._config",
    "get_config": "costwrap._config",
    "instrument": "costwrap._patch",
    "price": "costwrap.pricing",
    "registry": "costwrap.pricing",
    "remove_sink": "costwrap._config",
    "reset": "costwrap._config",
    "track": "costwrap.track",
    "uninstrument": "costwrap._patch",
    "unwrap": "costwrap._patch",
    "wrap": "costwrap._patch",
}

__all__ = [
    "Budget",
    "BudgetExceeded",
    "BudgetStoreError",
    "Config",
    "CostRecord",
    "CostwrapError",
    "LoggingSink",
    "MemoryBudgetStore",
    "Price",
    "PriceFileError",
    "RedisBudgetStore",
    "Registry",
    "Tiered",
    "Tracker",
    "UnpricedModelError",
    "UnpricedModelWarning",
    "Usage",
    "__version__",
    "add_sink",
    "budget",
    "configure",
    "get_config",
    "instrument",
    "price",
    "registry",
    "remove_sink",
    "reset",
    "track",
    "uninstrument",
    "unwrap",
    "wrap",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'costwrap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """costwrap's module type: keeps ``costwrap.budget`` and ``costwrap.track`` the functions.

    Loading a submodule binds it as an attribute of its package, and two submodules share their
    names with the public functions they define. Imported eagerly (as before these attributes
    were lazy), the function was bound last and won; now the submodule may load later (a wrapped
    call importing the budget machinery), so its binding is declined here and the attribute
    stays lazy. ``from costwrap.budget import Budget`` and ``sys.modules`` are unaffected.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name in ("budget", "track") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
