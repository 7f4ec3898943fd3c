"""Never break the caller: costwrap's own faults and users' sinks are isolated and logged once."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import httpx2
import pytest

import costwrap
from costwrap import CostRecord
from costwrap.providers import openai as openai_provider
from tests.conftest import MockServer, chat_body, chat_chunks, chat_usage

COST = (Decimal(10) * Decimal("0.15") + Decimal(5) * Decimal("0.60")) / 1_000_000


@pytest.fixture
def client(server: MockServer, openai_client: Any) -> Any:
    server.default = lambda _r: httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, 5)))
    return costwrap.wrap(openai_client)


def chat(client: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=[])


def test_a_sink_that_raises_is_isolated_and_logged_once_by_name(
    client: Any, records: list[CostRecord], caplog: pytest.LogCaptureFixture
) -> None:
    def broken_sink(record: CostRecord) -> None:
        raise RuntimeError("sink down")

    after: list[CostRecord] = []
    costwrap.add_sink(broken_sink)
    costwrap.add_sink(after.append)
    with caplog.at_level(logging.DEBUG, logger="costwrap"):
        response = chat(client)
        chat(client)
    assert response.usage.prompt_tokens == 10
    assert len(records) == len(after) == 2  # the sinks before and after still got every record
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert (
        "test_guard.test_a_sink_that_raises_is_isolated_and_logged_once_by_name.<locals>.broken_sink"
        in warnings[0].getMessage()
    )
    assert warnings[0].exc_info is not None


def test_a_clients_own_callback_that_raises_is_isolated(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    server.default = lambda _r: httpx2.Response(200, json=chat_body("gpt-4o-mini", chat_usage(10, 5)))

    def broken(record: CostRecord) -> None:
        raise ValueError("boom")

    client = costwrap.wrap(openai_client, on_cost=broken)
    assert chat(client).choices[0].message.content == "hello"
    assert len(records) == 1


def test_an_extraction_bug_returns_the_sdks_object_and_logs_once(
    client: Any, records: list[CostRecord], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    costwrap.configure(strict=False)  # production behaviour

    def broken_extract(response: Any, operation: str) -> Any:
        raise KeyError("internal bug")

    monkeypatch.setattr(openai_provider, "extract", broken_extract)
    monkeypatch.setattr(costwrap._patch._specs["openai"][1], "extract", broken_extract)
    with caplog.at_level(logging.DEBUG, logger="costwrap"):
        first = chat(client)
        second = chat(client)
    assert type(first).__name__ == "ChatCompletion" and first.usage.prompt_tokens == 10
    assert second.id == "chatcmpl-test1"
    assert records == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "internal error while recording a call" in warnings[0].getMessage()


def test_strict_mode_surfaces_an_extraction_bug(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_extract(response: Any, operation: str) -> Any:
        raise KeyError("internal bug")

    monkeypatch.setattr(costwrap._patch._specs["openai"][1], "extract", broken_extract)
    with pytest.raises(KeyError, match="internal bug"):
        chat(client)


def test_a_stream_accumulator_bug_never_breaks_iteration(
    server: MockServer, openai_client: Any, records: list[CostRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    costwrap.configure(strict=False)
    server.sse(chat_chunks("gpt-4o-mini", ["a", "b"], usage=chat_usage(10, 5)))

    def broken_add(self: Any, chunk: Any) -> bool:
        raise AttributeError("bug")

    monkeypatch.setattr(openai_provider.ChatAccumulator, "add", broken_add)
    client = costwrap.wrap(openai_client)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True))
    # Every chunk the caller sees has a choice: the usage chunk costwrap asked for stays hidden.
    assert [c.choices[0].delta.content for c in chunks] == ["", "a", "b", None]
    assert len(records) == 1  # still recorded once (usage unknown to the broken reader: estimated)


def test_inconsistent_usage_from_a_server_is_recorded_unpriced_with_a_note(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    usage = chat_usage(10, 5)
    usage["prompt_tokens_details"]["cached_tokens"] = 50  # more cached tokens than prompt tokens
    server.json(chat_body("gpt-4o-mini", usage))
    client = costwrap.wrap(openai_client)
    assert chat(client).usage.prompt_tokens == 10
    record = records[0]
    assert record.cost is None
    assert "could not be priced: cache_read_tokens (50)" in record.notes[0]


def test_malformed_counts_from_a_server_count_as_zero_with_a_note(
    server: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    usage = chat_usage(10, 5)
    usage["completion_tokens"] = -5
    server.json(chat_body("gpt-4o-mini", usage))
    client = costwrap.wrap(openai_client)
    chat(client)
    record = records[0]
    assert record.usage.output_tokens == 0
    assert record.cost == Decimal(10) * Decimal("0.15") / 1_000_000
    assert "ignored a malformed completion_tokens value -5" in record.notes
