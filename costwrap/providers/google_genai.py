"""Google Gen AI SDK (``google-genai``), Gemini API and Vertex modes: what to patch, how to read usage.

Facts from ``shared/reference/sdk-surfaces.md`` §4 and the recorded responses: automatic function
calling makes several HTTP calls and the public response carries only the last one's usage, so
costwrap patches the private per-request methods (``Models._generate_content`` and
``_generate_content_stream``), one record per HTTP call; ``prompt_token_count`` includes cached
tokens; thoughts are billed as output but counted outside ``candidates_token_count``; tool-use
prompt tokens are input; stream chunks carry running totals whose fields can drop out or shrink,
so the last value seen *per field* wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from costwrap._record import Usage, new_usage
from costwrap.providers._common import attr, count, text_or_none
from costwrap.providers._spec import Extracted, PatchPoint, RequestInfo

NAME = "google"
PACKAGE = "google.genai"
DISTRIBUTION = "google-genai"
MIN_VERSION = (3, 6)

_MODELS = "google.genai.models"

PATCHES: tuple[PatchPoint, ...] = (
    PatchPoint(_MODELS, "Models._generate_content", "generate_content", False),
    PatchPoint(_MODELS, "Models._generate_content_stream", "generate_content", False, stream=True),
    PatchPoint(_MODELS, "AsyncModels._generate_content", "generate_content", True),
    PatchPoint(_MODELS, "AsyncModels._generate_content_stream", "generate_content", True, stream=True),
    PatchPoint(_MODELS, "Models.embed_content", "embed_content", False),
    PatchPoint(_MODELS, "AsyncModels.embed_content", "embed_content", True),
    PatchPoint("google.genai.batches", "Batches.get", "batches", False, "batch-job"),
    PatchPoint("google.genai.batches", "AsyncBatches.get", "batches", True, "batch-job"),
)

_TIERS = {"ON_DEMAND_FLEX": "flex", "ON_DEMAND_PRIORITY": "priority", "FLEX": "flex", "PRIORITY": "priority"}
_DONE = frozenset({"JOB_STATE_SUCCEEDED", "JOB_STATE_PARTIALLY_SUCCEEDED", "BATCH_STATE_SUCCEEDED"})


def owns(client: Any) -> bool:
    """Whether ``client`` is a ``google.genai`` client (``genai.Client`` or its ``.aio``)."""
    return type(client).__module__.startswith("google.genai") and hasattr(client, "_api_client")


def options_holder(client: Any) -> Any:
    """The SDK's shared API client: ``client.models``, ``client.chats`` and ``client.aio`` all use it."""
    return getattr(client, "_api_client", client)


CLIENT_ATTRIBUTE = "_api_client"
"""Where a resource keeps the object whose ``__dict__`` holds the options (``client_of`` and
``options_holder`` in one attribute read, on every call)."""


def client_of(resource: Any) -> Any:
    """The shared API client of a module (``client.models``, ``client.aio.models``...)."""
    return resource._api_client


def describe_client(api_client: Any) -> tuple[str, bool]:
    """(``vertex`` or ``google``, never asked for stream usage: Gemini streams always carry it)."""
    return ("vertex" if getattr(api_client, "vertexai", False) else "google"), False


