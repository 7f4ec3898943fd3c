"""CostRecord and Usage: frozen values, JSON-ready without floats for money."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costwrap import CostRecord, Usage
from costwrap._format import usd


def record(**changes: object) -> CostRecord:
    base = CostRecord(
        provider="openai",
        model="gpt-4o-mini",
        request_model="gpt-4o-mini",
        operation="chat.completions",
        usage=Usage(input_tokens=10, output_tokens=5, cache_write_by_ttl={"5m": 0}),
        cost=Decimal("0.00000016"),
        breakdown={"input": Decimal("0.00000016")},
        timestamp=datetime(2026, 11, 28, tzinfo=UTC),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_records_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        record().cost = Decimal(0)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Usage().input_tokens = 3  # type: ignore[misc]


def test_to_dict_is_json_ready_with_money_as_plain_decimal_strings() -> None:
    data = record().to_dict()
    text = json.dumps(data)
    assert data["cost"] == "0.00000016" and data["breakdown"] == {"input": "0.00000016"}
    assert "E-" not in text and "e-" not in text
    assert data["timestamp"] == "2026-11-28T00:00:00+00:00"
    assert data["usage"]["cache_write_by_ttl"] == {"5m": 0}
    assert Decimal(json.loads(text)["cost"]) == Decimal("1.6E-7")
    assert record(cost=None).to_dict()["cost"] is None


def test_usage_total() -> None:
    assert Usage(input_tokens=7, output_tokens=3).total_tokens == 10


@pytest.mark.parametrize(
    ("amount", "places", "text"),
    [
        (Decimal("0.000285000"), None, "$0.000285"),
        (Decimal("1.6E-7"), None, "$0.00000016"),
        (Decimal("1234.5"), 2, "$1,234.50"),
        (Decimal("10"), None, "$10"),
        (Decimal("0"), None, "$0"),
        (None, None, "unpriced"),
    ],
)
def test_usd_display(amount: Decimal | None, places: int | None, text: str) -> None:
    assert usd(amount, places) == text
