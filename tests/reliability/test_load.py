"""Load: thousands of calls from many threads and asyncio tasks, every sink at once; memory.

- Every sink (JSONL, SQLite, logging, OpenTelemetry with in-memory exporters, Prometheus with its
  own registry, a per-client callback) sees every call exactly once, and the money adds up to the
  last digit: the ``track()`` total = the JSONL total = the SQLite ledger total = the sum, priced
  by hand, of the usage the server sent.
- A budget with pre-flight, shared by racing threads and tasks, is never overspent and keeps no
  reservation once they are done.
- Memory stays flat over 20,000 wrapped calls (plain, streamed and abandoned streams, inside a
  budget) after a 2,000-call warm-up. The figures measured are printed.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import itertools
import json
import logging
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest

import costwrap
from costwrap import BudgetExceeded, CostRecord
from costwrap.sinks import JSONLSink, OTelSink, PrometheusSink, SQLiteSink
from costwrap.sinks.sqlite import read_records
from tests.conftest import MockServer, anthropic_usage, chat_body, chat_chunks, chat_usage, message_body
from tests.reliability.conftest import ANTHROPIC, OPENAI, PROMPT, Sweep, event_stream, sse

M = Decimal(1_000_000)
FIGURES = Path("/tmp/reliability_figures.log")


def figure(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Print a measured figure where it is seen (and keep it for the figures file)."""
    with capsys.disabled():
        print(f"\n[reliability figure] {text}")
    with FIGURES.open("a") as out:
        out.write(text + "\n")


