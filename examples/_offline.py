"""Offline stand-in for the OpenAI API, shared by the examples: the SDK clients are real.

Only the HTTP transport is replaced, by one that answers like the API (usage blocks, SSE streams,
the final usage chunk when asked for). In your code, use `OpenAI()` as usual.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
from openai import AsyncOpenAI, AzureOpenAI, OpenAI


def _usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def answer(request: httpx2.Request) -> httpx2.Response:
    """A plausible API answer: 1,200 prompt tokens (1,000 cached) and 300 completion tokens."""
    body = json.loads(request.content or b"{}")
    model = body.get("model", "gpt-4o-mini")
    if request.url.path.endswith("/embeddings"):
        return httpx2.Response(
            200,
            json={
                "object": "list",
                "model": model,
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}],
                "usage": {"prompt_tokens": 8, "total_tokens": 8},
            },
        )
    served = "gpt-4o-2024-11-20" if "/deployments/" in request.url.path else model
    base = {"id": "chatcmpl-example", "created": 1764300000, "model": served}
    usage = _usage(1200, 300, cached=1000)
    if not body.get("stream"):
        return httpx2.Response(
            200,
            json={
                **base,
                "object": "chat.completion",
                "usage": usage,
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello!"}}
                ],
            },
        )
    chunk = {**base, "object": "chat.completion.chunk"}
    events = [
        {**chunk, "choices": [{"index": 0, "delta": {"content": word}}]}
        for word in ["Hel", "lo", "!", " How", " can", " I"]
    ]
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({**chunk, "choices": [], "usage": usage})
    sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx2.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"})


async def async_answer(request: httpx2.Request) -> httpx2.Response:
    return answer(request)


def openai_client() -> OpenAI:
    return OpenAI(
        api_key="sk-example", max_retries=0, http_client=httpx2.Client(transport=httpx2.MockTransport(answer))
    )


def async_openai_client() -> AsyncOpenAI:
    return AsyncOpenAI(
        api_key="sk-example",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(async_answer)),
    )


def azure_client() -> AzureOpenAI:
    return AzureOpenAI(
        api_key="example",
        api_version="2024-10-21",
        azure_endpoint="https://acme.openai.azure.com",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
    )


def anthropic_client() -> Any:
    """An `anthropic.Anthropic` client whose API answers with a cache write and a cache read."""
    from anthropic import Anthropic

    def answer_messages(request: httpx2.Request) -> httpx2.Response:
        usage = {
            "input_tokens": 20,
            "output_tokens": 150,
            "cache_read_input_tokens": 5000,
            "cache_creation_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 1000},
        }
        return httpx2.Response(
            200,
            json={
                "id": "msg_example",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "text", "text": "Done."}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage,
            },
        )

    return Anthropic(
        api_key="sk-example", max_retries=0, http_client=httpx2.Client(transport=httpx2.MockTransport(answer_messages))
    )


def gemini_client() -> Any:
    """A `google.genai.Client` whose API answers with thinking tokens counted apart from the reply."""
    from google import genai
    from google.genai import types

    def answer_gemini(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200,
            json={
                "candidates": [{"content": {"role": "model", "parts": [{"text": "Billing."}]}, "finishReason": "STOP"}],
                "usageMetadata": {
                    "promptTokenCount": 900,
                    "candidatesTokenCount": 40,
                    "thoughtsTokenCount": 360,
                    "totalTokenCount": 1300,
                },
                "modelVersion": "gemini-2.5-flash",
            },
        )

    async def async_answer_gemini(request: httpx2.Request) -> httpx2.Response:
        return answer_gemini(request)

    return genai.Client(
        api_key="example",
        http_options=types.HttpOptions(
            httpx_client=httpx2.Client(transport=httpx2.MockTransport(answer_gemini)),
            httpx_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(async_answer_gemini)),
        ),
    )
