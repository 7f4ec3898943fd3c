"""Shared budgets on a real redis-server (started by the `redis_url` fixture on a free port).

Costs by hand as in test_budget.py: a call costs $0.0000045 (4,500 nano-dollars); its worst case
with max_tokens=100 is $0.00006105.
"""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest

import costwrap
from costwrap import BudgetExceeded, BudgetStoreError, RedisBudgetStore
from tests.conftest import MockServer, chat_body, chat_usage

ROOT = Path(__file__).parent.parent
CALL = Decimal("0.0000045")
WORST = Decimal("0.00006105")
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def client(server: MockServer, openai_client: Any) -> Any:
    server.default = lambda _r: httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, 5)))
    return costwrap.wrap(openai_client)


def store(redis_url: str) -> RedisBudgetStore:
    return RedisBudgetStore(redis_url, key=f"test-{uuid.uuid4().hex}")


def chat(client: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=100)


def test_a_redis_budget_counts_exact_nano_dollars(redis_url: str, client: Any) -> None:
    shared = store(redis_url)
    with costwrap.budget(usd="1", store=shared, window="day") as b:
        chat(client)
        chat(client)
    assert (b.spent, b.calls_made, b.tokens_used) == (2 * CALL, 2, 30)
    import redis

    keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys(f"costwrap:budget:{shared.key}:*")]
    assert keys == [f"costwrap:budget:{shared.key}:{b.window_id()}"]
    assert 0 < redis.Redis.from_url(redis_url).pttl(keys[0]) <= 3 * 86_400_000  # old windows expire


def test_budgets_naming_the_same_key_share_it(redis_url: str, client: Any) -> None:
    shared = store(redis_url)
    with costwrap.budget(usd=CALL * 3 / 2, preflight=False, store=shared):
        chat(client)
    other = RedisBudgetStore(redis_url, key=shared.key)
    with costwrap.budget(usd=CALL * 3 / 2, preflight=False, store=other), pytest.raises(BudgetExceeded):
        chat(client)  # this budget object is new, but its key has $0.0000045 spent already

    # Two calls are spent on the key now; a decorator naming it sees them on every invocation.
    @costwrap.budget(usd=CALL * 2, preflight=False, store=RedisBudgetStore(redis_url, key=shared.key))
    def decorated() -> None:
        chat(client)

    with pytest.raises(BudgetExceeded, match="the limit is used up"):
        decorated()


def test_racing_threads_on_a_redis_budget_never_overspend(redis_url: str, server: MockServer, client: Any) -> None:
    limit = WORST * 10
    done: list[int] = []
    with costwrap.budget(usd=limit, store=store(redis_url)) as b:

        def worker() -> None:
            for _ in range(4):
                try:
                    chat(client)
                    done.append(1)
                except BudgetExceeded:
                    pass

        threads = [threading.Thread(target=contextvars.copy_context().run, args=(worker,)) for _ in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert b.spent <= limit and b.spent == len(done) * CALL and len(server.requests) == len(done)


def test_async_calls_use_the_async_client(redis_url: str, server: MockServer, async_openai_client: Any) -> None:
    server.default = lambda _r: httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, 5)))
    client = costwrap.wrap(async_openai_client)
    limit = WORST * 10

    async def one() -> bool:
        try:
            await client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=100)
        except BudgetExceeded:
            return False
        return True

    shared = store(redis_url)

    async def main() -> tuple[int, costwrap.Budget]:
        try:
            async with costwrap.budget(usd=limit, store=shared) as b:
                return sum(await asyncio.gather(*(one() for _ in range(300)))), b
        finally:
            await shared.aclose()

    done, b = asyncio.run(main())
    assert 0 < done < 300 and b.spent == done * CALL <= limit


