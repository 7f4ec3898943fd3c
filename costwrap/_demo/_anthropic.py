"""The demo's Anthropic session.

A genuine ``anthropic.Anthropic`` client over a mock transport that
answers like the Messages API (usage without the cache in ``input_tokens``, SSE events).
"""

from __future__ import annotations

import json
from typing import Any

_POLICY = "<a 6,000-token support policy, cached for an hour>"


def _usage(uncached: int, output: int, *, read: int = 0, write_5m: int = 0, write_1h: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": uncached,
        "output_tokens": output,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write_5m + write_1h,
        "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h},
        "service_tier": "standard",
    }


# The answers, in the order the session asks.
_REPLIES: list[tuple[str, dict[str, Any], str]] = [
    # First question with the policy: the policy is written to the 1-hour cache, the ticket to the 5-minute one.
    ("claude-sonnet-4-5-20250929", _usage(35, 180, write_5m=1_200, write_1h=6_000), "Refund approved under 3.1."),
    # Second question: the policy is read back from the cache.
    ("claude-sonnet-4-5-20250929", _usage(42, 150, read=7_200), "Escalate: the warranty has expired."),
    # Extended thinking: the thinking is part of the output tokens.
    ("claude-opus-4-8", {**_usage(520, 2_400), "output_tokens_details": {"thinking_tokens": 1_800}}, "Plan ready."),
]


def _message(model: str, usage: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "msg_demo",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


def _stream_events() -> str:
    start = _message("claude-haiku-4-5-20251001", _usage(640, 1), "")
    start["content"], start["stop_reason"] = [], None
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}}
        for word in ["Three ", "open ", "tickets ", "need ", "a ", "reply."]
    ]
    events += [
        {"type": "content_block_stop", "index": 0},
        # Cumulative: this replaces message_start's placeholder output count, it is not added to it.
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 95},
        },
        {"type": "message_stop"},
    ]
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def session() -> None:
    """Cache writes at two TTLs, a cache read, extended thinking and a ``messages.stream()``."""
    import httpx2
    from anthropic import Anthropic

    import costwrap

    replies = list(_REPLIES)

    def handler(request: httpx2.Request) -> httpx2.Response:
        if json.loads(request.content).get("stream"):
            return httpx2.Response(
                200, content=_stream_events().encode(), headers={"content-type": "text/event-stream"}
            )
        return httpx2.Response(200, json=_message(*replies.pop(0)))

    client = Anthropic(
        api_key="sk-ant-demo-not-a-real-key",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    costwrap.wrap(client, tags={"app": "demo"})
    system: Any = [{"type": "text", "text": _POLICY, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    try:
        for question in ("Can ticket 812 be refunded?", "And ticket 813?"):
            client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=500,
                system=system,
                messages=[{"role": "user", "content": question}],
            )
        client.messages.create(
            model="claude-opus-4-8",
            max_tokens=4000,
            thinking={"type": "enabled", "budget_tokens": 2000},
            messages=[{"role": "user", "content": "Plan the migration."}],
        )
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=200, messages=[{"role": "user", "content": "Summarise the queue."}]
        ) as stream:
            stream.get_final_message()
    finally:
        costwrap.unwrap(client)
        client.close()
