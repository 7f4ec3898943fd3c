"""The arithmetic: usage times rates, in ``Decimal``, component by component.

Pure functions with no lookups: given the rates in force and a :class:`~costwrap.Usage`, return the
breakdown. The rules (see ``shared/reference/prices.md``):

- ``input_tokens`` includes cache reads and writes: only the uncached rest is billed at the input
  rate; a part with no rate of its own is billed at the input rate (and said so in the notes).
- Cache writes are priced per TTL: at the TTL's own rate, else the base write rate, else the input
  rate, each fallback noted.
- Audio and image tokens are billed at their own rate where the model has one; otherwise they stay
  in the text count (the same rule genai-prices applies).
- Reasoning is part of ``output_tokens`` and billed at the output rate.
- Tiers are cliffs: every token of the request is billed at the tier rate when the request's total
  input is greater than the threshold.

The data's rates are USD per million tokens (fees per thousand requests); :class:`Resolved` holds
them shifted to per token and per request, so each part is one exact ``Decimal`` multiplication.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from costwrap._record import Usage
from costwrap.pricing._rates import Resolved

_ZERO = Decimal(0)
_COUNTS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
    "input_image_tokens",
    "output_image_tokens",
    "web_search_requests",
)


def validate(usage: Usage) -> None:
    """Raise ``ValueError`` naming the field when ``usage`` is not self-consistent."""
    for name in _COUNTS:
        value = getattr(usage, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int, got {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
    if usage.cache_read_tokens + usage.cache_write_tokens > usage.input_tokens:
        raise ValueError(
            f"cache_read_tokens ({usage.cache_read_tokens}) + cache_write_tokens "
            f"({usage.cache_write_tokens}) exceed input_tokens ({usage.input_tokens}), which includes them"
        )
    media_in = usage.input_audio_tokens + usage.input_image_tokens + usage.input_video_tokens
    if media_in > usage.input_tokens:
        raise ValueError(
            f"input_audio_tokens + input_image_tokens + input_video_tokens ({media_in}) exceed input_tokens "
            f"({usage.input_tokens}), which includes them"
        )
    if usage.cache_read_audio_tokens > min(usage.cache_read_tokens, usage.input_audio_tokens):
        raise ValueError(
            f"cache_read_audio_tokens ({usage.cache_read_audio_tokens}) exceed cache_read_tokens or "
            "input_audio_tokens, which both include them"
        )
    if usage.reasoning_tokens > usage.output_tokens:
        raise ValueError(
            f"reasoning_tokens ({usage.reasoning_tokens}) exceed output_tokens ({usage.output_tokens}), "
            "which includes them"
        )
    if usage.output_audio_tokens + usage.output_image_tokens > usage.output_tokens:
        raise ValueError(
            f"output_audio_tokens ({usage.output_audio_tokens}) + output_image_tokens "
            f"({usage.output_image_tokens}) exceed output_tokens ({usage.output_tokens}), which includes them"
        )
    ttl_total = 0
    for ttl, count in usage.cache_write_by_ttl.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"cache_write_by_ttl[{ttl!r}] must be a non-negative int, got {count!r}")
        ttl_total += count
    if ttl_total > usage.cache_write_tokens:
        raise ValueError(
            f"cache_write_by_ttl sums to {ttl_total}, more than cache_write_tokens ({usage.cache_write_tokens})"
        )


def _parts_inconsistent(usage: Usage) -> bool:
    return (
        min(
            usage.input_audio_tokens,
            usage.input_image_tokens,
            usage.input_video_tokens,
            usage.output_audio_tokens,
            usage.output_image_tokens,
            usage.cache_read_audio_tokens,
        )
        < 0
        or usage.input_audio_tokens + usage.input_image_tokens + usage.input_video_tokens > usage.input_tokens
        or usage.output_audio_tokens + usage.output_image_tokens > usage.output_tokens
        or usage.cache_read_audio_tokens > min(usage.cache_read_tokens, usage.input_audio_tokens)
    )


def compute(
    resolved: Resolved, usage: Usage, base_cache_ttl: str | None
) -> tuple[Decimal, dict[str, Decimal], Sequence[str]]:
    """Price ``usage`` at the ``resolved`` rates: (total, breakdown by component, notes on fallbacks).

    Raises ``ValueError`` when the usage is inconsistent (a part larger than its total, a negative
    count), naming the field.
    """
    # Most calls are text in, text out, maybe with cache reads: one pass, no fallbacks.
    total_input = usage.input_tokens
    cache_read = usage.cache_read_tokens
    output = usage.output_tokens
    if (
        0 <= cache_read <= total_input
        and 0 <= usage.reasoning_tokens <= output
        and not (
            usage.cache_write_tokens
            or usage.input_audio_tokens
            or usage.input_image_tokens
            or usage.input_video_tokens
            or usage.output_audio_tokens
            or usage.output_image_tokens
            or usage.cache_read_audio_tokens
            or usage.web_search_requests
        )
    ):
        text = resolved.text_at(total_input) if resolved.tiered else resolved.text
        if text is not None:
            # The same parts in the same order as the general path below.
            input_rate, cache_read_rate, output_rate = text
            breakdown: dict[str, Decimal] = {}
            total = _ZERO
            if cache_read:
                total = breakdown["cache_read"] = cache_read_rate * cache_read
            uncached = total_input - cache_read
            if uncached:
                amount = breakdown["input"] = input_rate * uncached
                total = amount if total is _ZERO else total + amount
            if output:
                amount = breakdown["output"] = output_rate * output
                total = amount if total is _ZERO else total + amount
            return total, breakdown, ()
    return _compute(resolved, usage, base_cache_ttl)


def _compute(
    resolved: Resolved, usage: Usage, base_cache_ttl: str | None
) -> tuple[Decimal, dict[str, Decimal], list[str]]:
    total_input = usage.input_tokens
    cache_read = usage.cache_read_tokens
    cache_write = usage.cache_write_tokens
    output = usage.output_tokens
    media = (
        usage.input_audio_tokens
        or usage.input_image_tokens
        or usage.input_video_tokens
        or usage.output_audio_tokens
        or usage.output_image_tokens
    )
    # One cheap comparison chain covers the common case; `validate` explains any failure.
    if (
        cache_read < 0
        or cache_write < 0
        or output < 0
        or usage.reasoning_tokens < 0
        or usage.web_search_requests < 0
        or cache_read + cache_write > total_input
        or usage.reasoning_tokens > output
        or ((media or usage.cache_read_audio_tokens) and _parts_inconsistent(usage))
    ):
        validate(usage)
    rates = resolved.flat or resolved.at(total_input)
    breakdown: dict[str, Decimal] = {}
    notes: list[str] = []
    input_rate = rates.get("input")
    text_input = total_input - cache_read - cache_write

    cached_audio = 0
    if usage.cache_read_audio_tokens:
        # Cached audio has its own rate on some models; without one it stays in the cache reads.
        rate = rates.get("cache_read_audio")
        if rate is not None:
            cached_audio = usage.cache_read_audio_tokens
            breakdown["cache_read_audio"] = rate * cached_audio
    if cache_read - cached_audio:
        rate = rates.get("cache_read")
        if rate is None:
            rate = input_rate
            notes.append("no cache_read rate in the data: cached tokens priced at the input rate")
        if rate is not None:
            breakdown["cache_read"] = rate * (cache_read - cached_audio)
    if cache_write:
        _price_cache_writes(rates, usage, base_cache_ttl, input_rate=input_rate, breakdown=breakdown, notes=notes)
    text_output = output
    if media:
        # Only a part with a rate of its own leaves the text count; the rest stays in it.
        text_input -= _price_part(rates, "input_audio", usage.input_audio_tokens - cached_audio, breakdown)
        text_input -= _price_part(rates, "input_image", usage.input_image_tokens, breakdown)
        text_input -= _price_part(rates, "input_video", usage.input_video_tokens, breakdown)
        if text_input < 0:
            raise ValueError(
                f"input_tokens ({total_input}) is smaller than its cached, cache-write, audio, image and video parts"
            )
        text_output -= _price_part(rates, "output_audio", usage.output_audio_tokens, breakdown)
        text_output -= _price_part(rates, "output_image", usage.output_image_tokens, breakdown)
    if text_input:
        if input_rate is None:
            notes.append(f"no input rate in the data: {text_input} input tokens not priced")
        else:
            breakdown["input"] = input_rate * text_input
    if text_output:
        output_rate = rates.get("output")
        if output_rate is None:
            notes.append(f"no output rate in the data: {text_output} output tokens not priced")
        else:
            breakdown["output"] = output_rate * text_output
    if usage.web_search_requests:
        rate = rates.get("web_search")
        if rate is None:
            notes.append(f"no web-search fee in the data: {usage.web_search_requests} searches not priced")
        else:
            breakdown["web_search"] = rate * usage.web_search_requests

    total = _ZERO
    for amount in breakdown.values():
        total += amount
    return total, breakdown, notes


def _price_part(rates: dict[str, Decimal], name: str, count: int, breakdown: dict[str, Decimal]) -> int:
    """Price an audio/image part at its own rate; return how many tokens left the text count."""
    if not count:
        return 0
    rate = rates.get(name)
    if rate is None:
        return 0
    breakdown[name] = rate * count
    return count


def _price_cache_writes(
    rates: dict[str, Decimal],
    usage: Usage,
    base_ttl: str | None,
    *,
    input_rate: Decimal | None,
    breakdown: dict[str, Decimal],
    notes: list[str],
) -> None:
    base_rate = rates.get("cache_write")
    unsplit = usage.cache_write_tokens
    if sum(usage.cache_write_by_ttl.values()) > unsplit:
        validate(usage)
    for ttl, count in usage.cache_write_by_ttl.items():
        if not count:
            continue
        unsplit -= count
        component = f"cache_write_{ttl}"
        rate = rates.get(component)
        if rate is None and ttl == base_ttl:
            rate = base_rate
        if rate is None and base_rate is not None:
            rate = base_rate
            notes.append(f"no {ttl} cache-write rate in the data: priced at the base cache-write rate")
        if rate is None and input_rate is not None:
            rate = input_rate
            notes.append(f"no cache-write rate in the data: {ttl} writes priced at the input rate")
        if rate is None:
            notes.append(f"no cache-write or input rate: {count} {ttl} cache-write tokens not priced")
            continue
        breakdown[component] = rate * count
    if unsplit:
        rate = base_rate
        if rate is None and input_rate is not None:
            rate = input_rate
            notes.append("no cache-write rate in the data: cache writes priced at the input rate")
        if rate is None:
            notes.append(f"no cache-write or input rate: {unsplit} cache-write tokens not priced")
        else:
            breakdown["cache_write"] = rate * unsplit
