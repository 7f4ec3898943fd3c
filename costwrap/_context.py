"""The budgets in force in the current context, kept apart from :mod:`costwrap.budget`.

Every wrapped call reads this; only a call made inside a budget needs the budget machinery, so
the wrappers import :mod:`costwrap.budget` (and the token counter behind pre-flight) when they
find one here, not when a process merely wraps a client.
"""

from __future__ import annotations

from contextvars import ContextVar

TYPE_CHECKING = False  # not typing's: this module is on the import path of every wrapped call
if TYPE_CHECKING:
    from costwrap.budget import Budget

active: ContextVar[tuple[Budget, ...]] = ContextVar("costwrap_budgets", default=())
"""The budgets in force in the current context, outermost first."""