class VariedServer:
    """Answers every call with usage of its own (so totals are not multiples of one price)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.expected: dict[str, Decimal] = {}
        """request id -> what that answer costs, priced by hand."""

    def next(self) -> int:
        with self._lock:
            return next(self._ids)

    def bill(self, request_id: str, cost: Decimal) -> None:
        with self._lock:
            self.expected[request_id] = cost

    def openai(self, request: httpx2.Request) -> httpx2.Response:
        n = self.next()
        prompt, completion, cached = 100 + n % 977, 1 + n % 313, (n * 7) % 100
        usage = chat_usage(prompt, completion, cached=cached)
        rid = f"req-openai-{n}"
        self.bill(
            rid,
            (Decimal(prompt - cached) * Decimal("0.15") + cached * Decimal("0.075") + completion * Decimal("0.60")) / M,
        )
        if json.loads(request.content).get("stream"):
            chunks = chat_chunks(OPENAI.model, ["a", "b"], usage=usage, id=rid)  # each chunk carries the id
            return event_stream(sse(chunks, done=True))
        body = chat_body(OPENAI.model, usage)
        body["id"] = rid
        return httpx2.Response(200, json=body, headers={"x-request-id": rid})

    def anthropic(self, request: httpx2.Request) -> httpx2.Response:
        n = self.next()
        inp, out, read = 50 + n % 501, 1 + n % 257, (n * 13) % 400
        rid = f"req-anthropic-{n}"
        self.bill(rid, (inp * Decimal(1) + read * Decimal("0.1") + out * Decimal(5)) / M)
        return httpx2.Response(
            200, json=message_body(ANTHROPIC.model, anthropic_usage(inp, out, read=read)), headers={"request-id": rid}
        )


class Counting(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1  # Handler.handle holds the handler's lock around emit()


def test_every_sink_sees_every_call_and_the_totals_agree_to_the_last_digit(
    tmp_path: Path, sweep: Sweep, capsys: pytest.CaptureFixture[str]
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from prometheus_client import CollectorRegistry
    from prometheus_client.parser import text_string_to_metric_families

    varied = VariedServer()
    openai_server, anthropic_server = MockServer(), MockServer()
    openai_server.default, anthropic_server.default = varied.openai, varied.anthropic

    jsonl, ledger = JSONLSink(tmp_path / "costs.jsonl"), SQLiteSink(tmp_path / "costs.db")
    reader, spans = InMemoryMetricReader(), InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    prometheus = CollectorRegistry()
    log_lines = Counting()
    logger = logging.getLogger("costwrap.load")
    logger.addHandler(log_lines)
    logger.setLevel(logging.INFO)
    for sink in (
        jsonl,
        ledger,
        costwrap.LoggingSink(logger),
        OTelSink(meter_provider=MeterProvider(metric_readers=[reader]), tracer_provider=tracer_provider),
        PrometheusSink(prometheus),
    ):
        costwrap.add_sink(sink)
    called: list[CostRecord] = []
    lock = threading.Lock()

    def callback(record: CostRecord) -> None:
        with lock:
            called.append(record)

    openai_client = costwrap.wrap(OPENAI.client(openai_server), on_cost=callback)
    anthropic_client = costwrap.wrap(ANTHROPIC.client(anthropic_server, is_async=True), on_cost=callback)
    threads, per_thread, tasks, per_task = 6, 150, 175, 4
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            for j in range(per_thread):
                stream = (i + j) % 4 == 0
                result = openai_client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}], stream=stream
                )
                if stream:
                    for _ in result:
                        pass
        except BaseException as exc:
            errors.append(exc)

    async def one_task() -> None:
        for _ in range(per_task):
            await anthropic_client.messages.create(
                model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": PROMPT}]
            )

    async def all_tasks() -> None:
        barrier.wait()
        await asyncio.gather(*(one_task() for _ in range(tasks)))

    def async_worker() -> None:
        try:
            asyncio.run(all_tasks())
        except BaseException as exc:
            errors.append(exc)

    with costwrap.track() as t:
        started = time.perf_counter()
        pool = [threading.Thread(target=contextvars.copy_context().run, args=(worker, i)) for i in range(threads)]
        pool.append(threading.Thread(target=contextvars.copy_context().run, args=(async_worker,)))
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - started
    logger.removeHandler(log_lines)
    assert errors == []
    calls = threads * per_thread + tasks * per_task
    figure(
        capsys,
        f"load: {calls} wrapped calls ({threads} threads + {tasks} asyncio tasks, 6 sinks) "
        f"in {elapsed:.2f} s = {calls / elapsed:.0f} calls/s on this machine",
    )

    # Every sink saw every call, once.
    assert len(varied.expected) == calls
    assert t.calls == calls and t.unpriced == 0
    assert len(called) == calls
    lines = (tmp_path / "costs.jsonl").read_text().splitlines()
    from_jsonl = [json.loads(line) for line in lines]
    ledger.close()
    from_ledger = list(read_records(tmp_path / "costs.db"))
    assert len(from_jsonl) == len(from_ledger) == calls
    assert log_lines.count == calls
    assert len(spans.get_finished_spans()) == calls
    metrics = {
        m.name: m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    token_points = metrics["gen_ai.client.token.usage"].data.data_points
    assert sum(p.count for p in token_points if p.attributes["gen_ai.token.type"] == "input") == calls
    samples = [s for f in text_string_to_metric_families(prometheus_text(prometheus)) for s in f.samples]
    assert sum(s.value for s in samples if s.name == "costwrap_calls_total") == calls

    # The same calls, by request id, in each.
    ids = set(varied.expected)
    assert {r.request_id for r in t.records} == ids
    assert {r.request_id for r in called} == ids
    assert {line["request_id"] for line in from_jsonl} == ids
    assert {r.request_id for r in from_ledger} == ids

    # And the money, exact to the last digit, whichever way it is added up.
    expected = sum(varied.expected.values(), Decimal(0))
    assert t.cost == expected
    assert sum((Decimal(line["cost"]) for line in from_jsonl), Decimal(0)) == expected
    assert sum((r.cost for r in from_ledger if r.cost is not None), Decimal(0)) == expected
    assert sum((r.cost for r in called if r.cost is not None), Decimal(0)) == expected
    for record in t.records:
        assert record.cost == varied.expected[record.request_id or ""]
    # Metrics are floats by nature: they agree to float precision.
    otel_cost = sum(p.value for p in metrics["costwrap.client.cost"].data.data_points)
    prom_cost = sum(s.value for s in samples if s.name == "costwrap_cost_usd_total")
    assert otel_cost == pytest.approx(float(expected), rel=1e-9)
    assert prom_cost == pytest.approx(float(expected), rel=1e-9)
    assert sweep.internal_errors == []  # no sink failed under load
    for span in spans.get_finished_spans():
        sweep.text(json.dumps(dict(span.attributes or {}), default=str) + span.name, "an exported span")
    for point in token_points:
        sweep.text(json.dumps(dict(point.attributes), default=str), "an exported metric point")
    sweep.text(prometheus_text(prometheus), "the Prometheus exposition")


def prometheus_text(registry: Any) -> str:
    from prometheus_client import generate_latest

    return generate_latest(registry).decode()


# --- a shared budget under racing threads and tasks ----------------------------------------------------

WORST = (Decimal(7) * Decimal("0.15") + Decimal(200) * Decimal("0.60")) / M  # "hi" + overhead, max_tokens=200


def test_a_budget_shared_by_racing_threads_and_tasks_is_never_overspent(sweep: Sweep) -> None:
    varied_costs: list[Decimal] = []
    lock = threading.Lock()

    def answer(request: httpx2.Request) -> httpx2.Response:
        with lock:
            n = len(varied_costs) + 1
            out = 20 + (n * 37) % 180  # always within max_tokens=200
            varied_costs.append((Decimal(10) * Decimal("0.15") + out * Decimal("0.60")) / M)
        return httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, out)))

    server = MockServer()
    server.default = answer
    client = costwrap.wrap(OPENAI.client(server))
    aclient = costwrap.wrap(OPENAI.client(server, is_async=True))
    limit = WORST * 220
    refusals = [0]
    errors: list[BaseException] = []
    hi = [{"role": "user", "content": "hi"}]

    def worker() -> None:
        try:
            for _ in range(200):
                try:
                    client.chat.completions.create(model="gpt-4o-mini", messages=hi, max_tokens=200)
                except BudgetExceeded:
                    with lock:
                        refusals[0] += 1
                    if budget.remaining is not None and budget.remaining < WORST:
                        return
        except BaseException as exc:
            errors.append(exc)

    async def task() -> None:
        for _ in range(50):
            try:
                await aclient.chat.completions.create(model="gpt-4o-mini", messages=hi, max_tokens=200)
            except BudgetExceeded:
                with lock:
                    refusals[0] += 1
                if budget.remaining is not None and budget.remaining < WORST:
                    return

    async def tasks() -> None:
        await asyncio.gather(*(task() for _ in range(40)))

    with costwrap.Budget(usd=limit, name="shared") as budget, costwrap.track() as t:
        pool = [threading.Thread(target=contextvars.copy_context().run, args=(worker,)) for _ in range(12)]
        pool.append(threading.Thread(target=contextvars.copy_context().run, args=(asyncio.run, tasks())))
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    done = t.records
    assert errors == []
    totals = budget.totals()
    assert budget.spent <= limit  # never overspent
    assert budget.spent == sum((r.cost for r in done if r.cost is not None), Decimal(0))  # every call charged
    assert budget.spent == sum(varied_costs, Decimal(0))
    assert len(server.requests) == len(done) == budget.calls_made  # refused calls were never sent
    assert (totals.reserved.usd, totals.reserved.calls) == (0, 0)  # no reservation left behind
    assert refusals[0] > 0 and limit - budget.spent < WORST  # it ran up to the limit
    assert sweep.internal_errors == []


# --- memory ---------------------------------------------------------------------------------------------


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0  # pragma: no cover - not Linux


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_memory_stays_flat_over_twenty_thousand_calls(
    capsys: pytest.CaptureFixture[str], sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calls go through the real SDK method and costwrap's whole pipeline; only the HTTP round
    trip (the resource's ``_post`` hands back freshly parsed models) and the SDK's request
    serialisation are replaced, so the loop measures what costwrap keeps, fast."""
    import openai.resources.chat.completions.completions as completions_module
    from openai import OpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    body = chat_body(OPENAI.model, chat_usage(120, 30, cached=20))
    chunks = chat_chunks(OPENAI.model, ["a", "b", "c"], usage=chat_usage(120, 30))

    def post(*_args: Any, stream: bool = False, **_kwargs: Any) -> Any:
        if stream:
            return (ChatCompletionChunk.model_validate(c) for c in chunks)
        return ChatCompletion.model_validate(body)

    monkeypatch.setattr(completions_module, "maybe_transform", lambda data, _type: data)
    client = OpenAI(api_key="sk-memory-test", max_retries=0)
    client.chat.completions._post = post
    seen = [0]

    def count(_record: CostRecord) -> None:
        seen[0] += 1

    costwrap.wrap(client, on_cost=count, tags={"feature": "memory"})
    create = client.chat.completions.create

    def run(n: int) -> None:
        with costwrap.Budget(usd="1000000", name="memory"):
            for i in range(n):
                kind = i % 4
                if kind == 0:
                    create(model="gpt-4o-mini", messages=[])
                elif kind == 1:
                    for _ in create(model="gpt-4o-mini", messages=[], stream=True):
                        pass
                elif kind == 2:  # abandoned after one chunk: finalised when dropped
                    next(iter(create(model="gpt-4o-mini", messages=[], stream=True)))
                else:
                    with create(model="gpt-4o-mini", messages=[], stream=True) as stream:
                        next(iter(stream))

    run(2_000)
    gc.collect()
    blocks_before, rss_before = sys.getallocatedblocks(), rss_kib()
    started = time.perf_counter()
    run(20_000)
    elapsed = time.perf_counter() - started
    gc.collect()
    blocks_after, rss_after = sys.getallocatedblocks(), rss_kib()
    assert seen[0] == 22_000  # every call recorded (and each record dropped by the sink)
    growth_blocks, growth_rss = blocks_after - blocks_before, rss_after - rss_before
    figure(
        capsys,
        f"memory: over 20,000 wrapped calls after a 2,000-call warm-up: {growth_blocks:+d} live allocated "
        f"blocks ({growth_blocks / 20_000:+.3f} per call), RSS {growth_rss:+d} KiB; "
        f"{20_000 / elapsed:.0f} calls/s through the SDK method without HTTP",
    )
    assert growth_blocks < 2_000, f"{growth_blocks} blocks kept over 20,000 calls: something grows per call"
    assert growth_rss < 8 * 1024
