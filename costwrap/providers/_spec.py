"""What a provider module declares: where to patch, and how to read what comes back.

A provider is data plus pure functions. It imports nothing from sinks, budgets or trackers; the
generic call wrapper (``costwrap._call``) does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from costwrap._record import Usage


@dataclass(frozen=True, slots=True)
class PatchPoint:
    """One SDK method to wrap."""

    module: str
    """Module that defines the class, e.g. ``openai.resources.chat.completions.completions``."""
    attribute: str
    """``Class.method`` inside that module."""
    operation: str
    """The operation name recorded for calls through it (``chat.completions``, ``responses``...)."""
    is_async: bool
    """Whether the method returns an awaitable. Chosen by class, not by ``inspect``: the SDKs'
    async methods are often plain functions returning coroutines."""
    kind: str = "call"
    """``call`` (a billable request); ``retrieve`` (re-reads a stored response: bill only what was
    never billed); ``stream-manager`` (returns a context manager that makes the request on entry);
    ``batch-results`` (yields finished batch requests, each billed at batch rates); or
    ``client-copy`` (``client.copy()``/``with_options()``: carry the options over)."""
    stream: bool = False
    """The method always returns a stream (``stream_generate_content``, ``_generate_content_stream``)."""


# Extracted and RequestInfo are built once per call on the hot path: plain slotted dataclasses
# (a frozen one sets each field through object.__setattr__, ~0.1 us a field). Nothing mutates them.
@dataclass(slots=True)
class Extracted:
    """What a provider's extractor read from one response."""

    usage: Usage | None
    """Normalised usage, or ``None`` when the response carries none."""
    model: str | None = None
    """The model the response says served the call."""
    request_id: str | None = None
    service_tier: str | None = None
    batch: bool = False
    speed: str | None = None
    notes: tuple[str, ...] = ()
    billable: bool = True
    """False for a response that is not complete yet (a queued background response): no record."""
    response_id: str | None = None
    """An id that identifies the billed response across re-reads (for de-duplication)."""
    created_at: float | None = None
    """When the provider says the response was created (epoch seconds), where it says so."""
    complete: bool = True
    """False when a stream ended before its final usage: the counts so far are a lower bound."""
    iterations: tuple[tuple[str | None, Usage], ...] = ()
    """Sampling steps billed separately, each with its model (``None``: the response's model).
    When present they, not ``usage``, are what is priced (Anthropic compaction and advisor steps)."""


class StreamAccumulator(Protocol):
    """Reads a stream's items as they pass; one per stream, never shared between threads."""

    def add(self, item: Any) -> bool:
        """Take in one item; return False to hide it from the caller, True to pass it on.

        Hidden items are the usage-only chunks costwrap asked for on the caller's behalf.
        """

    def result(self) -> Extracted:
        """What the stream reported so far (``usage`` is ``None`` if it never reported usage)."""

    def text(self) -> str:
        """The generated text seen so far (for counting tokens when usage never came)."""


@dataclass(slots=True)
class RequestInfo:
    """What costwrap reads from a request's arguments before sending it."""

    model: str | None
    stream: bool
    raw: str | None = None
    """``"true"`` for ``with_raw_response``, ``"stream"`` for ``with_streaming_response``."""
    background: bool = False


ClientOf = Callable[[Any], Any]
Extractor = Callable[[Any, str], Extracted]
AccumulatorFactory = Callable[[str, bool], StreamAccumulator]
RequestReader = Callable[[Mapping[str, Any]], RequestInfo]
