"""OpenAI (and Azure OpenAI): what to patch, and how to read usage from what comes back.

Facts from ``shared/reference/sdk-surfaces.md`` §2: ``parse()`` does not go through ``create()``
(patch both); ``.stream()`` does (patch only ``create``); ``prompt_tokens`` / ``input_tokens``
include cached tokens and ``completion_tokens`` / ``output_tokens`` include reasoning; chat streams
carry usage only with ``stream_options.include_usage``, on a final chunk with no choices;
``responses.retrieve`` re-reads a response and is billed only for a background response that was
never billed before.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from costwrap._record import EMPTY_MAPPING, Usage, new_usage
from costwrap.providers._common import attr, count, text_or_none, usage_object
from costwrap.providers._spec import Extracted, PatchPoint, RequestInfo

NAME = "openai"
PACKAGE = "openai"
MIN_VERSION = (3, 57)

_CHAT = "openai.resources.chat.completions.completions"
_RESPONSES = "openai.resources.responses.responses"
_BETA_RESPONSES = "openai.resources.beta.responses.responses"


def _pair(module: str, cls: str, method: str, operation: str, kind: str = "call") -> tuple[PatchPoint, ...]:
    return (
        PatchPoint(module, f"{cls}.{method}", operation, False, kind),
        PatchPoint(module, f"Async{cls}.{method}", operation, True, kind),
    )


PATCHES: tuple[PatchPoint, ...] = (
    *_pair(_CHAT, "Completions", "create", "chat.completions"),
    *_pair(_CHAT, "Completions", "parse", "chat.completions"),
    *_pair(_RESPONSES, "Responses", "create", "responses"),
    *_pair(_RESPONSES, "Responses", "parse", "responses"),
    *_pair(_RESPONSES, "Responses", "compact", "responses.compact"),
    *_pair(_RESPONSES, "Responses", "retrieve", "responses", "retrieve"),
    *_pair(_BETA_RESPONSES, "Responses", "create", "responses"),
    *_pair(_BETA_RESPONSES, "Responses", "compact", "responses.compact"),
    *_pair(_BETA_RESPONSES, "Responses", "retrieve", "responses", "retrieve"),
    *_pair("openai.resources.embeddings", "Embeddings", "create", "embeddings"),
    *_pair("openai.resources.completions", "Completions", "create", "completions"),
    # A client made by `client.copy()` / `client.with_options()` keeps the client's costwrap options.
    PatchPoint("openai._client", "OpenAI.copy", "", False, "client-copy"),
    PatchPoint("openai._client", "OpenAI.with_options", "", False, "client-copy"),
    PatchPoint("openai._client", "AsyncOpenAI.copy", "", False, "client-copy"),
    PatchPoint("openai._client", "AsyncOpenAI.with_options", "", False, "client-copy"),
    PatchPoint("openai.lib.azure", "AzureOpenAI.copy", "", False, "client-copy"),
    PatchPoint("openai.lib.azure", "AzureOpenAI.with_options", "", False, "client-copy"),
    PatchPoint("openai.lib.azure", "AsyncAzureOpenAI.copy", "", False, "client-copy"),
    PatchPoint("openai.lib.azure", "AsyncAzureOpenAI.with_options", "", False, "client-copy"),
)

_STREAM_OPTIONS_OPERATIONS = frozenset({"chat.completions", "completions"})
_TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_TERMINAL_STATUS = frozenset({"completed", "incomplete", "failed", "cancelled"})


def owns(client: Any) -> bool:
    """Whether ``client`` is an OpenAI SDK client (sync, async or Azure)."""
    # `chat` looked up on the class: on the client it is a cached property that imports the
    # chat module, which wrap() leaves to the process (it is patched when imported).
    cls = type(client)
    return any(c.__module__.partition(".")[0] == "openai" for c in cls.__mro__) and (
        hasattr(cls, "chat") or hasattr(client, "chat")
    )


def options_holder(client: Any) -> Any:
    """The object whose ``__dict__`` keeps a wrapped client's options: the client itself."""
    return client


CLIENT_ATTRIBUTE = "_client"
"""Where a resource keeps the object whose ``__dict__`` holds the options (``client_of`` and
``options_holder`` in one attribute read, on every call)."""


