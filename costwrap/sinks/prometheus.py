"""``PrometheusSink``: cost and token counters for Prometheus, with low-cardinality labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from costwrap._record import CostRecord

TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "reasoning")


class PrometheusSink:
    """Count cost (USD) and tokens per provider, model, operation (and the tags you name).

    Exposes ``costwrap_cost_usd_total``, ``costwrap_tokens_total`` (label ``type``: ``input``,
    which includes cache reads and writes, ``output``, which includes reasoning, ``cache_read``,
    ``cache_write`` and ``reasoning``) and ``costwrap_calls_total`` (label ``priced``: ``true`` /
    ``false``). ``model`` is the price-table entry (``gpt-4o``, not every dated snapshot) so the
    label set stays small; tags become labels only when named in ``tag_labels`` (a tag missing on a
    call is ``""``). Counter values are floats by nature; records stay exact Decimals.
    Needs ``costwrap[prometheus]``. Use one sink per registry.
    """

    def __init__(self, registry: Any = None, *, tag_labels: Sequence[str] = ()) -> None:
        from prometheus_client import REGISTRY, Counter

        registry = REGISTRY if registry is None else registry
        self.tag_labels = tuple(tag_labels)
        labels = ("provider", "model", "operation", *self.tag_labels)
        self._cost = Counter(
            "costwrap_cost_usd", "Cost of LLM calls in US dollars, as priced by costwrap", labels, registry=registry
        )
        self._tokens = Counter("costwrap_tokens", "Tokens of LLM calls, by type", (*labels, "type"), registry=registry)
        self._calls = Counter(
            "costwrap_calls", "LLM calls recorded, priced or not", (*labels, "priced"), registry=registry
        )

    def __call__(self, record: CostRecord) -> None:
        """Add ``record``'s cost, tokens and call to the counters."""
        labels = [record.provider, record.priced_as or record.model or "", record.operation]
        labels += [record.tags.get(name, "") for name in self.tag_labels]
        self._calls.labels(*labels, "false" if record.cost is None else "true").inc()
        if record.cost is not None:
            self._cost.labels(*labels).inc(float(record.cost))  # counters are floats: convert at the boundary
        usage = record.usage
        if usage is not None:
            counts = (
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_tokens,
                usage.cache_write_tokens,
                usage.reasoning_tokens,
            )
            for token_type, count in zip(TOKEN_TYPES, counts, strict=True):
                if count:
                    self._tokens.labels(*labels, token_type).inc(count)

    def __repr__(self) -> str:
        return f"PrometheusSink(tag_labels={self.tag_labels!r})"
