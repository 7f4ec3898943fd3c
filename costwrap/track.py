"""``track()``: collect the records of the calls made inside a block.

Scope follows ``contextvars``: nested ``track()`` blocks all see a call, asyncio tasks created
inside the block inherit it, and so do threads started with ``contextvars.copy_context().run``
(a plain ``threading.Thread`` starts with an empty context and is not tracked).
"""

from __future__ import annotations

import threading
from contextvars import Token
from decimal import Decimal
from types import TracebackType

from costwrap._dispatch import trackers
from costwrap._format import usd
from costwrap._money import exact_add
from costwrap._record import CostRecord, Usage

_ZERO = Decimal(0)


class Tracker:
    """The records collected by one :func:`track` block. Safe to read from any thread.

    >>> import costwrap
    >>> with costwrap.track() as t:
    ...     pass   # wrapped LLM calls here
    >>> t.cost, t.calls, t.unpriced
    (Decimal('0'), 0, 0)
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self._records: list[CostRecord] = []
        self._cost = _ZERO
        self._unpriced = 0
        self._lock = threading.Lock()
        self._tokens: list[Token[tuple[Tracker, ...]]] = []

    def _add(self, record: CostRecord) -> None:
        with self._lock:
            self._records.append(record)
            if record.cost is None:
                self._unpriced += 1
            else:
                self._cost = exact_add(self._cost, record.cost)  # never the caller's decimal context

    @property
    def records(self) -> list[CostRecord]:
        """The records so far, in the order the calls finished (a copy)."""
        with self._lock:
            return list(self._records)

    @property
    def cost(self) -> Decimal:
        """Exact USD total of the priced records (unpriced ones are counted in :attr:`unpriced`)."""
        return self._cost

    @property
    def unpriced(self) -> int:
        """How many records have no cost (unknown model or unknown usage)."""
        return self._unpriced

    @property
    def calls(self) -> int:
        """How many records were collected."""
        return len(self._records)

    @property
    def usage(self) -> Usage:
        """Token counts summed over the records that have usage.

        For reporting, not for pricing: tiers apply per request, so summed usage must never be
        priced as one call.
        """
        totals: dict[str, int] = {}
        for record in self.records:
            if record.usage is None:
                continue
            for key, value in record.usage.to_dict().items():
                if isinstance(value, int):
                    totals[key] = totals.get(key, 0) + value
        return Usage(**totals)  # type: ignore[arg-type]  # only the int fields are summed

    def __enter__(self) -> Tracker:
        self._tokens.append(trackers.set((*trackers.get(), self)))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        trackers.reset(self._tokens.pop())

    async def __aenter__(self) -> Tracker:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Tracker{label} calls={self.calls} cost={usd(self.cost)} unpriced={self.unpriced}>"


def track(name: str | None = None) -> Tracker:
    """Collect the records of every wrapped call made in this context (``with`` or ``async with``).

    >>> import costwrap
    >>> with costwrap.track("nightly") as t:
    ...     pass   # client.chat.completions.create(...) etc.
    >>> t.records
    []
    """
    return Tracker(name)
