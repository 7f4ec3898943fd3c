"""Anthropic through the real SDK clients (httpx2 mock transports), sync and async.

Rates by hand (USD per 1M, genai-prices 0.2.3): claude-haiku-4-5 1 in / 0.1 cache read /
1.25 5m write / 2 1h write / 5 out, batch 0.5 / 0.05 / 0.625 / 1 / 2.5; claude-sonnet-4-5 3 / 0.3 /
3.75 / 6 / 15 (Vertex rows the same); claude-opus-4-8 5 / 0.5 / 6.25 / 10 / 25, fast 10 / 1 / 12.5 /
20 / 50; Bedrock claude-sonnet-4-5 regional 3.3 / 0.33 / 4.125 / 16.5, global 3 / 0.3 / 3.75 / 15;
web search $10 per 1k.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx2
import pydantic
import pytest

import costwrap
from costwrap import CostRecord
from tests.conftest import API_KEY, MockServer, anthropic_usage, message_body, message_events

HAIKU = "claude-haiku-4-5-20251001"


def per_m(*parts: tuple[int, str]) -> Decimal:
    return sum((Decimal(n) * Decimal(rate) for n, rate in parts), Decimal(0)) / 1_000_000


def only(records: list[CostRecord]) -> CostRecord:
    assert len(records) == 1, records
    return records[0]


# 10 uncached + 50 cache reads + 100 5m writes + 40 1h writes in, 30 out.
USAGE = anthropic_usage(10, 30, read=50, write_5m=100, write_1h=40)
COST = per_m((10, "1"), (50, "0.1"), (100, "1.25"), (40, "2"), (30, "5"))


def test_create_totals_the_input_and_prices_cache_writes_by_ttl(
    server: MockServer, anthropic_client: Any, records: list[CostRecord]
) -> None:
    server.json(message_body(HAIKU, USAGE))
    client = costwrap.wrap(anthropic_client, tags={"team": "a"})
    message = client.messages.create(
        model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].text == "hello"
    record = only(records)
    assert (record.provider, record.model, record.operation) == ("anthropic", HAIKU, "messages")
    assert record.usage.input_tokens == 10 + 50 + 140  # costwrap's input includes the cache
    assert dict(record.usage.cache_write_by_ttl) == {"5m": 100, "1h": 40}
    assert record.cost == COST
    assert record.breakdown == {
        "input": per_m((10, "1")),
        "cache_read": per_m((50, "0.1")),
        "cache_write_5m": per_m((100, "1.25")),
        "cache_write_1h": per_m((40, "2")),
        "output": per_m((30, "5")),
    }
    assert record.tags == {"team": "a"} and record.notes == ()


def test_async_create(server: MockServer, async_anthropic_client: Any, records: list[CostRecord]) -> None:
    server.json(message_body(HAIKU, USAGE))
    client = costwrap.wrap(async_anthropic_client)
    asyncio.run(client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=[]))
    assert only(records).cost == COST


def test_a_raw_stream_overlays_message_delta_on_message_start_without_adding(
    server: MockServer, anthropic_client: Any, records: list[CostRecord]
) -> None:
    start = anthropic_usage(10, 1, read=50, write_5m=100, write_1h=40)  # output 1 is a placeholder
    server.sse(message_events(HAIKU, start, {"output_tokens": 30}, ["Hel", "lo"]), named=True, done=False)
    client = costwrap.wrap(anthropic_client)
    events = list(client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=[], stream=True))
    assert [e.type for e in events][-1] == "message_stop"
    record = only(records)
    assert record.usage.output_tokens == 30 and record.cost == COST and record.stream is True


def test_input_that_grows_in_message_delta_replaces_message_start(
    server: MockServer, anthropic_client: Any, records: list[CostRecord]
) -> None:
    # With server tools the final input arrives only in message_delta (2,068 -> 22,397 in a recording).
    start = anthropic_usage(2068, 8)
    delta = {
        "input_tokens": 22397,
        "output_tokens": 637,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "server_tool_use": {"web_search_requests": 2},
    }
    server.sse(message_events("claude-sonnet-4-5-20250929", start, delta, ["x"]), named=True, done=False)
    client = costwrap.wrap(anthropic_client)
    list(client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=[], stream=True))
    record = only(records)
    assert (record.usage.input_tokens, record.usage.output_tokens, record.usage.web_search_requests) == (22397, 637, 2)
    assert record.cost == per_m((22397, "3"), (637, "15")) + Decimal(2) * 10 / 1000


def test_message_stream_helpers_keep_working_and_record_once(
    server: MockServer, anthropic_client: Any, records: list[CostRecord]
) -> None:
    start = anthropic_usage(10, 1, read=50, write_5m=100, write_1h=40)
    for _ in range(3):
        server.sse(message_events(HAIKU, start, {"output_tokens": 30}, ["Hel", "lo"]), named=True, done=False)
    client = costwrap.wrap(anthropic_client)
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=[]) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens == 30 and final.content[0].text == "Hello"
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=[]) as stream:
        text = "".join(stream.text_stream)
    assert text == "Hello"
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=[]) as stream:
        stream.until_done()
    assert [r.cost for r in records] == [COST] * 3
    assert all(r.stream for r in records)


def test_async_message_stream(server: MockServer, async_anthropic_client: Any, records: list[CostRecord]) -> None:
    start = anthropic_usage(10, 1, read=50, write_5m=100, write_1h=40)
    server.sse(message_events(HAIKU, start, {"output_tokens": 30}, ["Hel", "lo"]), named=True, done=False)
    server.sse(message_events(HAIKU, start, {"output_tokens": 30}, ["x"]), named=True, done=False)
    client = costwrap.wrap(async_anthropic_client)

    async def main() -> str:
        async with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=[]) as stream:
            final = await stream.get_final_message()
        raw = await client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=[], stream=True)
        async for _ in raw:
            pass
        return final.content[0].text

    assert asyncio.run(main()) == "Hello"
    assert [r.cost for r in records] == [COST, COST]


def test_a_message_stream_left_early_keeps_the_reported_input_and_counts_the_output(
    server: MockServer, anthropic_client: Any, records: list[CostRecord]
) -> None:
    start = anthropic_usage(10, 1, read=50)
    server.sse(message_events(HAIKU, start, {"output_tokens": 300}, ["one", " two", " three"]), named=True, done=False)
    client = costwrap.wrap(anthropic_client)
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=[]) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    record = only(records)
    assert record.estimated is True
    assert (record.usage.input_tokens, record.usage.cache_read_tokens) == (60, 50)
    assert record.usage.output_tokens == 1  # "one" counted; the placeholder was 1 as well
    assert "ended before its final usage" in record.notes[0]


class Answer(pydantic.BaseModel):
    answer: str


def test_parse_which_bypasses_create_is_recorded(
    server: MockServer, anthropic_client: Any, records: list[CostRecord]
) -> None:
    server.json(message_body(HAIKU, USAGE, text='{"answer": "42"}'))
    client = costwrap.wrap(anthropic_client)
    parsed = client.messages.parse(model="claude-haiku-4-5", max_tokens=100, messages=[], output_format=Answer)
    assert parsed.parsed_output == Answer(answer="42")
    assert only(records).cost == COST


def test_count_tokens_is_free(server: MockServer, anthropic_client: Any, records: list[CostRecord]) -> None:
    server.json({"input_tokens": 42})
    client = costwrap.wrap(anthropic_client)
    assert client.messages.count_tokens(model="claude-haiku-4-5", messages=[]).input_tokens == 42
    assert records == []


def test_web_search_and_fast_mode_are_priced(
    server: MockServer, anthropic_client: Any, records: list[CostRecord]
) -> None:
    usage = anthropic_usage(
        1000, 200, server_tool_use={"web_search_requests": 3}, speed="fast", service_tier="standard"
    )
    server.json(message_body("claude-opus-4-8", usage))
    client = costwrap.wrap(anthropic_client)
    client.messages.create(model="claude-opus-4-8", max_tokens=100, messages=[], speed="fast")
    record = only(records)
    assert record.cost == per_m((1000, "10"), (200, "50")) + Decimal(3) * 10 / 1000


def test_beta_iterations_are_priced_each_at_its_own_model(
    server: MockServer, anthropic_client: Any, records: list[CostRecord]
) -> None:
    iterations = [
        {
            "type": "message",
            "input_tokens": 1128,
            "output_tokens": 135,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
        {
            "type": "advisor_message",
            "model": "claude-opus-4-8",
            "input_tokens": 2543,
            "output_tokens": 18,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
        {
            "type": "message",
            "input_tokens": 1283,
            "output_tokens": 10,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    ]
    usage = anthropic_usage(2411, 145, iterations=iterations)
    server.json(message_body("claude-sonnet-5", usage))
    client = costwrap.wrap(anthropic_client)
    client.beta.messages.create(model="claude-sonnet-5", max_tokens=100, messages=[])
    record = only(records)
    sonnet = per_m((1128 + 1283, "2"), (135 + 10, "10"))
    opus = per_m((2543, "5"), (18, "25"))
    assert record.usage.input_tokens == 2411  # the record keeps the top-level usage
    assert record.cost == sonnet + opus
    assert record.breakdown == {
        "input": per_m((2411, "2")),
        "output": per_m((145, "10")),
        "claude-opus-4-8:input": per_m((2543, "5")),
        "claude-opus-4-8:output": per_m((18, "25")),
    }
    assert record.notes[0] == "priced per sampling step (2 at claude-sonnet-5, 1 at claude-opus-4-8)"


def test_batch_results_are_billed_at_batch_rates_once_per_request(
    server: MockServer, anthropic_client: Any, records: list[CostRecord]
) -> None:
    batch = {
        "id": "msgbatch_1",
        "type": "message_batch",
        "processing_status": "ended",
        "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_1/results",
        "request_counts": {"processing": 0, "succeeded": 2, "errored": 1, "canceled": 0, "expired": 0},
        "created_at": "2026-11-27T10:00:00Z",
        "expires_at": "2026-11-28T10:00:00Z",
        "ended_at": "2026-11-27T11:00:00Z",
        "archived_at": None,
        "cancel_initiated_at": None,
    }
    lines = [
        {"custom_id": "a", "result": {"type": "succeeded", "message": message_body(HAIKU, USAGE, id="msg_a")}},
        {
            "custom_id": "b",
            "result": {"type": "errored", "error": {"type": "error", "error": {"type": "api_error", "message": "x"}}},
        },
        {
            "custom_id": "c",
            "result": {"type": "succeeded", "message": message_body(HAIKU, anthropic_usage(100, 10), id="msg_c")},
        },
    ]
    jsonl = "".join(json.dumps(line) + "\n" for line in lines)
    for _ in range(2):
        server.json(batch)
        server.raw(200, "application/binary", jsonl)
    client = costwrap.wrap(anthropic_client)
    results = list(client.messages.batches.results("msgbatch_1"))
    assert [r.custom_id for r in results] == ["a", "b", "c"]
    list(client.messages.batches.results("msgbatch_1"))  # read again: nothing billed twice
    assert [r.operation for r in records] == ["messages.batches"] * 2
    assert [r.batch for r in records] == [True, True]
    assert records[0].cost == per_m((10, "0.5"), (50, "0.05"), (100, "0.625"), (40, "1"), (30, "2.5"))
    assert records[1].cost == per_m((100, "0.5"), (10, "2.5"))


def test_with_raw_response(server: MockServer, anthropic_client: Any, records: list[CostRecord]) -> None:
    server.json(message_body(HAIKU, USAGE))
    client = costwrap.wrap(anthropic_client)
    raw = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=10, messages=[])
    assert records == []
    assert raw.parse().usage.output_tokens == 30
    assert only(records).cost == COST


# --- platforms --------------------------------------------------------------------------------------


def test_bedrock_regional_and_global_profiles_have_their_own_rates(
    server: MockServer, records: list[CostRecord]
) -> None:
    from anthropic import AnthropicBedrock

    client = AnthropicBedrock(
        api_key="bedrock-key",
        aws_region="us-east-1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(server.handler)),
    )
    server.json(message_body("claude-sonnet-4-5-20250929", anthropic_usage(1000, 100)))
    server.json(message_body("claude-sonnet-4-5-20250929", anthropic_usage(1000, 100)))
    costwrap.wrap(client)
    client.messages.create(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", max_tokens=10, messages=[])
    client.messages.create(model="global.anthropic.claude-sonnet-4-5-20250929-v1:0", max_tokens=10, messages=[])
    assert "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke" in str(server.requests[0].url)
    assert [r.provider for r in records] == ["bedrock", "bedrock"]
    assert records[0].cost == per_m((1000, "3.3"), (100, "16.5"))
    assert records[1].cost == per_m((1000, "3"), (100, "15"))


def test_vertex_ids_resolve(server: MockServer, records: list[CostRecord]) -> None:
    from anthropic import AnthropicVertex

    client = AnthropicVertex(
        region="us-east5",
        project_id="p",
        access_token="vertex-token",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(server.handler)),
    )
    server.json(message_body("claude-sonnet-4-5@20250929", anthropic_usage(1000, 100, read=500)))
    costwrap.wrap(client)
    client.messages.create(model="claude-sonnet-4-5@20250929", max_tokens=10, messages=[])
    assert ":rawPredict" in str(server.requests[0].url)
    record = only(records)
    assert record.provider == "vertex"
    assert record.cost == per_m((1000, "3"), (500, "0.3"), (100, "15"))


def test_instrument_covers_anthropic_and_no_key_leaks(
    server: MockServer, anthropic_client: Any, records: list[CostRecord], caplog: pytest.LogCaptureFixture
) -> None:
    server.json(message_body(HAIKU, USAGE))
    costwrap.instrument("anthropic")
    costwrap.add_sink(costwrap.LoggingSink())
    with caplog.at_level("DEBUG", logger="costwrap"):
        anthropic_client.messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "secret prompt"}]
        )
    assert only(records).cost == COST
    dumped = json.dumps(records[0].to_dict()) + caplog.text
    assert API_KEY not in dumped and "secret prompt" not in dumped