PROCESS = """
import sys, httpx2, costwrap
from openai import OpenAI
body = {body!r}
client = costwrap.wrap(OpenAI(api_key="sk-x", max_retries=0,
    http_client=httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json=body)))))
done = 0
with costwrap.budget(usd=sys.argv[2], store=costwrap.RedisBudgetStore(sys.argv[1], key=sys.argv[3])):
    while True:
        try:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}], max_tokens=100
            )
        except costwrap.BudgetExceeded:
            break
        done += 1
print(done)
"""


def test_eight_processes_sharing_one_redis_budget_never_overspend(redis_url: str) -> None:
    key = f"procs-{uuid.uuid4().hex}"
    limit = WORST * 30
    code = PROCESS.format(body=chat_body("gpt-4o-mini", chat_usage(10, 5)))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, redis_url, str(limit), key], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    done = sum(int(out) for out in outputs)
    spent = RedisBudgetStore(redis_url, key=key).totals("all", None).spent.usd
    assert spent == done * CALL <= limit
    assert spent > limit - WORST - CALL  # and they used the budget up


def test_an_unreachable_redis_fails_closed_without_leaking_its_password(server: MockServer, client: Any) -> None:
    from tests.conftest import _free_port

    down = RedisBudgetStore(f"redis://user:s3cret-pass@127.0.0.1:{_free_port()}/0", key="down", timeout=0.2)
    with costwrap.budget(usd=1, store=down), pytest.raises(BudgetStoreError) as info:
        chat(client)
    assert server.requests == [] and "s3cret-pass" not in str(info.value) and "***" in str(info.value)
    with (
        costwrap.budget(usd=1, store=down, on_store_error="allow"),
        pytest.warns(RuntimeWarning, match="lets the call through"),
    ):
        chat(client)
    assert len(server.requests) == 1


def test_a_rolling_window_forgets_old_spend(redis_url: str) -> None:
    from costwrap.stores import Amount, Limits

    shared = store(redis_url)
    shared.settle("r1", 0.5, None, Amount(Decimal(1), 10, 1))
    assert shared.totals("r1", 0.5).spent == Amount(Decimal(1), 10, 1)
    grant = shared.reserve("r1", 0.5, Amount(Decimal("0.5"), 0, 1), Limits(usd=Decimal(1)), ttl=60)
    assert grant.reservation is None and grant.refused == "usd"  # 1 spent + 0.5 > 1
    import time

    time.sleep(0.6)
    assert shared.totals("r1", 0.5).spent == Amount()
    assert shared.reserve("r1", 0.5, Amount(Decimal("0.5"), 0, 1), Limits(usd=Decimal(1)), ttl=60).reservation


def test_reservations_round_up_to_whole_nano_dollars(redis_url: str) -> None:
    from costwrap.stores import Amount, Limits, to_nano

    assert to_nano(Decimal("0.0000000001")) == 1 and to_nano(Decimal("0.000000002")) == 2
    shared = store(redis_url)
    shared.settle("all", None, None, Amount(Decimal("0.0000000001"), 0, 1))
    assert shared.totals("all", None).spent.usd == Decimal("0.000000001")
    assert (
        shared.reserve("all", None, Amount(Decimal(0), 0, 1), Limits(usd=Decimal("0.000000001")), 60).refused == "usd"
    )


def test_the_store_needs_a_key_and_a_connection() -> None:
    with pytest.raises(ValueError, match="key"):
        RedisBudgetStore("redis://localhost", key="")
    with pytest.raises(ValueError, match="url or a client"):
        RedisBudgetStore(key="x")
    assert "***" in repr(RedisBudgetStore("redis://:pw@localhost:6379", key="k"))


def test_one_store_serves_one_event_loop_after_another(
    redis_url: str, server: MockServer, async_openai_client: Any
) -> None:
    server.default = lambda _r: httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, 5)))
    client = costwrap.wrap(async_openai_client)
    shared = store(redis_url)

    async def one_call() -> Decimal:
        try:
            async with costwrap.budget(usd=1, store=shared) as b:
                await client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=100)
            return b.spent
        finally:
            await shared.aclose()

    # Each asyncio.run makes a new loop; a connection from the first would fail in the second.
    assert asyncio.run(one_call()) == CALL
    assert asyncio.run(one_call()) == 2 * CALL


