"""costwrap's pytest plugin, registered automatically when costwrap is installed.

- the ``costwrap_records`` fixture: a :class:`~costwrap.Tracker` of the LLM calls the test made;
- the ``cost_budget`` marker: ``@pytest.mark.cost_budget(usd="0.01")`` fails a test whose wrapped
  LLM calls cost more than that (or that made a call costwrap could not price, unless
  ``allow_unpriced=True``), so a team can keep its test suite's spend in check.

It changes nothing else: costwrap behaves in your tests exactly as in production.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from decimal import Decimal
from typing import Any

import pytest

from costwrap._format import usd
from costwrap._money import to_decimal
from costwrap.track import Tracker, track


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker."""
    config.addinivalue_line(
        "markers",
        "cost_budget(usd, allow_unpriced=False): fail the test if its LLM calls (recorded by costwrap) cost more",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Reject a malformed ``cost_budget`` marker before anything runs."""
    for item in items:
        marker = item.get_closest_marker("cost_budget")
        if marker is not None:
            _limit(marker)


@pytest.fixture
def costwrap_records() -> Iterator[Tracker]:
    """The records of the wrapped LLM calls this test makes: ``costwrap_records.records``, ``.cost``."""
    with track("pytest") as tracker:
        yield tracker


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Run a ``cost_budget`` test inside a tracker and fail it when it spent too much."""
    marker = item.get_closest_marker("cost_budget")
    if marker is None:
        return (yield)
    limit = _limit(marker)
    with track(f"cost_budget {item.nodeid}") as tracker:
        result = yield
    if tracker.cost > limit:
        pytest.fail(
            f"cost_budget exceeded: the LLM calls of this test cost {usd(tracker.cost)} "
            f"(limit {usd(limit)}, {tracker.calls} calls)",
            pytrace=False,
        )
    if tracker.unpriced and not marker.kwargs.get("allow_unpriced", False):
        models = sorted({r.model or "?" for r in tracker.records if r.cost is None})
        pytest.fail(
            f"cost_budget cannot be checked: {tracker.unpriced} call(s) could not be priced ({', '.join(models)}); "
            "register a price or pass allow_unpriced=True",
            pytrace=False,
        )
    return result


def _limit(marker: pytest.Mark) -> Decimal:
    value = marker.kwargs.get("usd", marker.args[0] if marker.args else None)
    if value is None:
        raise pytest.UsageError("cost_budget needs a limit: @pytest.mark.cost_budget(usd='0.01')")
    try:
        return to_decimal(value, "cost_budget usd")
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
