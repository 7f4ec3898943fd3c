"""The shipped price data: well-formed, sourced, complete, and priced the way its source prices it.

CI does not regenerate the data (scripts/sync_prices.py is a dev-time tool); these tests check what
is shipped. The pinned source, genai-prices 0.2.3, is a test dependency: every shipped model is
priced by costwrap and by genai-prices' own engine on the same usage, and the totals must be equal
to the last digit.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

import costwrap
from costwrap.pricing._rates import KNOWN_RATES
from costwrap.pricing._table import SHIPPED_PROVIDERS

genai_prices = pytest.importorskip("genai_prices", reason="genai-prices is a test dependency: pip install -e '.[test]'")

SOURCE_IDS = {"openai": "openai", "anthropic": "anthropic", "google": "google", "azure": "azure", "bedrock": "aws"}


def load(provider: str) -> dict[str, Any]:
    text = resources.files("costwrap.pricing").joinpath(f"data/{provider}.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def rates_of(doc: dict[str, Any]) -> list[tuple[str, str, Any]]:
    out = []
    for model in doc["models"]:
        for block in model["prices"]:
            out += [(model["id"], name, value) for name, value in block["rates"].items()]
        for variant in model.get("variants", []):
            out += [(model["id"], name, value) for name, value in variant["rates"].items()]
    return out


@pytest.mark.parametrize("provider", SHIPPED_PROVIDERS)
def test_each_file_records_its_source_version_and_licence(provider: str) -> None:
    doc = load(provider)
    assert doc["schema_version"] == 1
    assert doc["provider"] == provider
    assert doc["source"] == {
        "name": "genai-prices",
        "version": "0.2.3",
        "provider_id": SOURCE_IDS[provider],
        "licence": "MIT",
        "url": "https://github.com/pydantic/genai-prices",
        # Output limits for budget pre-flight estimates are not in genai-prices: LiteLLM's table.
        "output_limits": {"name": "litellm", "version": "1.110.2", "licence": "MIT"},
    }
    assert "MIT" in doc["notice"]
    notice = resources.files("costwrap.pricing").joinpath("data/NOTICE").read_text()
    assert "Pydantic Services Inc." in notice and "Permission is hereby granted" in notice


@pytest.mark.parametrize("provider", SHIPPED_PROVIDERS)
def test_every_rate_is_a_non_negative_decimal_string(provider: str) -> None:
    for model_id, name, value in rates_of(load(provider)):
        assert name in KNOWN_RATES, (model_id, name)
        values = [value] if isinstance(value, str) else [value["base"], *(rate for _, rate in value["tiers"])]
        if isinstance(value, dict):
            starts = [start for start, _ in value["tiers"]]
            assert starts == sorted(starts) and all(isinstance(s, int) and s > 0 for s in starts), model_id
        for text in values:
            assert isinstance(text, str), (model_id, name, text)  # never a float in the data
            amount = Decimal(text)
            assert amount.is_finite() and amount >= 0, (model_id, name, text)


@pytest.mark.parametrize("provider", SHIPPED_PROVIDERS)
def test_models_have_ids_rules_and_dated_prices_in_order(provider: str) -> None:
    doc = load(provider)
    ids = [m["id"] for m in doc["models"]]
    assert len(ids) == len(set(ids))
    for model in doc["models"]:
        assert model["match"], model["id"]
        starts = [block["from"] for block in model["prices"]]
        assert starts[0] is None or isinstance(starts[0], str)
        dated = [date.fromisoformat(s) for s in starts if s is not None]
        assert dated == sorted(dated), model["id"]
        for variant in model.get("variants", []):
            assert set(variant["when"]) <= {"service_tier", "processing", "speed"}, model["id"]
        for limit in ("context_window", "max_output_tokens"):
            assert limit not in model or (isinstance(model[limit], int) and model[limit] > 0), model["id"]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
def test_every_first_party_model_of_the_source_is_shipped(provider: str) -> None:
    from genai_prices import data

    source = next(p for p in data.providers if p.id == provider)
    shipped = {m["id"] for m in load(provider)["models"]}
    assert {m.id for m in source.models} == shipped


def test_the_reference_table_rows_are_what_costwrap_prices() -> None:
    # A few rows of shared/reference/prices.md, read from the shipped data through the public API.
    rows = {
        "gpt-5.5": ("5", "0.5", "30"),
        "gpt-4o-mini": ("0.15", "0.075", "0.6"),
        "claude-opus-4-8": ("5", "0.5", "25"),
        "gemini-2.5-flash": ("0.3", "0.03", "2.5"),
    }
    for model, (inp, cached, out) in rows.items():
        # 100k tokens: below every long-context threshold.
        p = costwrap.price(
            model, input_tokens=100_000, cache_read_tokens=50_000, output_tokens=100_000, at=date(2026, 11, 28)
        )
        assert p is not None
        assert p.total == (Decimal(inp) * 50_000 + Decimal(cached) * 50_000 + Decimal(out) * 100_000) / 1_000_000, model


# --- the same answers as the source's own engine ----------------------------------------------------

SCENARIOS: list[dict[str, Any]] = [
    {"input_tokens": 1200, "output_tokens": 300},
    {"input_tokens": 5000, "cache_read_tokens": 4096, "output_tokens": 800},
    {"input_tokens": 3000, "cache_write_tokens": 2000, "output_tokens": 10},
    {"input_tokens": 300_000, "cache_read_tokens": 100_000, "output_tokens": 2000},
    {"input_tokens": 150_000, "output_tokens": 20_000},
    {
        "input_tokens": 4000,
        "cache_read_tokens": 1500,
        "input_audio_tokens": 1000,
        "cache_read_audio_tokens": 500,
        "output_tokens": 700,
        "output_audio_tokens": 200,
    },
    {
        "input_tokens": 3000,
        "input_image_tokens": 1000,
        "input_video_tokens": 500,
        "output_tokens": 900,
        "output_image_tokens": 400,
    },
]
CONTEXTS: list[dict[str, Any]] = [{}, {"batch": True}, {"service_tier": "flex"}, {"service_tier": "priority"}]
DAYS = [datetime(2026, 11, 28, 12, tzinfo=UTC), datetime(2027, 1, 2, 12, tzinfo=UTC)]


def genai_total(model_ref: str, provider_id: str, usage: dict[str, Any], context: dict[str, Any], at: datetime) -> Any:
    from genai_prices import Usage, calc_price

    price_context = {}
    if context.get("batch"):
        price_context["processing"] = "batch"
    if context.get("service_tier"):
        price_context["service_tier"] = context["service_tier"]
    names = {"cache_read_audio_tokens": "cache_audio_read_tokens"}  # genai-prices spells it so
    result = calc_price(
        Usage(**{names.get(k, k): v for k, v in usage.items()}),
        model_ref,
        provider_id=provider_id,
        genai_request_timestamp=at,
        price_context=price_context or None,
    )
    return result.total_price


@pytest.mark.parametrize("provider", SHIPPED_PROVIDERS)
def test_costwrap_and_genai_prices_agree_on_every_model(provider: str) -> None:
    compared = 0
    for model in load(provider)["models"]:
        for usage in SCENARIOS:
            # Azure's rows fall back to OpenAI's, where genai-prices ignores tier variants: compare standard only.
            contexts = [{}] if provider == "azure" else CONTEXTS
            for context in contexts:
                for at in DAYS:
                    try:
                        expected = genai_total(model["id"], SOURCE_IDS[provider], usage, context, at)
                    except (LookupError, ValueError):
                        continue  # the source cannot price it either (e.g. a unit costwrap has no usage for)
                    ours = costwrap.price(model["id"], provider=provider, at=at, **usage, **context)
                    assert ours is not None, model["id"]
                    assert ours.total == expected, (model["id"], usage, context, at, ours, expected)
                    compared += 1
    assert compared > 50
