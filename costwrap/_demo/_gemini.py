"""The demo's Gemini session.

A genuine ``google.genai.Client`` over a mock transport that answers
like the Gemini API (``usageMetadata`` with thoughts counted apart, SSE chunks with running totals).
"""

from __future__ import annotations

import json
from typing import Any


def _body(model: str, usage: dict[str, Any], text: str, finished: bool = True) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finished:
        candidate["finishReason"] = "STOP"
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": "gemini-demo"}


def _respond(request: Any, response_cls: Any) -> Any:
    path = request.url.path
    if ":streamGenerateContent" in path:
        chunks = [
            _body("gemini-2.5-flash", {"promptTokenCount": 380, "totalTokenCount": 380}, "Top ", False),
            _body(
                "gemini-2.5-flash",
                {"promptTokenCount": 380, "candidatesTokenCount": 40, "totalTokenCount": 420},
                "themes: ",
                False,
            ),
            # Running totals: the last value of each field counts, never their sum.
            _body(
                "gemini-2.5-flash",
                {
                    "promptTokenCount": 380,
                    "candidatesTokenCount": 120,
                    "thoughtsTokenCount": 210,
                    "totalTokenCount": 710,
                },
                "pricing, latency.",
            ),
        ]
        text = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks)
        return response_cls(200, content=text.encode(), headers={"content-type": "text/event-stream"})
    if "gemini-2.5-pro" in path:
        # A 250k-token prompt: above 200k every token of the request is billed at the long-context rate.
        usage = {
            "promptTokenCount": 250_000,
            "cachedContentTokenCount": 200_000,
            "candidatesTokenCount": 900,
            "thoughtsTokenCount": 1_400,
            "totalTokenCount": 252_300,
        }
        return response_cls(200, json=_body("gemini-2.5-pro", usage, "The contracts agree except on clause 9."))
    usage = {
        "promptTokenCount": 1_150,
        "candidatesTokenCount": 260,
        "thoughtsTokenCount": 540,
        "totalTokenCount": 1_950,
    }
    return response_cls(200, json=_body("gemini-2.5-flash", usage, "Category: billing."))


def session() -> None:
    """A call with thinking, a stream with running totals, and a long-context call."""
    import httpx2
    from google import genai
    from google.genai import types

    import costwrap

    def handler(request: httpx2.Request) -> Any:
        return _respond(request, httpx2.Response)

    async def async_handler(request: httpx2.Request) -> Any:
        return _respond(request, httpx2.Response)

    client = genai.Client(
        api_key="demo-not-a-real-key",
        http_options=types.HttpOptions(
            httpx_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
            httpx_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(async_handler)),
        ),
    )
    costwrap.wrap(client, tags={"app": "demo"})
    try:
        client.models.generate_content(model="gemini-2.5-flash", contents="Classify this ticket: ...")
        for _ in client.models.generate_content_stream(model="gemini-2.5-flash", contents="Top themes this week?"):
            pass
        client.models.generate_content(model="gemini-2.5-pro", contents="<250k tokens of contracts> Do they agree?")
    finally:
        costwrap.unwrap(client)
