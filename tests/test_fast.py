"""The hot path's constructors build ordinary, frozen instances of the public dataclasses."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from costwrap import CostRecord, Usage
from costwrap._fast import fast_constructor
from costwrap._record import new_record, new_usage


def test_new_usage_is_a_plain_frozen_usage() -> None:
    fast = new_usage(input_tokens=1200, cache_read_tokens=1000, output_tokens=300)
    slow = Usage(input_tokens=1200, cache_read_tokens=1000, output_tokens=300)
    assert type(fast) is Usage
    assert fast == slow and repr(fast) == repr(slow)
    assert fast.reasoning_tokens == 0 and fast.cache_write_by_ttl == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.input_tokens = 1  # type: ignore[misc]
    assert dataclasses.replace(fast, output_tokens=5).output_tokens == 5
    assert copy.deepcopy(fast) == slow and copy.copy(fast) == slow


def test_new_record_matches_the_ordinary_constructor() -> None:
    fields: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request_model": "gpt-4o-mini",
        "operation": "chat.completions",
        "usage": Usage(input_tokens=10, output_tokens=2),
        "cost": Decimal("0.0000027"),
        "breakdown": {"input": Decimal("0.0000015"), "output": Decimal("0.0000012")},
        "timestamp": datetime(2026, 1, 1, tzinfo=UTC),
    }
    fast, slow = new_record(**fields), CostRecord(**fields)
    assert type(fast) is CostRecord and fast == slow
    assert fast.to_dict() == slow.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.cost = Decimal(0)  # type: ignore[misc]


def test_a_class_without_slots_is_refused_when_the_constructor_is_made() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        x: int

    with pytest.raises(TypeError, match="Plain is not a slotted dataclass"):
        fast_constructor(Plain)


def test_records_survive_pickle_and_deepcopy_with_read_only_mappings() -> None:
    import pickle

    import costwrap

    usage = Usage(input_tokens=1000, cache_write_tokens=900, cache_write_by_ttl={"5m": 600, "1h": 300})
    record = new_record(
        provider="anthropic",
        model="claude-sonnet-4-5",
        request_model="claude-sonnet-4-5",
        operation="messages",
        usage=usage,
        cost=Decimal("0.01"),
        breakdown={"cache_write_5m": Decimal("0.01")},
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        tags={"team": "search"},
    )
    price = costwrap.price("gpt-4o-mini", input_tokens=10)
    for value in (usage, record, price):
        for copied in (pickle.loads(pickle.dumps(value)), copy.deepcopy(value)):
            assert copied == value and type(copied) is type(value)
    restored = pickle.loads(pickle.dumps(record))
    with pytest.raises(TypeError):
        restored.tags["team"] = "x"
    assert restored.usage is not None and restored.usage.cache_write_by_ttl == {"5m": 600, "1h": 300}


TEXT_MODELS = ["gpt-4o-mini", "gpt-4.1", "claude-sonnet-4-5", "gemini-2.5-pro", "gemini-2.5-flash", "o3"]


@pytest.mark.parametrize("model", TEXT_MODELS)
def test_the_text_only_pricing_path_gives_the_general_paths_exact_answer(model: str) -> None:
    # compute() takes a short path for text and cache reads; _compute is the general one. Same
    # total to the last digit and exponent, same parts in the same order, for every shape.
    from costwrap.pricing import registry
    from costwrap.pricing._engine import _compute, compute

    match = registry.lookup(model)
    assert match is not None
    resolved = match.entry.rates(20_000)
    for input_tokens, cache_read, output, reasoning in [
        (1200, 1000, 300, 0),
        (0, 0, 0, 0),
        (1000, 1000, 0, 0),
        (5, 0, 7, 7),
        (300_000, 1000, 10, 0),  # past a long-context tier where the model has one
        (10**14, 3, 10**14 - 1, 5),
    ]:
        assert resolved.text_at(input_tokens) is not None, f"{model}: input, cache-read and output rates"
        usage = Usage(
            input_tokens=input_tokens,
            cache_read_tokens=cache_read,
            output_tokens=output,
            reasoning_tokens=reasoning,
        )
        fast, general = compute(resolved, usage, None), _compute(resolved, usage, None)
        assert str(fast[0]) == str(general[0])
        assert list(fast[1].items()) == list(general[1].items())
        assert not fast[2] and general[2] == []


def test_the_text_only_pricing_path_leaves_inconsistent_counts_to_the_checks() -> None:
    from costwrap.pricing import registry
    from costwrap.pricing._engine import compute

    match = registry.lookup("gpt-4o-mini")
    assert match is not None
    resolved = match.entry.rates(20_000)
    bad = Usage(input_tokens=10, cache_read_tokens=11)
    with pytest.raises(ValueError, match="exceed input_tokens"):
        compute(resolved, bad, None)
    bad = Usage(input_tokens=10, output_tokens=1, reasoning_tokens=2)
    with pytest.raises(ValueError, match="reasoning_tokens"):
        compute(resolved, bad, None)


def test_shared_defaults_are_the_one_read_only_empty_mapping() -> None:
    from costwrap._record import EMPTY_MAPPING

    usage = new_usage(input_tokens=1)
    assert usage.cache_write_by_ttl is EMPTY_MAPPING
    with pytest.raises(TypeError):
        usage.cache_write_by_ttl["5m"] = 1  # type: ignore[index]
    assert Usage().cache_write_by_ttl == usage.cache_write_by_ttl


COUNT_SHAPES = [(1200, 300, 1000, 0, 0), (5, 0, 0, 0, 0), (0, 7, 0, 3, 0), (900, 40, 100, 20, 30)]


@pytest.mark.parametrize(("prompt", "output", "cached", "thoughts", "tool_prompt"), COUNT_SHAPES)
def test_googles_fast_reader_agrees_with_its_careful_one(
    prompt: int, output: int, cached: int, thoughts: int, tool_prompt: int
) -> None:
    from google.genai import types

    from costwrap.providers import google_genai

    metadata = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=prompt,
        candidates_token_count=output,
        cached_content_token_count=cached,
        thoughts_token_count=thoughts,
        tool_use_prompt_token_count=tool_prompt,
        prompt_tokens_details=[types.ModalityTokenCount(modality=types.MediaModality.TEXT, token_count=prompt)],
    )
    response = types.GenerateContentResponse(usage_metadata=metadata, model_version="gemini-2.5-flash")
    fast = google_genai._response_fast(response)
    assert fast is not None and fast.model == "gemini-2.5-flash"
    assert fast.usage == google_genai.usage_from(metadata, [])
    streamed = google_genai.GenerateAccumulator()
    streamed.add(response)
    streamed.finished = True
    assert streamed.result().usage == fast.usage


@pytest.mark.parametrize(("uncached", "output", "read", "write", "_"), COUNT_SHAPES)
def test_anthropics_fast_reader_agrees_with_its_careful_one(
    uncached: int, output: int, read: int, write: int, _: int
) -> None:
    from anthropic.types import Message
    from anthropic.types import Usage as AnthropicUsage

    from costwrap.providers import anthropic

    usage = AnthropicUsage(
        input_tokens=uncached,
        output_tokens=output,
        cache_read_input_tokens=read,
        cache_creation_input_tokens=write,
        service_tier="standard",
    )
    message = Message(id="msg_1", type="message", role="assistant", model="claude-sonnet-4-6", content=[], usage=usage)
    fast = anthropic._message_fast(message)
    assert fast is not None
    assert fast.usage == anthropic.usage_from(usage, [])
    assert fast.service_tier == "standard" and fast.request_id == "msg_1"


def test_the_fast_readers_leave_media_and_tiers_to_the_careful_ones() -> None:
    from google.genai import types

    from costwrap.providers import google_genai

    audio = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=10,
        candidates_token_count=5,
        prompt_tokens_details=[types.ModalityTokenCount(modality=types.MediaModality.AUDIO, token_count=10)],
    )
    assert google_genai._response_fast(types.GenerateContentResponse(usage_metadata=audio)) is None
    tiered = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=10, candidates_token_count=5, traffic_type=types.TrafficType.ON_DEMAND
    )
    assert google_genai._response_fast(types.GenerateContentResponse(usage_metadata=tiered)) is None
    blocked = types.GenerateContentResponseUsageMetadata(prompt_token_count=0, candidates_token_count=0)
    assert google_genai._response_fast(types.GenerateContentResponse(usage_metadata=blocked)) is None
