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
