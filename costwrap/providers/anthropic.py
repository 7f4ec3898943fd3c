"""Anthropic (first-party, Bedrock, Vertex, Foundry clients): what to patch, how to read usage.

Facts from ``shared/reference/sdk-surfaces.md`` §3 and the recorded streams: ``usage.input_tokens``
*excludes* the cache, so the total input is input + cache reads + cache writes; cache writes are
split by TTL in ``cache_creation`` (5m/1h); ``message_delta`` usage values are cumulative and
overwrite ``message_start``'s field by field (the final input can be 10x the first with server
tools); ``usage.iterations`` (compaction, advisor) lists sampling steps that may bill other models
and that top-level usage leaves out; ``.stream()`` and ``.parse()`` bypass ``create()``;
``count_tokens`` is free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from costwrap._record import EMPTY_MAPPING, Usage, new_usage
from costwrap.providers._common import attr, count, text_or_none, usage_object
from costwrap.providers._spec import Extracted, PatchPoint, RequestInfo

NAME = "anthropic"
PACKAGE = "anthropic"
MIN_VERSION = (2, 14)
REQUEST_MODEL_FIRST = frozenset({"bedrock"})
"""A Bedrock request id (``us.anthropic...``, ``global.anthropic...``) says which rates apply."""

_MESSAGES = "anthropic.resources.messages.messages"
_BETA = "anthropic.resources.beta.messages.messages"
_BATCHES = "anthropic.resources.messages.batches"
_BETA_BATCHES = "anthropic.resources.beta.messages.batches"


def _pair(
    module: str, method: str, operation: str, kind: str = "call", cls: str = "Messages"
) -> tuple[PatchPoint, ...]:
    # `.stream()` returns its (async) manager synchronously on both clients: a plain call to wrap.
    return (
        PatchPoint(module, f"{cls}.{method}", operation, False, kind),
        PatchPoint(module, f"Async{cls}.{method}", operation, kind != "stream-manager", kind),
    )


PATCHES: tuple[PatchPoint, ...] = (
    *_pair(_MESSAGES, "create", "messages"),
    *_pair(_MESSAGES, "parse", "messages"),
    *_pair(_MESSAGES, "stream", "messages", "stream-manager"),
    *_pair(_BETA, "create", "messages"),
    *_pair(_BETA, "parse", "messages"),
    *_pair(_BETA, "stream", "messages", "stream-manager"),
    *_pair(_BATCHES, "results", "messages.batches", "batch-results", "Batches"),
    *_pair(_BETA_BATCHES, "results", "messages.batches", "batch-results", "Batches"),
)


def owns(client: Any) -> bool:
    """Whether ``client`` is an Anthropic SDK client (any of its platform variants)."""
    cls = type(client)  # `messages` looked up on the class: on a client it may import the module
    return any(c.__module__.partition(".")[0] == "anthropic" for c in cls.__mro__) and (
        hasattr(cls, "messages") or hasattr(client, "messages")
    )


def options_holder(client: Any) -> Any:
    """The object whose ``__dict__`` keeps a wrapped client's options: the client itself."""
    return client


CLIENT_ATTRIBUTE = "_client"
"""Where a resource keeps the object whose ``__dict__`` holds the options (``client_of`` and
``options_holder`` in one attribute read, on every call)."""


def client_of(resource: Any) -> Any:
    """The client a resource (``client.messages``, ``client.beta.messages``...) belongs to."""
    return resource._client


def describe_client(client: Any) -> tuple[str, bool]:
    """(provider name, whether to ask streams for usage: Anthropic streams always report it)."""
    names = " ".join(cls.__name__ for cls in type(client).__mro__)
    if "Bedrock" in names:
        return "bedrock", False
    if "Vertex" in names:
        return "vertex", False
    if "Foundry" in names:
        return "azure", False
    return "anthropic", False


