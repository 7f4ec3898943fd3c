"""The internal-error boundary: costwrap's own bugs never reach the caller.

Everything costwrap does on the path of a user's call runs under :func:`guard`. An exception there
is logged once per stage and exception type on the ``costwrap`` logger (later ones at DEBUG) and
swallowed, so the user's call returns exactly what the SDK returned. Only the enforcement errors
the user asked for (:data:`ESCAPING`) pass through. Strict mode (``COSTWRAP_STRICT=1`` or
``configure(strict=True)``, set by costwrap's own test suite) re-raises instead, so tests see bugs.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from costwrap._config import get_config
from costwrap._errors import BudgetExceeded, BudgetStoreError, UnpricedModelError

logger = logging.getLogger("costwrap")

ESCAPING: tuple[type[BaseException], ...] = (UnpricedModelError, BudgetExceeded, BudgetStoreError)
"""Errors raised on purpose where the user asked for enforcement; the guard lets them through."""

_reported: set[tuple[str, type[BaseException]]] = set()
_reported_lock = threading.Lock()


def report(stage: str, exc: BaseException) -> None:
    """Log an internal error of ``stage``: with a traceback the first time, at DEBUG after that."""
    key = (stage, type(exc))
    with _reported_lock:
        first = key not in _reported
        _reported.add(key)
    if first:
        logger.warning(
            "costwrap internal error while %s (the LLM call itself was not affected): %s: %s",
            stage,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
    else:
        logger.debug("costwrap internal error while %s again: %s: %s", stage, type(exc).__name__, exc)


class guard:  # noqa: N801 - used like a function: `with guard("pricing"):`
    """Context manager around costwrap work on the call path; see the module docstring.

    >>> with guard("an example"):
    ...     pass
    """

    __slots__ = ("stage",)

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc is None or not isinstance(exc, Exception) or isinstance(exc, ESCAPING):
            return False
        if get_config().strict:
            return False
        report(self.stage, exc)
        return True


def absorb(stage: str, exc: Exception) -> bool:
    """The :class:`guard` decision for code that catches the exception itself (the hot path).

    ``except Exception as exc: if not absorb(stage, exc): raise`` behaves like ``with guard(stage):``
    without allocating a context manager per call: True when ``exc`` was reported and swallowed,
    False when it must propagate (an enforcement error, or strict mode).
    """
    if isinstance(exc, ESCAPING) or get_config().strict:
        return False
    report(stage, exc)
    return True


def reset_reported() -> None:
    """Forget which errors were logged, so the next one logs its traceback again (for tests)."""
    with _reported_lock:
        _reported.clear()
