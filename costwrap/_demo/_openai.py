"""The demo's OpenAI session.

Genuine ``OpenAI`` / ``AsyncOpenAI`` clients over a mock transport
that answers like the API (usage blocks, SSE streams, the final usage chunk when asked for).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

# model -> (prompt tokens, cached tokens, completion tokens, reasoning tokens, reply text)
_USAGE: dict[str, tuple[int, int, int, int, str]] = {
    "gpt-4o-mini": (412, 0, 96, 0, "The customer cannot log in after the password reset; escalate to auth."),
    "gpt-4.1": (6_210, 5_888, 240, 0, "Section 4.2 conflicts with the refund policy in the appendix."),
    "o4-mini": (905, 0, 1_840, 1_536, "The migration is safe if the index is built concurrently first."),
    "gpt-4.1-mini": (1_320, 0, 210, 0, "Here is the weekly summary: three incidents, all resolved within SLA."),
    "gpt-5-mini": (2_450, 1_920, 690, 448, "Plan: 1) reproduce, 2) bisect, 3) add a regression test."),
}
_SNAPSHOTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
}


def _chat_usage(model: str) -> dict[str, Any]:
    prompt, cached, completion, reasoning, _ = _USAGE[model]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
    }


def _respond(request: Any, response_cls: Any) -> Any:
    """Answer one request the way the OpenAI API would."""
    body = json.loads(request.content or b"{}")
    path = request.url.path
    model = body.get("model", "")
    if path.endswith("/embeddings"):
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        tokens = 9 * len(inputs)
        return response_cls(
            200,
            json={
                "object": "list",
                "model": "text-embedding-3-small",
                "data": [
                    {"object": "embedding", "index": i, "embedding": [0.01, -0.02, 0.03]} for i in range(len(inputs))
                ],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )
    if path.endswith("/responses"):
        prompt, cached, completion, reasoning, text = _USAGE[model]
        return response_cls(
            200,
            json={
                "id": "resp_demo1",
                "object": "response",
                "created_at": 1764300000,
                "status": "completed",
                "model": _SNAPSHOTS[model],
                "service_tier": body.get("service_tier") or "default",
                "output": [
                    {
                        "type": "message",
                        "id": "msg_1",
                        "status": "completed",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}],
                    }
                ],
                "usage": {
                    "input_tokens": prompt,
                    "input_tokens_details": {"cached_tokens": cached},
                    "output_tokens": completion,
                    "output_tokens_details": {"reasoning_tokens": reasoning},
                    "total_tokens": prompt + completion,
                },
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
            },
        )
    text = _USAGE[model][4]
    base = {"id": "chatcmpl-demo", "created": 1764300000, "model": _SNAPSHOTS[model], "system_fingerprint": "fp_demo"}
    if not body.get("stream"):
        return response_cls(
            200,
            json={
                **base,
                "object": "chat.completion",
                "usage": _chat_usage(model),
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            },
        )
    chunk = {**base, "object": "chat.completion.chunk"}
    events = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [{**chunk, "choices": [{"index": 0, "delta": {"content": word + " "}}]} for word in text.split()]
    events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({**chunk, "choices": [], "usage": _chat_usage(model)})
    sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return response_cls(200, content=sse.encode(), headers={"content-type": "text/event-stream"})


def _clients() -> tuple[Any, Any]:
    import httpx2
    from openai import AsyncOpenAI, OpenAI

    def handler(request: httpx2.Request) -> Any:
        return _respond(request, httpx2.Response)

    async def async_handler(request: httpx2.Request) -> Any:
        return _respond(request, httpx2.Response)

    sync = OpenAI(
        api_key="sk-demo-not-a-real-key",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    async_ = AsyncOpenAI(
        api_key="sk-demo-not-a-real-key",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(async_handler)),
    )
    return sync, async_


def session() -> None:
    """Plain, cached-prompt, reasoning, streamed (one closed early), embeddings and async calls."""
    import costwrap

    client, async_client = _clients()
    costwrap.wrap(client, tags={"app": "demo"})
    costwrap.wrap(async_client, tags={"app": "demo"})
    try:
        _calls(client, async_client)
    finally:
        costwrap.unwrap(client)
        costwrap.unwrap(async_client)
        client.close()


def _calls(client: Any, async_client: Any) -> None:
    ticket = [{"role": "user", "content": "Summarise this support ticket: ..."}]
    client.chat.completions.create(model="gpt-4o-mini", messages=ticket)
    contract = [
        {"role": "system", "content": "You review contracts. <long shared policy text>"},
        {"role": "user", "content": "Does section 4.2 conflict with anything?"},
    ]
    client.chat.completions.create(model="gpt-4.1", messages=contract)
    client.chat.completions.create(model="o4-mini", messages=[{"role": "user", "content": "Is this migration safe?"}])
    stream = client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "Write the weekly summary."}], stream=True
    )
    for _ in stream:
        pass  # costwrap asked for the usage chunk and hid it: the loop sees only content chunks
    early = client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "Write the weekly summary again."}], stream=True
    )
    for i, _ in enumerate(early):
        if i == 4:
            break  # the user stops reading: costwrap counts what was sent and seen
    early.close()
    client.embeddings.create(model="text-embedding-3-small", input=["refund policy", "password reset", "SLA"])

    async def plan() -> None:
        await async_client.responses.create(
            model="gpt-5-mini", input="Plan the fix for bug #1234.", service_tier="flex"
        )

    asyncio.run(plan())