def read_request(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> RequestInfo:
    """The model and stream flag of a request, from its keyword arguments."""
    extra = kwargs.get("extra_headers")
    # `is not None` first: an ABC isinstance check costs more than the rest of this function
    raw = extra.get("X-Stainless-Raw-Response") if extra is not None and isinstance(extra, Mapping) else None
    model = kwargs.get("model")
    return RequestInfo(  # positional (model, stream, raw): once per call, keywords cost more
        model if isinstance(model, str) else None,
        kwargs.get("stream") is True,
        raw if isinstance(raw, str) else None,
    )


def with_stream_usage(operation: str, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """Anthropic streams always carry usage: nothing to ask for."""
    return None


# --- usage ------------------------------------------------------------------------------------------


def usage_from(u: Any, notes: list[str]) -> Usage:
    """An Anthropic usage block (an SDK object or a dict) as a :class:`Usage`.

    ``input_tokens`` there excludes the cache; costwrap's includes it.
    """
    uncached = attr(u, "input_tokens")
    cache_read = attr(u, "cache_read_input_tokens")
    cache_write = attr(u, "cache_creation_input_tokens")
    # The common case, plain counts, without the careful path (`count` notes malformed values).
    if not (uncached.__class__ is int and uncached >= 0):
        uncached = count(u, "input_tokens", notes)
    if not (cache_read.__class__ is int and cache_read >= 0):
        cache_read = count(u, "cache_read_input_tokens", notes)
    if not (cache_write.__class__ is int and cache_write >= 0):
        cache_write = count(u, "cache_creation_input_tokens", notes)
    split = attr(u, "cache_creation")
    by_ttl: Mapping[str, int] = EMPTY_MAPPING
    if split is not None:
        ttl = {
            "5m": count(split, "ephemeral_5m_input_tokens", notes),
            "1h": count(split, "ephemeral_1h_input_tokens", notes),
        }
        ttl = {k: v for k, v in ttl.items() if v}
        if ttl:
            by_ttl = MappingProxyType(ttl)
            cache_write = max(cache_write, sum(ttl.values()))
    return new_usage(
        input_tokens=uncached + cache_read + cache_write,
        output_tokens=count(u, "output_tokens", notes),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_by_ttl=by_ttl,
        reasoning_tokens=count(attr(u, "output_tokens_details"), "thinking_tokens", notes),
        web_search_requests=count(attr(u, "server_tool_use"), "web_search_requests", notes),
    )


def _iterations(u: Any, notes: list[str]) -> tuple[tuple[str | None, Usage], ...]:
    steps = attr(u, "iterations")
    if not isinstance(steps, (list, tuple)) or not steps:
        return ()
    return tuple((text_or_none(attr(step, "model")), usage_from(step, notes)) for step in steps)


def _extracted(u: Any, model: Any, request_id: str | None, notes: list[str], *, batch: bool = False) -> Extracted:
    u = usage_object(u, notes)
    service_tier = text_or_none(attr(u, "service_tier"))
    speed = text_or_none(attr(u, "speed"))
    return Extracted(
        usage=None if u is None else usage_from(u, notes),
        model=text_or_none(model),
        request_id=request_id,
        service_tier=None if service_tier == "batch" else service_tier,
        batch=batch or service_tier == "batch",
        speed=None if speed == "standard" else speed,
        notes=tuple(notes),
        iterations=() if u is None else _iterations(u, notes),
    )


def extract(response: Any, operation: str) -> Extracted:
    """Read usage and model from a ``Message`` (or ``BetaMessage``, ``ParsedMessage``)."""
    fast = _message_fast(response)
    return fast if fast is not None else _careful_message(response)


def _careful_message(response: Any) -> Extracted:
    """A message through the careful readers (any shape)."""
    notes: list[str] = []
    request_id = text_or_none(getattr(response, "_request_id", None)) or text_or_none(attr(response, "id"))
    return _extracted(attr(response, "usage"), attr(response, "model"), request_id, notes)


def _message_fast(response: Any) -> Extracted | None:
    """The every-call case, a ``Message`` with plain counts and nothing unusual, read from its dicts.

    Anything else (a dict body, cache writes split by TTL, thinking details, server tools,
    iterations, a tier or speed, an odd count) returns ``None`` for the careful path.
    """
    fields = getattr(response, "__dict__", None)
    if fields is None or isinstance(response, dict):
        return None
    model = fields.get("model")
    if model.__class__ is not str or not model:
        return None
    try:
        u = response.usage
        counts = u.__dict__
    except AttributeError:
        return None
    usage = _plain_usage(counts)
    if usage is None or getattr(u, "__pydantic_extra__", None):
        return None
    request_id = getattr(response, "_request_id", None) or fields.get("id")
    # positional (usage, model, request_id, service_tier): keywords cost more
    return Extracted(
        usage, model, request_id if request_id.__class__ is str and request_id else None, counts.get("service_tier")
    )


def _plain_usage(counts: Mapping[str, Any]) -> Usage | None:
    """Plain counts (a usage model's fields, a stream's overlaid usage) as a Usage; ``None`` if anything is unusual.

    Unusual: an odd count, a tier or speed, cache writes split by TTL, thinking details, server
    tools, iterations. Those take the careful path, which prices and notes them.
    """
    uncached = counts.get("input_tokens")
    output = counts.get("output_tokens")
    read = counts.get("cache_read_input_tokens") or 0
    write = counts.get("cache_creation_input_tokens") or 0
    split = counts.get("cache_creation")
    if not (
        uncached.__class__ is output.__class__ is read.__class__ is write.__class__ is int
        and uncached | output | read | write >= 0  # ints: the OR is negative iff one is
    ) or (
        counts.get("service_tier") not in (None, "standard")
        or (split is not None and _split_writes(split))
        or counts.get("output_tokens_details") is not None
        or counts.get("server_tool_use") is not None
        or counts.get("speed") not in (None, "standard")
        or counts.get("iterations") is not None
    ):
        return None
    return new_usage(
        input_tokens=uncached + read + write, output_tokens=output, cache_read_tokens=read, cache_write_tokens=write
    )


def _split_writes(split: Any) -> bool:
    """Whether a ``cache_creation`` block splits any writes by TTL (then the careful path prices them)."""
    return bool(attr(split, "ephemeral_5m_input_tokens") or attr(split, "ephemeral_1h_input_tokens"))


def extract_batch_item(item: Any) -> Extracted | None:
    """One ``messages.batches.results()`` item: a succeeded request, billed at batch rates."""
    result = attr(item, "result")
    if attr(result, "type") != "succeeded":
        return None  # errored, canceled and expired requests are not billed
    message = attr(result, "message")
    message_id = text_or_none(attr(message, "id"))
    custom_id = text_or_none(attr(item, "custom_id"))
    notes = [f"batch request {custom_id!r}"] if custom_id else []
    extracted = _extracted(attr(message, "usage"), attr(message, "model"), message_id, notes, batch=True)
    return replace(extracted, response_id=message_id)  # re-reading the results bills nothing twice


def is_retrieve_billable(extracted: Extracted) -> bool:
    """Anthropic has no re-read that bills: never."""
    return False


# --- streams ----------------------------------------------------------------------------------------


def _fields(u: Any) -> dict[str, Any]:
    """The non-null fields of a usage object or dict, unknown (extra) ones included."""
    if isinstance(u, dict):
        return {k: v for k, v in u.items() if v is not None}
    fields = {k: v for k, v in vars(u).items() if v is not None and not k.startswith("_")}
    extra = getattr(u, "model_extra", None)
    if extra:
        fields.update((k, v) for k, v in extra.items() if v is not None)
    return fields


class MessagesAccumulator:
    """Raw message stream events: ``message_start`` usage, overlaid by each ``message_delta``.

    The delta's values are cumulative: each non-null field replaces the earlier one, never adds.
    """

    __slots__ = ("final", "model", "parts", "request_id", "usage")

    def __init__(self) -> None:
        self.usage: dict[str, Any] | None = None
        self.final = False
        self.model: str | None = None
        self.request_id: str | None = None
        self.parts: list[str] = []

    def add(self, event: Any) -> bool:
        """Take in one event."""
        kind = event.type
        if kind == "content_block_delta":
            delta = event.delta
            text = (
                getattr(delta, "text", None) or getattr(delta, "partial_json", None) or getattr(delta, "thinking", None)
            )
            if text:
                self.parts.append(text)
        elif kind == "message_delta":
            usage = getattr(event, "usage", None)
            if usage is not None:
                if self.usage is None:
                    self.usage = {}
                self.usage.update(_fields(usage))
                self.final = True
        elif kind == "message_start":
            message = event.message
            self.model = text_or_none(attr(message, "model"))
            self.request_id = text_or_none(attr(message, "id"))
            usage = attr(message, "usage")
            self.usage = None if usage is None else _fields(usage)
        return True

    def result(self) -> Extracted:
        """What the stream reported so far (the overlaid usage), or no usage at all."""
        if self.usage is None:
            return Extracted(usage=None, model=self.model, request_id=self.request_id)
        if self.final:
            usage = _plain_usage(self.usage)
            if usage is not None:
                return Extracted(usage, self.model, self.request_id, self.usage.get("service_tier"))
        notes: list[str] = []
        extracted = _extracted(self.usage, self.model, self.request_id, notes)
        # Without a message_delta, output_tokens is message_start's placeholder (1-8 tokens).
        return extracted if self.final else replace(extracted, complete=False)

    def text(self) -> str:
        """The text, tool-input JSON and thinking generated so far."""
        return "".join(self.parts)


def accumulator(operation: str, hide_usage_chunk: bool) -> MessagesAccumulator:
    """A fresh accumulator for a message stream."""
    return MessagesAccumulator()


# --- prompts (for counting tokens when a stream never reports usage) -------------------------------


def _content(content: Any, out: list[str]) -> None:
    if isinstance(content, str):
        out.append(content)
    elif isinstance(content, (list, tuple)):
        for block in content:
            for key in ("text", "thinking"):
                value = attr(block, key)
                if isinstance(value, str):
                    out.append(value)
            if attr(block, "type") == "tool_result":
                _content(attr(block, "content"), out)


def prompt_texts(operation: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[list[str], int]:
    """The texts a request sends (counted, never stored) and its number of messages."""
    texts: list[str] = []
    _content(kwargs.get("system"), texts)
    messages = 0
    for message in kwargs.get("messages") or ():
        messages += 1
        _content(attr(message, "content"), texts)
    return texts, messages


def max_output(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int | None:
    """``max_tokens`` (Anthropic requires it)."""
    value = kwargs.get("max_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def count_media(operation: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """How many image and document blocks the prompt has."""
    total = 0
    for message in kwargs.get("messages") or ():
        content = attr(message, "content")
        for block in content if isinstance(content, (list, tuple)) else ():
            if attr(block, "type") in ("image", "document"):
                total += 1
    return total