def test_a_day_window_keeps_its_spend_under_a_dated_key(redis_url: str, client: Any) -> None:
    import redis

    shared = store(redis_url)
    with costwrap.budget(usd=1, store=shared, window="day"):
        chat(client)
    day = datetime.now(UTC).strftime("%Y%m%d")
    raw = redis.Redis.from_url(redis_url)
    keys = {k.decode() for k in raw.scan_iter(f"costwrap:budget:{shared.key}:*")}
    assert any(day in k for k in keys), keys
    assert all(0 < raw.ttl(k) <= 3 * 86400 for k in keys)  # old windows expire by themselves
    raw.close()


def test_a_reservation_whose_process_died_expires_by_the_servers_clock(redis_url: str) -> None:
    import time

    from costwrap.stores import Amount, Limits

    shared = store(redis_url)
    limits = Limits(usd=Decimal(1))
    held = shared.reserve("all", None, Amount(Decimal("0.8"), 0, 1), limits, ttl=0.3)
    assert held.reservation is not None  # ... and its process never settles it
    assert shared.reserve("all", None, Amount(Decimal("0.5"), 0, 1), limits, ttl=60).refused == "usd"
    time.sleep(0.4)
    assert shared.totals("all", None).reserved == Amount()
    assert shared.reserve("all", None, Amount(Decimal("0.5"), 0, 1), limits, ttl=60).reservation is not None


def test_amounts_past_a_hundred_thousand_dollars_stay_whole_numbers(redis_url: str) -> None:
    from costwrap.stores import Amount, Limits

    shared = store(redis_url)
    limits = Limits(usd=Decimal(1_000_000))
    grant = shared.reserve("all", None, Amount(Decimal("123456.789"), 0, 1), limits, ttl=60)
    assert grant.reservation is not None
    assert shared.totals("all", None).reserved.usd == Decimal("123456.789")  # not '1.23456789e+14'
    shared.settle("all", None, grant.reservation, Amount(Decimal("123456.789"), 0, 1))
    assert shared.totals("all", None).spent.usd == Decimal("123456.789")


def test_the_same_shared_budget_decorating_nested_functions_charges_once(redis_url: str, client: Any) -> None:
    team = costwrap.budget(calls=10, store=store(redis_url))

    @team
    def inner() -> None:
        chat(client)

    @team
    def outer() -> None:
        inner()

    outer()
    assert team.calls_made == 1


def test_an_abandoned_async_stream_settles_through_the_async_store(
    redis_url: str, server: MockServer, async_openai_client: Any
) -> None:
    import gc

    import redis.asyncio

    from tests.conftest import chat_chunks

    server.default = lambda _r: httpx2.Response(
        200,
        content="".join(
            f"data: {__import__('json').dumps(c)}\n\n"
            for c in chat_chunks("gpt-4o-mini", ["a"] * 20, usage=chat_usage(10, 20))
        )
        + "data: [DONE]\n\n",
        headers={"content-type": "text/event-stream"},
    )
    client = costwrap.wrap(async_openai_client)
    key = f"abandoned-{uuid.uuid4().hex}"

    async def main() -> None:
        async_only = redis.asyncio.Redis.from_url(redis_url)  # no sync client to fall back on
        async with costwrap.budget(usd=1, store=RedisBudgetStore(key=key, async_client=async_only)):
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=100, stream=True)
            async for _ in stream:
                break
            del stream
            gc.collect()
            await asyncio.sleep(0.1)  # the settlement runs as a task on this loop
        await async_only.aclose()

    asyncio.run(main())
    totals = RedisBudgetStore(redis_url, key=key).totals("all", None)
    assert totals.reserved.calls == 0 and totals.spent.calls == 1 and totals.spent.usd > 0
