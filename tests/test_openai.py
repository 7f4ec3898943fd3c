"""Every OpenAI surface through the real SDK clients, sync and async, streamed and not.

Expected costs are computed by hand from the per-million rates (genai-prices 0.2.3):
gpt-4o-mini 0.15 in / 0.075 cached / 0.60 out; gpt-5-mini 0.25 / 0.025 / 2, flex 0.125 / 0.0125 / 1;
text-embedding-3-small 0.02; gpt-3.5-turbo-instruct 1.5 / 2; gpt-4o 2.5 / 1.25 / 10;
gpt-6.1-sol 2 in / 0.1 cached / 2.5 cache write / 10 out; web search $10 per 1k.
"""

from __future__ import annotations

import asyncio
import gc
import json
from decimal import Decimal
from typing import Any

import httpx2
import pydantic
import pytest

import costwrap
from costwrap import CostRecord, UnpricedModelError, UnpricedModelWarning
from tests.conftest import (
    API_KEY,
    MockServer,
    chat_body,
    chat_chunks,
    chat_usage,
    response_body,
    response_events,
    response_usage,
)

M = Decimal(1_000_000)


def per_m(*parts: tuple[int, str]) -> Decimal:
    return sum((Decimal(n) * Decimal(rate) for n, rate in parts), Decimal(0)) / M


MINI = "gpt-4o-mini-2024-07-18"
MINI_COST = per_m((200, "0.15"), (1000, "0.075"), (300, "0.60"))  # 1200 in of which 1000 cached, 300 out


def only(records: list[CostRecord]) -> CostRecord:
    assert len(records) == 1, records
    return records[0]


# --- chat completions -------------------------------------------------------------------------------


