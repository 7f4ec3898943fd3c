"""costwrap.price(): every expected cost is computed here by hand from per-million rates.

Rates used (USD per 1M tokens, genai-prices 0.2.3, see shared/reference/prices.md):
gpt-4o-mini 0.15 in / 0.075 cached / 0.60 out; gpt-4o 2.50 / 1.25 / 10, batch 1.25 in / 5 out with
cached input NOT halved; gpt-5.5 5 / 0.5 / 30, above 272k input 10 / 1 / 45, flex 2.5 / 0.25 / 15,
priority 12.5 / 1.25 / 75, web search $10 per 1k; gpt-6.1-sol 2 / 0.1 cached / 2.5 cache write / 10;
claude-sonnet-4-5 3 / 0.3 / 3.75 (5m write) / 6 (1h write) / 15; gemini-4-argon 2 / 0.1 / 10 until
2026-11-30, 4 / 0.2 / 20 from 2026-12-01; gemini-2.5-pro 1.25 / 0.125 / 10, above 200k 2.5 / 0.25 / 15;
gpt-audio 2.5 text in / 32 audio in / 10 text out / 64 audio out; text-embedding-3-small 0.02.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import costwrap
from costwrap import PriceFileError, UnpricedModelError, UnpricedModelWarning

M = Decimal(1_000_000)


def per_m(*parts: tuple[int, str]) -> Decimal:
    """Sum of tokens x rate-per-million."""
    return sum((Decimal(n) * Decimal(rate) for n, rate in parts), Decimal(0)) / M


def test_cached_tokens_are_part_of_input_and_billed_at_the_cache_rate() -> None:
    p = costwrap.price("gpt-4o-mini", input_tokens=1200, cache_read_tokens=1000, output_tokens=300)
    assert p is not None
    assert p.total == per_m((200, "0.15"), (1000, "0.075"), (300, "0.60"))
    assert p.breakdown == {
        "input": per_m((200, "0.15")),
        "cache_read": per_m((1000, "0.075")),
        "output": per_m((300, "0.60")),
    }
    assert sum(p.breakdown.values()) == p.total
    assert all(isinstance(v, Decimal) for v in [p.total, *p.breakdown.values()])
    assert (p.model, p.provider, p.source, p.notes) == ("gpt-4o-mini", "openai", "genai-prices 0.2.3", ())


def test_reasoning_tokens_are_inside_output_and_not_billed_twice() -> None:
    with_reasoning = costwrap.price("o4-mini", input_tokens=100, output_tokens=500, reasoning_tokens=400)
    without = costwrap.price("o4-mini", input_tokens=100, output_tokens=500)
    assert with_reasoning is not None and without is not None
    assert with_reasoning.total == without.total == per_m((100, "1.1"), (500, "4.4"))


def test_embedding_models_bill_input_only() -> None:
    p = costwrap.price("text-embedding-3-small", input_tokens=8)
    assert p is not None and p.total == per_m((8, "0.02"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_tokens": 10, "cache_read_tokens": 11}, "exceed input_tokens"),
        ({"input_tokens": 10, "cache_read_tokens": 6, "cache_write_tokens": 5}, "exceed input_tokens"),
        ({"output_tokens": 10, "reasoning_tokens": 11}, "reasoning_tokens (11) exceed output_tokens (10)"),
        ({"input_tokens": -1}, "must not be negative"),
        (
            {"input_tokens": 10, "cache_write_tokens": 5, "cache_write_by_ttl": {"5m": 6}},
            "more than cache_write_tokens",
        ),
        ({"input_tokens": 10, "input_audio_tokens": 11}, "exceed input_tokens"),
    ],
)
def test_inconsistent_usage_is_a_value_error_naming_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        costwrap.price("gpt-4o-mini", **kwargs)  # type: ignore[arg-type]


def test_a_float_token_count_is_rejected() -> None:
    with pytest.raises((ValueError, TypeError)):
        costwrap.price("gpt-4o-mini", input_tokens=1.5)  # type: ignore[arg-type]


# --- long-context tiers: cliffs on total input, cached included -----------------------------------


def test_tier_applies_only_above_the_threshold() -> None:
    at = costwrap.price("gpt-5.5", input_tokens=272_000, output_tokens=1000)
    above = costwrap.price("gpt-5.5", input_tokens=272_001, output_tokens=1000)
    assert at is not None and above is not None
    assert at.total == per_m((272_000, "5"), (1000, "30"))
    assert above.total == per_m((272_001, "10"), (1000, "45"))


def test_cached_tokens_count_toward_the_tier_and_are_billed_at_the_tier_cache_rate() -> None:
    p = costwrap.price("gpt-5.5", input_tokens=300_000, cache_read_tokens=250_000, output_tokens=10)
    assert p is not None
    assert p.total == per_m((50_000, "10"), (250_000, "1"), (10, "45"))


def test_gemini_pro_tier_at_200k() -> None:
    below = costwrap.price("gemini-2.5-pro", input_tokens=200_000, output_tokens=100)
    above = costwrap.price("gemini-2.5-pro", input_tokens=200_001, output_tokens=100)
    assert below is not None and above is not None
    assert below.total == per_m((200_000, "1.25"), (100, "10"))
    assert above.total == per_m((200_001, "2.5"), (100, "15"))


# --- dated prices ---------------------------------------------------------------------------------


def test_gemini_4_argon_changes_price_at_midnight_utc() -> None:
    def cost(at: datetime | date) -> Decimal:
        p = costwrap.price("gemini-4-argon", input_tokens=1_000_000, output_tokens=1_000_000, at=at)
        assert p is not None
        return p.total

    old, new = Decimal(2 + 10), Decimal(4 + 20)
    assert cost(datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)) == old
    assert cost(datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)) == new
    assert cost(datetime(2026, 11, 30, 23, 59, 59)) == old  # naive = UTC
    assert cost(datetime(2026, 12, 1, 0, 0, 0)) == new
    # 20:00 in New York on 30 November is 01:00 UTC on 1 December.
    assert cost(datetime(2026, 11, 30, 20, 0, tzinfo=timezone(timedelta(hours=-5)))) == new
    assert cost(date(2026, 11, 30)) == old
    assert cost(date(2026, 12, 1)) == new


def test_at_must_be_a_date_or_datetime() -> None:
    with pytest.raises(TypeError, match="at must be a datetime or a date"):
        costwrap.price("gpt-4o", input_tokens=1, at="2026-12-01")  # type: ignore[arg-type]


# --- variants: what the response says was served ----------------------------------------------------


def test_flex_and_priority_are_priced_as_served() -> None:
    flex = costwrap.price("gpt-5.5", input_tokens=1000, cache_read_tokens=400, output_tokens=100, service_tier="flex")
    prio = costwrap.price("gpt-5.5", input_tokens=1000, output_tokens=100, service_tier="priority")
    std = costwrap.price("gpt-5.5", input_tokens=1000, output_tokens=100, service_tier="default")
    assert flex is not None and prio is not None and std is not None
    assert flex.total == per_m((600, "2.5"), (400, "0.25"), (100, "15"))
    assert prio.total == per_m((1000, "12.5"), (100, "75"))
    assert std.total == per_m((1000, "5"), (100, "30"))
    assert std.notes == ()


def test_batch_keeps_the_data_exceptions_cached_input_not_halved_for_gpt_4o() -> None:
    p = costwrap.price("gpt-4o", input_tokens=1000, cache_read_tokens=500, output_tokens=300, batch=True)
    assert p is not None
    assert p.total == per_m((500, "1.25"), (500, "1.25"), (300, "5"))


def test_a_tier_without_rates_is_priced_standard_and_says_so() -> None:
    p = costwrap.price("gpt-4o-mini", input_tokens=1000, output_tokens=10, service_tier="ultrafast")
    assert p is not None
    assert p.total == per_m((1000, "0.15"), (10, "0.6"))
    assert p.notes == ("no 'ultrafast' rates for 'gpt-4o-mini' in the data: priced at standard rates",)


def test_web_search_is_a_fee_per_thousand() -> None:
    p = costwrap.price("gpt-5.5", input_tokens=100, output_tokens=10, web_search_requests=3)
    assert p is not None
    assert p.breakdown["web_search"] == Decimal(3) * Decimal(10) / 1000
    assert p.total == per_m((100, "5"), (10, "30")) + Decimal("0.03")


def test_audio_tokens_are_billed_at_their_own_rate_where_the_model_has_one() -> None:
    p = costwrap.price(
        "gpt-audio", input_tokens=1000, input_audio_tokens=400, output_tokens=500, output_audio_tokens=300
    )
    assert p is not None
    assert p.breakdown == {
        "input": per_m((600, "2.5")),
        "input_audio": per_m((400, "32")),
        "output": per_m((200, "10")),
        "output_audio": per_m((300, "64")),
    }


# --- cache writes, by TTL ---------------------------------------------------------------------------


def test_anthropic_cache_writes_are_priced_per_ttl() -> None:
    p = costwrap.price(
        "claude-sonnet-4-5-20250929",
        input_tokens=10 + 500 + 300 + 200,
        cache_read_tokens=500,
        cache_write_tokens=500,
        cache_write_by_ttl={"5m": 300, "1h": 200},
        output_tokens=40,
    )
    assert p is not None
    assert p.breakdown == {
        "input": per_m((10, "3")),
        "cache_read": per_m((500, "0.3")),
        "cache_write_5m": per_m((300, "3.75")),
        "cache_write_1h": per_m((200, "6")),
        "output": per_m((40, "15")),
    }
    assert p.notes == ()


def test_cache_writes_without_a_split_use_the_base_write_rate() -> None:
    p = costwrap.price("claude-sonnet-4-5", input_tokens=1000, cache_write_tokens=1000)
    assert p is not None and p.breakdown == {"cache_write": per_m((1000, "3.75"))}


def test_a_ttl_without_its_own_rate_falls_back_to_the_base_write_rate_and_says_so() -> None:
    p = costwrap.price(
        "gpt-6.1-sol",
        input_tokens=1000,
        cache_write_tokens=300,
        cache_write_by_ttl={"30m": 100, "12h": 200},
        output_tokens=10,
    )
    assert p is not None
    assert p.breakdown["cache_write_30m"] == per_m((100, "2.5"))
    assert p.breakdown["cache_write_12h"] == per_m((200, "2.5"))
    assert p.total == per_m((700, "2"), (300, "2.5"), (10, "10"))
    assert p.notes == ("no 12h cache-write rate in the data: priced at the base cache-write rate",)


def test_cache_writes_on_a_model_without_write_rates_fall_back_to_input_and_say_so() -> None:
    p = costwrap.price("gpt-4o-mini", input_tokens=1000, cache_write_tokens=200)
    assert p is not None
    assert p.total == per_m((1000, "0.15"))
    assert "cache writes priced at the input rate" in p.notes[0]


def test_the_ttl_split_may_be_given_alone() -> None:
    p = costwrap.price("claude-haiku-4-5", input_tokens=100, cache_write_by_ttl={"1h": 100})
    assert p is not None and p.breakdown == {"cache_write_1h": per_m((100, "2"))}


# --- names as they arrive -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "provider", "entry"),
    [
        ("gpt-4o-2024-08-06", None, "gpt-4o"),
        ("GPT-4o-mini", None, "gpt-4o-mini"),
        ("gpt-5.2-20251211", None, "gpt-5.2"),
        ("models/gemini-2.5-pro", None, "gemini-2.5-pro"),
        ("publishers/google/models/gemini-2.5-flash", None, "gemini-2.5-flash"),
        ("projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash", None, "gemini-2.5-flash"),
        ("claude-sonnet-4-5-20250929", None, "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "google", "claude-sonnet-4-5"),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock", "regional.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        (
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "bedrock",
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc123", None, "ft:gpt-4o-mini"),
        ("gpt-35-turbo", "azure", "gpt-3.5-turbo"),
        ("gpt-4o", "azure", "gpt-4o"),
    ],
)
def test_names_resolve_to_their_price_entry(name: str, provider: str | None, entry: str) -> None:
    match = costwrap.registry.lookup(name, provider)
    assert match is not None
    assert match.entry.id == entry


def test_bedrock_regional_and_global_rates_differ_where_the_data_says_so() -> None:
    regional = costwrap.price(
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0", provider="bedrock", input_tokens=1_000_000
    )
    global_ = costwrap.price(
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0", provider="bedrock", input_tokens=1_000_000
    )
    assert regional is not None and global_ is not None
    assert (regional.total, global_.total) == (Decimal("3.3"), Decimal("3"))


def test_fine_tune_uses_its_own_rate_when_the_data_has_one() -> None:
    p = costwrap.price("ft:gpt-4o-mini-2024-07-18:acme::abc123", input_tokens=1000, output_tokens=100)
    assert p is not None
    assert p.total == per_m((1000, "0.3"), (100, "1.2"))
    assert p.notes == ()


def test_fine_tune_of_a_base_without_fine_tune_rates_is_priced_at_the_base_and_flagged() -> None:
    p = costwrap.price("ft:gpt-4.1-mini-2025-04-14:acme::abc123", input_tokens=1000, output_tokens=100)
    assert p is not None
    assert p.model == "gpt-4.1-mini"
    assert p.total == per_m((1000, "0.4"), (100, "1.6"))
    assert "priced at the rates of its base model 'gpt-4.1-mini-2025-04-14'" in p.notes[0]


def test_an_unknown_snapshot_of_a_known_model_is_priced_as_the_model_and_flagged() -> None:
    p = costwrap.price("claude-haiku-5-5-20990101", input_tokens=1000)
    assert p is not None
    assert p.model == "claude-haiku-5-5"
    assert p.total == per_m((1000, "0.1"))


def test_unknown_model_warns_once_and_returns_none() -> None:
    with pytest.warns(UnpricedModelWarning, match="no price for model 'acme-llm-9'"):
        assert costwrap.price("acme-llm-9", input_tokens=10) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert costwrap.price("acme-llm-9", input_tokens=10) is None  # no second warning


def test_strict_pricing_makes_an_unknown_model_an_error() -> None:
    costwrap.configure(strict_pricing=True)
    with pytest.raises(UnpricedModelError, match="acme-llm-9") as info:
        costwrap.price("acme-llm-9", input_tokens=10)
    assert isinstance(info.value, costwrap.CostwrapError)


# --- overrides --------------------------------------------------------------------------------------


def test_register_prices_a_new_model_and_accepts_str_int_decimal_and_float() -> None:
    costwrap.registry.register("my-ft", provider="openai", input="0.30", output=1, cache_read=Decimal("0.15"))
    p = costwrap.price("my-ft", input_tokens=1000, cache_read_tokens=400, output_tokens=100)
    assert p is not None
    assert p.total == per_m((600, "0.30"), (400, "0.15"), (100, "1"))
    assert p.source == "registered"
    costwrap.registry.register("my-float", input=0.3)
    p = costwrap.price("my-float", input_tokens=1_000_000)
    assert p is not None and p.total == Decimal("0.3")


def test_register_wins_over_the_shipped_price_and_unregister_restores_it() -> None:
    costwrap.registry.register("gpt-4o-mini", input="1", output="1")
    p = costwrap.price("gpt-4o-mini", input_tokens=1_000_000)
    assert p is not None and p.total == Decimal(1)
    costwrap.registry.unregister("gpt-4o-mini")
    p = costwrap.price("gpt-4o-mini", input_tokens=1_000_000)
    assert p is not None and p.total == Decimal("0.15")


def test_register_rejects_bad_rates_naming_them() -> None:
    with pytest.raises(ValueError, match=r"register\('x'\).input: 'abc' is not a decimal number"):
        costwrap.registry.register("x", input="abc")
    with pytest.raises(ValueError, match="negative"):
        costwrap.registry.register("x", input="-1")


def test_alias_prices_a_deployment_as_its_model() -> None:
    costwrap.registry.alias("prod-chat", "gpt-4o")
    p = costwrap.price("prod-chat", input_tokens=1000)
    assert p is not None and p.model == "gpt-4o" and p.total == per_m((1000, "2.5"))


def test_discounts_apply_per_provider_and_per_model_the_model_one_winning() -> None:
    costwrap.registry.discount("0.9", provider="openai")
    costwrap.registry.discount("0.5", model="gpt-4o")
    mini = costwrap.price("gpt-4o-mini", input_tokens=1_000_000)
    big = costwrap.price("gpt-4o", input_tokens=1_000_000)
    claude = costwrap.price("claude-haiku-4-5", input_tokens=1_000_000)
    assert mini is not None and big is not None and claude is not None
    assert mini.total == Decimal("0.15") * Decimal("0.9")
    assert big.total == Decimal("2.5") * Decimal("0.5")
    assert claude.total == Decimal(1)
    assert sum(big.breakdown.values()) == big.total
    assert big.notes == ("discount multiplier 0.5 applied",)


PRICE_FILE = """
[models."acme-ft"]
provider = "openai"
input = "0.40"
output = "1.60"
cache_read = 0.1

