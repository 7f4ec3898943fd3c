"""Fixtures that build the real SDK clients over in-process mock transports.

Nothing here fakes costwrap: the clients are the genuine ``openai.OpenAI`` / ``AsyncOpenAI``
classes, and only their HTTP transport answers from canned bodies (shaped like the API's, or
recorded from it: see tests/recorded/).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

RECORDED = Path(__file__).parent / "recorded"
API_KEY = "sk-test-costwrap-0123456789abcdef"  # swept for in records and logs by the tests


class MockServer:
    """Answers each request with the next queued response (or the default); keeps the requests."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self._queue: list[Callable[[httpx2.Request], httpx2.Response]] = []
        self.default: Callable[[httpx2.Request], httpx2.Response] | None = None

    # --- queueing ---
    def add(self, responder: Callable[[httpx2.Request], httpx2.Response]) -> MockServer:
        self._queue.append(responder)
        return self

    def json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> MockServer:
        return self.add(lambda _r: httpx2.Response(status, json=body, headers=headers))

    def sse(self, events: list[Any], *, named: bool = False, done: bool = True) -> MockServer:
        """Queue an SSE body: dict events become ``data:`` lines (with ``event:`` lines if named)."""
        text = ""
        for event in events:
            if named:
                text += f"event: {event['type']}\n"
            text += f"data: {json.dumps(event)}\n\n"
        if done:
            text += "data: [DONE]\n\n"
        return self.raw(200, "text/event-stream", text)

    def raw(self, status: int, content_type: str, body: str | bytes) -> MockServer:
        content = body.encode() if isinstance(body, str) else body
        return self.add(lambda _r: httpx2.Response(status, content=content, headers={"content-type": content_type}))

    def recorded(self, name: str) -> dict[str, Any]:
        """Queue a recorded interaction from tests/recorded/ and return the whole recording."""
        recording: dict[str, Any] = json.loads((RECORDED / name).read_text())
        response = recording["response"]
        self.raw(response["status"], response["content_type"], response["body"])
        return recording

    # --- answering ---
    def handler(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        if self._queue:
            return self._queue.pop(0)(request)
        if self.default is not None:
            return self.default(request)
        raise AssertionError(f"unexpected request {request.method} {request.url}")

    async def async_handler(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        return self.handler(request)

    def body(self, index: int = -1) -> dict[str, Any]:
        """The JSON body of a request the server received."""
        return json.loads(self.requests[index].content)  # type: ignore[no-any-return]


@pytest.fixture
def server() -> MockServer:
    return MockServer()


@pytest.fixture
def openai_client(server: MockServer) -> Iterator[Any]:
    from openai import OpenAI

    client = OpenAI(
        api_key=API_KEY, max_retries=0, http_client=httpx2.Client(transport=httpx2.MockTransport(server.handler))
    )
    yield client
    client.close()


@pytest.fixture
def async_openai_client(server: MockServer) -> Any:
    from openai import AsyncOpenAI

    return AsyncOpenAI(
        api_key=API_KEY,
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server.async_handler)),
    )


# --- bodies shaped like the OpenAI API's ---------------------------------------------------------


def chat_usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, **{k: v for k, v in extra.items() if k != "audio_out"}},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": extra.get("audio_out", 0)},
    }


def chat_body(model: str, usage: dict[str, Any] | None, content: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test1",
        "object": "chat.completion",
        "created": 1764300000,
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": usage,
        **extra,
    }


def chat_chunks(
    model: str, words: list[str], usage: dict[str, Any] | None = None, **extra: Any
) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-test2", "object": "chat.completion.chunk", "created": 1764300000, "model": model, **extra}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    chunks += [{**base, "choices": [{"index": 0, "delta": {"content": w}}]} for w in words]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage is not None:
        chunks.append({**base, "choices": [], "usage": usage})
    return chunks


def response_usage(inp: int, out: int, cached: int = 0, reasoning: int = 0, **details: Any) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": cached, **details},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": inp + out,
    }


def response_body(model: str, usage: dict[str, Any] | None, text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "id": extra.pop("id", "resp_test1"),
        "object": "response",
        "created_at": 1764300000,
        "status": extra.pop("status", "completed"),
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
        **extra,
    }


