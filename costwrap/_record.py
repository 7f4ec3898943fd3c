"""The two values costwrap hands to users: ``Usage`` (what a call consumed) and ``CostRecord``.

Both are frozen: once a record is emitted, every sink sees the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from costwrap._fast import fast_constructor, slot_builder

EMPTY_MAPPING: Mapping[str, Any] = MappingProxyType({})


def empty_mapping() -> Mapping[str, Any]:
    return EMPTY_MAPPING  # one shared read-only empty mapping: no allocation per record


def decimal_text(value: Decimal) -> str:
    """An exact decimal string without exponent notation (``1.6E-7`` -> ``0.00000016``)."""
    return format(value, "f")


def plain_state(self: Any) -> list[Any]:
    """``__getstate__`` for a frozen dataclass with read-only mapping fields: picklable values.

    A ``MappingProxyType`` cannot be pickled (or deep-copied), so the state carries plain dicts;
    :func:`frozen_state` makes them read-only again.
    """
    return [
        dict(value) if isinstance(value, MappingProxyType) else value
        for value in (getattr(self, f.name) for f in fields(self))
    ]


def frozen_state(self: Any, state: list[Any]) -> None:
    """``__setstate__`` matching :func:`plain_state` (only mapping fields hold dicts)."""
    for f, value in zip(fields(self), state, strict=True):
        object.__setattr__(self, f.name, MappingProxyType(value) if isinstance(value, dict) else value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Token counts of one call, normalised across providers.

    The totals include their parts, whatever the provider's own convention:

    >>> u = Usage(input_tokens=1200, cache_read_tokens=1000, output_tokens=300, reasoning_tokens=200)
    >>> u.input_tokens - u.cache_read_tokens   # uncached input
    200
    """

    input_tokens: int = 0
    """All input tokens: uncached, cache reads and cache writes, text, audio and images."""
    output_tokens: int = 0
    """All output tokens, reasoning/thinking tokens included (they are billed as output)."""
    cache_read_tokens: int = 0
    """Input tokens read from the prompt cache (a part of ``input_tokens``)."""
    cache_write_tokens: int = 0
    """Input tokens written to the prompt cache (a part of ``input_tokens``)."""
    cache_write_by_ttl: Mapping[str, int] = field(default_factory=empty_mapping)
    """The cache writes split by time-to-live where the provider reports it (Anthropic ``5m`` and
    ``1h``; OpenAI ``30m`` and ``12h``). Sums to at most ``cache_write_tokens``."""
    reasoning_tokens: int = 0
    """Reasoning/thinking tokens (a part of ``output_tokens``)."""
    input_audio_tokens: int = 0
    """Audio input tokens (a part of ``input_tokens``)."""
    output_audio_tokens: int = 0
    """Audio output tokens (a part of ``output_tokens``)."""
    input_image_tokens: int = 0
    """Image input tokens (a part of ``input_tokens``)."""
    input_video_tokens: int = 0
    """Video input tokens (a part of ``input_tokens``)."""
    cache_read_audio_tokens: int = 0
    """Audio tokens read from the cache (a part of both ``cache_read_tokens`` and
    ``input_audio_tokens``)."""
    output_image_tokens: int = 0
    """Image output tokens (a part of ``output_tokens``)."""
    web_search_requests: int = 0
    """Server-side web searches the call made (billed per search, not per token)."""

    # Records cross process boundaries (multiprocessing, task queues) and get deep-copied.
    __getstate__ = plain_state
    __setstate__ = frozen_state

    def __post_init__(self) -> None:
        # Users build Usage for price(); costwrap's own hot path builds it from checked counts
        # (new_usage), so this check costs a wrapped call nothing. A bool or a fraction is not a
        # token count: refuse it here, naming the field, rather than price True as 1 token.
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "cache_write_by_ttl":
                if not isinstance(value, Mapping):
                    raise ValueError(f"cache_write_by_ttl must be a mapping of TTL to tokens, got {value!r}")
                continue
            if value.__class__ is not int:
                raise ValueError(f"{f.name} must be an int, got {type(value).__name__} {value!r}")
            if value < 0:
                raise ValueError(f"{f.name} must not be negative, got {value}")

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        """The counts as a plain, JSON-ready dict (zero counts included)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = dict(value) if isinstance(value, Mapping) else value
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class CostRecord:
    """What one LLM call cost, and why. Emitted once per call to every sink.

    ``cost`` is ``None`` when the call could not be priced (unknown model, no usage); it is never
    a made-up zero. ``sum(breakdown.values()) == cost`` whenever ``cost`` is not ``None``.
    """

    provider: str
    """Who served the call: ``openai``, ``azure``, ``anthropic``, ``bedrock``, ``google``, ..."""
    model: str | None
    """The model the response says served the call (falls back to the request's model)."""
    request_model: str | None
    """The model (or Azure deployment) named in the request."""
    operation: str
    """The API used, e.g. ``chat.completions``, ``responses``, ``embeddings``, ``completions``."""
    usage: Usage | None
    """Token counts, or ``None`` when nothing could be counted."""
    cost: Decimal | None
    """Exact cost in USD, or ``None`` when unpriced. Never rounded."""
    breakdown: Mapping[str, Decimal] = field(default_factory=empty_mapping)
    """USD per component: ``input``, ``cache_read``, ``cache_write`` (or ``cache_write_5m`` /
    ``cache_write_1h`` / ...), ``output``, ``input_audio``, ``output_audio``, ``web_search``."""
    stream: bool = False
    """Whether the call was streamed."""
    estimated: bool = False
    """True when costwrap counted the usage itself (a stream closed before reporting usage)."""
    latency_s: float = 0.0
    """Seconds from sending the request to the response (to the end of a stream)."""
    timestamp: datetime
    """When the request started (UTC). The call is priced at this time."""
    tags: Mapping[str, str] = field(default_factory=empty_mapping)
    """The user's own labels, from ``wrap(..., tags=...)``."""
    request_id: str | None = None
    """The provider's request id (``x-request-id``) when known, else the response id."""
    price_source: str | None = None
    """Which table priced the call, e.g. ``genai-prices 0.2.3``, ``registered``, ``file:prices.toml``."""
    priced_as: str | None = None
    """The price-table entry that matched ``model``, e.g. ``gpt-4o`` for ``gpt-4o-2024-08-06``."""
    service_tier: str | None = None
    """The tier the response says served the call (``flex``, ``priority``, ...), when reported."""
    batch: bool = False
    """Whether batch rates applied."""
    notes: tuple[str, ...] = ()
    """Why a number is what it is: fallbacks, estimates, pricing problems. Empty when exact."""

    __getstate__ = plain_state
    __setstate__ = frozen_state

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: money as decimal strings (never floats), the time in ISO 8601."""
        return {
            "provider": self.provider,
            "model": self.model,
            "request_model": self.request_model,
            "operation": self.operation,
            "usage": None if self.usage is None else self.usage.to_dict(),
            "cost": None if self.cost is None else decimal_text(self.cost),
            "breakdown": {k: decimal_text(v) for k, v in self.breakdown.items()},
            "stream": self.stream,
            "estimated": self.estimated,
            "latency_s": self.latency_s,
            "timestamp": self.timestamp.isoformat(),
            "tags": dict(self.tags),
            "request_id": self.request_id,
            "price_source": self.price_source,
            "priced_as": self.priced_as,
            "service_tier": self.service_tier,
            "batch": self.batch,
            "notes": list(self.notes),
        }


new_usage = fast_constructor(Usage, shared={"cache_write_by_ttl": EMPTY_MAPPING})
"""``Usage(...)`` without the frozen-dataclass overhead, for costwrap's own hot path."""
new_record = fast_constructor(CostRecord, shared={"breakdown": EMPTY_MAPPING, "tags": EMPTY_MAPPING})
"""``CostRecord(...)`` without the frozen-dataclass overhead, for costwrap's own hot path."""
RecordBuilder: Any = slot_builder(CostRecord)
"""Set every field of a ``CostRecord`` on one, then assign ``__class__ = CostRecord`` (the wrapped call's path)."""
