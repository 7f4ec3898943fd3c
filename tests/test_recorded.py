"""Real recorded OpenAI and Azure OpenAI responses, replayed through the real SDK clients.

The expected usage is each recording's own ``usage_as_recorded`` (copied out of the body by the
corpus builder, independently of costwrap); the expected cost is that usage times the rates below,
written down by hand from the price table (USD per million: input, cached input, output).
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest

import costwrap
from costwrap import CostRecord
from tests.conftest import API_KEY, RECORDED, MockServer

RATES: dict[str, tuple[str, str | None, str | None]] = {
    "gpt-4o-mini-2024-07-18": ("0.15", "0.075", "0.6"),
    "gpt-5-mini-2025-08-07": ("0.25", "0.025", "2"),
    "gpt-35-turbo": ("0.5", None, "1.5"),  # Azure's spelling of gpt-3.5-turbo
    "gpt-4o-2024-11-20": ("2.5", "1.25", "10"),
    "gpt-4o-2024-08-06": ("2.5", "1.25", "10"),
    "gpt-5-nano-2025-08-07": ("0.05", "0.005", "0.4"),
    "o3-mini-2025-01-31": ("1.1", "0.55", "4.4"),
    "o1-mini-2024-09-12": ("1.1", "0.55", "4.4"),
    "gpt-4o-audio-preview-2025-06-03": ("2.5", None, "10"),  # no audio rates in the data: audio is billed as text
    "gpt-4-0613": ("30", None, "60"),
    "gpt-5-2025-08-07": ("1.25", "0.125", "10"),
    "gpt-3.5-turbo-0125": ("0.5", None, "1.5"),
    "gpt-3.5-turbo-instruct": ("1.5", None, "2"),
    "text-embedding-3-small": ("0.02", None, None),
    "text-embedding-3-large": ("0.13", None, None),
    "gpt-5.4-2026-03-05": ("2.5", "0.25", "15"),
    "gpt-5.5": ("5", "0.5", "30"),
    "gpt-4.1-2025-04-14": ("2", "0.5", "8"),
}
FLEX_RATES = {"gpt-5-2025-08-07": ("0.625", "0.0625", "5")}

FILES = sorted(p.name for p in RECORDED.glob("openai-*.json"))


def expected_cost(model: str, usage: dict[str, Any], tier: str | None) -> Decimal:
    inp, cached_rate, out = (FLEX_RATES if tier == "flex" else RATES)[model]
    prompt = usage.get("prompt_tokens", usage.get("input_tokens", 0))
    completion = usage.get("completion_tokens", usage.get("output_tokens", 0))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    cached = details.get("cached_tokens") or 0
    total = Decimal(prompt - cached) * Decimal(inp) + Decimal(cached) * Decimal(cached_rate or inp)
    if out is not None:
        total += Decimal(completion) * Decimal(out)
    return total / 1_000_000


def client_for(recording: dict[str, Any], server: MockServer, is_async: bool) -> Any:
    import openai

    http: Any = (
        httpx2.AsyncClient(transport=httpx2.MockTransport(server.async_handler))
        if is_async
        else httpx2.Client(transport=httpx2.MockTransport(server.handler))
    )
    request = recording["request"]
    if recording["platform"] == "azure-openai" and "/deployments/" in request["path"]:
        version = request["path"].split("api-version=")[1]
        cls = openai.AsyncAzureOpenAI if is_async else openai.AzureOpenAI
        return cls(
            api_key=API_KEY,
            api_version=version,
            azure_endpoint=f"https://{request['host']}",
            max_retries=0,
            http_client=http,
        )
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    base = f"https://{request['host']}/openai/v1/" if request["path"].startswith("/openai/v1") else None
    return cls(api_key=API_KEY, base_url=base, max_retries=0, http_client=http)


def call(client: Any, recording: dict[str, Any]) -> Any:
    body = recording["request"]["body"]
    api = recording["api"]
    kwargs: dict[str, Any] = {"model": body["model"]}
    for key in ("stream", "stream_options", "service_tier"):
        if key in body:
            kwargs[key] = body[key]
    if api == "chat.completions":
        return client.chat.completions.create(messages=body["messages"], **kwargs)
    if api == "responses":
        return client.responses.create(input=body["input"], **kwargs)
    if api == "embeddings":
        return client.embeddings.create(input=body["input"], **kwargs)
    return client.completions.create(prompt=body["prompt"], **kwargs)


def consume(result: Any) -> None:
    if hasattr(result, "__iter__") and not hasattr(result, "model_dump"):
        for _ in result:
            pass


async def consume_async(result: Any) -> None:
    result = await result
    if hasattr(result, "__aiter__"):
        async for _ in result:
            pass


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_recorded_response_is_priced_exactly(
    name: str, mode: str, server: MockServer, records: list[CostRecord]
) -> None:
    recording = server.recorded(name)
    client = costwrap.wrap(client_for(recording, server, mode == "async"))
    if mode == "async":
        asyncio.run(consume_async(call(client, recording)))
    else:
        consume(call(client, recording))
    assert len(records) == 1, name
    record = records[0]
    assert record.model == recording["response_model"]
    assert record.provider == ("azure" if recording["platform"] == "azure-openai" else "openai")
    if not recording["usage_as_recorded"]:
        # Streams recorded without include_usage: costwrap counts the tokens itself.
        assert record.estimated is True and record.usage is not None
        assert record.usage.input_tokens > 0 and record.usage.output_tokens > 0
        inp, _, out = RATES[recording["response_model"]]
        assert (
            record.cost
            == (
                Decimal(record.usage.input_tokens) * Decimal(inp)
                + Decimal(record.usage.output_tokens) * Decimal(out or 0)
            )
            / 1_000_000
        )
        return
    usage = recording["usage_as_recorded"][-1]["usage"]
    tier = record.service_tier
    assert record.estimated is False
    assert record.usage is not None
    assert record.usage.input_tokens == usage.get("prompt_tokens", usage.get("input_tokens"))
    details = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    assert record.usage.reasoning_tokens == (details.get("reasoning_tokens") or 0)
    assert record.cost == expected_cost(recording["response_model"], usage, tier), (name, record)
    assert sum(record.breakdown.values()) == record.cost


def test_the_flex_recording_is_priced_at_flex(server: MockServer, records: list[CostRecord]) -> None:
    recording = server.recorded("openai-responses-stream-3.json")
    consume(call(costwrap.wrap(client_for(recording, server, False)), recording))
    assert records[0].service_tier == "flex"
    usage = recording["usage_as_recorded"][-1]["usage"]
    assert records[0].cost == expected_cost("gpt-5-2025-08-07", usage, "flex")
    assert records[0].cost == expected_cost("gpt-5-2025-08-07", usage, None) / 2


def test_recordings_keep_their_source_and_licence() -> None:
    for name in FILES:
        source = json.loads((RECORDED / name).read_text())["source"]
        assert source["license"] in ("Apache-2.0", "MIT")
        assert source["repo"] and source["commit"] and source["path"]
    readme = (Path(RECORDED) / "README.md").read_text()
    assert all(name in readme for name in FILES)


# --- Anthropic --------------------------------------------------------------------------------------

# (input, cache read, 5-minute cache write, 1-hour cache write, output) per million tokens.
ANTHROPIC_RATES: dict[str, tuple[str, str, str, str, str]] = {
    "claude-3-haiku-20240307": ("0.25", "0.03", "0.3", "0.5", "1.25"),
    "claude-sonnet-4-20250514": ("3", "0.3", "3.75", "6", "15"),
    "claude-3-5-sonnet-20240620": ("3", "0.3", "3.75", "6", "15"),
    "claude-sonnet-4-5-20250929": ("3", "0.3", "3.75", "6", "15"),
    "claude-3-7-sonnet-20250219": ("3", "0.3", "3.75", "6", "15"),
    "claude-sonnet-4-6": ("3", "0.3", "3.75", "6", "15"),
    "claude-sonnet-5": ("2", "0.2", "2.5", "4", "10"),
    "claude-opus-4-8": ("5", "0.5", "6.25", "10", "25"),
}
ANTHROPIC_FILES = sorted(p.name for p in RECORDED.glob("anthropic-*.json"))


def anthropic_cost(usage: dict[str, Any], model: str) -> Decimal:
    inp, read, write_5m, write_1h, out = (Decimal(r) for r in ANTHROPIC_RATES[model])
    split = usage.get("cache_creation") or {}
    five, hour = split.get("ephemeral_5m_input_tokens") or 0, split.get("ephemeral_1h_input_tokens") or 0
    unsplit = (usage.get("cache_creation_input_tokens") or 0) - five - hour  # older bodies: the base 5m rate
    return (
        usage["input_tokens"] * inp
        + (usage.get("cache_read_input_tokens") or 0) * read
        + (five + unsplit) * write_5m
        + hour * write_1h
        + usage["output_tokens"] * out
    ) / 1_000_000


def anthropic_expected(recording: dict[str, Any]) -> tuple[dict[str, Any], Decimal]:
    final: dict[str, Any] = {}
    for block in recording["usage_as_recorded"]:  # message_start, then message_delta over it, field by field
        final.update({k: v for k, v in block["usage"].items() if v is not None})
    model = recording["response_model"]
    steps = final.get("iterations") or [final]
    cost = sum((anthropic_cost(step, step.get("model") or model) for step in steps), Decimal(0))
    searches = (final.get("server_tool_use") or {}).get("web_search_requests") or 0
    return final, cost + Decimal(searches) * 10 / 1000


@pytest.mark.parametrize("name", ANTHROPIC_FILES)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_recorded_anthropic_response_is_priced_exactly(
    name: str, mode: str, server: MockServer, records: list[CostRecord]
) -> None:
    import anthropic

    recording = server.recorded(name)
    body = recording["request"]["body"]
    kwargs = {"model": body["model"], "max_tokens": body["max_tokens"], "messages": body["messages"]}
    if mode == "sync":
        client = anthropic.Anthropic(
            api_key=API_KEY, max_retries=0, http_client=httpx2.Client(transport=httpx2.MockTransport(server.handler))
        )
        consume(costwrap.wrap(client).messages.create(stream=recording["stream"], **kwargs))
    else:
        aclient = anthropic.AsyncAnthropic(
            api_key=API_KEY,
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server.async_handler)),
        )
        costwrap.wrap(aclient)

        async def main() -> None:
            if recording["stream"]:
                async with aclient.messages.stream(**kwargs) as stream:
                    await stream.get_final_message()
            else:
                await aclient.messages.create(**kwargs)

        asyncio.run(main())
    assert len(records) == 1, name
    record = records[0]
    final, cost = anthropic_expected(recording)
    assert record.model == recording["response_model"]
    assert record.estimated is False
    total_input = (
        final["input_tokens"]
        + (final.get("cache_read_input_tokens") or 0)
        + (final.get("cache_creation_input_tokens") or 0)
    )
    assert (record.usage.input_tokens, record.usage.output_tokens) == (total_input, final["output_tokens"])
    assert record.cost == cost, (name, record)
    assert sum(record.breakdown.values()) == record.cost


# --- Gemini API and Vertex AI -----------------------------------------------------------------------

# (text input, cached input, output, audio input, cached audio input) per million tokens.
GEMINI_RATES: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "gemini-2.0-flash-001": ("0.1", "0.025", "0.4", "0.7", "0.175"),
    "gemini-2.0-flash": ("0.1", "0.025", "0.4", "0.7", "0.175"),
    "gemini-2.0-flash-exp": ("0.1", "0.025", "0.4", "0.7", "0.175"),
    "gemini-2.5-flash": ("0.3", "0.03", "2.5", "1", "0.1"),
    "gemini-2.5-pro": ("1.25", "0.125", "10", None, None),
    "gemini-3-flash-preview": ("0.5", "0.05", "3", "1", "0.1"),
    "gemini-embedding-2": ("0.2", "0.2", "0", None, None),
}
GEMINI_FILES = sorted(p.name for p in RECORDED.glob("google-*.json"))


def gemini_final_usage(recording: dict[str, Any]) -> dict[str, Any]:
    """The usage of a body; for a stream, every chunk's fields overlaid in order (last value wins)."""
    body = recording["response"]["body"]
    if not recording["stream"]:
        return json.loads(body).get("usageMetadata") or {}
    final: dict[str, Any] = {}
    for line in body.splitlines():
        if line.startswith("data:"):
            final.update(json.loads(line[5:]).get("usageMetadata") or {})
    return final


