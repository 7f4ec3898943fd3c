"""Provider faults are transparent: costwrap neither hides, changes, retries nor bills them.

Rate limits, server errors, timeouts and connection resets come from the mock transport, with the
SDKs' own retries on (``max_retries=2``, a millisecond of back-off): the wrapped client must raise
the very exception the plain client raises (type, message, status, cause), after the same number
of requests, with no record, and with any budget's reservation given back. A stream that dies
half-way (its body cut short, or the connection dropping under it) is recorded exactly once, as
an estimate, and the caller sees the same chunks and the same error as without costwrap.
"""

from __future__ import annotations

import asyncio
import gc
import re
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

import costwrap
from costwrap import CostRecord
from costwrap.testing import capture
from tests.conftest import MockServer
from tests.reliability.conftest import (
    OPENAI,
    SURFACES,
    Surface,
    Sweep,
    dump,
    dying_stream,
    event_stream,
)

pytestmark = pytest.mark.usefixtures("fast_retries")


def error_body(surface: Surface, status: int) -> dict[str, Any]:
    if surface.provider == "google":
        return {"error": {"code": status, "message": f"upstream said {status}", "status": "UNAVAILABLE"}}
    if surface.provider == "anthropic":
        return {"type": "error", "error": {"type": "overloaded_error", "message": f"upstream said {status}"}}
    return {"error": {"message": f"upstream said {status}", "type": "server_error", "code": None}}


def fault(surface: Surface, kind: str) -> Callable[[httpx2.Request], httpx2.Response]:
    def respond(request: httpx2.Request) -> httpx2.Response:
        if kind == "timeout":
            raise httpx2.ReadTimeout("The read operation timed out", request=request)
        if kind == "reset":
            raise httpx2.ConnectError("[Errno 104] Connection reset by peer", request=request)
        status = int(kind)
        return httpx2.Response(status, json=error_body(surface, status), headers={"retry-after-ms": "1"})

    return respond


def attempt(surface: Surface, client: Any, *, stream: bool, is_async: bool, sweep: Sweep) -> tuple[Any, ...]:
    """What the caller got: the exception's type, message, status and cause, or the result."""

    def described(exc: Exception) -> tuple[Any, ...]:
        sweep.exception(exc)
        status = getattr(exc, "status_code", getattr(exc, "code", None))
        return (type(exc), str(exc), status, type(exc.__cause__), exc.__suppress_context__)

    if is_async:

        async def main() -> tuple[Any, ...]:
            try:
                return ("returned", dump(await surface.acall(client, stream=stream)))
            except Exception as exc:
                return described(exc)

        return asyncio.run(main())
    try:
        return ("returned", dump(surface.call(client, stream=stream)))
    except Exception as exc:
        return described(exc)


@pytest.mark.parametrize("kind", ["429", "500", "timeout", "reset"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_a_provider_fault_reaches_the_caller_unchanged_after_the_same_retries_and_unbilled(
    surface: Surface, is_async: bool, stream: bool, kind: str, *, server: MockServer, sweep: Sweep
) -> None:
    server.default = fault(surface, kind)
    plain = surface.client(server, is_async=is_async, retries=2)
    expected = attempt(surface, plain, stream=stream, is_async=is_async, sweep=sweep)
    sent_plain = len(server.requests)
    assert expected[0] is not str and issubclass(expected[0], Exception)
    assert sent_plain == 3  # the SDK retried twice: the comparison below counts something

    client = costwrap.wrap(surface.client(server, is_async=is_async, retries=2))
    with costwrap.Budget(usd="1", name="reliability") as budget, capture() as t:
        got = attempt(surface, client, stream=stream, is_async=is_async, sweep=sweep)
    assert got == expected
    assert len(server.requests) - sent_plain == sent_plain  # costwrap adds and removes no attempt
    assert t.records == [] and sweep.records == 0  # a failed call is never billed
    totals = budget.totals()
    assert (totals.spent.usd, totals.reserved.usd, totals.reserved.calls, budget.calls_made) == (0, 0, 0, 0)
    assert sweep.internal_errors == []


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_a_call_that_succeeds_after_retries_is_billed_once(
    surface: Surface, is_async: bool, server: MockServer, sweep: Sweep
) -> None:
    for _ in range(2):
        server.add(fault(surface, "500"))
    server.default = surface.responder()
    client = costwrap.wrap(surface.client(server, is_async=is_async, retries=2))
    with capture() as t:
        got = attempt(surface, client, stream=False, is_async=is_async, sweep=sweep)
    assert got[0] == "returned" and len(server.requests) == 3
    assert [r.cost for r in t.records] == [surface.expected_cost]


# --- streams that die half-way -------------------------------------------------------------------------


def first_events(body: bytes, n: int) -> bytes:
    """The first ``n`` SSE events of a body (events end with a blank line)."""
    parts = re.split(rb"(\r?\n\r?\n)", body)
    return b"".join(parts[: 2 * n])


def consume(stream: Any) -> tuple[list[Any], tuple[Any, ...] | None]:
    """Read a stream as a caller does; the chunks seen, and the error it ended with (if any)."""
    chunks: list[Any] = []
    try:
        for chunk in stream:
            chunks.append(dump(chunk))  # noqa: PERF401 - the chunks before a failure are kept
    except Exception as exc:
        return chunks, (type(exc), str(exc), type(exc.__cause__))
    return chunks, None


async def aconsume(stream: Any) -> tuple[list[Any], tuple[Any, ...] | None]:
    chunks: list[Any] = []
    try:
        async for chunk in stream:
            chunks.append(dump(chunk))  # noqa: PERF401 - the chunks before a failure are kept
    except Exception as exc:
        return chunks, (type(exc), str(exc), type(exc.__cause__))
    return chunks, None


def open_stream(surface: Surface, client: Any) -> Any:
    if surface.provider == "openai":
        return client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True
        )
    if surface.provider == "anthropic":
        return client.messages.create(
            model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "x"}], stream=True
        )
    return client.models.generate_content_stream(model="gemini-2.5-flash", contents="x")


