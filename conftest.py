"""Settings for costwrap's own test run (tests/ and the doctests in costwrap/).

Strict mode is switched on explicitly here, never by detecting pytest: costwrap's internal errors
then fail our tests instead of being logged, while users' test suites see production behaviour.
"""

from __future__ import annotations

import os

os.environ["COSTWRAP_STRICT"] = "1"
os.environ.pop("COSTWRAP_PRICES", None)

from collections.abc import Iterator  # noqa: E402 - the environment must be set before costwrap loads

import pytest  # noqa: E402

import costwrap  # noqa: E402
from costwrap import _dispatch, _guard  # noqa: E402

pytest_plugins = ["pytester"]  # tests/test_pytest_plugin.py runs pytest inside pytest


@pytest.fixture(autouse=True)
def _fresh_costwrap_state() -> Iterator[None]:
    """Every test starts and ends with no instrumentation, sinks, registrations or logged errors."""
    yield
    costwrap.uninstrument()
    costwrap.reset()
    _guard.reset_reported()
    _dispatch.reset_failed_sinks()
