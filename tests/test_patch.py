"""wrap / unwrap / instrument / uninstrument: one record per call, reversible, polite to other tools."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from typing import Any

import httpx2
import pytest
import wrapt

import costwrap
from costwrap import CostRecord
from tests.conftest import API_KEY, MockServer, chat_body, chat_usage

MINI = "gpt-4o-mini-2024-07-18"
COST = (Decimal(10) * Decimal("0.15") + Decimal(5) * Decimal("0.60")) / 1_000_000


def chat(client: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=[])


@pytest.fixture
def answering(server: MockServer) -> MockServer:
    server.default = lambda _r: httpx2.Response(200, json=chat_body(MINI, chat_usage(10, 5)))
    return server


def completions_class() -> Any:
    from openai.resources.chat.completions.completions import Completions

    return Completions


def test_wrap_returns_the_same_client(answering: MockServer, openai_client: Any) -> None:
    assert costwrap.wrap(openai_client) is openai_client


def test_wrapping_twice_records_once_and_merges_options(
    answering: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    first: list[CostRecord] = []
    second: list[CostRecord] = []
    costwrap.wrap(openai_client, on_cost=first.append, tags={"team": "a", "feature": "x"})
    costwrap.wrap(openai_client, on_cost=second.append, tags={"feature": "y"})
    chat(openai_client)
    assert len(records) == len(first) == len(second) == 1
    assert records[0].tags == {"team": "a", "feature": "y"}


def test_unwrapped_clients_are_not_recorded(
    answering: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    chat(openai_client)
    assert records == []


def test_instrument_records_every_client_and_uninstrument_stops(
    answering: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    costwrap.instrument("openai")
    chat(openai_client)
    assert [r.cost for r in records] == [COST]
    costwrap.uninstrument()
    chat(openai_client)
    assert len(records) == 1


def test_wrap_under_instrument_is_still_one_record_with_the_clients_options(
    answering: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    own: list[CostRecord] = []
    costwrap.instrument()
    costwrap.wrap(openai_client, on_cost=own.append, tags={"feature": "search"})
    chat(openai_client)
    assert len(records) == 1 and own == records
    assert records[0].tags == {"feature": "search"}


def test_uninstrument_leaves_wrapped_clients_wrapped(
    answering: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    costwrap.instrument()
    costwrap.wrap(openai_client)
    costwrap.uninstrument()
    chat(openai_client)
    assert len(records) == 1


def test_unwrap_stops_recording_and_restores_the_sdk_methods(
    answering: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    original = completions_class().__dict__["create"]
    costwrap.wrap(openai_client)
    assert isinstance(completions_class().__dict__["create"], wrapt.FunctionWrapper)
    costwrap.unwrap(openai_client)
    chat(openai_client)
    assert records == []
    assert completions_class().__dict__["create"] is original


def test_another_tools_wrapper_over_ours_survives_uninstrument(
    answering: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    cls = completions_class()
    original = cls.__dict__["create"]
    costwrap.instrument()
    calls: list[str] = []

    def theirs(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        calls.append("theirs")
        return wrapped(*args, **kwargs)

    wrapt.wrap_function_wrapper(cls, "create", theirs)
    their_wrapper = cls.__dict__["create"]
    chat(openai_client)
    assert (calls, len(records)) == (["theirs"], 1)
    costwrap.uninstrument()
    assert cls.__dict__["create"] is their_wrapper  # not stripped
    chat(openai_client)
    assert (calls, len(records)) == (["theirs", "theirs"], 1)  # ours passes through now
    costwrap.instrument()
    chat(openai_client)
    assert len(records) == 2  # instrumenting again records once, not twice
    costwrap.uninstrument()
    cls.create = original  # take their wrapper off again


def test_client_copies_keep_the_options(answering: MockServer, openai_client: Any, records: list[CostRecord]) -> None:
    costwrap.wrap(openai_client, tags={"feature": "x"})
    chat(openai_client.with_options(timeout=5))
    chat(openai_client.copy(max_retries=0))
    assert [r.tags for r in records] == [{"feature": "x"}] * 2


def test_wrap_rejects_objects_it_does_not_know() -> None:
    with pytest.raises(TypeError, match=r"does not know builtins\.object"):
        costwrap.wrap(object())


def test_instrument_rejects_unknown_provider_names() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        costwrap.instrument("acme")


def test_instrument_and_uninstrument_from_many_threads(
    answering: MockServer, openai_client: Any, records: list[CostRecord]
) -> None:
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def flip(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(20):
                costwrap.instrument() if i % 2 else costwrap.uninstrument()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=flip, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    costwrap.instrument()
    chat(openai_client)
    assert len(records) == 1  # exactly one live wrapper, whatever the interleaving
    costwrap.uninstrument()
    chat(openai_client)
    assert len(records) == 1


def test_instrument_before_the_sdk_is_imported_patches_it_on_import() -> None:
    script = textwrap.dedent(f"""
        import sys, json
        import costwrap
        assert "openai" not in sys.modules and "anthropic" not in sys.modules
        assert costwrap.instrument("openai") == ["openai"]
        import httpx2, openai
        body = {chat_body(MINI, chat_usage(10, 5))!r}
        client = openai.OpenAI(api_key="{API_KEY}", max_retries=0,
            http_client=httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json=body))))
        with costwrap.track() as t:
            client.chat.completions.create(model="gpt-4o-mini", messages=[])
        print(t.calls, t.cost)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    calls, cost = out.stdout.split()
    assert (int(calls), Decimal(cost)) == (1, COST)


def test_wrap_patches_the_sdk_parts_a_process_imports_later_and_loads_none_itself() -> None:
    # openai imports most of its API surface lazily (`client.beta`, `client.responses`); wrap()
    # must not import it all (that once cost ~0.7 s of start-up) and must still record it.
    script = textwrap.dedent(f"""
        import sys
        import httpx2, openai
        import costwrap
        chat = {chat_body(MINI, chat_usage(10, 5))!r}
        response = {{"id": "resp_1", "object": "response", "created_at": 1764300000, "status": "completed",
            "model": "{MINI}", "output": [], "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": {{"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                "input_tokens_details": {{"cached_tokens": 0}}, "output_tokens_details": {{"reasoning_tokens": 0}}}}}}
        def answer(request):
            return httpx2.Response(200, json=response if request.url.path.endswith("/responses") else chat)
        client = openai.OpenAI(api_key="{API_KEY}", max_retries=0,
            http_client=httpx2.Client(transport=httpx2.MockTransport(answer)))
        lazy = ["openai.resources.chat.completions.completions", "openai.resources.responses.responses",
                "openai.resources.beta.responses.responses"]
        before = [m for m in lazy if m in sys.modules]
        costwrap.wrap(client)
        print([m for m in lazy if m in sys.modules] == before)
        with costwrap.track() as t:
            client.chat.completions.create(model="gpt-4o-mini", messages=[])
            client.responses.create(model="gpt-4o-mini", input="hi")
        print(t.calls, t.cost)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    untouched, calls, cost = out.stdout.split()
    assert untouched == "True"
    assert (int(calls), Decimal(cost)) == (2, 2 * COST)


def test_an_sdk_older_than_supported_is_left_alone_with_a_warning(
    answering: MockServer,
    openai_client: Any,
    records: list[CostRecord],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import openai

    monkeypatch.setattr(openai, "__version__", "2.9.0")
    assert costwrap.wrap(openai_client) is openai_client
    chat(openai_client)
    assert records == []
    assert "openai 2.9.0 is older than the 3.57 it supports" in caplog.text
