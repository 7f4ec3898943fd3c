"""Fuzzing (hypothesis): random and adversarial usage through every extractor and the pricing engine.

Usage payloads are built from counts that are sometimes valid and often not: negative, huge, null,
floats, bools, strings (digits of every script, exponents, thousands of digits), lists and
objects where numbers belong, nested objects missing or of the wrong type. Properties:

- every provider's extractor takes any payload without raising, and only ever reports counts that
  are non-negative ints;
- pricing what comes out either refuses it (``ValueError``: inconsistent counts, documented) or
  gives a cost that is never negative and whose breakdown sums to the total exactly, whatever
  ``decimal`` context the caller happens to run in;
- through the real SDK clients, a fuzzed body gives the caller exactly what it gives a plain
  client, and a call the SDK answered is recorded exactly once.

Examples are derandomized (the same on every run) and kept few, so the suite stays fast.
"""

from __future__ import annotations

import decimal
import json
from decimal import Decimal, localcontext
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, example, given, settings

import costwrap
from costwrap import Usage
from costwrap.pricing import registry
from costwrap.providers import anthropic as anthropic_provider
from costwrap.providers import google_genai as google_provider
from costwrap.providers import google_generativeai as legacy_provider
from costwrap.providers import openai as openai_provider
from costwrap.testing import capture
from tests.conftest import MockServer
from tests.reliability.conftest import ANTHROPIC, GOOGLE, OPENAI, Surface, Sweep, observe

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the work tree
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(FUZZ, max_examples=25)

ODD_STRINGS = ["²", "١٢", "٣", " 12 ", "-3", "+7", "1e3", "0x10", "1_000", "NaN", "Infinity", "", "9" * 5000, "12.0"]

atoms = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(ODD_STRINGS),
)
junk = st.recursive(
    atoms,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
count = st.one_of(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=300), junk)
"""A value where a token count belongs: usually plausible, often not."""


def obj(fields: dict[str, Any]) -> st.SearchStrategy[Any]:
    """An object with any subset of ``fields`` (each a strategy), or junk in its place."""
    return st.one_of(st.fixed_dictionaries({}, optional=fields), junk)


OPENAI_CHAT = obj(
    {
        "prompt_tokens": count,
        "completion_tokens": count,
        "total_tokens": count,
        "prompt_tokens_details": obj({"cached_tokens": count, "cache_write_tokens": count, "audio_tokens": count}),
        "completion_tokens_details": obj({"reasoning_tokens": count, "audio_tokens": count}),
    }
)
OPENAI_RESPONSES = obj(
    {
        "input_tokens": count,
        "output_tokens": count,
        "total_tokens": count,
        "input_tokens_details": obj(
            {
                "cached_tokens": count,
                "cache_write_tokens": count,
                "cache_write_tokens_details": obj({"ttl_30m_tokens": count, "ttl_12h_tokens": count}),
            }
        ),
        "output_tokens_details": obj({"reasoning_tokens": count}),
    }
)
OPENAI_TOOLS = obj({"web_search": obj({"num_requests": count}), "image_gen": obj({"total_tokens": count})})
ANTHROPIC_BASE: dict[str, Any] = {
    "input_tokens": count,
    "output_tokens": count,
    "cache_read_input_tokens": count,
    "cache_creation_input_tokens": count,
    "cache_creation": obj({"ephemeral_5m_input_tokens": count, "ephemeral_1h_input_tokens": count}),
    "output_tokens_details": obj({"thinking_tokens": count}),
    "server_tool_use": obj({"web_search_requests": count}),
    "service_tier": st.sampled_from(["standard", "batch", "priority", None, 5]),
    "speed": st.sampled_from(["standard", "fast", None, []]),
}
ANTHROPIC_USAGE = obj(
    {
        **ANTHROPIC_BASE,
        "iterations": st.one_of(
            junk,
            st.lists(
                st.one_of(
                    junk,
                    st.fixed_dictionaries(
                        {},
                        optional={**ANTHROPIC_BASE, "model": st.sampled_from(["claude-haiku-4-5", "no-such", 7, None])},
                    ),
                ),
                max_size=3,
            ),
        ),
    }
)
MODALITIES = st.lists(
    st.one_of(
        junk,
        st.fixed_dictionaries(
            {},
            optional={"modality": st.sampled_from(["TEXT", "AUDIO", "IMAGE", "VIDEO", "odd", 3]), "token_count": count},
        ),
    ),
    max_size=3,
)
GOOGLE_USAGE = obj(
    {
        "prompt_token_count": count,
        "cached_content_token_count": count,
        "candidates_token_count": count,
        "response_token_count": count,
        "thoughts_token_count": count,
        "tool_use_prompt_token_count": count,
        "total_token_count": count,
        "prompt_tokens_details": st.one_of(junk, MODALITIES),
        "cache_tokens_details": st.one_of(junk, MODALITIES),
        "candidates_tokens_details": st.one_of(junk, MODALITIES),
        "traffic_type": st.sampled_from(["ON_DEMAND_FLEX", "ON_DEMAND_PRIORITY", "STANDARD", "odd", None, 1]),
    }
)
LEGACY_USAGE = obj(
    {
        "prompt_token_count": count,
        "candidates_token_count": count,
        "cached_content_token_count": count,
        "total_token_count": count,
    }
)
MODEL_NAMES = st.one_of(junk, st.sampled_from(["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash", ""]))

