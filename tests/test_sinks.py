"""Where records go: JSONL and SQLite files (real files, several processes, SIGKILL), the
background dispatcher, OpenTelemetry (in-memory reader/exporter), Prometheus (exposition text),
structured logging and tag redaction."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest

import costwrap
from costwrap import CostRecord, Usage
from costwrap.sinks import Background, JSONLSink, SQLiteSink
from costwrap.sinks.sqlite import LedgerError, read_records
from tests.conftest import MockServer, chat_body, chat_usage

ROOT = Path(__file__).parent.parent


def record(i: int = 0, **changes: Any) -> CostRecord:
    base = CostRecord(
        provider="openai",
        model="gpt-4o-mini-2024-07-18",
        request_model="gpt-4o-mini",
        operation="chat.completions",
        usage=Usage(input_tokens=1200 + i, output_tokens=300, cache_read_tokens=1000, cache_write_by_ttl={"5m": 0}),
        cost=Decimal("0.000285000") + Decimal(i).scaleb(-9),
        breakdown={"input": Decimal("0.00003000")},
        timestamp=datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC),
        tags={"feature": "search", "n": str(i)},
        latency_s=0.25,
        request_id=f"req-{i}",
        price_source="genai-prices 0.2.3",
        priced_as="gpt-4o-mini",
        notes=("a note",),
    )
    return replace(base, **changes)


# --- JSONL --------------------------------------------------------------------------------------


def test_jsonl_writes_one_exact_json_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "costs.jsonl"
    sink = JSONLSink(path)
    sink(record(1))
    sink(record(2, cost=None, breakdown={}))
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["cost"] == "0.000285001" and first["breakdown"] == {"input": "0.00003000"}
    assert first["tags"] == {"feature": "search", "n": "1"} and first["usage"]["input_tokens"] == 1201
    assert json.loads(lines[1])["cost"] is None


WRITER = """
import sys
from dataclasses import replace
from tests.test_sinks import record
from costwrap.sinks import {cls}
sink = {cls}(sys.argv[1]{kwargs})
worker = int(sys.argv[2])
for i in range(int(sys.argv[3])):
    sink(record(worker * 100000 + i))
    print(i, flush=True)
