"""The only global state costwrap has: settings and the global sinks.

Per-request state (trackers, budgets) lives in ``contextvars`` elsewhere; this module holds what a
process configures once. ``reset()`` puts everything back to the defaults (tests use it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from costwrap._record import CostRecord

Sink = Callable[["CostRecord"], object]
"""A sink is any callable taking one :class:`CostRecord`; its return value is ignored."""

_UNSET: object = object()


@dataclass(frozen=True, slots=True)
class Config:
    """costwrap's process-wide settings. Read with :func:`get_config`, change with :func:`configure`."""

    strict: bool = False
    """Re-raise costwrap's own internal errors instead of logging them (for costwrap's test suite;
    switched on by ``COSTWRAP_STRICT=1``). A user's sink that raises is isolated either way."""
    strict_pricing: bool = False
    """Raise :class:`UnpricedModelError` for a model with no known price instead of warning."""
    prices: Path | None = None
    """A TOML or JSON file of price overrides, loaded on top of the shipped table."""
    inject_stream_usage: bool | None = None
    """Ask OpenAI-style streams for a final usage chunk (``stream_options.include_usage``).
    ``None`` (auto) asks OpenAI's own API and Azure only, not other OpenAI-compatible servers."""
    redact_tags: Callable[[dict[str, str]], Mapping[str, str]] | None = None
    """Applied to every record's tags before any sink sees them (drop or mask values). If it
    raises, the record carries no tags at all rather than unredacted ones."""


def _from_environment() -> Config:
    prices = os.environ.get("COSTWRAP_PRICES")
    return Config(
        strict=os.environ.get("COSTWRAP_STRICT", "").strip().lower() in {"1", "true", "yes", "on"},
        prices=Path(prices) if prices else None,
    )


_lock = threading.Lock()
_config: Config = _from_environment()
_sinks: tuple[Sink, ...] = ()
_reset_hooks: list[Callable[[], None]] = []
_prices_hooks: list[Callable[[Path], None]] = []


def get_config() -> Config:
    """The settings in force now."""
    return _config


def configure(
    *,
    strict: bool | None = None,
    strict_pricing: bool | None = None,
    prices: str | os.PathLike[str] | object | None = _UNSET,
    inject_stream_usage: bool | object | None = _UNSET,
    redact_tags: Callable[[dict[str, str]], Mapping[str, str]] | object | None = _UNSET,
) -> Config:
    """Change process-wide settings; arguments left out keep their value.

    >>> import costwrap
    >>> costwrap.configure(strict_pricing=True).strict_pricing
    True
    >>> _ = costwrap.configure(strict_pricing=False)
    """
    global _config
    with _lock:
        new = _config
        if strict is not None:
            new = replace(new, strict=bool(strict))
        if strict_pricing is not None:
            new = replace(new, strict_pricing=bool(strict_pricing))
        if prices is not _UNSET:
            new = replace(new, prices=None if prices is None else Path(prices))  # type: ignore[arg-type]
            if new.prices is not None:
                for hook in _prices_hooks:
                    hook(new.prices)  # raises PriceFileError for a bad file: nothing changes then
        if inject_stream_usage is not _UNSET:
            if inject_stream_usage is not None and not isinstance(inject_stream_usage, bool):
                raise TypeError("inject_stream_usage must be True, False or None (auto)")
            new = replace(new, inject_stream_usage=inject_stream_usage)
        if redact_tags is not _UNSET:
            if redact_tags is not None and not callable(redact_tags):
                raise TypeError("redact_tags must be a callable taking and returning a dict of tags, or None")
            new = replace(new, redact_tags=redact_tags)
        _config = new
    return new


def on_prices_change(hook: Callable[[Path], None]) -> None:
    """Run ``hook(path)`` when ``configure(prices=path)`` is called; it may reject the file."""
    _prices_hooks.append(hook)


def on_reset(hook: Callable[[], None]) -> None:
    """Run ``hook`` on :func:`reset`: modules with state of their own (the registry) clear it."""
    _reset_hooks.append(hook)


def add_sink(sink: Sink) -> None:
    """Send every record of every wrapped call to ``sink`` (a callable taking a ``CostRecord``).

    Adding the same sink twice has no effect. A sink that raises is logged once and never breaks
    the call or the other sinks.
    """
    global _sinks
    if not callable(sink):
        raise TypeError(f"a sink must be callable, got {type(sink).__name__}")
    with _lock:
        if sink not in _sinks:
            _sinks = (*_sinks, sink)


def remove_sink(sink: Sink) -> None:
    """Stop sending records to ``sink``; removing a sink that was never added does nothing."""
    global _sinks
    with _lock:
        _sinks = tuple(s for s in _sinks if s is not sink and s != sink)


def get_sinks() -> tuple[Sink, ...]:
    """The global sinks, in the order they were added."""
    return _sinks


def reset() -> None:
    """Back to the defaults read from the environment: no global sinks, no registered prices."""
    global _config, _sinks
    with _lock:
        _config = _from_environment()
        _sinks = ()
    for hook in _reset_hooks:
        hook()