# provider -> (the model its usage is priced at, a priced model with a long-context tier, ...)
PRICE_AT = {
    "openai": ["gpt-4o-mini", "gpt-4o-audio-preview", "gpt-5-mini"],
    "anthropic": ["claude-haiku-4-5", "claude-sonnet-4-5"],
    "google": ["gemini-2.5-flash", "gemini-2.5-pro"],
}
COUNT_FIELDS = [f for f in Usage.__dataclass_fields__ if f != "cache_write_by_ttl"]


def assert_sane_usage(usage: Usage | None) -> None:
    if usage is None:
        return
    for name in COUNT_FIELDS:
        value = getattr(usage, name)
        assert type(value) is int and value >= 0, (name, value)
    for ttl, value in usage.cache_write_by_ttl.items():
        assert isinstance(ttl, str) and type(value) is int and value >= 0, (ttl, value)


def assert_sane_price(total: Decimal, breakdown: Any) -> None:
    assert total >= 0
    assert all(v >= 0 for v in breakdown.values()), dict(breakdown)
    with localcontext() as ctx:  # checked exactly, whatever precision the prices were made in
        ctx.prec = 200
        assert sum(breakdown.values(), Decimal(0)) == total, (total, dict(breakdown))


def price_everywhere(provider: str, extracted: Any) -> None:
    """Price what an extractor read at a few real models; refusing inconsistent counts is fine."""
    assert_sane_usage(extracted.usage)
    for _, step in extracted.iterations:
        assert_sane_usage(step)
    if extracted.usage is None:
        return
    for name in PRICE_AT[provider]:
        match = registry.lookup(name, provider)
        assert match is not None, name
        context = (extracted.service_tier, extracted.batch, extracted.speed)
        try:
            if extracted.iterations:
                price = registry.price_steps(match, extracted.iterations, 0, 20_400, context, provider=provider)
            else:
                price = registry.price_match(match, extracted.usage, 20_400, context)
        except ValueError:
            continue  # documented: inconsistent counts (a part larger than its total) are refused
        assert_sane_price(price.total, price.breakdown)


# --- the extractors, directly ---------------------------------------------------------------------------


@FUZZ
@given(
    usage=OPENAI_CHAT, model=MODEL_NAMES, operation=st.sampled_from(["chat.completions", "completions", "embeddings"])
)
@example(usage={"prompt_tokens": "²", "completion_tokens": 1}, model="gpt-4o-mini", operation="chat.completions")
@example(usage={"prompt_tokens": "9" * 5000}, model="gpt-4o-mini", operation="chat.completions")
def test_openai_chat_extraction_takes_any_usage(usage: Any, model: Any, operation: str) -> None:
    extracted = openai_provider.extract({"usage": usage, "model": model, "id": "x"}, operation)
    price_everywhere("openai", extracted)


@FUZZ
@given(
    usage=OPENAI_RESPONSES,
    tools=OPENAI_TOOLS,
    status=st.sampled_from(["completed", "queued", "failed", None, 3]),
    background=st.sampled_from([True, False, None, "yes"]),
    created=st.one_of(junk, st.integers(0, 2**40)),
)
def test_openai_responses_extraction_takes_any_usage(
    usage: Any, tools: Any, status: Any, background: Any, created: Any
) -> None:
    response = {
        "usage": usage,
        "tool_usage": tools,
        "status": status,
        "background": background,
        "created_at": created,
        "id": "resp_1",
        "model": "gpt-5-mini",
    }
    extracted = openai_provider.extract(response, "responses")
    assert extracted.created_at is None or isinstance(extracted.created_at, float)
    price_everywhere("openai", extracted)


