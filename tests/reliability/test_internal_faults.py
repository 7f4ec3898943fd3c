"""Faults inside costwrap never reach the caller.

Each test makes the same call on a wrapped client and on a plain one over the same mock server,
with a fault injected into one stage of costwrap (or its environment): usage extraction, stream
reading, request reading, price lookup and arithmetic, record building, token counting, a
malformed usage block, an unknown model, an unreadable price file, a sink that raises or hangs,
Redis dying, a full disk. The caller must get exactly what the SDK gave the plain client (the
dumped models compare equal, or the same exception with the same message), and costwrap must say
so once on its logger, not once per call.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

import costwrap
from costwrap import CostRecord, UnpricedModelWarning, _call
from costwrap import _patch as patch_module
from costwrap.pricing import registry
from costwrap.providers import anthropic as anthropic_provider
from costwrap.providers import google_genai as google_provider
from costwrap.providers import openai as openai_provider
from costwrap.sinks import Background, JSONLSink, SQLiteSink
from costwrap.sinks.sqlite import read_records
from costwrap.testing import capture
from tests.conftest import MockServer
from tests.reliability.conftest import (
    ANTHROPIC,
    MISSING,
    OPENAI,
    REDIS_PASSWORD,
    SURFACES,
    Outcome,
    RedisServer,
    Surface,
    Sweep,
    aobserve,
    observe,
)

PROVIDER_MODULES = {"openai": openai_provider, "anthropic": anthropic_provider, "google": google_provider}
ACCUMULATORS = {
    "openai": openai_provider.ChatAccumulator,
    "anthropic": anthropic_provider.MessagesAccumulator,
    "google": google_provider.GenerateAccumulator,
}


def calls(
    surface: Surface, client: Any, *, stream: bool, is_async: bool, sweep: Sweep, n: int = 2
) -> list[tuple[Outcome, list[CostRecord]]]:
    """Make ``n`` calls; for each, what the caller got and the records it produced."""
    if not is_async:
        out = []
        for _ in range(n):
            with capture() as t:
                outcome = observe(lambda: surface.call(client, stream=stream), sweep)
            out.append((outcome, t.records))
        return out

    async def main() -> list[tuple[Outcome, list[CostRecord]]]:
        out = []
        for _ in range(n):
            with capture() as t:
                outcome = await aobserve(lambda: surface.acall(client, stream=stream), sweep)
            out.append((outcome, t.records))
        return out

    return asyncio.run(main())


def plain(surface: Surface, server: MockServer, *, stream: bool, is_async: bool, sweep: Sweep) -> Outcome:
    """What the SDK itself gives a client costwrap does not record."""
    client = surface.client(server, is_async=is_async)
    ((outcome, records),) = calls(surface, client, stream=stream, is_async=is_async, sweep=sweep, n=1)
    assert records == []
    return outcome


def wrapped(surface: Surface, server: MockServer, *, is_async: bool = False, **options: Any) -> Any:
    return costwrap.wrap(surface.client(server, is_async=is_async), **options)


def check_record(record: CostRecord) -> None:
    """A record is never wrong about money: unknown is None (with a reason), else exact and whole."""
    if record.cost is None:
        assert record.notes, record
    else:
        assert record.cost >= 0
        assert all(v >= 0 for v in record.breakdown.values())
        with localcontext() as exact:  # added up exactly, whatever the size of the numbers
            exact.prec = 200
            assert sum(record.breakdown.values(), Decimal(0)) == record.cost


def warnings_of(sweep: Sweep) -> list[str]:
    return list(sweep.internal_errors)


SHAPES = [
    pytest.param(surface, stream, is_async, id=f"{surface.name}-{'stream' if stream else 'plain'}-{mode}")
    for surface in SURFACES
    for stream in (False, True)
    for is_async, mode in ((False, "sync"), (True, "async"))
]


# --- the harness itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(("surface", "stream", "is_async"), SHAPES)
def test_without_a_fault_the_caller_gets_the_sdks_answer_and_one_exact_record(
    surface: Surface, stream: bool, is_async: bool, server: MockServer, sweep: Sweep
) -> None:
    server.default = surface.responder()
    expected = plain(surface, server, stream=stream, is_async=is_async, sweep=sweep)
    assert expected.error is None
    client = wrapped(surface, server, is_async=is_async)
    for outcome, records in calls(surface, client, stream=stream, is_async=is_async, sweep=sweep):
        assert outcome == expected
        assert [(r.cost, r.estimated, r.stream) for r in records] == [(surface.expected_cost, False, stream)]
    assert warnings_of(sweep) == []


# --- a fault in each stage of the pipeline ----------------------------------------------------------


def _raise(exc: BaseException) -> Callable[..., Any]:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise exc

    return broken


def inject(stage: str, provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = patch_module._specs[provider][1]
    module = PROVIDER_MODULES[provider]
    if stage == "extract":
        monkeypatch.setattr(module, "extract", _raise(KeyError("extract bug")))
        monkeypatch.setattr(spec, "extract", _raise(KeyError("extract bug")))
    elif stage == "accumulator":
        monkeypatch.setattr(module, "accumulator", _raise(TypeError("accumulator bug")))
        monkeypatch.setattr(spec, "accumulator", _raise(TypeError("accumulator bug")))
    elif stage == "accumulator.add":
        monkeypatch.setattr(ACCUMULATORS[provider], "add", _raise(AttributeError("chunk reader bug")))
    elif stage == "read_request":
        monkeypatch.setattr(spec, "read_request", _raise(IndexError("request reader bug")))
    elif stage == "describe_client":
        monkeypatch.setattr(spec, "describe_client", _raise(RuntimeError("client description bug")))
    elif stage == "lookup":
        monkeypatch.setattr(registry, "lookup", _raise(RuntimeError("lookup bug")))
    elif stage == "price":  # whichever entry point the pipeline prices through
        for name in ("price_match", "price_parts", "price_steps"):
            if hasattr(registry, name):
                monkeypatch.setattr(registry, name, _raise(ArithmeticError("pricing bug")))
    elif stage == "record":
        monkeypatch.setattr(_call, "RecordBuilder", _raise(TypeError("record bug")))
    else:  # pragma: no cover
        raise AssertionError(stage)


# stage -> (applies to plain calls, to streams, records per call, the words of the one warning)
STAGES: dict[str, tuple[bool, bool, int, str]] = {
    "extract": (True, False, 0, "while recording a call"),
    "accumulator": (False, True, 1, "while reading a stream"),  # still recorded (estimated)
    "accumulator.add": (False, True, 1, "while reading a stream chunk"),
    "read_request": (True, True, 0, "while preparing a call"),
    "describe_client": (True, True, 0, "while preparing a call"),
    "lookup": (True, True, 1, "while pricing a call"),
    "price": (True, True, 1, "while pricing a call"),
    "record": (True, True, 0, "while recording a"),
}


@pytest.mark.parametrize(
    ("stage", "surface", "stream", "is_async"),
    [
        pytest.param(stage, *shape.values, id=f"{stage}-{shape.id}")
        for stage, (plain_ok, stream_ok, _, _) in STAGES.items()
        for shape in SHAPES
        if (shape.values[1] and stream_ok) or (not shape.values[1] and plain_ok)
    ],
)
def test_a_fault_in_a_pipeline_stage_never_reaches_the_caller_and_is_logged_once(
    stage: str,
    surface: Surface,
    stream: bool,
    *,
    is_async: bool,
    server: MockServer,
    sweep: Sweep,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.default = surface.responder()
    expected = plain(surface, server, stream=stream, is_async=is_async, sweep=sweep)
    client = wrapped(surface, server, is_async=is_async)
    inject(stage, surface.provider, monkeypatch)
    _, _, per_call, words = STAGES[stage]
    results = calls(surface, client, stream=stream, is_async=is_async, sweep=sweep)
    for outcome, records in results:
        assert outcome == expected
        assert len(records) == per_call
        for record in records:
            check_record(record)
    logged = warnings_of(sweep)
    assert len(logged) == 1, logged  # once, not once per call
    assert words in logged[0] and "the LLM call itself was not affected" in logged[0]


def test_a_token_counter_failure_while_estimating_a_cut_stream_never_reaches_the_caller(
    server: MockServer, sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    from costwrap import tokens

    server.default = OPENAI.responder(complete=False)  # no usage: costwrap must count it
    expected = plain(OPENAI, server, stream=True, is_async=False, sweep=sweep)
    client = wrapped(OPENAI, server)
    monkeypatch.setattr(tokens, "count_text", _raise(MemoryError("tokenizer exhausted")))
    monkeypatch.setattr(tokens, "count_prompt", _raise(UnicodeError("tokenizer bug")))
    for outcome, records in calls(OPENAI, client, stream=True, is_async=False, sweep=sweep):
        assert outcome == expected
        for record in records:
            check_record(record)
    assert len(warnings_of(sweep)) == 1


# --- malformed usage from the server ----------------------------------------------------------------

NOT_AN_OBJECT = ["a string", [], 42, True]

BAD_USAGE: dict[str, list[Any]] = {
    "openai": [
        None,
        MISSING,
        {},
        {"prompt_tokens": "12", "completion_tokens": -5},
        {"prompt_tokens": 1.5, "completion_tokens": 2.0, "total_tokens": None},
        {"prompt_tokens": True, "completion_tokens": False},
        {"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": "x", "completion_tokens_details": []},
        {"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 50}},
        {"prompt_tokens": 10, "completion_tokens": 5, "completion_tokens_details": {"reasoning_tokens": 9}},
        {"prompt_tokens": 10**30, "completion_tokens": 10**25},
        {"prompt_tokens": {"nested": 1}, "completion_tokens": [1, 2]},
        {"prompt_tokens": "1e3", "completion_tokens": "NaN"},
    ],
    "anthropic": [
        None,
        {},
        {"input_tokens": "100", "output_tokens": -1},
        {"input_tokens": 10, "output_tokens": 5, "cache_creation": "x", "cache_creation_input_tokens": 3.0},
        {"input_tokens": 10, "output_tokens": 5, "cache_creation": {"ephemeral_5m_input_tokens": -7}},
        {"input_tokens": 10, "output_tokens": 5, "server_tool_use": [], "iterations": "x"},
        {"input_tokens": 10, "output_tokens": 5, "iterations": [1, None, {"model": 5, "input_tokens": "a"}]},
        {"input_tokens": None, "output_tokens": None, "cache_read_input_tokens": True},
        {"input_tokens": 10**40, "output_tokens": 1},
    ],
    "google": [
        None,
        MISSING,
        {},
        {"promptTokenCount": 10, "candidatesTokenCount": 5, "cachedContentTokenCount": 50},
        {"promptTokenCount": 10, "candidatesTokenCount": 5, "promptTokensDetails": [{"modality": "AUDIO"}]},
        {"promptTokenCount": 10, "candidatesTokenCount": 5, "promptTokensDetails": [{"tokenCount": 99}]},
        {"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 7, "trafficType": "ODD"},
        {"promptTokenCount": 10**30, "candidatesTokenCount": 1},
        {"promptTokenCount": "12", "candidatesTokenCount": 1.0},
        {"promptTokenCount": -3, "candidatesTokenCount": 5},
    ],
}


@pytest.mark.parametrize(
    ("surface", "usage"),
    [
        pytest.param(s, u, id=f"{s.name}-{i}")
        for s in SURFACES
        for i, u in enumerate(BAD_USAGE[s.provider] + NOT_AN_OBJECT + ["²", "9" * 5000])
    ],
)
def test_a_malformed_usage_block_never_breaks_the_call_nor_loses_its_record(
    surface: Surface, usage: Any, server: MockServer, sweep: Sweep
) -> None:
    if isinstance(usage, str) and usage != "a string":  # a count that is a strange digit string
        usage = {"prompt_tokens": usage, "input_tokens": usage, "output_tokens": 1, "promptTokenCount": usage}
    server.default = surface.responder(usage)
    expected = plain(surface, server, stream=False, is_async=False, sweep=sweep)
    client = wrapped(surface, server)
    for outcome, records in calls(surface, client, stream=False, is_async=False, sweep=sweep):
        assert outcome == expected
        # A call the SDK answered is recorded once, whatever its usage looks like.
        assert len(records) == (0 if expected.error else 1)
        for record in records:
            check_record(record)
    assert len(warnings_of(sweep)) <= 1  # a server's inconsistent counts are noted once, not per call


@pytest.mark.parametrize(
    ("surface", "usage"),
    [pytest.param(s, u, id=f"{s.name}-{type(u).__name__}") for s in (OPENAI, ANTHROPIC) for u in NOT_AN_OBJECT],
)
def test_a_usage_block_that_is_not_an_object_is_unknown_usage_not_a_made_up_zero(
    surface: Surface, usage: Any, server: MockServer, sweep: Sweep
) -> None:
    server.default = surface.responder(usage)
    client = wrapped(surface, server)
    with capture() as t:
        surface.call(client)
    (record,) = t.records
    assert record.cost is None, f"usage {usage!r} was priced as {record.cost!r} with notes {record.notes!r}"
    assert record.notes


# --- prices ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_an_unknown_model_is_recorded_unpriced_and_warned_about_once(
    surface: Surface, server: MockServer, sweep: Sweep
) -> None:
    server.default = surface.responder(model="acme-unreleased-9000")
    expected = plain(surface, server, stream=False, is_async=False, sweep=sweep)
    unknown = dict.fromkeys(("gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"), "acme-x")
    client = wrapped(surface, server, model_map=unknown)  # the request's model names no price either
    with pytest.warns(UnpricedModelWarning) as warned:
        results = calls(surface, client, stream=False, is_async=False, sweep=sweep)
    for outcome, records in results:
        assert outcome == expected
        ((record),) = records
        assert record.cost is None and record.breakdown == {} and record.price_source is None
    assert len([w for w in warned if issubclass(w.category, UnpricedModelWarning)]) == 1
    for w in warned:
        sweep.text(str(w.message), "a warning")
    assert warnings_of(sweep) == []


def test_an_unpriced_models_record_says_why_its_cost_is_unknown(server: MockServer, sweep: Sweep) -> None:
    server.default = OPENAI.responder(model="acme-unreleased-9000")
    client = wrapped(OPENAI, server, model_map={"gpt-4o-mini": "acme-x"})
    with pytest.warns(UnpricedModelWarning), capture() as t:
        OPENAI.call(client)
    (record,) = t.records
    assert record.cost is None
    assert record.notes, "cost None with no note: a reader cannot tell an unknown price from a bug"


@pytest.mark.parametrize("bad", ["a folder", "malformed toml", "missing"])
def test_an_unreadable_price_file_never_breaks_the_call(
    bad: str, tmp_path: Path, server: MockServer, sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prices.toml"
    if bad == "a folder":
        path.mkdir()
    elif bad == "malformed toml":
        path.write_text('[models."x"\ninput = ')
    monkeypatch.setenv("COSTWRAP_PRICES", str(path))  # read at start-up: nobody validated it
    costwrap.reset()
    costwrap.add_sink(sweep.sink)
    assert costwrap.get_config().prices == path and not costwrap.get_config().strict
    server.default = OPENAI.responder()
    expected = plain(OPENAI, server, stream=False, is_async=False, sweep=sweep)
    client = wrapped(OPENAI, server)
    for outcome, records in calls(OPENAI, client, stream=False, is_async=False, sweep=sweep):
        assert outcome == expected
        (record,) = records
        check_record(record)
    logged = warnings_of(sweep)
    assert len(logged) == 1 and "prices.toml" in logged[0]


# --- sinks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("surface", "stream", "is_async"), SHAPES)
def test_a_sink_that_raises_never_reaches_the_caller_nor_the_other_sinks(
    surface: Surface, stream: bool, is_async: bool, server: MockServer, sweep: Sweep
) -> None:
    server.default = surface.responder()
    expected = plain(surface, server, stream=stream, is_async=is_async, sweep=sweep)

    def exploding_sink(record: CostRecord) -> None:
        raise OSError(errno.EIO, "ledger device gone")

    def exploding_callback(record: CostRecord) -> None:
        raise ZeroDivisionError("user callback bug")

    after: list[CostRecord] = []
    costwrap.add_sink(exploding_sink)
    costwrap.add_sink(after.append)
    client = wrapped(surface, server, is_async=is_async, on_cost=exploding_callback)
    for outcome, records in calls(surface, client, stream=stream, is_async=is_async, sweep=sweep):
        assert outcome == expected
        assert len(records) == 1
    assert len(after) == 2
    logged = warnings_of(sweep)
    assert len(logged) == 2  # each failing sink once, by name
    assert any("exploding_sink" in line for line in logged) and any("exploding_callback" in line for line in logged)


def test_a_hanging_sink_behind_background_never_holds_the_call(server: MockServer, sweep: Sweep) -> None:
    gate = threading.Event()
    entered = threading.Event()
    delivered: list[CostRecord] = []

    def hanging(record: CostRecord) -> None:
        entered.set()
        gate.wait()
        delivered.append(record)

    background = Background(hanging)
    costwrap.add_sink(background)
    server.default = OPENAI.responder()
    expected = plain(OPENAI, server, stream=False, is_async=False, sweep=sweep)
    client = wrapped(OPENAI, server)
    got: list[Outcome] = []

    def caller() -> None:
        got.extend(o for o, _ in calls(OPENAI, client, stream=True, is_async=False, sweep=sweep, n=1))
        got.extend(o for o, _ in calls(OPENAI, client, stream=False, is_async=False, sweep=sweep, n=3))

    worker = threading.Thread(target=caller)
    worker.start()
    worker.join(60)  # a deadlock guard, not a timing assertion: the sink never returns until `gate` is set
    try:
        assert not worker.is_alive(), "the calls waited for a sink that hangs"
        assert entered.wait(30), "the background worker never reached the sink"  # not a timing assertion
        assert not gate.is_set() and delivered == []
        assert got[1:] == [expected] * 3 and got[0].error is None
    finally:
        gate.set()
    assert background.flush(timeout=60)
    assert len(delivered) == 4
    background.close()


def test_a_full_background_queue_drops_counts_and_logs_but_never_blocks(server: MockServer, sweep: Sweep) -> None:
    gate = threading.Event()
    entered = threading.Event()

    def hanging(record: CostRecord) -> None:
        entered.set()
        gate.wait()

    background = Background(hanging, max_queue=1)
    costwrap.add_sink(background)
    server.default = OPENAI.responder()
    expected = plain(OPENAI, server, stream=False, is_async=False, sweep=sweep)
    client = wrapped(OPENAI, server)
    got: list[Outcome] = []
    worker = threading.Thread(
        target=lambda: got.extend(o for o, _ in calls(OPENAI, client, stream=False, is_async=False, sweep=sweep, n=8))
    )
    worker.start()
    worker.join(60)
    try:
        assert not worker.is_alive(), "a full queue blocked the caller"
        assert got == [expected] * 8
        assert 6 <= background.dropped <= 7  # one in the worker's hands (once it took it), one queued
        drops = [line for line in warnings_of(sweep) if "dropped" in line]
        assert len(drops) == 1  # at the first drop, not at each
    finally:
        gate.set()
    assert background.flush(timeout=60)
    background.close()


# --- Redis: unreachable, or dying in the middle of a call ------------------------------------------------


def test_redis_being_down_does_not_touch_calls_made_without_a_budget(
    redis_server: RedisServer, server: MockServer, sweep: Sweep
) -> None:
    store = costwrap.RedisBudgetStore(redis_server.url, key="team-a", timeout=0.5)
    redis_server.stop()
    server.default = OPENAI.responder()
    expected = plain(OPENAI, server, stream=False, is_async=False, sweep=sweep)
    client = wrapped(OPENAI, server)
    for outcome, records in calls(OPENAI, client, stream=False, is_async=False, sweep=sweep):
        assert outcome == expected and len(records) == 1
    assert warnings_of(sweep) == []
    sweep.text(repr(store), "the store's repr")


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_redis_down_with_on_store_error_allow_lets_the_call_through_unchanged(
    is_async: bool, redis_server: RedisServer, server: MockServer, sweep: Sweep
) -> None:
    store = costwrap.RedisBudgetStore(redis_server.url, key="team-a", timeout=0.5)
    redis_server.stop()
    server.default = OPENAI.responder()
    expected = plain(OPENAI, server, stream=False, is_async=is_async, sweep=sweep)
    client = wrapped(OPENAI, server, is_async=is_async)
    with (
        pytest.warns(RuntimeWarning, match="on_store_error='allow'") as warned,
        costwrap.Budget(usd="1", store=store, on_store_error="allow"),
    ):
        results = calls(OPENAI, client, stream=False, is_async=is_async, sweep=sweep)
    for outcome, records in results:
        assert outcome == expected and len(records) == 1
    for w in warned:
        sweep.text(str(w.message), "a warning")
        assert REDIS_PASSWORD not in str(w.message)


def test_redis_down_with_the_default_fails_closed_unsent_without_the_password(
    redis_server: RedisServer, server: MockServer, sweep: Sweep
) -> None:
    store = costwrap.RedisBudgetStore(redis_server.url, key="team-a", timeout=0.5)
    redis_server.stop()
    server.default = OPENAI.responder()
    client = wrapped(OPENAI, server)
    with costwrap.Budget(usd="1", store=store), pytest.raises(costwrap.BudgetStoreError) as info:
        OPENAI.call(client)
    sweep.exception(info.value)
    assert server.requests == []  # refused before anything was sent
    assert REDIS_PASSWORD not in str(info.value) and "***" in str(info.value)


@pytest.mark.parametrize("on_store_error", ["refuse", "allow"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_redis_dying_mid_call_still_hands_the_caller_its_answer_and_records_it(
    is_async: bool, on_store_error: str, stream: bool, *, redis_server: RedisServer, server: MockServer, sweep: Sweep
) -> None:
    respond = OPENAI.responder()
    server.default = respond
    expected = plain(OPENAI, server, stream=stream, is_async=is_async, sweep=sweep)

    def kill_redis_then_answer(request: Any) -> Any:
        redis_server.stop()  # the reservation was taken; the settlement will find no server
        return respond(request)

    server.default = kill_redis_then_answer
    client = wrapped(OPENAI, server, is_async=is_async)
    store = costwrap.RedisBudgetStore(redis_server.url, key="team-a", timeout=0.5)
    with costwrap.Budget(usd="1", store=store, on_store_error=on_store_error):
        ((outcome, records),) = calls(OPENAI, client, stream=stream, is_async=is_async, sweep=sweep, n=1)
    assert outcome == expected
    (record,) = records
    assert record.cost == OPENAI.expected_cost
    logged = warnings_of(sweep)
    assert len(logged) == 1 and "could not record a call's cost" in logged[0]
    assert REDIS_PASSWORD not in logged[0]


# --- a full disk under the ledgers -------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_jsonl_ledger_on_a_full_disk_never_breaks_the_call(server: MockServer, sweep: Sweep) -> None:
    after: list[CostRecord] = []
    costwrap.add_sink(JSONLSink("/dev/full"))
    costwrap.add_sink(after.append)
    server.default = OPENAI.responder()
    expected = plain(OPENAI, server, stream=True, is_async=False, sweep=sweep)
    client = wrapped(OPENAI, server)
    for outcome, _ in calls(OPENAI, client, stream=True, is_async=False, sweep=sweep):
        assert outcome == expected
    assert len(after) == 2
    logged = warnings_of(sweep)
    assert len(logged) == 1 and "JSONLSink" in logged[0]


def short_writes(monkeypatch: pytest.MonkeyPatch, *, space_for_the_rest: bool) -> list[int]:
    """The JSONL sink's next write lands only its first half (a disk that fills mid-write); with
    ``space_for_the_rest`` False, writing the rest then fails with ENOSPC."""
    import errno

    from costwrap.sinks import jsonl

    real_write = os.write
    faults = [1, 0 if space_for_the_rest else 1]  # [short writes, ENOSPC failures] still to come

    def write(fd: int, data: bytes) -> int:
        if faults[0]:
            faults[0] -= 1
            return real_write(fd, data[: len(data) // 2])
        if faults[1]:
            faults[1] -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(jsonl.os, "write", write)
    return faults


def readable_lines(path: Path) -> list[dict[str, Any]]:
    parsed = []
    for line in path.read_bytes().split(b"\n"):
        try:
            parsed.append(json.loads(line))
        except ValueError:
            continue
    return parsed


@pytest.mark.parametrize("space_for_the_rest", [True, False], ids=["space-returns", "disk-stays-full"])
def test_a_jsonl_write_cut_short_by_a_full_disk_never_breaks_the_call_nor_the_next_line(
    tmp_path: Path, server: MockServer, sweep: Sweep, monkeypatch: pytest.MonkeyPatch, *, space_for_the_rest: bool
) -> None:
    path = tmp_path / "costs.jsonl"
    costwrap.add_sink(JSONLSink(path))
    server.default = OPENAI.responder()
    expected = plain(OPENAI, server, stream=False, is_async=False, sweep=sweep)
    client = wrapped(OPENAI, server)
    faults = short_writes(monkeypatch, space_for_the_rest=space_for_the_rest)
    results = calls(OPENAI, client, stream=False, is_async=False, sweep=sweep, n=3)  # the 1st write is cut
    assert [o for o, _ in results] == [expected] * 3
    assert faults == [0, 0]
    if space_for_the_rest:
        # The sink wrote the rest of the line: nothing lost, nothing to report.
        assert len(readable_lines(path)) == 3
        assert warnings_of(sweep) == []
    else:
        # That record is lost (and logged once); the next ones start on lines of their own.
        assert len(warnings_of(sweep)) == 1
        assert len(readable_lines(path)) == 2, path.read_bytes()[:600]


def test_a_sqlite_ledger_that_fills_up_never_breaks_the_call_and_stays_sound(
    tmp_path: Path, server: MockServer, sweep: Sweep
) -> None:
    path = tmp_path / "costs.db"
    ledger = SQLiteSink(path)
    costwrap.add_sink(ledger)
    server.default = OPENAI.responder()
    expected = plain(OPENAI, server, stream=False, is_async=False, sweep=sweep)
    client = wrapped(OPENAI, server)
    calls(OPENAI, client, stream=False, is_async=False, sweep=sweep, n=3)
    # The file may not grow by a page more: SQLite reports "database or disk is full".
    conn = ledger._connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    big = "x" * 20_000  # each record now needs new pages
    costwrap.wrap(client, tags={"padding": big})
    results = calls(OPENAI, client, stream=False, is_async=False, sweep=sweep, n=4)
    assert [o for o, _ in results] == [expected] * 4
    assert all(len(records) == 1 for _, records in results)
    logged = warnings_of(sweep)
    assert len(logged) == 1 and "SQLiteSink" in logged[0]
    # Space again: the ledger is intact, keeps what it had, and takes new records.
    conn.execute("PRAGMA max_page_count = 1073741823")
    costwrap.unwrap(client)
    costwrap.wrap(client)
    calls(OPENAI, client, stream=False, is_async=False, sweep=sweep, n=1)
    ledger.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()
    rows = list(read_records(path))
    assert len(rows) == 4 and all(r.cost == OPENAI.expected_cost for r in rows)
