"""Secrets: API keys, auth headers, the Redis password and prompt text stay out of everything.

The sweep (``conftest.sweep``, on for every reliability test) searches each record, each line on
the ``costwrap`` loggers at DEBUG (tracebacks and structured ``extra`` included), and every
exception, warning and exported OpenTelemetry attribute the tests hand it. These tests make sure
it has teeth (a planted secret is found) and drive the paths most likely to leak: every provider,
streamed and not, with a logging sink, OpenTelemetry spans and metrics, internal errors logged
with tracebacks, streams whose usage is counted from the prompt, and a Redis store with a password
that is down or refuses the password. No costwrap option records prompt or completion text, so
neither may appear anywhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

import costwrap
from costwrap import _patch as patch_module
from costwrap.sinks import OTelSink
from costwrap.testing import capture
from tests.conftest import API_KEY, MockServer
from tests.reliability.conftest import (
    ANTHROPIC_KEY,
    GOOGLE_KEY,
    PROMPT,
    REDIS_PASSWORD,
    SURFACES,
    RedisServer,
    Surface,
    Sweep,
    _SweepHandler,
    observe,
)


def test_the_sweep_finds_a_planted_secret_wherever_it_is() -> None:
    planted = Sweep()
    planted.text(f"Authorization: Bearer {API_KEY}", "a header")
    planted.exception(RuntimeError("x", ValueError(f"key={ANTHROPIC_KEY}")))
    handler = _SweepHandler(planted)
    logger = logging.getLogger("costwrap.test.planted")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # planted for this sweep only, not the test's own
    try:
        logger.debug("nothing here", extra={"costwrap_tags": {"key": GOOGLE_KEY}})
        try:
            raise KeyError(REDIS_PASSWORD)
        except KeyError:
            logger.exception("a traceback")
        logger.info("the prompt: %s", PROMPT)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    found = "\n".join(planted.leaks)
    for label in ("OpenAI API key", "Anthropic API key", "Google API key", "Redis password", "prompt text"):
        assert label in found, label
    with pytest.raises(AssertionError, match="secrets leaked"):
        planted.assert_clean()


@pytest.fixture
def telemetry(sweep: Sweep) -> Any:
    """An OTel sink with in-memory exporters; afterwards every exported attribute goes to the sweep."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    reader, spans = InMemoryMetricReader(), InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    costwrap.add_sink(OTelSink(meter_provider=MeterProvider(metric_readers=[reader]), tracer_provider=tracer_provider))
    yield spans
    exported = 0
    for span in spans.get_finished_spans():
        exported += 1
        sweep.text(span.name + json.dumps(dict(span.attributes or {}), default=str), "an exported span")
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    exported += 1
                    sweep.text(metric.name + json.dumps(dict(point.attributes), default=str), "a metric point")
    assert exported  # the sweep saw what was exported


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_no_key_prompt_or_completion_reaches_records_logs_or_telemetry(
    surface: Surface, server: MockServer, sweep: Sweep, telemetry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    costwrap.add_sink(costwrap.LoggingSink(level=logging.DEBUG))
    client = costwrap.wrap(surface.client(server), tags={"feature": "sweep"})
    aclient = costwrap.wrap(surface.client(server, is_async=True))
    with capture() as t:
        server.default = surface.responder()
        surface.call(client)
        surface.call(client, stream=True)
        asyncio.run(surface.acall(aclient, stream=True))
        server.default = surface.responder(complete=False)  # usage counted from the prompt text
        surface.call(client, stream=True)
        server.default = surface.responder({"bogus": -1})  # notes about malformed counts
        observe(lambda: surface.call(client), sweep)
        # An internal error, logged with its traceback.
        server.default = surface.responder()
        monkeypatch.setattr(patch_module._specs[surface.provider][1], "extract", _broken)
        surface.call(client)
    assert t.calls >= 5
    assert any(r.estimated for r in t.records)
    assert sweep.records >= 5 and sweep.lines >= 5  # the sweep read records and log lines
    assert any("internal error" in line for line in sweep.internal_errors)
    sweep.assert_clean()


def _broken(response: Any, operation: str) -> Any:
    raise LookupError("no usage where it was expected")


def test_provider_errors_passed_through_carry_no_key(server: MockServer, sweep: Sweep) -> None:
    import httpx2

    server.default = lambda request: httpx2.Response(401, json={"error": {"message": "bad key", "type": "auth"}})
    for surface in SURFACES:
        client = costwrap.wrap(surface.client(server))
        outcome = observe(lambda client=client, surface=surface: surface.call(client), sweep)
        assert outcome.error is not None
    assert sweep.texts >= 3
    sweep.assert_clean()


def test_a_redis_password_never_leaks_when_redis_is_down_or_refuses_it(
    redis_server: RedisServer, server: MockServer, sweep: Sweep
) -> None:
    server.default = SURFACES[0].responder()
    client = costwrap.wrap(SURFACES[0].client(server))
    wrong = redis_server.url.replace(REDIS_PASSWORD, REDIS_PASSWORD[::-1])  # refused: a different secret
    sweep.needles["the wrong Redis password"] = REDIS_PASSWORD[::-1]
    user_url = redis_server.url.replace("redis://:", "redis://costwrap:")
    for url in (wrong, user_url, redis_server.url):
        store = costwrap.RedisBudgetStore(url, key="team-secret", timeout=0.5)
        budget = costwrap.Budget(usd="1", store=store, name="team")
        sweep.text(f"{store!r} {store} {budget!r}", "a store's repr")
        with budget, pytest.raises(costwrap.BudgetStoreError) as info:
            SURFACES[0].call(client)
            if url == redis_server.url:  # the right password: now take the server away
                redis_server.stop()
                SURFACES[0].call(client)
        sweep.exception(info.value)
        with pytest.warns(RuntimeWarning) as warned, costwrap.Budget(usd="1", store=store, on_store_error="allow"):
            SURFACES[0].call(client)
        for w in warned:
            sweep.text(str(w.message), "a warning")
        store.close()
    assert sweep.texts >= 9
    sweep.assert_clean()
