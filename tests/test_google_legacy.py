"""The legacy google-generativeai SDK: sync over its REST transport with a mounted requests adapter,
async over a loopback gRPC server (its REST transport cannot serve async calls).

Rates by hand (USD per 1M): gemini-2.5-flash 0.3 in / 0.03 cached / 2.5 out.
"""

from __future__ import annotations

import asyncio
import io
import json
import warnings
from collections.abc import Iterator
from concurrent import futures
from decimal import Decimal
from typing import Any

import pytest

import costwrap
from costwrap import CostRecord
from tests.conftest import API_KEY

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # the SDK announces its deprecation on import
    import google.ai.generativelanguage as glm
    import google.generativeai as genai
    import grpc
    import requests
    from google.ai.generativelanguage_v1beta.services.generative_service.transports import (
        GenerativeServiceGrpcAsyncIOTransport,
    )
    from google.generativeai import client as gclient
    from google.generativeai import protos


def per_m(*parts: tuple[int, str]) -> Decimal:
    return sum((Decimal(n) * Decimal(rate) for n, rate in parts), Decimal(0)) / 1_000_000


def body(text: str, usage: dict[str, int], finish: bool = True) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = "STOP"
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": "gemini-2.5-flash"}


# 100 prompt tokens (40 cached), 30 candidates, and 20 thinking tokens the proto has no field for.
FINAL = {"promptTokenCount": 100, "cachedContentTokenCount": 40, "candidatesTokenCount": 30, "totalTokenCount": 150}
COST = per_m((60, "0.3"), (40, "0.03"), (30 + 20, "2.5"))


class Adapter(requests.adapters.BaseAdapter):
    """Answers the REST transport's requests; a stream is one JSON array (not SSE)."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[Any] = []
        self.urls: list[str] = []

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        self.urls.append(request.url)
        response = requests.Response()
        response.status_code, response.request, response.url, response.encoding = 200, request, request.url, "utf-8"
        response.raw = io.BytesIO(json.dumps(self.replies.pop(0)).encode())
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def rest() -> Iterator[Adapter]:
    adapter = Adapter()
    genai.configure(api_key=API_KEY, transport="rest")
    gclient.get_default_generative_client()._transport._session.mount("https://", adapter)
    yield adapter
    gclient._client_manager.clients.clear()


def model() -> Any:
    return genai.GenerativeModel("gemini-2.5-flash")


def test_generate_content_recovers_thinking_tokens_from_the_total(rest: Adapter, records: list[CostRecord]) -> None:
    rest.replies.append(body("hi", FINAL))
    m = costwrap.wrap(model(), tags={"sdk": "legacy"})
    assert m.generate_content("hello").text == "hi"
    assert len(records) == 1
    record = records[0]
    assert (record.provider, record.model, record.request_model) == (
        "google",
        "gemini-2.5-flash",
        "models/gemini-2.5-flash",
    )
    assert (record.usage.input_tokens, record.usage.output_tokens, record.usage.reasoning_tokens) == (100, 50, 20)
    assert record.cost == COST and record.tags == {"sdk": "legacy"}
    assert record.notes == ("thinking tokens recovered as total - prompt - candidates (this SDK drops their count)",)


def test_a_stream_is_recorded_once_however_it_is_consumed(rest: Adapter, records: list[CostRecord]) -> None:
    running = {"promptTokenCount": 100, "cachedContentTokenCount": 40, "totalTokenCount": 100}
    rest.replies.append([body("h", running, finish=False), body("i", FINAL)])
    rest.replies.append([body("h", running, finish=False), body("i", FINAL)])
    m = costwrap.wrap(model())
    response = m.generate_content("hello", stream=True)  # the first chunk is fetched eagerly
    assert "".join(chunk.text for chunk in response) == "hi"
    other = m.generate_content("hello", stream=True)
    other.resolve()
    assert [r.cost for r in records] == [COST, COST]
    assert all(r.stream for r in records)


def test_chat_sessions_go_through_the_model(rest: Adapter, records: list[CostRecord]) -> None:
    rest.replies.append(body("hi", FINAL))
    chat = costwrap.wrap(model()).start_chat()
    chat.send_message("hello")
    assert [r.cost for r in records] == [COST]


def test_an_unwrapped_model_is_not_recorded_unless_instrumented(rest: Adapter, records: list[CostRecord]) -> None:
    rest.replies.append(body("hi", FINAL))
    rest.replies.append(body("hi", FINAL))
    model().generate_content("hello")
    assert records == []
    costwrap.instrument("google-legacy")
    model().generate_content("hello")
    assert [r.cost for r in records] == [COST]


def test_wrap_refuses_the_module_and_wants_a_model() -> None:
    with pytest.raises(TypeError, match="does not know"):
        costwrap.wrap(genai)


@pytest.fixture
def grpc_server() -> Iterator[int]:
    def unary(request: Any, context: Any, text: str = "hi") -> Any:
        return protos.GenerateContentResponse(
            candidates=[{"content": {"parts": [{"text": text}]}, "finish_reason": "STOP"}],
            model_version="gemini-2.5-flash",
            usage_metadata={
                "prompt_token_count": 100,
                "cached_content_token_count": 40,
                "candidates_token_count": 30,
                "total_token_count": 150,
            },
        )

    def streaming(request: Any, context: Any) -> Iterator[Any]:
        yield protos.GenerateContentResponse(
            candidates=[{"content": {"parts": [{"text": "h"}]}}],
            usage_metadata={"prompt_token_count": 100, "cached_content_token_count": 40, "total_token_count": 100},
        )
        yield unary(request, context, "i")

    handlers = {
        "GenerateContent": grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=protos.GenerateContentRequest.deserialize,
            response_serializer=protos.GenerateContentResponse.serialize,
        ),
        "StreamGenerateContent": grpc.unary_stream_rpc_method_handler(
            streaming,
            request_deserializer=protos.GenerateContentRequest.deserialize,
            response_serializer=protos.GenerateContentResponse.serialize,
        ),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("google.ai.generativelanguage.v1beta.GenerativeService", handlers),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(0)
    gclient._client_manager.clients.clear()


def test_async_calls_and_streams_over_grpc(grpc_server: int, records: list[CostRecord]) -> None:
    genai.configure(api_key=API_KEY)

    async def main() -> str:
        gclient._client_manager.clients["generative_async"] = glm.GenerativeServiceAsyncClient(
            transport=GenerativeServiceGrpcAsyncIOTransport(
                channel=grpc.aio.insecure_channel(f"127.0.0.1:{grpc_server}")
            )
        )
        m = costwrap.wrap(model())
        first = await m.generate_content_async("hello")
        stream = await m.generate_content_async("hello", stream=True)
        text = "".join([chunk.text async for chunk in stream])
        return first.text + text

    assert asyncio.run(main()) == "hihi"
    assert [r.cost for r in records] == [COST, COST]
    assert [r.stream for r in records] == [False, True]