[aliases]
"prod-chat" = "gpt-4o-mini"

[discounts.providers]
anthropic = "0.8"
"""


def test_a_toml_price_file_named_by_configure(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(PRICE_FILE)
    costwrap.configure(prices=path)
    p = costwrap.price("acme-ft", input_tokens=1000, cache_read_tokens=500, output_tokens=100)
    assert p is not None
    assert p.total == per_m((500, "0.40"), (500, "0.1"), (100, "1.60"))
    assert p.source == "file:prices.toml"
    alias = costwrap.price("prod-chat", input_tokens=1_000_000)
    claude = costwrap.price("claude-haiku-4-5", input_tokens=1_000_000)
    assert alias is not None and alias.total == Decimal("0.15")
    assert claude is not None and claude.total == Decimal("0.8")


def test_a_json_price_file_named_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"models": {"acme-json": {"input": 2.5, "output": "10"}}}')
    monkeypatch.setenv("COSTWRAP_PRICES", str(path))
    costwrap.reset()  # reads the environment again
    p = costwrap.price("acme-json", input_tokens=1_000_000, output_tokens=1_000_000)
    assert p is not None and p.total == Decimal("12.5")


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('[models."acme"]\ninput = "abc"\n', r"prices.toml: models.acme.input: 'abc' is not a decimal number"),
        ('[models."acme"]\noutput = "1"\n', r"prices.toml: models.acme.input: an input rate is required"),
        ('[models."acme"]\ninput = "1"\nspeedy = "2"\n', r"prices.toml: models.acme.speedy: unknown rate"),
        ('[models."acme"]\ninput = "-1"\n', r"prices.toml: models.acme.input: '-1' is negative"),
        ("[aliases]\nx = 3\n", r"prices.toml: aliases.x: the target must be a model name string"),
        ('[discounts.providers]\nopenai = "x"\n', r"prices.toml: discounts.providers.openai: 'x' is not a decimal"),
        ("[pricing]\n", r"prices.toml: pricing: unknown section"),
        ("models = [", r"prices.toml: file: is not valid TOML"),
    ],
)
def test_a_malformed_price_file_names_the_file_entry_and_field(tmp_path: Path, content: str, where: str) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(content)
    with pytest.raises(PriceFileError, match=where.replace("(", r"\(").replace(")", r"\)")):
        costwrap.configure(prices=path)
    assert costwrap.get_config().prices is None  # the bad file was not taken


def test_a_missing_price_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match="cannot be read"):
        costwrap.configure(prices=tmp_path / "nope.toml")


def test_a_bad_price_file_from_the_environment_fails_each_lookup_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text('[models."acme"]\ninput = "abc"\n')
    monkeypatch.setenv("COSTWRAP_PRICES", str(path))
    costwrap.reset()
    for _ in range(2):
        with pytest.raises(PriceFileError, match=r"models\.acme\.input"):
            costwrap.price("acme", input_tokens=1)


def test_reset_drops_registrations() -> None:
    costwrap.registry.register("temp-model", input="1")
    costwrap.reset()
    with pytest.warns(UnpricedModelWarning):
        assert costwrap.price("temp-model", input_tokens=1) is None


def test_models_lists_user_and_shipped_entries() -> None:
    costwrap.registry.register("mine", provider="openai", input="1")
    openai_models = [m.id for m in costwrap.registry.models("openai")]
    assert openai_models[0] == "mine"
    assert "gpt-4o-mini" in openai_models
    assert "claude-haiku-4-5" not in openai_models


def test_a_price_is_exact_whatever_decimal_context_the_caller_set() -> None:
    from decimal import localcontext

    # 123,456,789 input tokens at $0.15/M and 987,654,321 output at $0.60/M: exact, by hand.
    want = Decimal(123_456_789) * Decimal("0.15") / 1_000_000 + Decimal(987_654_321) * Decimal("0.60") / 1_000_000
    assert want == Decimal("611.11111095")
    with localcontext() as ctx:
        ctx.prec = 5  # the caller's own business; it must not round costwrap's money
        price = costwrap.price("gpt-4o-mini", input_tokens=123_456_789, output_tokens=987_654_321, provider="openai")
    assert price is not None and price.total == want
    huge = costwrap.price("gpt-4o-mini", input_tokens=10**30, provider="openai")
    assert huge is not None and huge.total == Decimal("0.15") * 10**24


def test_video_input_alone_is_priced_at_its_own_rate() -> None:
    # gemini-live-2.5-flash: input $0.50/M, input_video $3/M, output $2/M. 1,000 input tokens of
    # which 800 are video, 100 output: 200 x 0.50 + 800 x 3 + 100 x 2, per million.
    price = costwrap.price(
        "gemini-live-2.5-flash", input_tokens=1000, input_video_tokens=800, output_tokens=100, provider="google"
    )
    assert price is not None
    assert price.total == (200 * Decimal("0.50") + 800 * Decimal(3) + 100 * Decimal(2)) / 1_000_000
    assert price.breakdown["input_video"] == 800 * Decimal(3) / 1_000_000