def read_request(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> RequestInfo:
    """The model of a request (``models/`` and ``publishers/.../models/`` prefixes are priced away)."""
    model = kwargs.get("model")
    return RequestInfo(model=model if isinstance(model, str) else None, stream=False)


def with_stream_usage(operation: str, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """Gemini streams report usage on their own: nothing to ask for."""
    return None


# --- usage ------------------------------------------------------------------------------------------


def _by_modality(details: Any, notes: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    if isinstance(details, (list, tuple)):
        for item in details:
            modality = attr(item, "modality")
            name = str(getattr(modality, "value", modality) or "").upper()
            out[name] = out.get(name, 0) + count(item, "token_count", notes)
    return out


def usage_from(u: Any, notes: list[str]) -> Usage:
    """A Gemini usage block (``usage_metadata``: an SDK object or a dict) as a :class:`Usage`.

    Input = prompt (cache included) + tool-use prompt; output = candidates + thoughts.
    """
    prompt = count(u, "prompt_token_count", notes)
    tool_prompt = count(u, "tool_use_prompt_token_count", notes)
    thoughts = count(u, "thoughts_token_count", notes)
    candidates = count(u, "candidates_token_count", notes) or count(u, "response_token_count", notes)
    prompt_media = _by_modality(attr(u, "prompt_tokens_details"), notes)
    cache_media = _by_modality(attr(u, "cache_tokens_details"), notes)
    output_media = _by_modality(attr(u, "candidates_tokens_details") or attr(u, "response_tokens_details"), notes)
    return new_usage(
        input_tokens=prompt + tool_prompt,
        output_tokens=candidates + thoughts,
        cache_read_tokens=count(u, "cached_content_token_count", notes),
        reasoning_tokens=thoughts,
        input_audio_tokens=prompt_media.get("AUDIO", 0),
        input_image_tokens=prompt_media.get("IMAGE", 0),
        input_video_tokens=prompt_media.get("VIDEO", 0),
        cache_read_audio_tokens=cache_media.get("AUDIO", 0),
        output_audio_tokens=output_media.get("AUDIO", 0),
        output_image_tokens=output_media.get("IMAGE", 0),
    )


def _tier(u: Any) -> str | None:
    for key in ("service_tier", "traffic_type"):
        value = attr(u, key)
        text = str(getattr(value, "value", value) or "").upper()
        if text in _TIERS:
            return _TIERS[text]
        if text == "STANDARD":
            return None
    return None


def _text_only(details: Any) -> bool:
    """Whether a per-modality breakdown is absent or all text (the every-call case)."""
    if details is None:
        return True
    if details.__class__ is not list:
        return False
    for item in details:
        modality = attr(item, "modality")
        if str(getattr(modality, "value", modality)).upper() != "TEXT":
            return False
    return True


def _plain_usage(counts: Mapping[str, Any]) -> Usage | None:
    """Plain text counts (a usage model's fields, a stream's last values) as a Usage; else ``None``.

    Else: an odd or missing count, no counts at all (a blocked prompt), media, a tier, the older
    ``response_*`` fields. Those take the careful path (:func:`usage_from`), which notes them.
    """
    prompt = counts.get("prompt_token_count")
    candidates = counts.get("candidates_token_count")
    cached = counts.get("cached_content_token_count") or 0
    thoughts = counts.get("thoughts_token_count") or 0
    tool_prompt = counts.get("tool_use_prompt_token_count") or 0
    if not (
        prompt.__class__ is candidates.__class__ is cached.__class__ is thoughts.__class__ is int
        and tool_prompt.__class__ is int
        and prompt | candidates | cached | thoughts | tool_prompt >= 0  # ints: negative iff one is
        and prompt + candidates + thoughts + tool_prompt
        and counts.get("traffic_type") is None
        and counts.get("response_token_count") is None  # the older names: the careful path reads them
        and counts.get("response_tokens_details") is None
        and counts.get("service_tier") is None
        and _text_only(counts.get("prompt_tokens_details"))
        and _text_only(counts.get("cache_tokens_details"))
        and _text_only(counts.get("candidates_tokens_details"))
    ):
        return None
    return new_usage(
        input_tokens=prompt + tool_prompt,
        output_tokens=candidates + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


def _response_fast(response: Any) -> Extracted | None:
    """The every-call case, a response with plain text counts, read from the models' dicts; else ``None``."""
    fields = getattr(response, "__dict__", None)
    if fields is None or isinstance(response, dict):
        return None
    u = fields.get("usage_metadata")
    counts = getattr(u, "__dict__", None)
    usage = _plain_usage(counts) if counts is not None else None
    if usage is None:
        return None
    model, request_id = fields.get("model_version"), fields.get("response_id")
    # positional (usage, model, request_id): keywords cost more
    return Extracted(
        usage,
        model if model.__class__ is str and model else None,
        request_id if request_id.__class__ is str and request_id else None,
    )


def extract(response: Any, operation: str) -> Extracted:
    """Read usage, model and tier from a ``GenerateContentResponse`` or ``EmbedContentResponse``."""
    fast = _response_fast(response)
    if fast is not None:
        return fast
    notes: list[str] = []
    u = attr(response, "usage_metadata")
    usage = None
    if u is not None:
        usage = usage_from(u, notes)
        if not usage.total_tokens:
            usage = None  # a blocked prompt reports usage metadata with no counts at all
            notes.append("the response carried usage metadata without token counts")
    return Extracted(
        usage=usage,
        model=text_or_none(attr(response, "model_version")),
        request_id=text_or_none(attr(response, "response_id")),
        service_tier=_tier(u),
        notes=tuple(notes),
    )


def extract_batch_job(job: Any) -> list[Extracted]:
    """The finished requests of a batch job with inlined responses, each billed at batch rates."""
    state = attr(job, "state")
    if str(getattr(state, "value", state)) not in _DONE:
        return []
    name = text_or_none(attr(job, "name")) or "batch"
    model = text_or_none(attr(job, "model"))
    out: list[Extracted] = []
    for i, inlined in enumerate(attr(attr(job, "dest"), "inlined_responses") or ()):
        response = attr(inlined, "response")
        if response is None:
            continue  # a failed request is not billed
        extracted = extract(response, "generate_content")
        out.append(replace(extracted, model=extracted.model or model, batch=True, response_id=f"{name}#{i}"))
    return out


def is_retrieve_billable(extracted: Extracted) -> bool:
    """No Gemini re-read bills: never."""
    return False


# --- streams ----------------------------------------------------------------------------------------

_USAGE_FIELDS = (
    "prompt_token_count",
    "cached_content_token_count",
    "candidates_token_count",
    "thoughts_token_count",
    "tool_use_prompt_token_count",
    "total_token_count",
    "prompt_tokens_details",
    "cache_tokens_details",
    "candidates_tokens_details",
    "traffic_type",
)


class GenerateAccumulator:
    """Streamed ``GenerateContentResponse`` chunks: running totals, the last value per field wins."""

    __slots__ = ("finished", "model", "parts", "request_id", "usage")

    def __init__(self) -> None:
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None
        self.request_id: str | None = None
        self.parts: list[str] = []
        self.finished = False

    def add(self, chunk: Any) -> bool:
        """Take in one chunk."""
        u = chunk.usage_metadata
        if u is not None:
            usage = self.usage
            if usage is None:
                usage = self.usage = {}
            fields = getattr(u, "__dict__", None)  # the model's fields: plain lookups, not attribute reads
            get = fields.get if fields is not None else partial(getattr, u)
            for name in _USAGE_FIELDS:
                value = get(name, None)
                if value is not None:
                    usage[name] = value
        if self.model is None:  # the same on every chunk: read until one names it
            self.model = chunk.model_version or None
        if self.request_id is None:
            self.request_id = chunk.response_id or None
        for candidate in chunk.candidates or ():
            if candidate.finish_reason is not None:
                self.finished = True
            content = candidate.content
            for part in (content.parts if content is not None else None) or ():
                text = part.text
                if text:
                    self.parts.append(text)
        return True

    def result(self) -> Extracted:
        """The per-field last values; incomplete if the stream stopped before a finish reason."""
        if self.usage is None:
            return Extracted(usage=None, model=self.model, request_id=self.request_id)
        if self.finished:
            usage = _plain_usage(self.usage)
            if usage is not None:
                return Extracted(usage, self.model, self.request_id)  # positional: keywords cost more
        notes: list[str] = []
        return Extracted(
            usage=usage_from(self.usage, notes),
            model=self.model,
            request_id=self.request_id,
            service_tier=_tier(self.usage),
            notes=tuple(notes),
            complete=self.finished,
        )

    def text(self) -> str:
        """The text generated so far."""
        return "".join(self.parts)


def accumulator(operation: str, hide_usage_chunk: bool) -> GenerateAccumulator:
    """A fresh accumulator for a content stream."""
    return GenerateAccumulator()


# --- prompts ----------------------------------------------------------------------------------------


def _texts(value: Any, out: list[str]) -> int:
    """Collect the text of ``contents`` (a string, parts, contents, or lists of them); count turns."""
    if isinstance(value, str):
        out.append(value)
        return 1
    if isinstance(value, (list, tuple)):
        return sum(_texts(item, out) for item in value)
    text = attr(value, "text")
    if isinstance(text, str):
        out.append(text)
        return 1
    parts = attr(value, "parts")
    if parts:
        _texts(parts, out)
        return 1
    return 0


def prompt_texts(operation: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[list[str], int]:
    """The texts a request sends (counted, never stored); Gemini adds no per-message overhead."""
    texts: list[str] = []
    _texts(kwargs.get("contents"), texts)
    config = kwargs.get("config")
    instruction = attr(config, "system_instruction")
    if instruction is not None:
        _texts(instruction, texts)
    return texts, 0


def max_output(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int | None:
    """``config.max_output_tokens``, if the request sets it."""
    value = attr(kwargs.get("config"), "max_output_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def choices(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``config.candidate_count``: each candidate is billed as output."""
    value = attr(kwargs.get("config"), "candidate_count")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


def _media(value: Any) -> int:
    if isinstance(value, (list, tuple)):
        return sum(_media(item) for item in value)
    if isinstance(value, str) or value is None:
        return 0
    if attr(value, "inline_data") is not None or attr(value, "file_data") is not None:
        return 1
    parts = attr(value, "parts")
    return _media(parts) if parts else 0


def count_media(operation: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """How many inline or file parts (images, audio, video, documents) the prompt has."""
    return _media(kwargs.get("contents"))