def dying(surface: Surface, how: str, *, is_async: bool) -> Callable[[httpx2.Request], httpx2.Response]:
    def respond(request: httpx2.Request) -> httpx2.Response:
        body = surface.stream_body(request, complete=False)
        if how == "cut":
            return event_stream(first_events(body, 4))
        error = httpx2.RemoteProtocolError("peer closed connection without sending complete message body")
        return dying_stream(first_events(body, 4), error, is_async=is_async)

    return respond


@pytest.mark.parametrize("how", ["cut", "dropped"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_a_stream_that_dies_half_way_is_recorded_once_as_an_estimate(
    surface: Surface, is_async: bool, how: str, server: MockServer, sweep: Sweep
) -> None:
    server.default = dying(surface, how, is_async=is_async)

    def read(client: Any) -> tuple[list[Any], tuple[Any, ...] | None]:
        if is_async:

            async def main() -> tuple[list[Any], tuple[Any, ...] | None]:
                opened = open_stream(surface, client)
                return await aconsume(await opened)

            return asyncio.run(main())
        return consume(open_stream(surface, client))

    expected = read(surface.client(server, is_async=is_async))
    assert expected[0], "the stream sent something before it died"
    assert (expected[1] is None) == (how == "cut")
    client = costwrap.wrap(surface.client(server, is_async=is_async))
    with capture() as t:
        got = read(client)
        gc.collect(1)  # the stream proxy is gone: it must not record a second time
    assert got == expected
    (record,) = t.records
    assert record.stream is True and record.estimated is True
    assert record.usage is not None and record.usage.output_tokens > 0  # the text seen was counted
    assert record.cost is not None and record.cost > 0
    assert sweep.records == 1


def test_a_stream_dropped_inside_a_with_block_is_recorded_once(server: MockServer, sweep: Sweep) -> None:
    server.default = dying(OPENAI, "dropped", is_async=False)
    client = costwrap.wrap(OPENAI.client(server))
    seen: list[Any] = []
    with (
        capture() as t,
        pytest.raises(Exception, match="Connection error") as info,
        open_stream(OPENAI, client) as stream,
    ):
        for chunk in stream:
            seen.append(chunk)  # noqa: PERF402 - the chunks before the connection drops are kept
    sweep.exception(info.value)
    del stream
    gc.collect(1)
    assert seen
    assert [(r.stream, r.estimated) for r in t.records] == [(True, True)]


def test_a_stream_abandoned_after_its_first_chunk_is_recorded_once(server: MockServer, sweep: Sweep) -> None:
    server.default = OPENAI.responder()
    client = costwrap.wrap(OPENAI.client(server))
    records: list[CostRecord] = []
    with capture() as t:
        stream = open_stream(OPENAI, client)
        next(iter(stream))
        del stream
        gc.collect(1)
        records = t.records
    assert [(r.stream, r.estimated) for r in records] == [(True, True)]