@FUZZ
@given(usage=ANTHROPIC_USAGE, model=MODEL_NAMES)
@example(usage={"input_tokens": "²", "output_tokens": 1}, model="claude-haiku-4-5")
def test_anthropic_extraction_takes_any_usage(usage: Any, model: Any) -> None:
    extracted = anthropic_provider.extract({"usage": usage, "model": model, "id": "msg_1"}, "messages")
    price_everywhere("anthropic", extracted)
    item = {"custom_id": "r1", "result": {"type": "succeeded", "message": {"id": "m", "usage": usage, "model": model}}}
    batch = anthropic_provider.extract_batch_item(item)
    assert batch is not None
    price_everywhere("anthropic", batch)


@FUZZ
@given(usage=GOOGLE_USAGE, model=MODEL_NAMES)
@example(usage={"prompt_token_count": "²"}, model="gemini-2.5-flash")
def test_google_genai_extraction_takes_any_usage(usage: Any, model: Any) -> None:
    extracted = google_provider.extract({"usage_metadata": usage, "model_version": model}, "generate_content")
    price_everywhere("google", extracted)
    job = {
        "state": "JOB_STATE_SUCCEEDED",
        "name": "b",
        "dest": {"inlined_responses": [{"response": {"usage_metadata": usage}}]},
    }
    for item in google_provider.extract_batch_job(job):
        price_everywhere("google", item)


@FUZZ
@given(usage=LEGACY_USAGE)
def test_google_legacy_extraction_takes_any_usage(usage: Any) -> None:
    price_everywhere("google", legacy_provider.extract({"usage_metadata": usage, "model_version": "x"}, "x"))


# --- the pricing engine --------------------------------------------------------------------------------

_SHIPPED: list[str] = []


def shipped_models() -> list[str]:
    """Every shipped entry that its own id prices (a few ids are patterns or placeholders:
    ``ft:gpt-4o`` matches ``ft:gpt-4o:org::id``, ``regional.*`` a Bedrock region's prefix)."""
    if not _SHIPPED:
        _SHIPPED.extend(sorted({e.id for e in registry.models() if registry.lookup(e.id) is not None}))
    return _SHIPPED


tokens = st.integers(min_value=0, max_value=5_000_000)
bad_tokens = st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=3), st.none(), st.booleans())


@st.composite
def usage_kwargs(draw: st.DrawFn, valid: bool) -> dict[str, Any]:
    inp = draw(tokens)
    out = draw(tokens)
    kwargs: dict[str, Any] = {"input_tokens": inp, "output_tokens": out}
    cache_read = draw(st.integers(0, inp))
    cache_write = draw(st.integers(0, inp - cache_read))
    kwargs.update(cache_read_tokens=cache_read, cache_write_tokens=cache_write)
    if cache_write and draw(st.booleans()):
        five = draw(st.integers(0, cache_write))
        kwargs["cache_write_by_ttl"] = {"5m": five, "1h": cache_write - five}
    kwargs["reasoning_tokens"] = draw(st.integers(0, out))
    kwargs["input_audio_tokens"] = draw(st.integers(0, inp - cache_read - cache_write))  # uncached audio
    kwargs["web_search_requests"] = draw(st.integers(0, 5))
    if not valid:
        name = draw(st.sampled_from(sorted(kwargs)))
        kwargs[name] = draw(st.one_of(bad_tokens, st.integers(min_value=inp + out + 1, max_value=2**64)))
    return kwargs


@FUZZ
@given(data=st.data(), valid=st.booleans())
def test_price_never_gives_a_negative_or_inconsistent_cost(data: st.DataObject, valid: bool) -> None:
    model = data.draw(st.sampled_from(shipped_models()))
    kwargs = data.draw(usage_kwargs(valid))
    batch = data.draw(st.booleans())
    try:
        price = costwrap.price(model, batch=batch, **kwargs)
    except (ValueError, TypeError):
        assert not valid, (model, kwargs)  # only the invalid usage may be refused
        return
    assert price is not None
    assert_sane_price(price.total, price.breakdown)


@FUZZ
@given(
    data=st.data(),
    precision=st.sampled_from([2, 4, 6, 9, 12]),
    rounding=st.sampled_from([decimal.ROUND_DOWN, decimal.ROUND_HALF_EVEN, decimal.ROUND_CEILING]),
)
@example(data=None, precision=4, rounding=decimal.ROUND_HALF_EVEN)
def test_a_price_does_not_depend_on_the_callers_decimal_context(
    data: st.DataObject | None, precision: int, rounding: str
) -> None:
    if data is None:  # the explicit example: a realistic call
        model, kwargs = "gpt-4o-mini", {"input_tokens": 1234567, "cache_read_tokens": 1000, "output_tokens": 7654321}
    else:
        model = data.draw(st.sampled_from(shipped_models()))
        kwargs = data.draw(usage_kwargs(True))
    with localcontext() as ctx:
        ctx.prec = 100
        exact = costwrap.price(model, **kwargs)
    with localcontext() as ctx:  # an application that rounds its own money to a few digits
        ctx.prec, ctx.rounding = precision, rounding
        mine = costwrap.price(model, **kwargs)
    assert exact is not None and mine is not None
    assert mine.total == exact.total, (
        f"{model} {kwargs}: {mine.total} in a {precision}-digit context, {exact.total} exact"
    )
    assert dict(mine.breakdown) == dict(exact.breakdown)


