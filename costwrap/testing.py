"""Helpers for users' own tests: capture the records of the LLM calls a test makes.

>>> import costwrap.testing
>>> with costwrap.testing.capture() as records:
...     pass   # code under test making wrapped LLM calls
>>> records.records, records.cost
([], Decimal('0'))
"""

from __future__ import annotations

from costwrap.track import Tracker, track


def capture() -> Tracker:
    """A :func:`costwrap.track` block for tests, named so in its ``repr``.

    It sees every wrapped call made in the block's context, whatever client made it.
    """
    return track("costwrap.testing.capture")


__all__ = ["Tracker", "capture"]
