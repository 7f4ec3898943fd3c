"""``OTelSink``: records as OpenTelemetry GenAI metrics, and as attributes of the current span.

Follows the GenAI semantic conventions: the ``gen_ai.client.token.usage`` histogram (unit
``{token}``, ``gen_ai.token.type`` = ``input`` / ``output``) with ``gen_ai.provider.name``,
``gen_ai.operation.name``, ``gen_ai.request.model`` and ``gen_ai.response.model``. The conventions
have no cost metric yet, so costwrap adds one under its own name: the counter
``costwrap.client.cost`` (unit ``USD``), and on the span the attribute ``costwrap.cost.usd``.
Metric values are floats by nature; the records themselves stay exact Decimals.
Needs ``costwrap[otel]`` (``opentelemetry-api``).
"""

from __future__ import annotations

from typing import Any

from costwrap._record import CostRecord
from costwrap._time import to_us

TOKEN_USAGE = "gen_ai.client.token.usage"
COST = "costwrap.client.cost"
COST_ATTRIBUTE = "costwrap.cost.usd"

# The conventions' well-known values for gen_ai.provider.name and gen_ai.operation.name.
PROVIDER_NAMES = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "bedrock": "aws.bedrock",
    "vertex": "gcp.vertex_ai",
    "google": "gcp.gemini",
}
OPERATION_NAMES = {
    "chat.completions": "chat",
    "responses": "chat",
    "responses.compact": "chat",
    "messages": "chat",
    "messages.batches": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "embed_content": "embeddings",
    "generate_content": "generate_content",
    "batches": "generate_content",
}
# The conventions' advisory bucket boundaries for gen_ai.client.token.usage.
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]


def attributes(record: CostRecord) -> dict[str, str]:
    """The conventions' attributes of a record (low cardinality: no ids, no tags)."""
    out = {
        "gen_ai.provider.name": PROVIDER_NAMES.get(record.provider, record.provider),
        "gen_ai.operation.name": OPERATION_NAMES.get(record.operation, record.operation),
    }
    if record.request_model:
        out["gen_ai.request.model"] = record.request_model
    if record.model:
        out["gen_ai.response.model"] = record.model
    return out


class OTelSink:
    """Send each record to OpenTelemetry: token-usage histogram, cost counter, span attributes.

    ``meter_provider`` defaults to the global one. When a span is recording (the one the LLM call
    runs in, or your own around it), costwrap sets on it ``gen_ai.usage.input_tokens``,
    ``gen_ai.usage.output_tokens``, ``gen_ai.usage.cache_read.input_tokens``,
    ``gen_ai.usage.cache_creation.input_tokens``, ``gen_ai.usage.reasoning.output_tokens`` and
    ``costwrap.cost.usd`` (a span around several calls keeps the last call's values). With a
    ``tracer_provider``, costwrap also emits one client span per call, named as the conventions
    say (``chat gpt-4o-mini``), timed from the record, with the same attributes.
    """

    def __init__(
        self, meter_provider: Any = None, tracer_provider: Any = None, *, span_attributes: bool = True
    ) -> None:
        from opentelemetry import metrics

        from costwrap import __version__

        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        meter = provider.get_meter("costwrap", __version__)
        self._tokens = meter.create_histogram(
            TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self._cost = meter.create_counter(
            COST, unit="USD", description="Cost of GenAI client calls in US dollars, as priced by costwrap"
        )
        self._tracer = None if tracer_provider is None else tracer_provider.get_tracer("costwrap", __version__)
        self._spans = span_attributes

    def __call__(self, record: CostRecord) -> None:
        """Record the tokens and cost of ``record``; annotate the current span."""
        attrs = attributes(record)
        usage = record.usage
        if usage is not None:
            self._tokens.record(usage.input_tokens, {**attrs, "gen_ai.token.type": "input"})
            self._tokens.record(usage.output_tokens, {**attrs, "gen_ai.token.type": "output"})
        if record.cost is not None:
            self._cost.add(float(record.cost), attrs)  # metrics are floats: the boundary converts
        if self._spans or self._tracer is not None:
            from opentelemetry import trace

            values = span_values(record)
            span = trace.get_current_span()
            if self._spans and span.is_recording():
                span.set_attributes(values)
            if self._tracer is not None:
                start = to_ns(record)
                name = f"{attrs['gen_ai.operation.name']} {record.request_model or record.model or ''}".strip()
                call_span = self._tracer.start_span(
                    name, kind=trace.SpanKind.CLIENT, attributes={**attrs, **values}, start_time=start
                )
                call_span.end(end_time=start + int(record.latency_s * 1e9))


def to_ns(record: CostRecord) -> int:
    """The record's start as nanoseconds since 1970 (what OpenTelemetry timestamps are)."""
    return to_us(record.timestamp) * 1000


def span_values(record: CostRecord) -> dict[str, Any]:
    """The usage and cost attributes costwrap puts on a span."""
    usage = record.usage
    values: dict[str, Any] = {}
    if usage is not None:
        values = {
            "gen_ai.usage.input_tokens": usage.input_tokens,
            "gen_ai.usage.output_tokens": usage.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
            "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
            "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens,
        }
    if record.cost is not None:
        values[COST_ATTRIBUTE] = float(record.cost)
    return values