def test_a_record_made_in_a_low_precision_context_still_sums_exactly(server: MockServer, sweep: Sweep) -> None:
    server.default = OPENAI.responder({"prompt_tokens": 1234567, "completion_tokens": 7654321})
    client = costwrap.wrap(OPENAI.client(server))
    with localcontext() as ctx, capture() as t:
        ctx.prec = 4
        OPENAI.call(client)
    (record,) = t.records
    assert record.cost is not None
    assert_sane_price(record.cost, record.breakdown)
    assert t.cost == record.cost  # the tracker's total is exact too
    assert (
        record.cost == Decimal(1234567) * Decimal("0.15") / 1_000_000 + Decimal(7654321) * Decimal("0.60") / 1_000_000
    )


@pytest.mark.parametrize("value", [True, False, Decimal("1.5"), 2.0])
def test_price_refuses_counts_that_are_not_ints(value: Any) -> None:
    with pytest.raises(ValueError, match="input_tokens must be an int"):
        costwrap.price("gpt-4o-mini", input_tokens=value, output_tokens=10)


# --- fuzzed bodies through the real SDK clients ----------------------------------------------------------

JSON_ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(ODD_STRINGS),
)
JSON_JUNK = st.recursive(
    JSON_ATOMS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=5,
)
JSON_COUNT = st.one_of(st.integers(min_value=0, max_value=10**6), JSON_JUNK)


def json_obj(fields: dict[str, Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.fixed_dictionaries({}, optional=fields), JSON_JUNK)


BODIES: dict[str, st.SearchStrategy[Any]] = {
    "openai": json_obj(
        {
            "prompt_tokens": JSON_COUNT,
            "completion_tokens": JSON_COUNT,
            "prompt_tokens_details": json_obj({"cached_tokens": JSON_COUNT, "audio_tokens": JSON_COUNT}),
            "completion_tokens_details": json_obj({"reasoning_tokens": JSON_COUNT}),
        }
    ),
    "anthropic": json_obj(
        {
            "input_tokens": JSON_COUNT,
            "output_tokens": JSON_COUNT,
            "cache_read_input_tokens": JSON_COUNT,
            "cache_creation_input_tokens": JSON_COUNT,
            "cache_creation": json_obj(
                {"ephemeral_5m_input_tokens": JSON_COUNT, "ephemeral_1h_input_tokens": JSON_COUNT}
            ),
        }
    ),
    "google": json_obj(
        {
            "promptTokenCount": JSON_COUNT,
            "candidatesTokenCount": JSON_COUNT,
            "cachedContentTokenCount": JSON_COUNT,
            "thoughtsTokenCount": JSON_COUNT,
            "totalTokenCount": JSON_COUNT,
            "promptTokensDetails": st.lists(
                json_obj({"modality": st.sampled_from(["TEXT", "AUDIO"]), "tokenCount": JSON_COUNT}), max_size=2
            ),
        }
    ),
}


@pytest.mark.parametrize("surface", [OPENAI, ANTHROPIC, GOOGLE], ids=lambda s: s.name)
def test_fuzzed_bodies_through_the_real_clients_change_nothing_for_the_caller(surface: Surface, sweep: Sweep) -> None:
    @FEW
    @given(usage=BODIES[surface.provider], stream=st.booleans() if surface.provider != "google" else st.just(False))
    def check(usage: Any, stream: bool) -> None:
        json.dumps(usage)  # a body a server could send
        server = MockServer()
        server.default = surface.responder(usage)
        expected = observe(lambda: surface.call(surface.client(server), stream=stream))
        client = costwrap.wrap(surface.client(server))
        with capture() as t:
            got = observe(lambda: surface.call(client, stream=stream), sweep)
        assert got == expected
        assert len(t.records) == (0 if expected.error else 1), (usage, [r.notes for r in t.records])
        for record in t.records:
            if record.cost is None:
                assert record.notes
            else:
                assert_sane_price(record.cost, record.breakdown)

    check()
