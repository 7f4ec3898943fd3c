"""Proxies that record a call when its stream or raw response is consumed, never before.

A stream is not read ahead or buffered: a ``wrapt.ObjectProxy`` passes each item on as it comes,
lets the provider's accumulator look at it, and records the call exactly once, whichever comes
first: exhaustion, ``close()``, ``with`` exit, an exception mid-stream, or garbage collection.
``isinstance(proxy, openai.Stream)`` stays true and every other attribute (``.response``,
helper methods) passes through.

wrapt's default ``__enter__`` returns the *unwrapped* object, so these proxies override it to
return themselves; otherwise ``with create(stream=True) as s:`` would iterate past the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import weakref
from collections.abc import Iterator
from types import GeneratorType, TracebackType
from typing import TYPE_CHECKING, Any

import wrapt

from costwrap._config import get_config
from costwrap._errors import BudgetExceeded
from costwrap._guard import guard, report

if TYPE_CHECKING:
    from costwrap._call import Call

_IF_ERROR_IN_FLIGHT: dict[bool, tuple[type[BaseException], ...]] = {True: (BudgetExceeded,), False: ()}
"""What closing a stream may not raise over an exception already on its way out of a ``with``."""

_UNSET: Any = object()


class _Recorder:
    """Shared finalise-once logic for the stream proxies (mixed into both)."""

    _self_call: Call
    _self_acc: Any
    _self_done: bool
    _self_seen: bool = False  # an item came through (set on the sync proxy only)

    def _self_finish(self, completed: bool, failed: bool = False) -> None:
        """Record the call once, then settle its budgets (which may raise BudgetExceeded)."""
        if self._self_record(completed, failed):
            self._self_call.close_charge()

    def _self_record(self, completed: bool, failed: bool = False) -> bool:
        if self._self_done:
            return False
        self._self_done = True
        if self._self_unsent(failed):
            return True  # no record: the charge is released
        with guard("recording a stream"):
            self._self_call.record_stream(self._self_acc, completed)
        return True

    def _self_unsent(self, failed: bool) -> bool:
        """Whether the request was never made, or failed before any output.

        That is a generator stream (google-genai's sync streams send the request on the first
        ``next()``) that never started, or whose first step raised: nothing was generated, so
        nothing is billed (a failed call is never billed).
        """
        stream = self.__wrapped__  # type: ignore[attr-defined]
        if not isinstance(stream, GeneratorType) or self._self_seen:
            return False
        return failed or (stream.gi_frame is not None and not stream.gi_suspended and not stream.gi_running)

    def _self_over_budget(self) -> BudgetExceeded | None:
        watch = self._self_call.watch
        if watch is None:
            return None
        with guard("watching a stream's budget"):
            return watch.over(self._self_acc)
        return None

    def _self_drop_accumulator(self, exc: Exception, item: Any) -> bool:
        """The accumulator failed on a chunk: report it, stop reading chunks, pass them on."""
        if get_config().strict:
            raise exc
        report("reading a stream chunk", exc)
        self._self_acc = blind = _Blind(self._self_acc, self._self_call.hide_usage)
        return blind.add(item)


class _Steps:
    """A sync stream's per-chunk work: next item, shown to the accumulator, hidden or passed on."""

    __slots__ = ("acc", "call", "iterator", "seen", "source", "watched")

    def __init__(self, source: Any, call: Call, accumulator: Any) -> None:
        self.source = source
        self.call = call
        self.acc = accumulator
        self.iterator: Any = None
        self.seen = False  # an item came through: the request was made and answered
        self.watched = call.watch is not None  # a budget stops this stream when it runs out

    def next(self) -> Any:
        """The next item for the caller; raises what the stream raises (StopIteration at the end)."""
        iterator = self.iterator
        if iterator is None:
            iterator = self.iterator = iter(self.source)
        while True:
            item = next(iterator)
            self.seen = True
            try:
                keep = self.acc.add(item)
            except Exception as exc:  # noqa: BLE001 - reported in _drop; the stream must go on
                keep = self._drop(exc, item)
            if keep:
                return item

    def items(self, proxy: TrackedStream) -> Iterator[Any]:
        """:meth:`next` as a generator, for ``for`` loops: resuming it costs less than two calls per item."""
        iterator = self.iterator
        if iterator is None:
            iterator = self.iterator = iter(self.source)
        try:
            for item in iterator:
                self.seen = True
                try:
                    keep = self.acc.add(item)
                except Exception as exc:  # noqa: BLE001 - reported in _drop; the stream must go on
                    keep = self._drop(exc, item)
                if keep:
                    if self.watched:
                        proxy._self_check_budget()
                    yield item
        except GeneratorExit:
            raise  # the loop stopped early: the proxy records on close(), `with` exit or collection
        except BaseException:
            with contextlib.suppress(BudgetExceeded):  # the error in flight wins (Ctrl-C, a timeout)
                proxy._self_finish(False, failed=True)
            raise
        proxy._self_finish(True)

    def _drop(self, exc: Exception, item: Any) -> bool:
        """The accumulator failed on a chunk: report it, stop reading chunks, pass them on."""
        if get_config().strict:
            raise exc
        report("reading a stream chunk", exc)
        self.acc = blind = _Blind(self.acc, self.call.hide_usage)
        return blind.add(item)


