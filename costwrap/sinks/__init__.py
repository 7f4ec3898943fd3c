"""Where records go. A sink is any callable taking one :class:`~costwrap.CostRecord`.

Sinks are opted into: ``costwrap.add_sink(sink)`` for every call, ``wrap(client, on_cost=sink)``
for one client. Nothing is logged or written by default.

- :class:`LoggingSink`: one log line per call, fields as structured ``extra``.
- :class:`JSONLSink`: a JSON Lines file, appended atomically, optionally rotated.
- :class:`SQLiteSink`: the embedded ledger the reports read.
- :class:`OTelSink`: OpenTelemetry GenAI metrics and span attributes (``costwrap[otel]``).
- :class:`PrometheusSink`: Prometheus counters (``costwrap[prometheus]``).
- :class:`Background`: runs a slow sink on a worker thread with a bounded queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from costwrap.sinks.background import Background
from costwrap.sinks.jsonl import JSONLSink
from costwrap.sinks.logging import LoggingSink
from costwrap.sinks.sqlite import SQLiteSink

if TYPE_CHECKING:
    from costwrap.sinks.otel import OTelSink
    from costwrap.sinks.prometheus import PrometheusSink

__all__ = ["Background", "JSONLSink", "LoggingSink", "OTelSink", "PrometheusSink", "SQLiteSink"]


def __getattr__(name: str) -> Any:
    # The optional-dependency sinks load on first use, so `import costwrap.sinks` needs neither.
    if name == "OTelSink":
        from costwrap.sinks.otel import OTelSink

        return OTelSink
    if name == "PrometheusSink":
        from costwrap.sinks.prometheus import PrometheusSink

        return PrometheusSink
    raise AttributeError(f"module 'costwrap.sinks' has no attribute {name!r}")
