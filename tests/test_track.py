"""track(): records follow contextvars through nesting, threads (copy_context) and asyncio tasks."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from decimal import Decimal
from typing import Any

import httpx2
import pytest

import costwrap
import costwrap.testing
from tests.conftest import MockServer, chat_body, chat_usage

COST = (Decimal(10) * Decimal("0.15") + Decimal(5) * Decimal("0.60")) / 1_000_000


@pytest.fixture
def client(server: MockServer, openai_client: Any) -> Any:
    server.default = lambda _r: httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, 5)))
    return costwrap.wrap(openai_client)


@pytest.fixture
def async_client(server: MockServer, async_openai_client: Any) -> Any:
    server.default = lambda _r: httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, 5)))
    return costwrap.wrap(async_openai_client)


def chat(client: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=[])


def test_track_collects_the_calls_in_its_block(client: Any) -> None:
    chat(client)
    with costwrap.track("block") as t:
        chat(client)
        chat(client)
    chat(client)
    assert (t.calls, t.cost, t.unpriced) == (2, 2 * COST, 0)
    assert [r.cost for r in t.records] == [COST, COST]
    assert t.usage.input_tokens == 20 and t.usage.output_tokens == 10
    assert repr(t) == "<Tracker 'block' calls=2 cost=$0.000009 unpriced=0>"


def test_nested_tracks_all_see_a_call(client: Any) -> None:
    with costwrap.track() as outer:
        chat(client)
        with costwrap.track() as inner:
            chat(client)
    assert (outer.calls, inner.calls) == (2, 1)


def test_unpriced_records_are_counted_not_summed(server: MockServer, client: Any) -> None:
    server.json(chat_body("acme-llm-9", chat_usage(10, 5)))
    with costwrap.track() as t:
        with pytest.warns(costwrap.UnpricedModelWarning):
            client.chat.completions.create(model="acme-llm-9", messages=[])
        chat(client)
    assert (t.calls, t.unpriced, t.cost) == (2, 1, COST)


def test_threads_started_with_copy_context_are_tracked_plain_threads_are_not(client: Any) -> None:
    with costwrap.track() as t:
        ctx = contextvars.copy_context()
        tracked = threading.Thread(target=ctx.run, args=(chat, client))
        untracked = threading.Thread(target=chat, args=(client,))
        tracked.start(), untracked.start()
        tracked.join(), untracked.join()
    assert t.calls == 1


def test_asyncio_tasks_inherit_the_track(async_client: Any) -> None:
    async def main() -> costwrap.Tracker:
        async with costwrap.track() as t:
            await asyncio.gather(*(chat(async_client) for _ in range(5)))
        return t

    t = asyncio.run(main())
    assert (t.calls, t.cost) == (5, 5 * COST)


def test_many_threads_lose_no_record(client: Any) -> None:
    with costwrap.track() as t:
        threads = [threading.Thread(target=contextvars.copy_context().run, args=(chat, client)) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert (t.calls, t.cost) == (32, 32 * COST)


def test_testing_capture_is_a_track(client: Any) -> None:
    with costwrap.testing.capture() as captured:
        chat(client)
    assert [r.cost for r in captured.records] == [COST]