def client_of(resource: Any) -> Any:
    """The client a resource (``client.chat.completions``...) belongs to."""
    return resource._client


# Azure accepts `stream_options` from API version 2024-09-01(-preview) on; older versions reject
# the request with a 400, so costwrap must not add it there (it would break the caller's call).
AZURE_STREAM_OPTIONS_SINCE = "2024-09-01"


def describe_client(client: Any) -> tuple[str, bool]:
    """(provider name, whether to ask its streams for usage by default).

    Usage is asked for from OpenAI's own API and from Azure API versions that accept
    ``stream_options``; other OpenAI-compatible servers may reject the parameter.
    """
    names = {cls.__name__ for cls in type(client).__mro__}
    if names & {"AzureOpenAI", "AsyncAzureOpenAI"}:
        version = getattr(client, "_api_version", None)
        return "azure", not isinstance(version, str) or version >= AZURE_STREAM_OPTIONS_SINCE
    if names & {"BedrockOpenAI", "AsyncBedrockOpenAI"}:
        return "bedrock", False
    host = (urlsplit(str(getattr(client, "base_url", ""))).hostname or "").lower()
    if host == "api.openai.com" or host.endswith(".openai.com"):
        return "openai", True
    if host.endswith((".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")):
        return "azure", True
    return "openai", False


