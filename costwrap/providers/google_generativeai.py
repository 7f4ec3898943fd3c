"""The legacy, deprecated ``google-generativeai`` SDK (``google.generativeai``), still widely used.

What it wraps is a ``GenerativeModel`` (DECISIONS.md). Each model call goes out through the SDK's
shared GAPIC client (``GenerativeServiceClient`` and its async twin), which is where costwrap
records: once per RPC, so chat sessions with automatic function calling give one record per call,
and a streamed response is recorded however it is consumed (iterated or ``resolve()``d). The
model-level patches only carry the wrapped model's options down to those records.

Its usage proto has only prompt, candidates, cached and total counts: thinking tokens are dropped
by the SDK. costwrap recovers them as ``total - prompt - candidates`` (they are billed as output)
and says so in the record's notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costwrap._record import Usage, new_usage
from costwrap.providers._common import attr, count, text_or_none
from costwrap.providers._spec import Extracted, PatchPoint, RequestInfo

NAME = "google-legacy"
PACKAGE = "google.generativeai"
DISTRIBUTION = "google-generativeai"
MIN_VERSION = (0, 8)
SCOPED = True
"""Options come from the wrapped ``GenerativeModel`` whose call is running, not from the client."""

_GAPIC = "google.ai.generativelanguage_v1beta.services.generative_service"
_MODEL = "google.generativeai.generative_models"

PATCHES: tuple[PatchPoint, ...] = (
    PatchPoint(_MODEL, "GenerativeModel.generate_content", "generate_content", False, "scope"),
    PatchPoint(_MODEL, "GenerativeModel.generate_content_async", "generate_content", True, "scope"),
    PatchPoint(f"{_GAPIC}.client", "GenerativeServiceClient.generate_content", "generate_content", False),
    PatchPoint(
        f"{_GAPIC}.client", "GenerativeServiceClient.stream_generate_content", "generate_content", False, stream=True
    ),
    PatchPoint(f"{_GAPIC}.async_client", "GenerativeServiceAsyncClient.generate_content", "generate_content", True),
    # A plain function that returns an awaitable: the async wrapper awaits it.
    PatchPoint(
        f"{_GAPIC}.async_client",
        "GenerativeServiceAsyncClient.stream_generate_content",
        "generate_content",
        True,
        stream=True,
    ),
)
_COUNTS = ("prompt_token_count", "candidates_token_count", "cached_content_token_count", "total_token_count")
_THOUGHTS_NOTE = "thinking tokens recovered as total - prompt - candidates (this SDK drops their count)"


def owns(obj: Any) -> bool:
    """Whether ``obj`` is a ``google.generativeai.GenerativeModel`` (the object to wrap)."""
    return any(
        cls.__module__.startswith("google.generativeai") and cls.__name__ == "GenerativeModel"
        for cls in type(obj).__mro__
    )


def options_holder(model: Any) -> Any:
    """A wrapped ``GenerativeModel`` keeps its own options."""
    return model


def client_of(resource: Any) -> Any:
    """The GAPIC client itself (its options come from the enclosing model call)."""
    return resource


def describe_client(client: Any) -> tuple[str, bool]:
    """Always the Gemini API; its streams always report usage."""
    return "google", False


def _request(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    return args[0] if args else kwargs.get("request")


def read_request(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> RequestInfo:
    """The model of a GAPIC request (``models/gemini-1.5-flash``)."""
    model = attr(_request(args, kwargs), "model") or kwargs.get("model")
    return RequestInfo(model=model if isinstance(model, str) and model else None, stream=False)


def with_stream_usage(operation: str, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """Its streams always report usage: nothing to ask for."""
    return None


def usage_from(counts: Mapping[str, int], notes: list[str]) -> Usage:
    """The proto's four counts as a :class:`Usage`, with thinking recovered from the total."""
    prompt = counts.get("prompt_token_count", 0)
    candidates = counts.get("candidates_token_count", 0)
    hidden = max(counts.get("total_token_count", 0) - prompt - candidates, 0)
    if hidden:
        notes.append(_THOUGHTS_NOTE)
    return new_usage(
        input_tokens=prompt,
        output_tokens=candidates + hidden,
        cache_read_tokens=counts.get("cached_content_token_count", 0),
        reasoning_tokens=hidden,
    )


def _counts(u: Any, notes: list[str]) -> dict[str, int]:
    # proto3 integers read 0 when unset: a count of 0 means "not reported".
    return {name: value for name in _COUNTS if (value := count(u, name, notes))}


def extract(response: Any, operation: str) -> Extracted:
    """Read usage and model from a ``protos.GenerateContentResponse``."""
    notes: list[str] = []
    counts = _counts(attr(response, "usage_metadata"), notes)
    return Extracted(
        usage=usage_from(counts, notes) if counts else None,
        model=text_or_none(attr(response, "model_version")),
        notes=tuple(notes),
    )


def is_retrieve_billable(extracted: Extracted) -> bool:
    """Nothing is re-read: never."""
    return False


class ProtoStreamAccumulator:
    """Streamed response protos: running counts, the last non-zero value per field wins."""

    __slots__ = ("counts", "finished", "model", "parts")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.model: str | None = None
        self.parts: list[str] = []
        self.finished = False

    def add(self, chunk: Any) -> bool:
        """Take in one chunk."""
        u = chunk.usage_metadata
        for name in _COUNTS:
            value = getattr(u, name, 0)
            if value:
                self.counts[name] = value
        if chunk.model_version:
            self.model = chunk.model_version
        for candidate in chunk.candidates:
            if candidate.finish_reason:
                self.finished = True
            for part in candidate.content.parts:
                if part.text:
                    self.parts.append(part.text)
        return True

    def result(self) -> Extracted:
        """The last counts seen; incomplete if the stream stopped before a finish reason."""
        notes: list[str] = []
        usage = usage_from(self.counts, notes) if self.counts else None
        return Extracted(usage=usage, model=self.model, notes=tuple(notes), complete=self.finished)

    def text(self) -> str:
        """The text generated so far."""
        return "".join(self.parts)


def accumulator(operation: str, hide_usage_chunk: bool) -> ProtoStreamAccumulator:
    """A fresh accumulator for a response stream."""
    return ProtoStreamAccumulator()


def prompt_texts(operation: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[list[str], int]:
    """The texts of a GAPIC request (counted, never stored)."""
    request = _request(args, kwargs)
    texts: list[str] = []
    contents = list(attr(request, "contents") or ())
    instruction = attr(request, "system_instruction")
    if instruction is not None:
        contents.append(instruction)
    for content in contents:
        for part in attr(content, "parts") or ():
            text = attr(part, "text")
            if isinstance(text, str) and text:
                texts.append(text)
    return texts, 0


def max_output(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int | None:
    """``generation_config.max_output_tokens`` of the GAPIC request (0 means unset)."""
    value = attr(attr(_request(args, kwargs), "generation_config"), "max_output_tokens")
    return value if isinstance(value, int) and value > 0 else None


def choices(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``generation_config.candidate_count`` of the GAPIC request."""
    value = attr(attr(_request(args, kwargs), "generation_config"), "candidate_count")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


def count_media(operation: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """How many inline or file parts the GAPIC request has."""
    total = 0
    for content in attr(_request(args, kwargs), "contents") or ():
        for part in attr(content, "parts") or ():
            if "inline_data" in part or "file_data" in part:
                total += 1
    return total