def test_chat_create_is_recorded_with_exact_cost(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(chat_body(MINI, chat_usage(1200, 300, cached=1000, reasoning=0)))
    client = costwrap.wrap(openai_client, tags={"feature": "search"})
    response = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert response.choices[0].message.content == "hello"
    record = only(records)
    assert record.cost == MINI_COST
    assert record.breakdown == {
        "input": per_m((200, "0.15")),
        "cache_read": per_m((1000, "0.075")),
        "output": per_m((300, "0.60")),
    }
    assert (record.provider, record.model, record.request_model, record.operation) == (
        "openai",
        MINI,
        "gpt-4o-mini",
        "chat.completions",
    )
    assert (record.usage.input_tokens, record.usage.cache_read_tokens, record.usage.output_tokens) == (1200, 1000, 300)
    assert record.stream is False and record.estimated is False
    assert record.tags == {"feature": "search"}
    assert record.priced_as == "gpt-4o-mini" and record.price_source == "genai-prices 0.2.3"
    assert record.request_id == "chatcmpl-test1"
    assert record.latency_s > 0 and record.timestamp.tzinfo is not None


def test_async_chat_create_is_recorded(server: MockServer, async_openai_client: Any, records: list[CostRecord]) -> None:
    server.json(chat_body(MINI, chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(async_openai_client)

    async def main() -> Any:
        return await client.chat.completions.create(model="gpt-4o-mini", messages=[])

    assert asyncio.run(main()).usage.prompt_tokens == 1200
    assert only(records).cost == MINI_COST


class Answer(pydantic.BaseModel):
    answer: str


def test_chat_parse_which_bypasses_create_is_recorded_once(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(chat_body(MINI, chat_usage(1200, 300, cached=1000), content='{"answer": "42"}'))
    client = costwrap.wrap(openai_client)
    parsed = client.chat.completions.parse(model="gpt-4o-mini", messages=[], response_format=Answer)
    assert parsed.choices[0].message.parsed == Answer(answer="42")
    assert only(records).cost == MINI_COST


def test_async_chat_parse_is_recorded(server: MockServer, async_openai_client: Any, records: list[CostRecord]) -> None:
    server.json(chat_body(MINI, chat_usage(1200, 300, cached=1000), content='{"answer": "42"}'))
    client = costwrap.wrap(async_openai_client)
    parsed = asyncio.run(client.chat.completions.parse(model="gpt-4o-mini", messages=[], response_format=Answer))
    assert parsed.choices[0].message.parsed.answer == "42"
    assert only(records).cost == MINI_COST


# --- chat streams -----------------------------------------------------------------------------------


def test_stream_usage_is_requested_and_the_extra_chunk_hidden(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.sse(chat_chunks(MINI, ["Hel", "lo"], usage=chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(openai_client)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True
    )
    chunks = list(stream)
    assert server.body()["stream_options"] == {"include_usage": True}
    assert all(chunk.choices for chunk in chunks)  # `chunk.choices[0]` keeps working
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello"
    record = only(records)
    assert record.cost == MINI_COST and record.stream is True and record.estimated is False


def test_a_caller_who_asked_for_usage_sees_the_usage_chunk(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.sse(chat_chunks(MINI, ["hi"], usage=chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(openai_client)
    options = {"include_usage": True}
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True, stream_options=options))
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 1200
    assert options == {"include_usage": True}  # the caller's dict is never mutated
    assert only(records).cost == MINI_COST


def test_other_stream_options_are_kept_when_usage_is_added(server: MockServer, openai_client: Any) -> None:
    server.sse(chat_chunks(MINI, ["hi"], usage=chat_usage(10, 1)))
    client = costwrap.wrap(openai_client)
    options = {"include_obfuscation": False}
    list(client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True, stream_options=options))
    assert server.body()["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert options == {"include_obfuscation": False}


def test_a_stream_whose_caller_declined_usage_is_counted_with_tiktoken(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.sse(chat_chunks(MINI, ["Hello", " world"]))
    client = costwrap.wrap(openai_client)
    messages = [{"role": "user", "content": "Say hello"}]
    list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": False}
        )
    )
    assert server.body()["stream_options"] == {"include_usage": False}
    record = only(records)
    # o200k_base: "Say hello" = 2 tokens, + 3 per message + 3 to prime the reply; "Hello world" = 2 tokens.
    assert record.estimated is True
    assert (record.usage.input_tokens, record.usage.output_tokens) == (2 + 3 + 3, 2)
    assert record.cost == per_m((8, "0.15"), (2, "0.60"))
    assert "usage counted with tiktoken (o200k_base)" in record.notes[0]
    assert record.model == MINI  # taken from the chunks even without usage


def test_chat_stream_helper_goes_through_create_and_keeps_working(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.sse(chat_chunks(MINI, ["Hel", "lo"], usage=chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(openai_client)
    with client.chat.completions.stream(model="gpt-4o-mini", messages=[]) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Hello"
    assert only(records).cost == MINI_COST


def test_async_chat_stream_and_helper(server: MockServer, async_openai_client: Any, records: list[CostRecord]) -> None:
    server.sse(chat_chunks(MINI, ["a", "b"], usage=chat_usage(1200, 300, cached=1000)))
    server.sse(chat_chunks(MINI, ["c"], usage=chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(async_openai_client)

    async def main() -> tuple[list[Any], str]:
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True)
        chunks = [c async for c in stream]
        async with client.chat.completions.stream(model="gpt-4o-mini", messages=[]) as helper:
            final = await helper.get_final_completion()
        return chunks, final.choices[0].message.content

    chunks, text = asyncio.run(main())
    assert all(c.choices for c in chunks) and text == "c"
    assert [r.cost for r in records] == [MINI_COST, MINI_COST]
    assert all(r.stream for r in records)


def test_with_block_on_a_stream_yields_the_proxy(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.sse(chat_chunks(MINI, ["a"], usage=chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(openai_client)
    with client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True) as stream:
        for _ in stream:
            pass
    assert only(records).cost == MINI_COST


@pytest.mark.parametrize("how", ["close", "with", "garbage"])
def test_a_stream_ended_early_is_recorded_once_as_estimated(
    server: MockServer, openai_client: Any, records: list[CostRecord], how: str
) -> None:
    server.sse(chat_chunks(MINI, ["one", " two", " three", " four"], usage=chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(openai_client)
    messages = [{"role": "user", "content": "Count"}]
    if how == "close":
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
        next(stream), next(stream)
        stream.close()
        stream.close()
    elif how == "with":
        with client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True) as stream:
            next(stream), next(stream)
    else:
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
        next(stream), next(stream)
        del stream
        gc.collect()
    record = only(records)
    assert record.estimated is True
    # "Count" = 1 token + 3 + 3; the text seen ("" then "one") = 1 token.
    assert (record.usage.input_tokens, record.usage.output_tokens) == (7, 1)
    assert "closed before it reported usage" in record.notes[0]


def test_a_loop_and_next_calls_share_one_stream_and_one_record(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    # A `for` loop iterates a generator over the proxy's steps, next() calls the proxy: one stream.
    server.sse(chat_chunks(MINI, ["one", " two", " three"], usage=chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(openai_client)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True
    )
    seen = [next(stream)]
    for chunk in stream:
        seen.append(chunk)
        break
    assert records == []  # a loop that stops early records nothing until the stream ends
    seen.extend(stream)
    assert "".join(c.choices[0].delta.content or "" for c in seen) == "one two three"
    assert all(chunk.choices for chunk in seen)  # the usage chunk costwrap asked for stays hidden
    record = only(records)
    assert record.cost == MINI_COST and record.estimated is False


def test_a_loop_left_early_is_recorded_once_when_the_stream_is_dropped(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.sse(chat_chunks(MINI, ["one", " two", " three", " four"], usage=chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(openai_client)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Count"}], stream=True
    )
    for index, _ in enumerate(stream):
        if index == 1:
            break
    assert records == []
    del stream
    gc.collect()
    record = only(records)
    assert record.estimated is True
    assert (record.usage.input_tokens, record.usage.output_tokens) == (7, 1)


def test_a_stream_that_dies_half_way_raises_the_sdk_error_and_is_recorded_as_estimated(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    chunks = chat_chunks(MINI, ["Hello", " there"])
    good = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks[:2])

    class Broken(httpx2.SyncByteStream):
        def __iter__(self) -> Any:
            yield good.encode()
            raise httpx2.ReadError("connection reset by peer")

    server.add(lambda _r: httpx2.Response(200, stream=Broken(), headers={"content-type": "text/event-stream"}))
    client = costwrap.wrap(openai_client)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    import openai

    with pytest.raises(openai.APIConnectionError) as info:  # exactly what the SDK raises without costwrap
        for _ in stream:
            pass
    assert isinstance(info.value.__cause__, httpx2.ReadError)
    record = only(records)
    assert record.estimated is True and record.usage.output_tokens == 1  # "Hello"


# --- Responses API ----------------------------------------------------------------------------------

RESP_USAGE = response_usage(2450, 690, cached=1920, reasoning=448)
RESP_COST = per_m((530, "0.25"), (1920, "0.025"), (690, "2"))
RESP_FLEX_COST = per_m((530, "0.125"), (1920, "0.0125"), (690, "1"))


def test_responses_create_is_recorded(server: MockServer, openai_client: Any, records: list[CostRecord]) -> None:
    server.json(response_body("gpt-5-mini-2025-08-07", RESP_USAGE))
    client = costwrap.wrap(openai_client)
    response = client.responses.create(model="gpt-5-mini", input="plan the fix")
    assert response.output_text == "hello"
    record = only(records)
    assert record.cost == RESP_COST
    assert record.operation == "responses" and record.usage.reasoning_tokens == 448


def test_responses_served_flex_is_priced_flex(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(response_body("gpt-5-mini-2025-08-07", RESP_USAGE, service_tier="flex"))
    client = costwrap.wrap(openai_client)
    client.responses.create(model="gpt-5-mini", input="x", service_tier="flex")
    record = only(records)
    assert record.service_tier == "flex" and record.cost == RESP_FLEX_COST


def test_async_responses_create_and_parse(
    server: MockServer, async_openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(response_body("gpt-5-mini-2025-08-07", RESP_USAGE))
    server.json(response_body("gpt-5-mini-2025-08-07", RESP_USAGE, text='{"answer": "42"}'))
    client = costwrap.wrap(async_openai_client)

    async def main() -> Any:
        await client.responses.create(model="gpt-5-mini", input="x")
        return await client.responses.parse(model="gpt-5-mini", input="x", text_format=Answer)

    parsed = asyncio.run(main())
    assert parsed.output_parsed == Answer(answer="42")
    assert [r.cost for r in records] == [RESP_COST, RESP_COST]


def test_responses_parse_which_bypasses_create_is_recorded(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(response_body("gpt-5-mini-2025-08-07", RESP_USAGE, text='{"answer": "42"}'))
    client = costwrap.wrap(openai_client)
    parsed = client.responses.parse(model="gpt-5-mini", input="x", text_format=Answer)
    assert parsed.output_parsed.answer == "42"
    assert only(records).cost == RESP_COST


def test_responses_stream_and_stream_helper(server: MockServer, openai_client: Any, records: list[CostRecord]) -> None:
    server.sse(response_events("gpt-5-mini-2025-08-07", RESP_USAGE, ["Hel", "lo"]), named=True, done=False)
    server.sse(response_events("gpt-5-mini-2025-08-07", RESP_USAGE, ["Hi"]), named=True, done=False)
    client = costwrap.wrap(openai_client)
    events = list(client.responses.create(model="gpt-5-mini", input="x", stream=True))
    assert events[-1].type == "response.completed"
    with client.responses.stream(model="gpt-5-mini", input="x") as stream:
        final = stream.get_final_response()
    assert final.output_text == "Hi"
    assert [r.cost for r in records] == [RESP_COST, RESP_COST]
    assert "stream_options" not in server.body()  # the Responses API always reports usage


def test_async_responses_stream(server: MockServer, async_openai_client: Any, records: list[CostRecord]) -> None:
    server.sse(response_events("gpt-5-mini-2025-08-07", RESP_USAGE, ["Hel", "lo"]), named=True, done=False)
    client = costwrap.wrap(async_openai_client)

    async def main() -> list[Any]:
        stream = await client.responses.create(model="gpt-5-mini", input="x", stream=True)
        return [e async for e in stream]

    assert asyncio.run(main())[-1].type == "response.completed"
    assert only(records).cost == RESP_COST


def test_responses_stream_cut_before_completion_is_estimated(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.sse(response_events("gpt-5-mini-2025-08-07", None, ["Hello", " there"]), named=True, done=False)
    client = costwrap.wrap(openai_client)
    list(client.responses.create(model="gpt-5-mini", input="Say hello", stream=True))
    record = only(records)
    assert record.estimated is True
    assert (record.usage.input_tokens, record.usage.output_tokens) == (2 + 3 + 3, 2)
    assert record.model == "gpt-5-mini-2025-08-07"


def test_web_search_calls_and_cache_write_ttls_are_priced(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    usage = response_usage(
        1000,
        100,
        cached=200,
        cache_write_tokens=300,
        cache_write_tokens_details={"ttl_30m_tokens": 100, "ttl_12h_tokens": 200},
    )
    server.json(response_body("gpt-6.1-sol", usage, tool_usage={"web_search": {"num_requests": 2}}))
    client = costwrap.wrap(openai_client)
    client.responses.create(model="gpt-6.1-sol", input="x", tools=[{"type": "web_search"}])
    record = only(records)
    assert record.usage.web_search_requests == 2
    assert dict(record.usage.cache_write_by_ttl) == {"30m": 100, "12h": 200}
    assert record.breakdown == {
        "input": per_m((500, "2")),
        "cache_read": per_m((200, "0.1")),
        "cache_write_30m": per_m((100, "2.5")),
        "cache_write_12h": per_m((200, "2.5")),
        "output": per_m((100, "10")),
        "web_search": Decimal(2) * 10 / 1000,
    }
    assert record.notes == ("no 12h cache-write rate in the data: priced at the base cache-write rate",)


def test_responses_compact_is_recorded(server: MockServer, openai_client: Any, records: list[CostRecord]) -> None:
    server.json(
        {
            "id": "cmp_1",
            "object": "response.compaction",
            "created_at": 1764300000,
            "output": [],
            "usage": response_usage(5000, 400, cached=4000),
        }
    )
    client = costwrap.wrap(openai_client)
    client.responses.compact(model="gpt-5-mini", input="long conversation")
    record = only(records)
    assert record.operation == "responses.compact" and record.model == "gpt-5-mini"
    assert record.cost == per_m((1000, "0.25"), (4000, "0.025"), (400, "2"))


def test_background_response_is_billed_once_when_it_completes(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    queued = response_body("gpt-5-mini-2025-08-07", None, status="queued", background=True, id="resp_bg")
    done = response_body("gpt-5-mini-2025-08-07", RESP_USAGE, background=True, id="resp_bg")
    server.json(queued).json(queued).json(done).json(done)
    client = costwrap.wrap(openai_client)
    client.responses.create(model="gpt-5-mini", input="x", background=True)
    assert records == []  # queued: nothing billed yet
    assert client.responses.retrieve("resp_bg").status == "queued"
    assert records == []
    client.responses.retrieve("resp_bg")
    client.responses.retrieve("resp_bg")  # a re-read bills nothing more
    assert only(records).cost == RESP_COST


def test_retrieving_an_ordinary_response_bills_nothing(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(response_body("gpt-5-mini-2025-08-07", RESP_USAGE, id="resp_x"))
    client = costwrap.wrap(openai_client)
    client.responses.retrieve("resp_x")
    assert records == []


def test_beta_responses_are_recorded(server: MockServer, openai_client: Any, records: list[CostRecord]) -> None:
    server.json(response_body("gpt-5-mini-2025-08-07", RESP_USAGE))
    client = costwrap.wrap(openai_client)
    client.beta.responses.create(model="gpt-5-mini", input="x")
    assert only(records).cost == RESP_COST


# --- embeddings, legacy completions -----------------------------------------------------------------

EMBEDDING = {
    "object": "list",
    "model": "text-embedding-3-small",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}


def test_embeddings_sync_and_async(
    server: MockServer, openai_client: Any, async_openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(EMBEDDING).json(EMBEDDING)
    costwrap.wrap(openai_client).embeddings.create(model="text-embedding-3-small", input="hello")
    asyncio.run(costwrap.wrap(async_openai_client).embeddings.create(model="text-embedding-3-small", input="hello"))
    assert [r.cost for r in records] == [per_m((8, "0.02"))] * 2
    assert records[0].operation == "embeddings" and records[0].usage.output_tokens == 0


def test_legacy_completions_sync_stream_and_async(
    server: MockServer, openai_client: Any, async_openai_client: Any, records: list[CostRecord]
) -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    body = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "gpt-3.5-turbo-instruct",
        "choices": [{"index": 0, "text": "hi", "finish_reason": "stop", "logprobs": None}],
        "usage": usage,
    }
    chunk = {"id": "cmpl-2", "object": "text_completion", "created": 1, "model": "gpt-3.5-turbo-instruct"}
    server.json(body).json(body)
    server.sse(
        [
            {**chunk, "choices": [{"index": 0, "text": "hi", "finish_reason": None, "logprobs": None}]},
            {**chunk, "choices": [], "usage": usage},
        ]
    )
    client = costwrap.wrap(openai_client)
    client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    asyncio.run(costwrap.wrap(async_openai_client).completions.create(model="gpt-3.5-turbo-instruct", prompt="x"))
    chunks = list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True))
    assert all(c.choices for c in chunks)
    assert server.body()["stream_options"] == {"include_usage": True}
    assert [r.cost for r in records] == [per_m((5, "1.5"), (7, "2"))] * 3
    assert {r.operation for r in records} == {"completions"}


# --- raw responses ----------------------------------------------------------------------------------


def test_with_raw_response_is_recorded_at_parse_once(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(chat_body(MINI, chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(openai_client)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[])
    assert raw.http_response.status_code == 200
    assert records == []
    first = raw.parse()
    assert raw.parse() is first
    assert only(records).cost == MINI_COST


def test_with_streaming_response_of_a_stream(server: MockServer, openai_client: Any, records: list[CostRecord]) -> None:
    server.sse(chat_chunks(MINI, ["a"], usage=chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(openai_client)
    with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=[], stream=True) as resp:
        chunks = list(resp.parse())
    assert all(c.choices for c in chunks)
    assert only(records).cost == MINI_COST


def test_async_raw_and_streaming_response(
    server: MockServer, async_openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(chat_body(MINI, chat_usage(1200, 300, cached=1000)))
    server.json(chat_body(MINI, chat_usage(1200, 300, cached=1000)))
    client = costwrap.wrap(async_openai_client)

    async def main() -> None:
        raw = await client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[])
        raw.parse()
        async with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=[]) as resp:
            await resp.parse()

    asyncio.run(main())
    assert [r.cost for r in records] == [MINI_COST, MINI_COST]


def test_raw_response_helpers_built_before_wrapping_still_record(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(chat_body(MINI, chat_usage(1200, 300, cached=1000)))
    raw_helper = openai_client.chat.completions.with_raw_response  # cached by the SDK before costwrap patched
    assert raw_helper is openai_client.chat.completions.with_raw_response
    client = costwrap.wrap(openai_client)
    client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[]).parse()
    assert only(records).cost == MINI_COST


# --- Azure and OpenAI-compatible servers ------------------------------------------------------------


def azure_client(server: MockServer, **kwargs: Any) -> Any:
    from openai import AzureOpenAI

    return AzureOpenAI(
        api_key=API_KEY,
        api_version="2024-10-21",
        azure_endpoint="https://acme.openai.azure.com",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(server.handler)),
        **kwargs,
    )


def test_azure_is_priced_by_the_model_the_response_names(server: MockServer, records: list[CostRecord]) -> None:
    server.json(chat_body("gpt-4o-2024-11-20", chat_usage(1000, 100)))
    client = costwrap.wrap(azure_client(server, azure_deployment="prod-chat"))
    client.chat.completions.create(model="ignored-for-routing", messages=[])
    assert "/deployments/prod-chat/" in str(server.requests[-1].url)
    record = only(records)
    assert record.provider == "azure" and record.model == "gpt-4o-2024-11-20"
    assert record.cost == per_m((1000, "2.5"), (100, "10"))


def test_azure_deployment_names_map_to_models(server: MockServer, records: list[CostRecord]) -> None:
    server.sse(chat_chunks("", ["hi"], usage=chat_usage(1000, 100)))  # Azure streams may leave model ""
    client = costwrap.wrap(azure_client(server), model_map={"prod-chat": "gpt-4o"})
    list(client.chat.completions.create(model="prod-chat", messages=[], stream=True))
    assert server.body()["stream_options"] == {"include_usage": True}  # on for Azure too
    record = only(records)
    assert (record.model, record.priced_as) == ("prod-chat", "gpt-4o")
    assert record.cost == per_m((1000, "2.5"), (100, "10"))


def test_azure_api_versions_that_reject_stream_options_are_not_sent_it(
    server: MockServer, records: list[CostRecord]
) -> None:
    from openai import AzureOpenAI

    client = AzureOpenAI(
        api_key=API_KEY,
        api_version="2024-02-01",
        azure_endpoint="https://acme.openai.azure.com",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(server.handler)),
    )
    server.sse(chat_chunks("gpt-35-turbo", ["hi"]))
    list(
        costwrap.wrap(client).chat.completions.create(
            model="prod", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert "stream_options" not in server.body()
    assert only(records).estimated is True


def test_openai_compatible_servers_are_not_asked_for_stream_usage_by_default(
    server: MockServer, records: list[CostRecord]
) -> None:
    from openai import OpenAI

    client = OpenAI(
        api_key=API_KEY,
        base_url="http://localhost:8000/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(server.handler)),
    )
    server.sse(chat_chunks(MINI, ["hi"]))
    server.sse(chat_chunks(MINI, ["hi"], usage=chat_usage(1200, 300, cached=1000)))
    costwrap.wrap(client)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True))
    assert "stream_options" not in server.body()
    assert records[-1].estimated is True
    costwrap.configure(inject_stream_usage=True)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True))
    assert server.body()["stream_options"] == {"include_usage": True}
    assert records[-1].cost == MINI_COST


# --- unknown models, failures -----------------------------------------------------------------------


def test_unknown_model_is_recorded_unpriced_with_a_warning(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(chat_body("acme-llm-9", chat_usage(10, 5)))
    client = costwrap.wrap(openai_client)
    with pytest.warns(UnpricedModelWarning, match="acme-llm-9"):
        client.chat.completions.create(model="acme-llm-9", messages=[])
    record = only(records)
    assert record.cost is None and record.usage.input_tokens == 10 and record.breakdown == {}


def test_strict_pricing_raises_after_the_record_reached_the_sinks(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.json(chat_body("acme-llm-9", chat_usage(10, 5)))
    costwrap.configure(strict_pricing=True)
    client = costwrap.wrap(openai_client)
    with pytest.raises(UnpricedModelError, match="acme-llm-9"):
        client.chat.completions.create(model="acme-llm-9", messages=[])
    assert only(records).cost is None


def test_provider_errors_pass_through_untouched_and_are_not_billed(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    import openai

    server.json({"error": {"message": "Rate limit reached", "type": "requests"}}, status=429)
    client = costwrap.wrap(openai_client)
    with pytest.raises(openai.RateLimitError, match="Rate limit reached") as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert info.value.status_code == 429
    assert records == []


def test_no_api_key_or_prompt_text_in_records_or_logs(
    server: MockServer, openai_client: Any, records: list[CostRecord], caplog: pytest.LogCaptureFixture
) -> None:
    server.json(chat_body(MINI, chat_usage(1200, 300, cached=1000)))
    server.sse(chat_chunks(MINI, ["secret", " reply"]))
    costwrap.add_sink(costwrap.LoggingSink())
    client = costwrap.wrap(openai_client)
    prompt = "my confidential prompt text"
    with caplog.at_level("DEBUG", logger="costwrap"):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
        list(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": prompt}],
                stream=True,
                stream_options={"include_usage": False},
            )
        )
    dumped = json.dumps([r.to_dict() for r in records]) + caplog.text + repr(records)
    for secret in (API_KEY, prompt, "secret reply", "Bearer"):
        assert secret not in dumped
    assert len(caplog.records) == 2  # one LoggingSink line per call
