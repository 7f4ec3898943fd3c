"""Fan-out: one record to every tracker in context, the client's own sinks, then the global sinks.

Modelled on structlog's processor chain: a flat loop, each step isolated. A sink that raises is
logged once (by name, with its traceback) and skipped; it never breaks the call or starves the
sinks after it, in strict mode or not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from costwrap import _config
from costwrap._config import Sink

if TYPE_CHECKING:
    from costwrap._record import CostRecord
    from costwrap.track import Tracker

logger = logging.getLogger("costwrap")

trackers: ContextVar[tuple[Tracker, ...]] = ContextVar("costwrap_trackers", default=())
"""The trackers (``track()`` blocks) active in the current context, outermost first."""

_failed_sinks: set[str] = set()
_failed_lock = threading.Lock()


def sink_name(sink: object) -> str:
    """A readable name for a sink: its qualified function or class name."""
    name = getattr(sink, "__qualname__", None) or type(sink).__qualname__
    module = getattr(sink, "__module__", None) or type(sink).__module__
    return f"{module}.{name}" if module and module != "builtins" else str(name)


def deliver(sink: Sink, record: CostRecord) -> None:
    """Call one sink, isolating its failure."""
    try:
        sink(record)
    except Exception as exc:
        name = sink_name(sink)
        with _failed_lock:
            first = name not in _failed_sinks
            _failed_sinks.add(name)
        if first:
            logger.warning("costwrap sink %s failed; the call and other sinks are unaffected", name, exc_info=exc)
        else:
            logger.debug("costwrap sink %s failed again: %s: %s", name, type(exc).__name__, exc)


def emit(record: CostRecord, own_sinks: Iterable[Sink] = ()) -> None:
    """Deliver ``record`` to the trackers in context, then ``own_sinks``, then the global sinks."""
    for tracker in trackers.get():
        tracker._add(record)
    for sink in own_sinks:
        deliver(sink, record)
    for sink in _config._sinks:  # the module's current tuple (replaced, never mutated): no call
        deliver(sink, record)


def reset_failed_sinks() -> None:
    """Forget which sinks failed, so the next failure logs its traceback again (for tests)."""
    with _failed_lock:
        _failed_sinks.clear()
