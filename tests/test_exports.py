"""The public API is what we mean it to be: a test fails when a name is added or lost by accident."""

from __future__ import annotations

import costwrap


def test_public_names() -> None:
    assert set(costwrap.__all__) == {
        "Budget",
        "BudgetExceeded",
        "BudgetStoreError",
        "MemoryBudgetStore",
        "RedisBudgetStore",
        "budget",
        "Config",
        "CostRecord",
        "CostwrapError",
        "LoggingSink",
        "Price",
        "PriceFileError",
        "Registry",
        "Tiered",
        "Tracker",
        "UnpricedModelError",
        "UnpricedModelWarning",
        "Usage",
        "__version__",
        "add_sink",
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
    }
    for name in costwrap.__all__:
        assert getattr(costwrap, name) is not None


def test_every_public_name_has_a_docstring() -> None:
    for name in costwrap.__all__:
        obj = getattr(costwrap, name)
        if callable(obj) or isinstance(obj, type):
            assert (obj.__doc__ or "").strip(), name


def test_errors_derive_from_costwrap_error() -> None:
    assert issubclass(costwrap.UnpricedModelError, costwrap.CostwrapError)
    assert issubclass(costwrap.PriceFileError, costwrap.CostwrapError)
    assert issubclass(costwrap.BudgetExceeded, costwrap.CostwrapError)
    assert issubclass(costwrap.BudgetStoreError, costwrap.CostwrapError)
    assert issubclass(costwrap.UnpricedModelWarning, UserWarning)