def modality(details: Any, name: str) -> int:
    return sum(d.get("tokenCount", 0) for d in details or [] if d.get("modality") == name)


def gemini_cost(usage: dict[str, Any], model: str) -> Decimal:
    inp, cached_rate, out, audio_rate, cached_audio_rate = GEMINI_RATES[model]
    prompt = usage.get("promptTokenCount", 0) + usage.get("toolUsePromptTokenCount", 0)
    cached = usage.get("cachedContentTokenCount", 0)
    output = usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)
    cached_audio = modality(usage.get("cacheTokensDetails"), "AUDIO") if cached_audio_rate else 0
    audio = modality(usage.get("promptTokensDetails"), "AUDIO") - cached_audio if audio_rate else 0
    total = (
        (prompt - cached - audio) * Decimal(inp)
        + (cached - cached_audio) * Decimal(cached_rate)
        + audio * Decimal(audio_rate or 0)
        + cached_audio * Decimal(cached_audio_rate or 0)
        + output * Decimal(out)
    )
    return total / 1_000_000


def gemini_client_for(recording: dict[str, Any], server: MockServer) -> Any:
    import google.oauth2.credentials
    from google import genai
    from google.genai import types

    options = types.HttpOptions(
        httpx_client=httpx2.Client(transport=httpx2.MockTransport(server.handler)),
        httpx_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server.async_handler)),
    )
    if recording["platform"] == "vertex-ai":
        return genai.Client(
            vertexai=True,
            project="p",
            location="us-central1",
            http_options=options,
            credentials=google.oauth2.credentials.Credentials(token="vertex-token"),
        )
    return genai.Client(api_key=API_KEY, http_options=options)


