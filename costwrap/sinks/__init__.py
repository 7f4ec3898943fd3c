"""Where records go. A sink is any callable taking one :class:`~costwrap.CostRecord`.

Sinks are opted into: ``costwrap.add_sink(sink)`` for every call, ``wrap(client, on_cost=sink)``
for one client. Nothing is logged or written by default.
"""

from __future__ import annotations

from costwrap.sinks.logging import LoggingSink

__all__ = ["LoggingSink"]