"""


def writer(cls: str, path: Path, worker: int, count: int, **kwargs: Any) -> subprocess.Popen[str]:
    code = WRITER.format(cls=cls, kwargs="".join(f", {k}={v!r}" for k, v in kwargs.items()))
    return subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(worker), str(count)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_jsonl_lines_from_several_processes_never_tear(tmp_path: Path) -> None:
    path = tmp_path / "costs.jsonl"
    procs = [writer("JSONLSink", path, w, 400) for w in range(4)]
    for proc in procs:
        proc.communicate(timeout=120)
        assert proc.returncode == 0
    lines = path.read_text().splitlines()
    assert len(lines) == 1600
    ids = {json.loads(line)["request_id"] for line in lines}  # every line parses
    assert len(ids) == 1600


def test_jsonl_rotation_by_size_keeps_every_line(tmp_path: Path) -> None:
    path = tmp_path / "costs.jsonl"
    sink = JSONLSink(path, max_bytes=4000, backups=50)
    for i in range(60):
        sink(record(i))
    files = sorted(tmp_path.iterdir())
    assert len(files) > 3
    assert all(f.stat().st_size <= 4000 for f in files)
    ids = {json.loads(line)["request_id"] for f in files for line in f.read_text().splitlines()}
    assert ids == {f"req-{i}" for i in range(60)}


# --- SQLite ledger ------------------------------------------------------------------------------


def test_sqlite_ledger_round_trips_exact_records(tmp_path: Path) -> None:
    path = tmp_path / "costs.db"
    sink = SQLiteSink(path)
    originals = [record(i) for i in range(3)] + [record(3, cost=None, usage=None, breakdown={})]
    for r in originals:
        sink(r)
    sink.close()
    assert [r.to_dict() for r in read_records(path)] == [r.to_dict() for r in originals]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"records_by_time", "records_by_model", "record_tags_by_tag"} <= indexes
    by_tag = conn.execute("SELECT count(*) FROM record_tags WHERE key = 'feature' AND value = 'search'").fetchone()
    assert by_tag[0] == 4


def test_sqlite_ledger_takes_writes_from_many_threads(tmp_path: Path) -> None:
    sink = SQLiteSink(tmp_path / "costs.db")
    threads = [threading.Thread(target=lambda w=w: [sink(record(w * 1000 + i)) for i in range(50)]) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = list(read_records(tmp_path / "costs.db"))
    assert len(records) == 800
    assert sum(r.cost for r in records if r.cost) == sum(
        record(w * 1000 + i).cost for w in range(16) for i in range(50)
    )


def test_sqlite_records_committed_before_sigkill_survive(tmp_path: Path) -> None:
    path = tmp_path / "costs.db"
    proc = writer("SQLiteSink", path, 0, 100_000)
    assert proc.stdout is not None
    reported = -1
    for line in proc.stdout:
        reported = int(line)
        if reported >= 300:
            break
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT count(*) FROM records").fetchone()[0]
    assert rows >= reported + 1  # every record reported as committed is there
    assert len(list(read_records(path))) == rows


def test_two_processes_share_one_ledger(tmp_path: Path) -> None:
    path = tmp_path / "costs.db"
    procs = [writer("SQLiteSink", path, w, 150) for w in range(3)]
    for proc in procs:
        proc.communicate(timeout=120)
        assert proc.returncode == 0
    assert len(list(read_records(path))) == 450


def test_a_file_that_is_not_a_ledger_is_refused_clearly(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(LedgerError, match="not a costwrap ledger"):
        list(read_records(other))
    newer = tmp_path / "newer.db"
    SQLiteSink(newer)(record())
    sqlite3.connect(newer).execute("PRAGMA user_version = 99")
    with pytest.raises(LedgerError, match="schema 99 is newer"):
        list(read_records(newer))
    with pytest.raises(LedgerError, match="no such ledger"):
        list(read_records(tmp_path / "missing.db"))


# --- Background ---------------------------------------------------------------------------------


def test_background_delivers_off_the_call_path_and_flushes() -> None:
    gate = threading.Event()
    seen: list[CostRecord] = []

    def slow(r: CostRecord) -> None:
        gate.wait()
        seen.append(r)

    background = Background(slow)
    background(record(1))
    background(record(2))
    assert seen == []  # the caller did not wait for the sink
    gate.set()
    assert background.flush(timeout=10)
    assert [r.request_id for r in seen] == ["req-1", "req-2"]
    assert background.close()


def test_background_queue_is_bounded_and_counts_what_it_drops(caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()
    started = threading.Event()

    def stuck(r: CostRecord) -> None:
        started.set()
        gate.wait()

    background = Background(stuck, max_queue=2)
    background(record(0))
    started.wait(5)  # the worker holds one record; the queue has room for two more
    with caplog.at_level(logging.WARNING, logger="costwrap"):
        for i in range(1, 6):
            background(record(i))
    assert background.dropped == 3
    assert "1 record(s) dropped" in caplog.text
    gate.set()
    assert background.flush(timeout=10)


def test_background_flushes_what_is_queued_at_interpreter_exit(tmp_path: Path) -> None:
    path = tmp_path / "costs.jsonl"
    code = textwrap.dedent(f"""
        import time
        from tests.test_sinks import record
        from costwrap.sinks import Background, JSONLSink
        inner = JSONLSink({str(path)!r})
        def slow(r):
            time.sleep(0.01)
            inner(r)
        background = Background(slow)
        for i in range(50):
            background(record(i))
    """)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    assert len(path.read_text().splitlines()) == 50


# --- through wrapped calls -----------------------------------------------------------------------


@pytest.fixture
def calls(server: MockServer, openai_client: Any) -> Any:
    server.default = lambda _r: httpx2.Response(
        200, json=chat_body("gpt-4o-mini-2024-07-18", chat_usage(1200, 300, cached=1000))
    )
    client = costwrap.wrap(openai_client, tags={"feature": "search", "user": "u-123"})

    def call(n: int = 1) -> None:
        for _ in range(n):
            client.chat.completions.create(model="gpt-4o-mini", messages=[])

    return call


COST = (Decimal(200) * Decimal("0.15") + Decimal(1000) * Decimal("0.075") + Decimal(300) * Decimal("0.6")) / 1_000_000


def test_otel_metrics_follow_the_genai_conventions(calls: Any) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    costwrap.add_sink(costwrap.sinks.OTelSink(meter_provider=MeterProvider(metric_readers=[reader])))
    calls(2)
    metrics = {
        m.name: m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    tokens = metrics["gen_ai.client.token.usage"]
    assert tokens.unit == "{token}"
    points = {p.attributes["gen_ai.token.type"]: p for p in tokens.data.data_points}
    assert (points["input"].sum, points["input"].count, points["output"].sum) == (2400, 2, 600)
    assert dict(points["input"].attributes) == {
        "gen_ai.provider.name": "openai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.token.type": "input",
    }
    cost = metrics["costwrap.client.cost"]
    assert cost.unit == "USD"
    assert cost.data.data_points[0].value == pytest.approx(float(2 * COST))


def test_otel_annotates_the_current_span_and_can_emit_one_per_call(calls: Any) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    costwrap.add_sink(costwrap.sinks.OTelSink(meter_provider=MeterProvider(), tracer_provider=tracer_provider))
    with tracer_provider.get_tracer("app").start_as_current_span("handle request"):
        calls()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"handle request", "chat gpt-4o-mini"}
    outer, call_span = spans["handle request"], spans["chat gpt-4o-mini"]
    for span in (outer, call_span):
        assert span.attributes["gen_ai.usage.input_tokens"] == 1200
        assert span.attributes["gen_ai.usage.output_tokens"] == 300
        assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 1000
        assert span.attributes["costwrap.cost.usd"] == pytest.approx(float(COST))
    assert call_span.parent is not None and call_span.parent.span_id == outer.context.span_id
    assert call_span.attributes["gen_ai.provider.name"] == "openai"
    assert "user" not in str(dict(call_span.attributes))  # tags are not exported


def test_prometheus_counters_in_the_exposition(calls: Any) -> None:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    registry = CollectorRegistry()
    costwrap.add_sink(costwrap.sinks.PrometheusSink(registry, tag_labels=["feature"]))
    calls(3)
    text = generate_latest(registry).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.endswith("_total")
    }
    labels = (
        ("feature", "search"),
        ("model", "gpt-4o-mini"),
        ("operation", "chat.completions"),
        ("provider", "openai"),
    )
    assert samples[("costwrap_calls_total", tuple(sorted((*labels, ("priced", "true")))))] == 3
    assert samples[("costwrap_tokens_total", tuple(sorted((*labels, ("type", "input")))))] == 3600
    assert samples[("costwrap_tokens_total", tuple(sorted((*labels, ("type", "cache_read")))))] == 3000
    assert samples[("costwrap_tokens_total", tuple(sorted((*labels, ("type", "output")))))] == 900
    assert samples[("costwrap_cost_usd_total", labels)] == pytest.approx(float(3 * COST))
    assert "u-123" not in text  # tags are labels only when named


def test_logging_sink_passes_every_field_as_extra(calls: Any) -> None:
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, log_record: logging.LogRecord) -> None:
            captured.append(log_record)

    logger = logging.getLogger("costwrap.test.ledger")
    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)
    costwrap.add_sink(costwrap.LoggingSink(logger))
    calls()
    (line,) = captured
    assert (
        line.getMessage()
        == f"openai gpt-4o-mini-2024-07-18 chat.completions in=1200 out=300 cost=${COST.normalize():f}"
    )
    assert Decimal(line.costwrap_cost) == COST  # type: ignore[attr-defined]  # a decimal string, exact
    assert line.costwrap_usage["cache_read_tokens"] == 1000  # type: ignore[attr-defined]


def test_tags_can_be_redacted_before_any_sink_sees_them(calls: Any, records: list[CostRecord]) -> None:
    costwrap.configure(redact_tags=lambda tags: {k: ("<redacted>" if k == "user" else v) for k, v in tags.items()})
    calls()
    assert records[-1].tags == {"feature": "search", "user": "<redacted>"}

    def broken(tags: dict[str, str]) -> dict[str, str]:
        raise RuntimeError("redactor bug")

    costwrap.configure(strict=False, redact_tags=broken)
    calls()
    assert records[-1].tags == {} and "the tag redactor failed: tags dropped" in records[-1].notes


def test_sinks_are_importable_from_costwrap_sinks() -> None:
    assert {"Background", "JSONLSink", "LoggingSink", "OTelSink", "PrometheusSink", "SQLiteSink"} <= set(
        dir(costwrap.sinks)
    ) | set(costwrap.sinks.__all__)
    assert costwrap.sinks.OTelSink.__name__ == "OTelSink"
    with pytest.raises(AttributeError):
        costwrap.sinks.NoSuchSink  # noqa: B018
    os.environ.get("CI")  # (nothing here depends on CI)