@pytest.mark.parametrize("name", GEMINI_FILES)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_recorded_gemini_response_is_priced_exactly(
    name: str, mode: str, server: MockServer, records: list[CostRecord]
) -> None:
    recording = server.recorded(name)
    client = costwrap.wrap(gemini_client_for(recording, server))
    models = client.models if mode == "sync" else client.aio.models
    model, api = recording["model"], recording["api"]

    async def run_async(awaitable: Any) -> None:
        result = await awaitable
        if hasattr(result, "__aiter__"):
            async for _ in result:
                pass

    def run() -> None:
        if api == "generate_content":
            call: Any = models.generate_content(model=model, contents="x")
        elif api == "stream_generate_content":
            call = models.generate_content_stream(model=model, contents="x")
        else:  # one text, or a list of texts (the Gemini API's batchEmbedContents)
            call = models.embed_content(model=model, contents=["x"] if api == "batch_embed_contents" else "x")
        if mode == "async":
            asyncio.run(run_async(call))
        else:
            consume(call)

    if not recording["sdk_replay"]["ok"]:
        # google-genai cannot parse this body (integer enums): the SDK's own error reaches the
        # caller unchanged, and a call that failed is not billed.
        with pytest.raises(AttributeError, match="'int' object has no attribute 'upper'"):
            run()
        assert records == []
        return
    run()
    assert len(records) == 1, name
    record = records[0]
    usage = gemini_final_usage(recording)
    if not any(k.endswith("Count") for k in usage):
        assert record.cost is None and record.usage is None  # a blocked prompt: no counts at all
        return
    assert record.cost == gemini_cost(usage, recording["response_model"] or model), (name, record)
    assert sum(record.breakdown.values()) == record.cost
    assert record.provider == ("vertex" if recording["platform"] == "vertex-ai" else "google")


