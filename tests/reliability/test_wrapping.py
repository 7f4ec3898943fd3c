"""Wrapping hygiene: racing instrument()/uninstrument(), other tools' wrappers, repeated wraps.

- ``instrument()`` and ``uninstrument()`` flipped by many threads while other threads make calls:
  no call fails or changes, none is recorded twice, and once the dust settles exactly one record
  per call under ``instrument()``, none after ``uninstrument()``, with the SDK method pristine.
- Another tool's wrapper on the same SDK method (a plain ``wrapt.wrap_function_wrapper``, as
  OpenTelemetry's instrumentors install), before or after costwrap's: both run; taking costwrap off
  (``unwrap`` or ``uninstrument``) leaves the other tool's wrapper installed and working; putting
  costwrap back never counts a call twice.
- Wrapping one client again and again (from many threads, under ``instrument()``, through
  ``with_options``) never counts a call twice, and each callback hears of each call once.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
from typing import Any

import pytest
import wrapt

import costwrap
from costwrap import CostRecord
from costwrap.testing import capture
from tests.conftest import MockServer
from tests.reliability.conftest import ANTHROPIC, OPENAI, Surface, Sweep, dump


def method_of(surface: Surface, is_async: bool) -> tuple[type, str]:
    if surface.provider == "openai":
        from openai.resources.chat.completions import completions

        return (completions.AsyncCompletions if is_async else completions.Completions), "create"
    from anthropic.resources.messages import messages

    return (messages.AsyncMessages if is_async else messages.Messages), "create"


def pristine(cls: type, name: str) -> Any:
    """The SDK method with no costwrap patch left (clients wrapped by earlier tests collected)."""
    gc.collect()
    costwrap.uninstrument()
    original = cls.__dict__[name]
    assert not isinstance(original, wrapt.FunctionWrapper), "a patch survived from an earlier test"
    return original


def call(surface: Surface, client: Any, is_async: bool) -> Any:
    if is_async:
        return dump(asyncio.run(surface.acall(client)))
    return dump(surface.call(client))


def costwrap_layers(obj: Any) -> int:
    """How many costwrap wrappers are stacked in an installed method."""
    layers = 0
    while isinstance(obj, wrapt.FunctionWrapper):
        handler = obj._self_wrapper
        if getattr(handler, "__module__", "").startswith("costwrap"):
            layers += 1
        obj = obj.__wrapped__
    return layers


# --- racing instrument() / uninstrument() ---------------------------------------------------------------


def test_instrument_and_uninstrument_racing_with_calls_never_break_or_double_count(sweep: Sweep) -> None:
    from openai.resources.chat.completions.completions import Completions

    original = pristine(Completions, "create")
    server = MockServer()
    server.default = OPENAI.responder()
    client = OPENAI.client(server)  # never wrap()ped: only instrument() decides whether it is recorded
    expected = call(OPENAI, client, False)
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []
    per_call: list[int] = []
    results: list[Any] = []
    lock = threading.Lock()

    def flipper(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(30):
                if i % 2:
                    costwrap.instrument("openai")
                else:
                    costwrap.uninstrument()
        except BaseException as exc:
            errors.append(exc)

    def caller() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                with capture() as t:
                    result = call(OPENAI, client, False)
                with lock:
                    per_call.append(len(t.records))
                    results.append(result)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=flipper, args=(i,)) for i in range(6)]
    threads += [threading.Thread(target=contextvars.copy_context().run, args=(caller,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [expected] * 150  # every call answered, unchanged, whatever the interleaving
    assert set(per_call) <= {0, 1}  # never recorded twice

    costwrap.instrument("openai")
    assert costwrap_layers(Completions.__dict__["create"]) == 1
    with capture() as t:
        for _ in range(20):
            call(OPENAI, client, False)
    assert t.calls == 20
    costwrap.uninstrument()
    assert Completions.__dict__["create"] is original  # the SDK method is back, untouched
    with capture() as t:
        for _ in range(20):
            call(OPENAI, client, False)
    assert t.calls == 0


def test_wrap_and_unwrap_of_other_clients_racing_with_calls_never_double_count(sweep: Sweep) -> None:
    server = MockServer()
    server.default = OPENAI.responder()
    steady = costwrap.wrap(OPENAI.client(server))  # wrapped throughout: exactly one record per call
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    per_call: list[int] = []

    def churn() -> None:
        try:
            barrier.wait()
            for _ in range(40):
                other = costwrap.wrap(OPENAI.client(server), tags={"churn": "yes"})
                costwrap.unwrap(other)
        except BaseException as exc:
            errors.append(exc)

    def caller() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                with capture() as t:
                    call(OPENAI, steady, False)
                per_call.append(len(t.records))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=churn) for _ in range(4)]
    threads += [threading.Thread(target=contextvars.copy_context().run, args=(caller,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert per_call == [1] * 100


# --- another tool's wrapper on the same method ---------------------------------------------------------

CASES = [
    pytest.param(OPENAI, False, id="openai-sync"),
    pytest.param(OPENAI, True, id="openai-async"),
    pytest.param(ANTHROPIC, False, id="anthropic-sync"),
]


@pytest.mark.parametrize("removal", ["unwrap", "uninstrument"])
@pytest.mark.parametrize("order", ["theirs-first", "ours-first"])
@pytest.mark.parametrize(("surface", "is_async"), CASES)
def test_another_tools_wrapper_and_ours_both_run_and_ours_comes_off_cleanly(
    surface: Surface, is_async: bool, order: str, removal: str, *, monkeypatch: pytest.MonkeyPatch, sweep: Sweep
) -> None:
    cls, name = method_of(surface, is_async)
    original = pristine(cls, name)
    monkeypatch.setattr(cls, name, original)  # whatever happens, the SDK gets its method back
    server = MockServer()
    server.default = surface.responder()
    client = surface.client(server, is_async=is_async)
    expected = call(surface, client, is_async)
    theirs_ran: list[str] = []

    def theirs(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        theirs_ran.append("theirs")
        return wrapped(*args, **kwargs)

    def install_ours() -> None:
        if removal == "unwrap":
            costwrap.wrap(client)
        else:
            costwrap.instrument(surface.provider)

    def remove_ours() -> None:
        if removal == "unwrap":
            costwrap.unwrap(client)
        else:
            costwrap.uninstrument()

    if order == "theirs-first":
        wrapt.wrap_function_wrapper(cls, name, theirs)
        their_wrapper = cls.__dict__[name]
        install_ours()
    else:
        install_ours()
        wrapt.wrap_function_wrapper(cls, name, theirs)
        their_wrapper = cls.__dict__[name]

    with capture() as t:
        assert call(surface, client, is_async) == expected
    assert theirs_ran == ["theirs"] and t.calls == 1  # both ran, once each

    remove_ours()
    assert cls.__dict__[name] is their_wrapper  # the other tool's wrapper is still installed
    with capture() as t:
        assert call(surface, client, is_async) == expected
    assert theirs_ran == ["theirs"] * 2 and t.calls == 0  # theirs works; ours is off

    install_ours()  # costwrap back again: still one record per call
    with capture() as t:
        assert call(surface, client, is_async) == expected
    assert theirs_ran == ["theirs"] * 3 and t.calls == 1
    remove_ours()

    # The other tool unwraps the way OpenTelemetry's `unwrap` does (one layer off the top).
    setattr(cls, name, cls.__dict__[name].__wrapped__)
    with capture() as t:
        assert call(surface, client, is_async) == expected
    assert t.calls == 0
    install_ours()
    with capture() as t:
        assert call(surface, client, is_async) == expected
    assert t.calls == 1  # a stale, switched-off costwrap layer left behind never counts twice
    remove_ours()


# --- one client wrapped again and again --------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_wrapping_one_client_again_and_again_never_double_counts(is_async: bool, stream: bool, sweep: Sweep) -> None:
    server = MockServer()
    server.default = OPENAI.responder()
    client = OPENAI.client(server, is_async=is_async)
    heard: list[CostRecord] = []
    for i in range(50):
        assert costwrap.wrap(client, on_cost=heard.append, tags={"round": str(i)}) is client

    def make_call(target: Any) -> None:
        if is_async:
            asyncio.run(OPENAI.acall(target, stream=stream))
        else:
            OPENAI.call(target, stream=stream)

    with capture() as t:
        make_call(client)
    assert t.calls == 1 and len(heard) == 1 and sweep.records == 1
    assert dict(t.records[0].tags) == {"round": "49"}  # options merged, the last tags win

    costwrap.instrument()  # on top of wrap(): still once
    with capture() as t:
        make_call(client)
    assert t.calls == 1 and len(heard) == 2

    copy = costwrap.wrap(client.with_options(timeout=30))  # a copy keeps the options; wrapped again
    with capture() as t:
        make_call(copy)
    assert t.calls == 1 and len(heard) == 3


def test_wrapping_one_client_from_many_threads_at_once_never_double_counts(sweep: Sweep) -> None:
    server = MockServer()
    server.default = OPENAI.responder()
    client = OPENAI.client(server)
    callbacks = [[] for _ in range(8)]  # type: list[list[CostRecord]]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def wrapper_thread(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(25):
                costwrap.wrap(client, on_cost=callbacks[i].append)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapper_thread, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with capture() as t:
        for _ in range(3):
            OPENAI.call(client)
    assert t.calls == 3 and sweep.records == 3
    assert [len(c) for c in callbacks] == [3] * 8  # every thread's callback kept, each heard each call once
