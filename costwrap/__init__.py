"""costwrap: what every LLM call costs, exactly, recorded without changing how you call.

>>> import costwrap
>>> costwrap.price("gpt-4o-mini", input_tokens=1200, cache_read_tokens=1000, output_tokens=300).total
Decimal('0.000285000')

Wrap a client in one line (``client = costwrap.wrap(OpenAI())``) or every client in the process
(``costwrap.instrument()``); each call then yields one :class:`CostRecord` for the sinks you add.
Importing costwrap imports no provider SDK and no tokenizer, and does no I/O.
"""

from __future__ import annotations

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
