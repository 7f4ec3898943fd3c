"""Google Gen AI (google-genai) through the real SDK clients, Gemini API and Vertex, sync and async.

Rates by hand (USD per 1M, genai-prices 0.2.3): gemini-2.5-flash 0.3 text in / 1 audio in /
0.03 cached / 0.1 cached audio / 2.5 out, batch 0.15 in / 1.25 out (cached input not halved);
gemini-2.5-pro 1.25 / 0.125 / 10, above 200k input 2.5 / 0.25 / 15; gemini-embedding-001 0.15.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx2
import pytest

import costwrap
from costwrap import CostRecord
from tests.conftest import MockServer, gemini_body, gemini_sse


def per_m(*parts: tuple[int, str]) -> Decimal:
    return sum((Decimal(n) * Decimal(rate) for n, rate in parts), Decimal(0)) / 1_000_000


def only(records: list[CostRecord]) -> CostRecord:
    assert len(records) == 1, records
    return records[0]


# 1000 prompt tokens of which 400 cached, 200 tool-use prompt tokens, 300 candidates + 500 thoughts.
USAGE = {
    "promptTokenCount": 1000,
    "cachedContentTokenCount": 400,
    "toolUsePromptTokenCount": 200,
    "candidatesTokenCount": 300,
    "thoughtsTokenCount": 500,
    "totalTokenCount": 2000,
}
COST = per_m((1000 - 400 + 200, "0.3"), (400, "0.03"), (300 + 500, "2.5"))


def test_generate_content_counts_thoughts_and_tool_prompts(
    server: MockServer, genai_client: Any, records: list[CostRecord]
) -> None:
    server.json(gemini_body("gemini-2.5-flash", USAGE))
    client = costwrap.wrap(genai_client, tags={"feature": "summaries"})
    response = client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert response.text == "hello"
    record = only(records)
    assert (record.provider, record.model, record.request_model, record.operation) == (
        "google",
        "gemini-2.5-flash",
        "gemini-2.5-flash",
        "generate_content",
    )
    u = record.usage
    assert (u.input_tokens, u.cache_read_tokens, u.output_tokens, u.reasoning_tokens) == (1200, 400, 800, 500)
    assert record.cost == COST and record.tags == {"feature": "summaries"}


def test_async_generate_content(server: MockServer, genai_client: Any, records: list[CostRecord]) -> None:
    server.json(gemini_body("gemini-2.5-flash", USAGE))
    costwrap.wrap(genai_client)
    asyncio.run(genai_client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi"))
    assert only(records).cost == COST


def test_audio_and_cached_audio_have_their_own_rates(
    server: MockServer, genai_client: Any, records: list[CostRecord]
) -> None:
    usage = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 300,
        "candidatesTokenCount": 100,
        "totalTokenCount": 1100,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 600}, {"modality": "AUDIO", "tokenCount": 400}],
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 200}, {"modality": "AUDIO", "tokenCount": 100}],
    }
    server.json(gemini_body("gemini-2.5-flash", usage))
    costwrap.wrap(genai_client).models.generate_content(model="gemini-2.5-flash", contents="x")
    record = only(records)
    assert record.breakdown == {
        "input": per_m((1000 - 300 - 300, "0.3")),  # text not cached: all - cached - uncached audio
        "input_audio": per_m((300, "1")),  # audio not cached
        "cache_read": per_m((200, "0.03")),
        "cache_read_audio": per_m((100, "0.1")),
        "output": per_m((100, "2.5")),
    }


def test_models_prefixes_and_the_long_context_tier(
    server: MockServer, genai_client: Any, records: list[CostRecord]
) -> None:
    usage = {"promptTokenCount": 250_000, "candidatesTokenCount": 1000, "totalTokenCount": 251_000}
    server.json(gemini_body("models/gemini-2.5-pro", usage))
    costwrap.wrap(genai_client).models.generate_content(model="models/gemini-2.5-pro", contents="x")
    assert only(records).cost == per_m((250_000, "2.5"), (1000, "15"))


def test_a_stream_keeps_the_last_value_of_each_field_never_a_sum(
    server: MockServer, genai_client: Any, records: list[CostRecord]
) -> None:
    chunks = [
        gemini_body(
            "gemini-2.5-flash", {"promptTokenCount": 15, "candidatesTokenCount": 5, "totalTokenCount": 20}, "a", None
        ),
        gemini_body(
            "gemini-2.5-flash", {"promptTokenCount": 13, "candidatesTokenCount": 21, "totalTokenCount": 34}, "b", None
        ),
        # The final chunk drops candidatesTokenCount (seen in a real Gemini 3 stream): keep the 21.
        gemini_body(
            "gemini-2.5-flash", {"promptTokenCount": 13, "thoughtsTokenCount": 78, "totalTokenCount": 112}, "c"
        ),
    ]
    gemini_sse(server, chunks)
    client = costwrap.wrap(genai_client)
    text = "".join(c.text for c in client.models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
    assert text == "abc"
    record = only(records)
    assert (record.usage.input_tokens, record.usage.output_tokens) == (13, 21 + 78)
    assert record.stream is True and record.estimated is False
    assert record.cost == per_m((13, "0.3"), (99, "2.5"))


def test_async_stream(server: MockServer, genai_client: Any, records: list[CostRecord]) -> None:
    gemini_sse(server, [gemini_body("gemini-2.5-flash", USAGE, "a", None), gemini_body("gemini-2.5-flash", USAGE, "b")])
    costwrap.wrap(genai_client)

    async def main() -> str:
        stream = await genai_client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="x")
        return "".join([c.text async for c in stream])

    assert asyncio.run(main()) == "ab"
    assert only(records).cost == COST


def test_a_stream_closed_early_keeps_the_counts_so_far_and_is_estimated(
    server: MockServer, genai_client: Any, records: list[CostRecord]
) -> None:
    chunks = [
        gemini_body(
            "gemini-2.5-flash",
            {"promptTokenCount": 10, "candidatesTokenCount": 2, "totalTokenCount": 12},
            "Hello",
            None,
        ),
        gemini_body(
            "gemini-2.5-flash", {"promptTokenCount": 10, "candidatesTokenCount": 9, "totalTokenCount": 19}, " world"
        ),
    ]
    gemini_sse(server, chunks)
    stream = costwrap.wrap(genai_client).models.generate_content_stream(model="gemini-2.5-flash", contents="x")
    next(stream)
    stream.close()
    record = only(records)
    assert record.estimated is True and record.usage.input_tokens == 10
    assert record.usage.output_tokens == 2


def test_automatic_function_calling_records_every_http_call(
    server: MockServer, genai_client: Any, records: list[CostRecord]
) -> None:
    def get_weather(city: str) -> str:
        """Weather in a city."""
        return f"sunny in {city}"

    call = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110},
        "modelVersion": "gemini-2.5-flash",
    }
    server.json(call)
    server.json(
        gemini_body("gemini-2.5-flash", {"promptTokenCount": 130, "candidatesTokenCount": 20, "totalTokenCount": 150})
    )
    from google.genai import types

    response = costwrap.wrap(genai_client).models.generate_content(
        model="gemini-2.5-flash", contents="weather in Oslo?", config=types.GenerateContentConfig(tools=[get_weather])
    )
    assert len(server.requests) == 2
    assert response.usage_metadata.prompt_token_count == 130  # the public response: the last call only
    assert [r.cost for r in records] == [per_m((100, "0.3"), (10, "2.5")), per_m((130, "0.3"), (20, "2.5"))]


def test_chats_go_through_models(server: MockServer, genai_client: Any, records: list[CostRecord]) -> None:
    server.json(gemini_body("gemini-2.5-flash", USAGE))
    chat = costwrap.wrap(genai_client).chats.create(model="gemini-2.5-flash")
    chat.send_message("hi")
    assert only(records).cost == COST


def test_embed_content(server: MockServer, genai_client: Any, records: list[CostRecord]) -> None:
    server.json(
        {"embeddings": [{"values": [0.1, 0.2]}], "usageMetadata": {"promptTokenCount": 11, "totalTokenCount": 11}}
    )
    costwrap.wrap(genai_client).models.embed_content(model="gemini-embedding-001", contents="hello")
    record = only(records)
    assert record.operation == "embed_content" and record.cost == per_m((11, "0.15"))


def test_vertex_mode_flex_traffic_and_provider(
    server: MockServer, vertex_client: Any, records: list[CostRecord]
) -> None:
    usage = {**USAGE, "trafficType": "ON_DEMAND_FLEX"}
    server.json(gemini_body("gemini-2.5-flash", usage))
    costwrap.wrap(vertex_client).models.generate_content(model="gemini-2.5-flash", contents="x")
    assert "publishers/google/models/gemini-2.5-flash:generateContent" in str(server.requests[0].url)
    record = only(records)
    assert (record.provider, record.service_tier) == ("vertex", "flex")
    # The data has no flex rows for gemini-2.5-flash: standard rates, and the record says so.
    assert record.cost == COST
    assert "no 'flex' rates for 'gemini-2.5-flash' in the data" in record.notes[-1]


def test_a_blocked_prompt_with_empty_usage_is_recorded_without_a_cost(
    server: MockServer, genai_client: Any, records: list[CostRecord]
) -> None:
    server.json(
        {
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"trafficType": "ON_DEMAND"},
            "modelVersion": "gemini-2.5-flash",
        }
    )
    costwrap.wrap(genai_client).models.generate_content(model="gemini-2.5-flash", contents="x")
    record = only(records)
    assert record.cost is None and record.usage is None
    assert "usage metadata without token counts" in record.notes[0]


def test_finished_batch_jobs_bill_each_inlined_response_once_at_batch_rates(
    server: MockServer, genai_client: Any, records: list[CostRecord]
) -> None:
    usage = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 200,
        "candidatesTokenCount": 100,
        "totalTokenCount": 1100,
    }
    job = {
        "name": "batches/job1",
        "metadata": {
            "model": "models/gemini-2.5-flash",
            "state": "BATCH_STATE_SUCCEEDED",
            "output": {
                "inlinedResponses": {
                    "inlinedResponses": [
                        {"response": gemini_body("gemini-2.5-flash", usage)},
                        {"error": {"code": 400, "message": "bad"}},
                        {"response": gemini_body("gemini-2.5-flash", usage)},
                    ]
                }
            },
        },
    }
    server.default = lambda _r: httpx2.Response(200, json=job)
    client = costwrap.wrap(genai_client)
    batch = client.batches.get(name="batches/job1")
    assert len(batch.dest.inlined_responses) == 3
    client.batches.get(name="batches/job1")  # read again: billed once
    expected = per_m((800, "0.15"), (200, "0.03"), (100, "1.25"))
    assert [(r.operation, r.batch, r.cost) for r in records] == [("batches", True, expected)] * 2


def test_instrument_covers_genai(server: MockServer, genai_client: Any, records: list[CostRecord]) -> None:
    server.json(gemini_body("gemini-2.5-flash", USAGE))
    costwrap.instrument("google")
    genai_client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert only(records).cost == COST


@pytest.mark.parametrize("mode", ["unwrap", "uninstrument"])
def test_unwrapped_genai_clients_are_not_recorded(
    server: MockServer, genai_client: Any, records: list[CostRecord], mode: str
) -> None:
    server.default = lambda _r: httpx2.Response(200, json=gemini_body("gemini-2.5-flash", USAGE))
    if mode == "unwrap":
        costwrap.wrap(genai_client)
        costwrap.unwrap(genai_client)
    else:
        costwrap.instrument("google")
        costwrap.uninstrument()
    genai_client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert records == []