def blind_accumulator(hide_usage: bool) -> Any:
    """An accumulator for a stream whose own could not be built: hides, counts nothing."""
    return _Blind(None, hide_usage)


class _Blind:
    """An accumulator that stopped reading after an error: it still counts text it already saw.

    It still hides the usage-only chunk costwrap asked for (``hide_usage``): the caller never
    asked for it, and code that reads ``chunk.choices[0]`` would fail on it.
    """

    def __init__(self, broken: Any, hide_usage: bool) -> None:
        self._broken = broken
        self._hide = hide_usage

    def add(self, item: Any) -> bool:
        return not (self._hide and getattr(item, "usage", None) is not None and not getattr(item, "choices", None))

    def result(self) -> Any:
        try:
            return self._broken.result()
        except Exception:  # noqa: BLE001 - it already failed once; estimate instead
            return None

    def text(self) -> str:
        try:
            return str(self._broken.text())
        except Exception:  # noqa: BLE001
            return ""


class TrackedStream(_Recorder, wrapt.ObjectProxy[Any]):
    """A synchronous stream that records its call when it ends."""

    def __init__(self, wrapped: Any, call: Call, accumulator: Any) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_steps = _Steps(wrapped, call, accumulator)
        self._self_done = False

    # The per-chunk state lives on a plain slotted object: reading an attribute of a wrapt proxy
    # costs ~150 ns, and a chunk would otherwise read four.
    @property
    def _self_acc(self) -> Any:
        return self._self_steps.acc

    @_self_acc.setter
    def _self_acc(self, accumulator: Any) -> None:
        self._self_steps.acc = accumulator

    @property
    def _self_seen(self) -> bool:  # type: ignore[override]
        return self._self_steps.seen

    def __iter__(self) -> Iterator[Any]:
        # A generator over the same steps as __next__ (a loop and next() calls can be mixed).
        return self._self_steps.items(self)

    def __next__(self) -> Any:
        steps = self._self_steps
        try:
            item = steps.next()
        except StopIteration:
            self._self_finish(True)
            raise
        except BaseException:
            with contextlib.suppress(BudgetExceeded):  # the error in flight wins (Ctrl-C, a timeout)
                self._self_finish(False, failed=True)
            raise
        if steps.watched:
            self._self_check_budget()
        return item

    def _self_check_budget(self) -> None:
        exceeded = self._self_over_budget()
        if exceeded is not None:
            self._self_stop(exceeded)

    def _self_stop(self, exceeded: BudgetExceeded) -> None:
        """A budget ran out mid-stream: close it (the provider stops generating), record, raise."""
        try:
            close = getattr(self.__wrapped__, "close", None)
            if close is not None:
                close()
        finally:
            try:
                self._self_finish(False)
            except BudgetExceeded as settled:  # the settlement saw the same crossing: keep its totals
                exceeded.spent = settled.spent
        exceeded.record = self._self_call.outcome
        raise exceeded

    def __enter__(self) -> TrackedStream:
        enter = getattr(self.__wrapped__, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__exit__", None)
            return exit_(exc_type, exc, tb) if exit_ is not None else None
        finally:
            with contextlib.suppress(*_IF_ERROR_IN_FLIGHT[exc is not None]):
                self._self_finish(False)

    def close(self) -> Any:
        """Close the underlying stream (the provider stops generating) and record the call."""
        try:
            close = getattr(self.__wrapped__, "close", None)
            return close() if close is not None else None
        finally:
            self._self_finish(False)

    def __del__(self) -> None:
        try:
            self._self_finish(False)
        except BaseException:  # noqa: BLE001 - nothing may escape a finaliser
            pass


class TrackedAsyncStream(_Recorder, wrapt.ObjectProxy[Any]):
    """An asynchronous stream that records its call when it ends; async closes are awaited."""

    def __init__(self, wrapped: Any, call: Call, accumulator: Any) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_acc = accumulator
        self._self_done = False
        self._self_iter: Any = None

    def __aiter__(self) -> TrackedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        iterator = self._self_iter
        if iterator is None:
            iterator = self._self_iter = self.__wrapped__.__aiter__()
        while True:
            try:
                item = await iterator.__anext__()
            except StopAsyncIteration:
                await self._self_afinish(True)
                raise
            except BaseException:
                with contextlib.suppress(BudgetExceeded):  # the error in flight wins (cancellation)
                    await self._self_afinish(False)
                raise
            try:
                keep = self._self_acc.add(item)
            except Exception as exc:  # noqa: BLE001 - reported there; the stream must go on
                keep = self._self_drop_accumulator(exc, item)
            if keep:
                if self._self_call.watch is not None:
                    exceeded = self._self_over_budget()
                    if exceeded is not None:
                        await self._self_astop(exceeded)
                return item

    async def _self_afinish(self, completed: bool) -> None:
        if self._self_record(completed):
            await self._self_call.aclose_charge()

    async def _self_astop(self, exceeded: BudgetExceeded) -> None:
        try:
            await self._self_close_wrapped()
        finally:
            try:
                await self._self_afinish(False)
            except BudgetExceeded as settled:
                exceeded.spent = settled.spent
        exceeded.record = self._self_call.outcome
        raise exceeded

    async def _self_close_wrapped(self) -> Any:
        close = getattr(self.__wrapped__, "close", None) or getattr(self.__wrapped__, "aclose", None)
        result = close() if close is not None else None
        if inspect.isawaitable(result):
            result = await result
        return result

    async def __aenter__(self) -> TrackedAsyncStream:
        enter = getattr(self.__wrapped__, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__aexit__", None)
            return (await exit_(exc_type, exc, tb)) if exit_ is not None else None
        finally:
            with contextlib.suppress(*_IF_ERROR_IN_FLIGHT[exc is not None]):
                await self._self_afinish(False)

    async def close(self) -> Any:
        """Close the underlying stream (awaited when it is async) and record the call."""
        try:
            return await self._self_close_wrapped()
        finally:
            await self._self_afinish(False)

    async def aclose(self) -> Any:
        """Async generators' spelling of :meth:`close`."""
        return await self.close()

    def __del__(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop running: settle synchronously
            loop = None
        try:
            if loop is None or loop.is_closed():
                self._self_finish(False)
            else:
                # Abandoned inside a running loop: record now and settle through the async store
                # on the loop (never a blocking call there, and an async-only store still works).
                task = loop.create_task(self._self_afinish(False))
                _PENDING.add(task)
                task.add_done_callback(_settled)
        except BaseException:  # noqa: BLE001 - nothing may escape a finaliser
            pass


_PENDING: set[Any] = set()
"""Settlements of abandoned async streams still running (a task needs a strong reference)."""


def _settled(task: Any) -> None:
    _PENDING.discard(task)
    if not task.cancelled() and task.exception() is not None and not isinstance(task.exception(), BudgetExceeded):
        report("settling an abandoned stream", task.exception())


def wrap_stream(stream: Any, call: Call, accumulator: Any) -> Any:
    """Proxy ``stream`` so its call is recorded when it ends."""
    if hasattr(stream, "__anext__") or hasattr(stream, "__aiter__"):
        return TrackedAsyncStream(stream, call, accumulator)
    return TrackedStream(stream, call, accumulator)


class TrackedRawResponse(wrapt.ObjectProxy[Any]):
    """A ``with_raw_response`` / ``with_streaming_response`` result: recorded at its first ``parse()``."""

    def __init__(self, wrapped: Any, call: Call) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_first: Any = _UNSET
        self._self_result: Any = _UNSET

    def _self_handle(self, parsed: Any) -> Any:
        if self._self_first is _UNSET:
            self._self_first = self._self_result = parsed
            with guard("recording a raw response"):
                self._self_result = self._self_call.finish_parsed(parsed)
            return self._self_result
        # The SDK caches parse(); the same object again gets the same (possibly proxied) result.
        return self._self_result if parsed is self._self_first else parsed

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """Parse the body (the SDK's own ``parse``) and record the call the first time."""
        first = self._self_first is _UNSET
        result = self._self_handle(self.__wrapped__.parse(*args, **kwargs))
        if first and not self._self_call.deferred:
            self._self_call.close_charge()
        return result

    def _self_body_read(self) -> bool:
        http = getattr(self.__wrapped__, "http_response", None)
        return http is not None and hasattr(http, "_content")  # httpx keeps a read body here

    def __del__(self) -> None:
        # Never parsed (the caller read only headers or the raw JSON): record it now if its body
        # is already in memory, so the spend is not lost; otherwise give the reservation back.
        if self._self_first is not _UNSET:
            return
        try:
            with contextlib.suppress(BudgetExceeded):  # nobody is there to receive it
                if self._self_body_read() and not inspect.iscoroutinefunction(self.__wrapped__.parse):
                    self.parse()
                else:
                    self._self_call.close_charge()
        except BaseException:  # noqa: BLE001 - nothing may escape a finaliser
            pass


class TrackedAsyncRawResponse(TrackedRawResponse):
    """The async variant: ``await response.parse()``."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        """Parse the body (awaited) and record the call the first time."""
        first = self._self_first is _UNSET
        result = self._self_handle(await self.__wrapped__.parse(*args, **kwargs))
        if first and not self._self_call.deferred:
            await self._self_call.aclose_charge()
        return result


def wrap_raw_response(response: Any, call: Call) -> Any:
    """Proxy a raw response so parsing it records the call."""
    if inspect.iscoroutinefunction(type(response).parse):
        return TrackedAsyncRawResponse(response, call)
    return TrackedRawResponse(response, call)


class _DeferredStream:
    """An awaitable that awaits the SDK's request and hands back the tracked stream.

    Used for async stream managers, which hold the request as an awaitable; nothing runs (and no
    extra coroutine exists to warn about) until the manager awaits it.
    """

    __slots__ = ("_call", "_original", "_sent")

    def __init__(self, original: Any, call: Call, sent: list[bool]) -> None:
        self._original = original
        self._call = call
        self._sent = sent

    def __await__(self) -> Any:
        self._sent.append(True)
        call = self._call
        try:
            raw = yield from self._original.__await__()
        except BaseException:
            yield from call.aclose_charge().__await__()  # the request failed: release its reservations
            raise
        return wrap_stream(raw, call, call.spec.accumulator(call.point.operation, False))


def hook_stream_manager(manager: Any, call: Call) -> Any:
    """Make a ``.stream()`` manager (Anthropic's) track the raw stream it opens on entry.

    The manager keeps the request it will make in a private attribute (``__api_request``); the
    SDK's ``MessageStream`` then iterates that raw stream, so helpers (``text_stream``,
    ``get_final_message()``, ``until_done()``) all pass through the proxy. Without that
    attribute (an SDK change), the call is logged as unrecorded, never broken.
    """
    attributes = vars(manager)
    name = next((key for key in attributes if key.endswith("__api_request")), None)
    if name is None:
        raise AttributeError(f"{type(manager).__qualname__} has no request to hook: cannot record its stream")
    original = attributes[name]
    sent: list[bool] = []  # whether the manager was entered and made its request
    if callable(original):

        def request() -> Any:
            sent.append(True)
            try:
                raw = original()
            except BaseException:
                call.close_charge()  # the request failed: release its reservations
                raise
            return wrap_stream(raw, call, call.spec.accumulator(call.point.operation, False))

        attributes[name] = request
    else:
        attributes[name] = _DeferredStream(original, call, sent)
    if call.holds:
        weakref.finalize(manager, _release_unsent, call, sent)
    return manager


def _release_unsent(call: Call, sent: list[bool]) -> None:
    """A stream manager collected without ever being entered: give its reservations back."""
    if sent:
        return
    try:
        call.close_charge()
    except BaseException:  # noqa: BLE001 - a finaliser: the reservation expires on its own
        pass


class TrackedItems(wrapt.ObjectProxy[Any]):
    """An iterator of finished batch requests: each one is recorded as it is read."""

    def __init__(self, wrapped: Any, call: Call) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_iter: Any = None

    def __iter__(self) -> TrackedItems:
        return self

    def __next__(self) -> Any:
        if self._self_iter is None:
            self._self_iter = iter(self.__wrapped__)
        item = next(self._self_iter)
        with guard("recording a batch result"):
            self._self_call.record_batch_item(item)
        return item


class TrackedAsyncItems(wrapt.ObjectProxy[Any]):
    """The async variant of :class:`TrackedItems`."""

    def __init__(self, wrapped: Any, call: Call) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_iter: Any = None

    def __aiter__(self) -> TrackedAsyncItems:
        return self

    async def __anext__(self) -> Any:
        if self._self_iter is None:
            self._self_iter = self.__wrapped__.__aiter__()
        item = await self._self_iter.__anext__()
        with guard("recording a batch result"):
            self._self_call.record_batch_item(item)
        return item


def wrap_items(items: Any, call: Call) -> Any:
    """Proxy an iterator of batch results so each succeeded request is recorded once."""
    if hasattr(items, "__aiter__"):
        return TrackedAsyncItems(items, call)
    return TrackedItems(items, call)