def read_request(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> RequestInfo:
    """The model, stream flag and raw-response mode of a request, from its keyword arguments."""
    extra = kwargs.get("extra_headers")
    # `is not None` first: an ABC isinstance check costs more than the rest of this function
    raw = extra.get("X-Stainless-Raw-Response") if extra is not None and isinstance(extra, Mapping) else None
    model = kwargs.get("model")
    return RequestInfo(  # positional (model, stream, raw, background): once per call, keywords cost more
        model if isinstance(model, str) else None,
        kwargs.get("stream") is True,
        raw if isinstance(raw, str) else None,
        kwargs.get("background") is True,
    )


def with_stream_usage(operation: str, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The kwargs with ``stream_options.include_usage`` turned on, or ``None`` to leave them.

    Never overrides a choice the caller made (``include_usage`` present either way), never
    mutates the caller's dict.
    """
    if operation not in _STREAM_OPTIONS_OPERATIONS:
        return None
    options = kwargs.get("stream_options")
    if isinstance(options, Mapping):
        if "include_usage" in options:
            return None
        merged = {**options, "include_usage": True}
    elif options is None or type(options).__name__ in ("Omit", "NotGiven"):
        merged = {"include_usage": True}
    else:
        return None
    return {**kwargs, "stream_options": merged}


# --- usage ------------------------------------------------------------------------------------------


def completion_usage(u: Any, notes: list[str]) -> Usage:
    """A ``CompletionUsage`` (chat and legacy completions) as a :class:`Usage`."""
    fast = _completion_usage_fast(u)
    if fast is not None:
        return fast
    prompt = attr(u, "prompt_tokens_details")
    completion = attr(u, "completion_tokens_details")
    return new_usage(
        input_tokens=count(u, "prompt_tokens", notes),
        output_tokens=count(u, "completion_tokens", notes),
        cache_read_tokens=count(prompt, "cached_tokens", notes),
        cache_write_tokens=count(prompt, "cache_write_tokens", notes),
        reasoning_tokens=count(completion, "reasoning_tokens", notes),
        input_audio_tokens=count(prompt, "audio_tokens", notes),
        output_audio_tokens=count(completion, "audio_tokens", notes),
    )


def _completion_usage_fast(u: Any) -> Usage | None:
    """The SDK's own ``CompletionUsage`` with plain counts, read from its dicts; else ``None``.

    The every-call case (each plain call, each stream's usage chunk). A missing field costs
    pydantic an exception inside ``getattr``, so the dicts are read instead. Anything unusual (a
    dict body, a missing or odd field, a count that is not a non-negative int) returns ``None``
    and takes the careful path, which notes oddities.
    """
    try:
        counts = u.__dict__
        prompt = counts["prompt_tokens_details"]
        completion = counts["completion_tokens_details"]
        prompt_fields = prompt.__dict__ if prompt is not None else _NO_FIELDS
        completion_fields = completion.__dict__ if completion is not None else _NO_FIELDS
        i = counts["prompt_tokens"]
        o = counts["completion_tokens"]
    except (AttributeError, KeyError):
        return None
    cr = prompt_fields.get("cached_tokens") or 0
    cw = prompt_fields.get("cache_write_tokens") or 0
    ai = prompt_fields.get("audio_tokens") or 0
    r = completion_fields.get("reasoning_tokens") or 0
    ao = completion_fields.get("audio_tokens") or 0
    if not (
        i.__class__ is o.__class__ is cr.__class__ is cw.__class__ is ai.__class__ is r.__class__ is ao.__class__ is int
        and i | o | cr | cw | ai | r | ao >= 0  # ints: the OR is negative iff one is
    ):
        return None
    return new_usage(
        input_tokens=i,
        output_tokens=o,
        cache_read_tokens=cr,
        cache_write_tokens=cw,
        reasoning_tokens=r,
        input_audio_tokens=ai,
        output_audio_tokens=ao,
    )


_NO_FIELDS: Mapping[str, Any] = EMPTY_MAPPING


def response_usage(u: Any, tool_usage: Any, notes: list[str]) -> Usage:
    """A Responses API ``ResponseUsage`` (plus the response's ``tool_usage``) as a :class:`Usage`."""
    details = attr(u, "input_tokens_details")
    ttl = attr(details, "cache_write_tokens_details")
    by_ttl: Mapping[str, int] = EMPTY_MAPPING
    if ttl is not None:
        split = {"30m": count(ttl, "ttl_30m_tokens", notes), "12h": count(ttl, "ttl_12h_tokens", notes)}
        split = {k: v for k, v in split.items() if v}
        if split:
            by_ttl = MappingProxyType(split)
    searches = count(attr(tool_usage, "web_search"), "num_requests", notes)
    image_gen = attr(tool_usage, "image_gen")
    if image_gen is not None and count(image_gen, "total_tokens"):
        notes.append("image-generation tool tokens are billed at image-model rates and are not priced here")
    return new_usage(
        input_tokens=count(u, "input_tokens", notes),
        output_tokens=count(u, "output_tokens", notes),
        cache_read_tokens=count(details, "cached_tokens", notes),
        cache_write_tokens=max(count(details, "cache_write_tokens", notes), sum(by_ttl.values())),
        cache_write_by_ttl=by_ttl,
        reasoning_tokens=count(attr(u, "output_tokens_details"), "reasoning_tokens", notes),
        web_search_requests=searches,
    )


def _request_id(response: Any) -> str | None:
    return text_or_none(getattr(response, "_request_id", None)) or text_or_none(attr(response, "id"))


def extract(response: Any, operation: str) -> Extracted:
    """Read usage, model and tier from a non-streamed response of ``operation``."""
    if operation in _STREAM_OPTIONS_OPERATIONS:  # chat and legacy completions: CompletionUsage
        fast = _chat_fast(response)
        if fast is not None:
            return fast
    elif operation.startswith("responses"):
        return _extract_response(response, [])
    return _careful_chat(response, operation)


def _careful_chat(response: Any, operation: str) -> Extracted:
    """Chat, legacy completions and embeddings through the careful readers (any shape)."""
    notes: list[str] = []
    u = usage_object(attr(response, "usage"), notes)
    if operation == "embeddings":
        usage = None if u is None else new_usage(input_tokens=count(u, "prompt_tokens", notes))
    else:
        usage = None if u is None else completion_usage(u, notes)
    return Extracted(
        usage=usage,
        model=text_or_none(attr(response, "model")),
        request_id=_request_id(response),
        service_tier=text_or_none(attr(response, "service_tier")),
        notes=tuple(notes),
    )


def _chat_fast(response: Any) -> Extracted | None:
    """The every-call case, a ``ChatCompletion`` (or ``Completion``) with plain counts, read from its dicts.

    About a third of costwrap's own time per call went to reading these eleven fields through
    the careful helpers. Anything unusual returns ``None`` and takes the careful path.
    """
    fields = getattr(response, "__dict__", None)
    if fields is None or isinstance(response, dict):
        return None
    model = fields.get("model")
    if model.__class__ is not str or not model:
        return None
    usage = _completion_usage_fast(fields.get("usage"))
    if usage is None:
        return None
    request_id = getattr(response, "_request_id", None) or fields.get("id")
    tier = fields.get("service_tier")
    return Extracted(  # positional (usage, model, request_id, service_tier): keywords cost more
        usage,
        model,
        request_id if request_id.__class__ is str and request_id else None,
        tier if tier.__class__ is str and tier else None,
    )


def _extract_response(response: Any, notes: list[str]) -> Extracted:
    u = usage_object(attr(response, "usage"), notes)
    status = attr(response, "status")
    background = attr(response, "background") is True
    # A background response is billed once, when it is done; until then it has no usage.
    billable = not background or status in _TERMINAL_STATUS or (status is None and u is not None)
    created = attr(response, "created_at")
    return Extracted(
        usage=None if u is None else response_usage(u, attr(response, "tool_usage"), notes),
        model=text_or_none(attr(response, "model")),
        request_id=_request_id(response),
        service_tier=text_or_none(attr(response, "service_tier")),
        notes=tuple(notes),
        billable=billable,
        response_id=text_or_none(attr(response, "id")) if background else None,
        created_at=float(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else None,
    )


def is_retrieve_billable(extracted: Extracted) -> bool:
    """A re-read response is billed only if it is a finished background one (deduplicated by id)."""
    return extracted.response_id is not None and extracted.billable and extracted.usage is not None


# --- streams ----------------------------------------------------------------------------------------


class ChatAccumulator:
    """Chat and legacy-completion chunks: usage is on the final chunk (with ``include_usage``)."""

    __slots__ = ("_hide", "_legacy", "model", "parts", "request_id", "service_tier", "usage")

    def __init__(self, hide_usage_chunk: bool, legacy: bool = False) -> None:
        self._hide = hide_usage_chunk
        self._legacy = legacy
        self.usage: Any = None
        self.model: str | None = None
        self.service_tier: str | None = None
        self.request_id: str | None = None
        self.parts: list[str] = []

    def add(self, chunk: Any) -> bool:
        """Take in one chunk; hide the usage-only chunk costwrap asked for."""
        # Runs for every chunk: the common one (text, a model already known) in a few reads.
        usage = chunk.usage
        if (usage is not None or self.model is None) and not self._take_model_and_usage(chunk, usage):
            return False
        for choice in chunk.choices:
            if self._legacy:
                text = choice.text
                if text:
                    self.parts.append(text)
                continue
            delta = choice.delta
            if delta is not None:
                text = delta.content
                if text:
                    self.parts.append(text)
                if delta.tool_calls:
                    self._add_tool_calls(delta.tool_calls)
        return True

    def _take_model_and_usage(self, chunk: Any, usage: Any) -> bool:
        """Read the model and the usage chunk's fields; False for a usage-only chunk to hide.

        The model is read until a chunk names it (Azure's first chunk has model "" and id "").
        """
        if self.model is None:
            self.model = chunk.model or None
        if usage is not None:
            self.usage = usage
            self.model = chunk.model or self.model
            self.service_tier = getattr(chunk, "service_tier", None) or self.service_tier
            self.request_id = chunk.id or self.request_id
            if self._hide and not chunk.choices:
                return False
        return True

    def _add_tool_calls(self, calls: Any) -> None:
        for call in calls:
            fn = call.function
            if fn is not None and fn.arguments:
                self.parts.append(fn.arguments)

    def result(self) -> Extracted:
        """What the stream reported; ``usage`` is ``None`` if the usage chunk never came."""
        usage = _completion_usage_fast(self.usage)  # the SDK's own model with plain counts
        tier = self.service_tier
        if usage is not None:
            # positional (usage, model, request_id, service_tier): keywords cost more
            return Extracted(usage, self.model, self.request_id, tier if tier.__class__ is str and tier else None)
        notes: list[str] = []
        u = usage_object(self.usage, notes)
        usage = None if u is None else completion_usage(u, notes)
        return Extracted(
            usage=usage,
            model=self.model,
            request_id=self.request_id,
            service_tier=text_or_none(self.service_tier),
            notes=tuple(notes),
        )

    def text(self) -> str:
        """The text (and tool-call arguments) generated so far."""
        return "".join(self.parts)


class ResponsesAccumulator:
    """Responses API events: usage is on the terminal ``response.completed`` (or failed) event."""

    __slots__ = ("final", "model", "parts")

    def __init__(self) -> None:
        self.final: Any = None
        self.model: str | None = None
        self.parts: list[str] = []

    def add(self, event: Any) -> bool:
        """Take in one event."""
        kind = event.type
        if kind == "response.output_text.delta":
            self.parts.append(event.delta)
        elif kind in _TERMINAL_EVENTS:
            self.final = event.response
        elif kind == "response.created":
            self.model = text_or_none(attr(event.response, "model"))
        return True

    def result(self) -> Extracted:
        """What the terminal event reported; ``usage`` is ``None`` if the stream ended before it."""
        if self.final is None:
            return Extracted(usage=None, model=self.model)
        return _extract_response(self.final, [])

    def text(self) -> str:
        """The output text seen so far."""
        return "".join(self.parts)


def accumulator(operation: str, hide_usage_chunk: bool) -> ChatAccumulator | ResponsesAccumulator:
    """A fresh accumulator for a stream of ``operation``."""
    if operation.startswith("responses"):
        return ResponsesAccumulator()
    return ChatAccumulator(hide_usage_chunk, legacy=operation == "completions")


# --- prompts (for counting tokens when a stream ends without usage) --------------------------------


def _content_text(content: Any, out: list[str]) -> None:
    if isinstance(content, str):
        out.append(content)
    elif isinstance(content, (list, tuple)):
        for part in content:
            if isinstance(part, str):
                out.append(part)
            else:
                text = attr(part, "text")
                if isinstance(text, str):
                    out.append(text)


def prompt_texts(operation: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[list[str], int]:
    """The texts a request sends (never stored, only counted) and its number of messages."""
    texts: list[str] = []
    messages = 0
    if operation == "chat.completions":
        for message in kwargs.get("messages") or ():
            messages += 1
            _content_text(attr(message, "content"), texts)
            name = attr(message, "name")
            if isinstance(name, str):
                texts.append(name)
            for call in attr(message, "tool_calls") or ():
                fn = attr(call, "function")
                for key in ("name", "arguments"):
                    value = attr(fn, key)
                    if isinstance(value, str):
                        texts.append(value)
    elif operation.startswith("responses"):
        instructions = kwargs.get("instructions")
        if isinstance(instructions, str):
            texts.append(instructions)
            messages += 1
        items = kwargs.get("input")
        if isinstance(items, str):
            texts.append(items)
            messages += 1
        elif isinstance(items, (list, tuple)):
            for item in items:
                messages += 1
                _content_text(attr(item, "content"), texts)
                for key in ("output", "arguments"):
                    value = attr(item, key)
                    if isinstance(value, str):
                        texts.append(value)
    else:  # completions (prompt) and embeddings (input)
        value = kwargs.get("prompt" if operation == "completions" else "input")
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, (list, tuple)):
            texts.extend(v for v in value if isinstance(v, str))
    return texts, messages


_MEDIA_PARTS = frozenset({"image_url", "input_image", "input_audio", "file", "input_file"})


def max_output(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int | None:
    """The request's own output limit, if it sets one."""
    for key in ("max_completion_tokens", "max_output_tokens", "max_tokens"):
        value = kwargs.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def choices(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """How many answers the request asks for (``n``; the Responses API has no such option)."""
    n = kwargs.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1


def count_media(operation: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """How many image, audio and file parts the prompt has (their tokens are not text)."""
    items = kwargs.get("messages") if operation == "chat.completions" else kwargs.get("input")
    total = 0
    for item in items if isinstance(items, (list, tuple)) else ():
        content = attr(item, "content")
        for part in content if isinstance(content, (list, tuple)) else ():
            if attr(part, "type") in _MEDIA_PARTS:
                total += 1
    return total