def _recorded_bodies(kind: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((Path(__file__).parent / "recorded").glob("*.json")):
        body = json.loads(path.read_text())["response"]["body"]
        try:
            parsed = json.loads(body)
        except ValueError:
            continue  # an SSE stream
        if isinstance(parsed, dict) and parsed.get("object" if kind == "chat" else "type") == (
            "chat.completion" if kind == "chat" else "message"
        ):
            found.append((path.name, parsed))
    return found


@pytest.mark.parametrize(("name", "body"), _recorded_bodies("chat") + _recorded_bodies("message"))
def test_the_fast_extraction_reads_real_responses_as_the_careful_one_does(name: str, body: dict[str, Any]) -> None:
    # The every-call fast paths must agree with the careful readers on every real body they take.
    from anthropic.types import Message
    from openai.types.chat import ChatCompletion

    from costwrap.providers import anthropic as anthropic_provider
    from costwrap.providers import openai as openai_provider

    if body.get("object") == "chat.completion":
        response: Any = ChatCompletion.model_validate(body)
        fast = openai_provider._chat_fast(response)
        careful = openai_provider._careful_chat(response, "chat.completions")
    else:
        response = Message.model_validate(body)
        fast = anthropic_provider._message_fast(response)
        careful = anthropic_provider._careful_message(response)
    assert fast is None or fast == careful, name