def response_events(model: str, usage: dict[str, Any] | None, words: list[str], **extra: Any) -> list[dict[str, Any]]:
    final = response_body(model, usage, "".join(words), **extra)
    created = {**final, "status": "in_progress", "usage": None, "output": []}
    item = {"type": "message", "id": "msg_1", "status": "in_progress", "role": "assistant", "content": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "sequence_number": 0, "response": created},
        {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": item},
        {
            "type": "response.content_part.added",
            "sequence_number": 2,
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
    ]
    for i, word in enumerate(words):
        events.append(
            {
                "type": "response.output_text.delta",
                "sequence_number": 3 + i,
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": word,
                "logprobs": [],
            }
        )
    if usage is not None:
        events.append({"type": "response.completed", "sequence_number": 3 + len(words), "response": final})
    return events


@pytest.fixture
def records() -> Iterator[list[Any]]:
    """Every record emitted during the test, in order (a global sink)."""
    import costwrap

    collected: list[Any] = []
    costwrap.add_sink(collected.append)
    yield collected
    costwrap.remove_sink(collected.append)


# --- Anthropic ------------------------------------------------------------------------------------


@pytest.fixture
def anthropic_client(server: MockServer) -> Iterator[Any]:
    from anthropic import Anthropic

    client = Anthropic(
        api_key=API_KEY, max_retries=0, http_client=httpx2.Client(transport=httpx2.MockTransport(server.handler))
    )
    yield client
    client.close()


@pytest.fixture
def async_anthropic_client(server: MockServer) -> Any:
    from anthropic import AsyncAnthropic

    return AsyncAnthropic(
        api_key=API_KEY,
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server.async_handler)),
    )


def anthropic_usage(
    inp: int, out: int, *, read: int = 0, write_5m: int = 0, write_1h: int = 0, **extra: Any
) -> dict[str, Any]:
    """An Anthropic usage block: `input_tokens` EXCLUDES the cache reads and writes."""
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write_5m + write_1h,
        "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h},
        **extra,
    }


def message_body(model: str, usage: dict[str, Any], text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "id": extra.pop("id", "msg_test1"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
        **extra,
    }


def message_events(
    model: str, start_usage: dict[str, Any], delta_usage: dict[str, Any] | None, words: list[str]
) -> list[dict[str, Any]]:
    start = message_body(model, start_usage, id="msg_stream1")
    start["content"], start["stop_reason"] = [], None
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}} for w in words]
    events.append({"type": "content_block_stop", "index": 0})
    if delta_usage is not None:
        events.append(
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": delta_usage}
        )
        events.append({"type": "message_stop"})
    return events


# --- Google Gen AI ---------------------------------------------------------------------------------


@pytest.fixture
def genai_client(server: MockServer) -> Any:
    """A Gemini API `genai.Client` over the mock transport (sync and async clients both injected)."""
    from google import genai
    from google.genai import types

    return genai.Client(
        api_key=API_KEY,
        http_options=types.HttpOptions(
            httpx_client=httpx2.Client(transport=httpx2.MockTransport(server.handler)),
            httpx_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server.async_handler)),
        ),
    )


@pytest.fixture
def vertex_client(server: MockServer) -> Any:
    """A Vertex-mode `genai.Client` (a static access token: no Google auth)."""
    import google.oauth2.credentials
    from google import genai
    from google.genai import types

    return genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=google.oauth2.credentials.Credentials(token="vertex-token"),
        http_options=types.HttpOptions(
            httpx_client=httpx2.Client(transport=httpx2.MockTransport(server.handler)),
            httpx_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server.async_handler)),
        ),
    )


def gemini_body(
    model: str, usage: dict[str, Any] | None, text: str = "hello", finish: str | None = "STOP"
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": model, "responseId": "resp-gemini-1"}
    if usage is not None:
        body["usageMetadata"] = usage
    return body


def gemini_sse(server: MockServer, chunks: list[dict[str, Any]]) -> None:
    server.raw(200, "text/event-stream", "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks))


# --- a real Redis server for the shared-budget tests ------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A redis-server started for the test session on a free loopback port.

    Without the binary the Redis tests are skipped, loudly, except on CI, where they must run
    (`.ci/run` installs it first with `scripts/ensure_redis.sh`).
    """
    import os
    import shutil
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed, and CI must run the Redis budget tests")
        pytest.skip(
            "redis-server is not installed (scripts/ensure_redis.sh installs it): "
            "the shared-budget tests against a real Redis did NOT run"
        )
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    client.close()
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)
