"""Budgets through the real OpenAI and Anthropic clients: pre-flight refusals that send nothing,
after-the-fact crossings that record first, nesting, races, streams cut off mid-way.

Every call's cost is worked out by hand. gpt-4o-mini: $0.15 in / $0.60 out per 1M tokens; the mock
answers 10 prompt + 5 completion tokens = 10 x 0.15/M + 5 x 0.60/M = $0.0000045 a call. Its
worst case with ``max_tokens=100`` and the prompt "hi" (o200k: 1 token, + 3 for the message + 3 to
prime the reply = 7) is 7 x 0.15/M + 100 x 0.60/M = $0.00006105.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from decimal import Decimal
from typing import Any

import httpx2
import pytest

import costwrap
from costwrap import BudgetExceeded, CostRecord, UnpricedModelError
from tests.conftest import MockServer, chat_body, chat_chunks, chat_usage

CALL = Decimal(10) * Decimal("0.15") / 1_000_000 + Decimal(5) * Decimal("0.60") / 1_000_000
WORST = Decimal(7) * Decimal("0.15") / 1_000_000 + Decimal(100) * Decimal("0.60") / 1_000_000
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def client(server: MockServer, openai_client: Any) -> Any:
    server.default = lambda _r: httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, 5)))
    return costwrap.wrap(openai_client)


@pytest.fixture
def async_client(server: MockServer, async_openai_client: Any) -> Any:
    server.default = lambda _r: httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, 5)))
    return costwrap.wrap(async_openai_client)


def chat(client: Any, **kwargs: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=100, **kwargs)


def test_a_budget_counts_what_its_calls_cost(client: Any) -> None:
    with costwrap.budget(usd="1", name="test") as b:
        chat(client)
        chat(client)
    assert (b.spent, b.remaining, b.limit, b.calls_made, b.tokens_used) == (2 * CALL, 1 - 2 * CALL, Decimal(1), 2, 30)
    assert repr(b) == "<Budget 'test'>"


def test_preflight_refuses_a_call_whose_worst_case_does_not_fit_without_sending_it(
    server: MockServer, client: Any
) -> None:
    with costwrap.budget(usd=WORST - Decimal("0.000000001")) as b, pytest.raises(BudgetExceeded) as info:
        chat(client)
    assert server.requests == []  # refused before any network call
    exc = info.value
    assert (exc.estimate, exc.dimension, exc.record, exc.spent) == (WORST, "usd", None, 0)
    assert "could cost up to" in str(exc)
    assert b.spent == 0 and b.totals().reserved.usd == 0


def test_preflight_lets_calls_through_while_their_worst_case_fits(server: MockServer, client: Any) -> None:
    limit = Decimal("0.0001")
    calls = 0
    refused: list[BudgetExceeded] = []
    with costwrap.budget(usd=limit) as b:
        while not refused:
            try:
                chat(client)
                calls += 1
            except BudgetExceeded as exc:
                refused.append(exc)
    assert refused[0].estimate == WORST
    # A call goes ahead while spent + worst case <= limit: 8 x CALL + WORST = 0.00009705 fits,
    # 9 x CALL + WORST = 0.00010155 does not.
    assert calls == 9 and len(server.requests) == 9
    assert b.spent == 9 * CALL <= limit


def test_after_the_fact_the_record_reaches_the_sinks_first(client: Any, records: list[CostRecord]) -> None:
    seen_before_raise: list[int] = []
    with costwrap.budget(usd=CALL / 2, preflight=False, name="tiny"), pytest.raises(BudgetExceeded) as info:
        try:
            chat(client)
        finally:
            seen_before_raise.append(len(records))
    exc = info.value
    assert seen_before_raise == [1]
    assert exc.record is records[0] and exc.record.cost == CALL
    assert (exc.budget, exc.limit, exc.spent, exc.estimate) == ("tiny", CALL / 2, CALL, None)


def test_without_preflight_a_used_up_budget_refuses_the_next_call_unsent(server: MockServer, client: Any) -> None:
    with costwrap.budget(usd=CALL, preflight=False):
        chat(client)  # exactly at the limit: not over it
        with pytest.raises(BudgetExceeded, match="the limit is used up"):
            chat(client)
    assert len(server.requests) == 1


def test_calls_and_tokens_limits(server: MockServer, client: Any) -> None:
    with costwrap.budget(calls=2) as b:
        chat(client)
        chat(client)
        with pytest.raises(BudgetExceeded) as info:
            chat(client)
    assert info.value.dimension == "calls" and len(server.requests) == 2 and b.calls_made == 2
    with costwrap.budget(tokens=20, preflight=False), pytest.raises(BudgetExceeded) as crossed:
        chat(client)  # 15 tokens: fits
        chat(client)  # 30 tokens: over, after the fact
    assert (crossed.value.dimension, crossed.value.spent) == ("tokens", 30)


def test_nested_budgets_are_all_charged_and_the_tightest_crossed_raises(client: Any) -> None:
    with costwrap.budget(usd=1, name="outer") as outer:
        with costwrap.budget(usd=CALL * 3 / 2, preflight=False, name="inner") as inner:
            chat(client)
            with pytest.raises(BudgetExceeded) as info:
                chat(client)
        chat(client)
    assert info.value.budget == "inner"
    assert (inner.spent, outer.spent) == (2 * CALL, 3 * CALL)


def test_an_unpriced_model_under_a_usd_budget_is_refused_unless_allowed(server: MockServer, client: Any) -> None:
    server.default = lambda _r: httpx2.Response(200, json=chat_body("acme-llm", chat_usage(10, 5)))
    with costwrap.budget(usd=1), pytest.raises(UnpricedModelError, match="cannot count it"):
        client.chat.completions.create(model="acme-llm", messages=HI)
    assert server.requests == []
    with (
        costwrap.budget(usd=1, on_unpriced="allow") as b,
        pytest.warns(RuntimeWarning, match="cannot price"),
        pytest.warns(costwrap.UnpricedModelWarning),
    ):
        client.chat.completions.create(model="acme-llm", messages=HI)
    assert len(server.requests) == 1 and b.spent == 0 and b.calls_made == 1
    with costwrap.budget(calls=5):  # a budget without a USD limit does not need prices
        client.chat.completions.create(model="acme-llm", messages=HI)


def test_a_failed_call_releases_its_reservation(server: MockServer, client: Any) -> None:
    import openai

    server.json({"error": {"message": "boom"}}, status=500)
    with costwrap.budget(usd=WORST) as b:
        with pytest.raises(openai.InternalServerError):
            chat(client)
        assert b.totals().reserved == costwrap.stores.Amount()
        chat(client)  # the whole budget is available again
    assert b.spent == CALL


def test_the_decorator_gives_each_invocation_a_fresh_budget(client: Any, async_client: Any) -> None:
    @costwrap.budget(usd=CALL * 3 / 2, preflight=False)
    def twice() -> None:
        chat(client)
        chat(client)

    @costwrap.budget(usd=CALL * 3 / 2, preflight=False)
    async def once() -> None:
        await async_client.chat.completions.create(model="gpt-4o-mini", messages=HI)

    with pytest.raises(BudgetExceeded):
        twice()
    asyncio.run(once())
    asyncio.run(once())  # a fresh budget each time: no carry-over


def test_warn_at_calls_back_once(client: Any) -> None:
    warned: list[Any] = []
    with costwrap.budget(usd=CALL * 5, preflight=False, warn_at=0.5, on_warn=warned.append) as b:
        for _ in range(4):
            chat(client)
    assert warned == [b]


def test_racing_threads_never_spend_past_the_limit(server: MockServer, client: Any) -> None:
    limit = WORST * 10
    done: list[int] = []
    refused: list[int] = []
    with costwrap.budget(usd=limit) as b:
        barrier = threading.Barrier(64)

        def worker() -> None:
            barrier.wait()
            for _ in range(5):
                try:
                    chat(client)
                    done.append(1)
                except BudgetExceeded:
                    refused.append(1)

        threads = [threading.Thread(target=contextvars.copy_context().run, args=(worker,)) for _ in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert b.spent <= limit
    assert b.spent == len(done) * CALL and len(server.requests) == len(done)
    assert refused and done


def test_a_thousand_tasks_never_spend_past_the_limit(server: MockServer, async_client: Any) -> None:
    limit = WORST * 20

    async def one() -> bool:
        try:
            await async_client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=100)
        except BudgetExceeded:
            return False
        return True

    async def main() -> tuple[list[bool], costwrap.Budget]:
        async with costwrap.budget(usd=limit) as b:
            return list(await asyncio.gather(*(one() for _ in range(1000)))), b

    results, b = asyncio.run(main())
    assert b.spent <= limit and b.spent == sum(results) * CALL
    assert 0 < sum(results) < 1000 and len(server.requests) == sum(results)


def test_without_preflight_the_overshoot_is_at_most_the_calls_in_flight(server: MockServer, client: Any) -> None:
    limit = CALL * 10
    gate = threading.Barrier(16)

    def slow(_request: httpx2.Request) -> httpx2.Response:
        gate.wait(5)  # all 16 calls are in flight at once
        return httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, 5)))

    server.default = slow
    with costwrap.budget(usd=limit, preflight=False) as b:
        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(_swallow, chat, client)) for _ in range(16)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert limit < b.spent <= limit + 16 * CALL


def _swallow(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except BudgetExceeded:
        pass


def test_a_stream_that_crosses_the_limit_is_closed_recorded_then_raises(
    server: MockServer, client: Any, records: list[CostRecord]
) -> None:
    words = [" word"] * 200  # o200k: 1 token each
    server.sse(chat_chunks("gpt-4o-mini", words, usage=chat_usage(7, 200)))
    limit = Decimal(7) * Decimal("0.15") / 1_000_000 + Decimal(50) * Decimal("0.60") / 1_000_000
    received = 0
    with costwrap.budget(usd=limit, preflight=False), pytest.raises(BudgetExceeded) as info:
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True):
            received += 1
    assert 40 < received < 60  # stopped near 50 output tokens, long before 200
    assert len(records) == 1 and records[0].estimated is True
    assert info.value.record is records[0]
    assert "the stream was closed" in str(info.value)


def test_a_stream_that_ends_over_the_limit_raises_at_its_end(
    server: MockServer, client: Any, records: list[CostRecord]
) -> None:
    server.sse(chat_chunks("gpt-4o-mini", ["a", "b"], usage=chat_usage(10, 5)))
    chunks: list[Any] = []
    with costwrap.budget(usd=CALL / 2, preflight=False, stop_streams=False), pytest.raises(BudgetExceeded):
        chunks.extend(client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True))
    assert len(chunks) == 4 and records[0].cost == CALL


def test_anthropic_calls_are_refused_by_their_max_tokens(server: MockServer, anthropic_client: Any) -> None:
    client = costwrap.wrap(anthropic_client)
    # claude-haiku-4-5 output is $5/M: 100,000 max tokens alone is $0.50.
    with costwrap.budget(usd="0.40"), pytest.raises(BudgetExceeded) as info:
        client.messages.create(model="claude-haiku-4-5", max_tokens=100_000, messages=HI)
    assert server.requests == [] and info.value.estimate > Decimal("0.5")


def test_budget_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one limit"):
        costwrap.budget()
    with pytest.raises(ValueError, match="window"):
        costwrap.budget(usd=1, window="week")
    with pytest.raises(ValueError, match="not a decimal"):
        costwrap.budget(usd="lots")
    with pytest.raises(ValueError, match="calls= must be"):
        costwrap.budget(calls=-1)


def test_calendar_and_rolling_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from costwrap.stores import Amount, Limits, MemoryBudgetStore

    b = costwrap.budget(usd=1, window="day")
    assert b.window_id(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == "d20261130"
    assert b.window_id(datetime(2026, 12, 1, 0, 0, tzinfo=UTC)) == "d20261201"
    assert costwrap.budget(usd=1, window="month").window_id(datetime(2026, 12, 1, tzinfo=UTC)) == "m202612"
    store = MemoryBudgetStore()
    now = [1000.0]
    monkeypatch.setattr("costwrap.stores.time.time", lambda: now[0])
    store.settle("r60", 60, None, Amount(Decimal(1), 0, 1))
    assert store.totals("r60", 60).spent.usd == 1
    now[0] += 61
    assert store.totals("r60", 60).spent.usd == 0  # rolled out of the window
    grant = store.reserve("r60", 60, Amount(Decimal(1), 0, 1), Limits(usd=Decimal(1)), ttl=10)
    assert grant.reservation is not None
    now[0] += 11
    assert store.totals("r60", 60).reserved.usd == 0  # an abandoned reservation expires


# --- found in review: each of these once broke a budget or the caller ---------------------------


def test_one_budget_object_entered_by_many_tasks_at_once(async_client: Any) -> None:
    shared = costwrap.budget(usd=1)

    async def one() -> None:
        async with shared:
            await async_client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=100)
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(20)))

    asyncio.run(main())  # each task undoes its own entry: no "created in a different Context"
    assert shared.calls_made == 20 and shared.spent == 20 * CALL


def test_the_same_budget_twice_in_context_is_charged_once(client: Any) -> None:
    team = costwrap.budget(calls=5)
    with team, team:
        chat(client)
    assert team.calls_made == 1 and team.spent == CALL


def test_an_on_warn_that_raises_loses_nothing(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    def broken(_b: costwrap.Budget) -> None:
        raise RuntimeError("alerting webhook down")

    with costwrap.budget(calls=1, warn_at=0.5, on_warn=broken, preflight=False) as inner:
        response = chat(client)
    assert response.usage.completion_tokens == 5 and inner.calls_made == 1 and inner.totals().reserved.calls == 0
    assert "on_warn callback" in caplog.text


def test_a_generator_function_cannot_be_decorated() -> None:
    with pytest.raises(TypeError, match="generator function"):

        @costwrap.budget(calls=1)
        def pages() -> Any:
            yield 1


@pytest.mark.parametrize("bad", [{"reservation_ttl": float("inf")}, {"window": float("inf")}, {"window": 0}])
def test_non_finite_times_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="seconds"):
        costwrap.budget(calls=1, **bad)


def test_a_store_that_breaks_fails_closed(server: MockServer, client: Any) -> None:
    class Broken(costwrap.MemoryBudgetStore):
        def reserve(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("bug in a custom store")

    with costwrap.budget(calls=5, store=Broken()), pytest.raises(costwrap.BudgetStoreError, match="bug in a custom"):
        chat(client)
    assert server.requests == []


def test_nano_dollars_round_up_whatever_the_callers_decimal_context() -> None:
    import decimal

    from costwrap.stores import to_nano

    with decimal.localcontext() as ctx:
        ctx.prec = 6
        assert to_nano(Decimal("12.3456789")) == 12_345_678_900


def test_cancelling_a_stream_stays_a_cancellation(server: MockServer, async_openai_client: Any) -> None:
    import json

    chunks = chat_chunks("gpt-4o-mini", ["word "] * 50, usage=chat_usage(10, 50))

    async def body() -> Any:
        for chunk in chunks:
            yield f"data: {json.dumps(chunk)}\n\n".encode()
            await asyncio.sleep(0.01)
        yield b"data: [DONE]\n\n"

    server.default = lambda _r: httpx2.Response(200, content=body(), headers={"content-type": "text/event-stream"})
    client = costwrap.wrap(async_openai_client)

    async def consume() -> None:
        # Any spend crosses this budget, so settling the cancelled stream would raise.
        with costwrap.budget(usd="0.0000001", preflight=False, stop_streams=False):
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
            async for _ in stream:
                pass

    async def main() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await consume()

    asyncio.run(main())


def test_a_raw_response_never_parsed_is_still_charged(client: Any, records: list[CostRecord]) -> None:
    import gc

    with costwrap.budget(usd=1, calls=2) as b:
        for _ in range(2):
            raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI, max_tokens=100)
            assert raw.headers is not None  # the caller reads the headers, never parse()
            del raw
            gc.collect()
        assert b.spent == 2 * CALL and b.totals().reserved.calls == 0 and len(records) == 2


def test_preflight_counts_every_answer_asked_for(server: MockServer, client: Any) -> None:
    # n=8 answers of up to 100 tokens: 7 x 0.15/M + 800 x 0.60/M = $0.00048105 could be spent.
    with costwrap.budget(usd="0.0002"), pytest.raises(BudgetExceeded) as info:
        chat(client, n=8)
    assert info.value.estimate == Decimal(7) * Decimal("0.15") / 1_000_000 + Decimal(800) * Decimal("0.60") / 1_000_000
    assert server.requests == []


def test_an_anthropic_stream_manager_that_fails_or_is_never_entered_gives_its_hold_back(
    server: MockServer, anthropic_client: Any
) -> None:
    import gc

    import anthropic

    client = costwrap.wrap(anthropic_client)
    server.json({"type": "error", "error": {"type": "api_error", "message": "boom"}}, status=500)
    with costwrap.budget(calls=1) as b:
        with (
            pytest.raises(anthropic.InternalServerError),
            client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=HI) as stream,
        ):
            stream.until_done()
        assert b.totals().reserved.calls == 0
        manager = client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=HI)
        assert b.totals().reserved.calls == 1
        del manager  # never entered: no request, no spend
        gc.collect()
        assert b.totals().reserved.calls == 0 and b.calls_made == 0
    assert len(server.requests) == 1


def test_without_max_tokens_preflight_assumes_the_models_output_limit(server: MockServer, client: Any) -> None:
    # gpt-4o-mini may write 16,384 tokens (LiteLLM's max_output_tokens, shipped with the prices).
    with costwrap.budget(usd="0.001"), pytest.raises(BudgetExceeded) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert (
        info.value.estimate == Decimal(7) * Decimal("0.15") / 1_000_000 + Decimal(16_384) * Decimal("0.60") / 1_000_000
    )
    assert server.requests == []
