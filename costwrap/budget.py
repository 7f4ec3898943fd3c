"""Budgets: stop runaway spend before it happens, and say so the moment a limit is crossed.

``costwrap.budget(usd="0.50")`` is a context manager (``with`` / ``async with``) and a decorator
(sync or async). Inside it every wrapped call, whatever client makes it, is charged to the budget,
and to every enclosing one: budgets nest, and their scope follows ``contextvars`` (asyncio tasks
inherit it; threads do when started with ``contextvars.copy_context().run``).

For each call, before the request is sent, each budget in context atomically *reserves* the call's
worst case (pre-flight: the prompt counted offline plus the output limit, priced) or refuses it
with :class:`~costwrap.BudgetExceeded` without any network call. When the call returns, the
reservation is *settled* to the real cost (or *released* if the call failed). Because reservations
are atomic (a lock in the process, a Lua script in Redis), 1,000 tasks racing on one budget never
spend past it. After the fact, a call that did take a budget past its limit (pre-flight off, or an
estimate that was short) has its record delivered to every sink first; then ``BudgetExceeded`` is
raised. A stream that crosses a limit while it is read is closed (the provider stops generating),
recorded, and ``BudgetExceeded`` is raised from the iterator.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import warnings
from collections.abc import Callable, Generator, Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

from costwrap._context import active
from costwrap._errors import BudgetExceeded, BudgetStoreError, UnpricedModelError
from costwrap._money import MoneyInput, to_decimal
from costwrap.stores import Amount, Limits, MemoryBudgetStore, Totals

logger = logging.getLogger("costwrap")

F = TypeVar("F", bound=Callable[..., Any])

_entered: ContextVar[tuple[Token[tuple[Budget, ...]], ...]] = ContextVar("costwrap_budget_tokens", default=())
"""The tokens to undo each ``with budget`` of this context: per context, so one Budget object
may be entered by many tasks or threads at once."""

RESERVATION_TTL = 600.0
"""Default seconds a reservation lives if its call never settles (a process killed mid-call)."""

_WINDOWS = {"day", "month"}


class Budget:
    """A spending limit for the wrapped LLM calls made inside it: ``with``, ``async with`` or a decorator.

    >>> import costwrap
    >>> with costwrap.budget(usd="0.50", name="summaries") as b:
    ...     pass   # wrapped calls here are charged; one that could cross $0.50 is refused
    >>> b.spent, b.remaining
    (Decimal('0'), Decimal('0.50'))

    - ``usd`` (str, int or Decimal), ``tokens`` (input + output), ``calls``: any combination.
    - ``preflight`` (default on): refuse a call whose worst case could cross a limit, before any
      network call. Off: only calls made once a limit is used up are refused; calls already in
      flight may overshoot by what they cost.
    - ``store``: :class:`~costwrap.RedisBudgetStore` to share the budget between processes and hosts
      (a decorated function then shares it between invocations too).
    - ``window``: ``"day"`` or ``"month"`` (UTC), or seconds for a rolling window.
    - ``on_unpriced``: a call whose model has no price is refused under a USD budget
      (``"refuse"``), or let through with a warning (``"allow"``).
    - ``on_store_error``: an unreachable store refuses calls (``"refuse"``) or lets them through
      with a warning (``"allow"``).
    - ``stop_streams``: close a stream whose running cost crosses a limit (default on).
    - ``warn_at`` (e.g. ``0.8``): call ``on_warn(budget)``, or log a warning, once per window when
      that share of a limit is used.
    - ``reservation_ttl`` (600 s): how long a call's reservation outlives a process that died
      mid-call. Make it longer than your slowest call (a long stream), or that call's worst case
      stops being held while it runs (its real cost is still charged when it ends).
    """

    def __init__(
        self,
        usd: MoneyInput | None = None,
        tokens: int | None = None,
        calls: int | None = None,
        *,
        name: str | None = None,
        preflight: bool = True,
        store: Any = None,
        window: str | float | None = None,
        on_unpriced: str = "refuse",
        on_store_error: str = "refuse",
        stop_streams: bool = True,
        warn_at: float | None = None,
        on_warn: Callable[[Budget], object] | None = None,
        reservation_ttl: float = RESERVATION_TTL,
    ) -> None:
        if usd is None and tokens is None and calls is None:
            raise ValueError("a budget needs at least one limit: usd=, tokens= or calls=")
        for label, value in (("tokens", tokens), ("calls", calls)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"budget {label}= must be a non-negative int, got {value!r}")
        if on_unpriced not in ("refuse", "allow"):
            raise ValueError("on_unpriced must be 'refuse' or 'allow'")
        if on_store_error not in ("refuse", "allow"):
            raise ValueError("on_store_error must be 'refuse' or 'allow'")
        if (
            window is not None
            and window not in _WINDOWS
            and not (isinstance(window, (int, float)) and not isinstance(window, bool) and 0 < window < 3660 * 86400)
        ):
            raise ValueError("window must be 'day', 'month' or a number of seconds under ten years (a rolling window)")
        if warn_at is not None and not 0 < warn_at <= 1:
            raise ValueError("warn_at is a fraction of the limit, between 0 and 1")
        if not (isinstance(reservation_ttl, (int, float)) and 0 < reservation_ttl < 366 * 86400):
            raise ValueError("reservation_ttl must be a positive number of seconds, under a year")
        self.limits = Limits(None if usd is None else to_decimal(usd, "budget usd"), tokens, calls)
        self.name = name or _describe(self.limits)
        self.preflight = preflight
        self._own_store = store is None
        self.store: Any = MemoryBudgetStore() if store is None else store
        self.window = window
        self.on_unpriced = on_unpriced
        self.on_store_error = on_store_error
        self.stop_streams = stop_streams
        self.warn_at = warn_at
        self.on_warn = on_warn
        self.reservation_ttl = float(reservation_ttl)
        self._warned: set[str] = set()

    # --- what a user reads ---------------------------------------------------------------------

    @property
    def limit(self) -> Decimal | None:
        """The USD limit (``None`` if the budget limits only tokens or calls)."""
        return self.limits.usd

    def totals(self) -> Totals:
        """Spent and reserved in the current window (asks the store: Redis for a shared budget)."""
        return self.store.totals(self.window_id(), self.rolling)  # type: ignore[no-any-return]

    @property
    def spent(self) -> Decimal:
        """USD spent in the current window (settled calls; calls in flight not included)."""
        return self.totals().spent.usd

    @property
    def remaining(self) -> Decimal | None:
        """USD left under the limit, never below zero; ``None`` without a USD limit."""
        if self.limits.usd is None:
            return None
        return max(self.limits.usd - self.spent, Decimal(0))

    @property
    def tokens_used(self) -> int:
        """Tokens spent in the current window."""
        return self.totals().spent.tokens

    @property
    def calls_made(self) -> int:
        """Calls charged in the current window."""
        return self.totals().spent.calls

    # --- windows -------------------------------------------------------------------------------

    @property
    def rolling(self) -> float | None:
        """The rolling window in seconds, or ``None`` for a calendar window or none."""
        return float(self.window) if isinstance(self.window, (int, float)) else None

    def window_id(self, now: datetime | None = None) -> str:
        """The window a call made now belongs to (UTC days and months)."""
        if self.window is None:
            return "all"
        if self.rolling:
            return f"r{int(self.rolling)}"
        now = now or datetime.now(UTC)
        return f"d{now:%Y%m%d}" if self.window == "day" else f"m{now:%Y%m}"

    # --- scope ---------------------------------------------------------------------------------

    def __enter__(self) -> Budget:
        _entered.set((*_entered.get(), active.set((*active.get(), self))))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        tokens = _entered.get()
        _entered.set(tokens[:-1])
        active.reset(tokens[-1])

    async def __aenter__(self) -> Budget:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def _fresh(self) -> Budget:
        """The same settings with its own state, unless it shares a store it was given."""
        fresh = copy.copy(self)
        if self._own_store:
            fresh.store = MemoryBudgetStore()
        fresh._warned = set()
        return fresh

    def __call__(self, fn: F) -> F:
        """Use as a decorator: each call of ``fn`` runs under a fresh copy of this budget."""
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            # The body of a generator runs after the decorated call has returned, outside the
            # budget: refuse rather than let its calls through uncounted.
            raise TypeError(
                f"costwrap.budget cannot decorate the generator function {fn.__qualname__}: "
                "use `with costwrap.budget(...)` inside it (or around the loop that consumes it)"
            )
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with self._fresh():
                    return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _maybe_warn(self, window: str, totals: Totals) -> None:
        if self.warn_at is None or window in self._warned:
            return
        for dimension in ("usd", "tokens", "calls"):
            limit = getattr(self.limits, dimension)
            if limit is not None and getattr(totals.spent, dimension) >= limit * (
                Decimal(str(self.warn_at)) if dimension == "usd" else self.warn_at
            ):
                self._warned.add(window)
                if self.on_warn is not None:
                    try:
                        self.on_warn(self)
                    except Exception:  # like a sink: a broken alert must not lose the paid response
                        logger.exception("costwrap: the on_warn callback of budget %r failed", self.name)
                else:
                    logger.warning(
                        "costwrap: budget %r has used %s of its %s %s limit (warn_at=%s)",
                        self.name,
                        getattr(totals.spent, dimension),
                        limit,
                        dimension,
                        self.warn_at,
                    )
                return

    def __repr__(self) -> str:
        return f"<Budget {self.name!r}>"


def _describe(limits: Limits) -> str:
    parts = []
    if limits.usd is not None:
        parts.append(f"${limits.usd}")
    if limits.tokens is not None:
        parts.append(f"{limits.tokens} tokens")
    if limits.calls is not None:
        parts.append(f"{limits.calls} calls")
    return " / ".join(parts)


budget = Budget
"""``costwrap.budget(usd=...)``: the lowercase name the docs use, for ``with`` and ``@`` alike."""


# --- the charge of one call ------------------------------------------------------------------------


@dataclass(slots=True)
class Hold:
    """One budget's reservation for one call."""

    budget: Budget
    window: str
    reservation: str | None
    headroom: Amount | None
    """What the budget had left for this call when it was reserved (for watching a stream)."""


Op = tuple[str, Hold | Budget, tuple[Any, ...]]


def distinct(budgets: tuple[Budget, ...]) -> tuple[Budget, ...]:
    """The budgets to charge, outermost first, each shared total once.

    Two budgets in context on the same store, key and window (the same ``team`` budget decorating
    a function that calls another it decorates) are one total: only the innermost is charged.
    """
    seen: set[Any] = set()
    kept: list[Budget] = []
    for b in reversed(budgets):
        identity = (getattr(b.store, "identity", None) or id(b.store), b.window)
        if identity not in seen:
            seen.add(identity)
            kept.append(b)
    return budgets if len(kept) == len(budgets) else tuple(reversed(kept))


def _store(target: Budget | Hold) -> Any:
    return target.budget.store if isinstance(target, Hold) else target.store


def _failure(target: Budget | Hold, exc: Exception) -> BudgetStoreError:
    # A store that breaks in a way of its own (a bug, a custom store) is still a store failure:
    # the budget must fail closed (or open, if asked), never let the call through uncounted.
    if isinstance(exc, BudgetStoreError):
        return exc
    return BudgetStoreError(f"budget store {_store(target)!r} failed: {type(exc).__name__}: {exc}")


def run(flow: Generator[Op, Any, Any]) -> Any:
    """Drive a charge flow with the stores' synchronous operations."""
    try:
        op = next(flow)
        while True:
            name, target, args = op
            try:
                result = getattr(_store(target), name)(*args)
            except Exception as exc:  # noqa: BLE001 - every store failure is handled by the flow
                op = flow.throw(_failure(target, exc))
            except BaseException as exc:  # Ctrl-C: release what is held, then let it through
                _unwind(flow, exc)
                raise
            else:
                op = flow.send(result)
    except StopIteration as stop:
        return stop.value


def _unwind(flow: Generator[Op, Any, Any], exc: BaseException) -> None:
    """Let a flow release its holds on the way out of an interrupt, best effort."""
    try:
        op = flow.throw(exc)
        while True:
            name, target, args = op
            try:
                result = getattr(_store(target), name)(*args)
            except Exception:  # noqa: BLE001 - best effort: the reservation expires on its own
                result = None
            op = flow.send(result)
    except BaseException:  # noqa: BLE001 - the flow re-raises exc (or stops) when done
        pass


async def arun(flow: Generator[Op, Any, Any]) -> Any:
    """Drive a charge flow with the stores' asynchronous operations (``areserve``...)."""
    try:
        op = next(flow)
        while True:
            name, target, args = op
            try:
                result = await getattr(_store(target), "a" + name)(*args)
            except Exception as exc:  # noqa: BLE001 - every store failure is handled by the flow
                op = flow.throw(_failure(target, exc))
            except BaseException as exc:  # cancelled: release what is held, then let it through
                await _aunwind(flow, exc)
                raise
            else:
                op = flow.send(result)
    except StopIteration as stop:
        return stop.value


async def _aunwind(flow: Generator[Op, Any, Any], exc: BaseException) -> None:
    """:func:`_unwind` for async stores (a second cancellation gives up: reservations expire)."""
    try:
        op = flow.throw(exc)
        while True:
            name, target, args = op
            try:
                result = await getattr(_store(target), "a" + name)(*args)
            except Exception:  # noqa: BLE001 - best effort: the reservation expires on its own
                result = None
            op = flow.send(result)
    except BaseException:  # noqa: BLE001 - the flow re-raises exc (or stops) when done
        pass


def _store_failed(budget: Budget, exc: BudgetStoreError) -> None:
    if budget.on_store_error == "refuse":
        raise exc
    warnings.warn(
        f"costwrap: {exc}; budget {budget.name!r} lets the call through (on_store_error='allow')",
        RuntimeWarning,
        stacklevel=4,
    )


def reserve_flow(budgets: Iterable[Budget], estimate: Any, preflight_applies: bool) -> Generator[Op, Any, list[Hold]]:
    """Reserve the call in every budget, outermost first; refuse (releasing what was held) if one says no."""
    holds: list[Hold] = []
    try:
        for b in budgets:
            limits = b.limits
            usd = Decimal(0)
            if limits.usd is not None and estimate is not None and estimate.usd is None:
                if b.on_unpriced == "refuse":
                    raise UnpricedModelError(estimate.model or "?", budget=b.name)
                warnings.warn(
                    f"costwrap: budget {b.name!r} lets through a call it cannot price (on_unpriced='allow')",
                    RuntimeWarning,
                    stacklevel=4,
                )
            if preflight_applies and b.preflight and estimate is not None and estimate.usd is not None:
                usd = estimate.usd
            tokens = estimate.tokens if preflight_applies and b.preflight and estimate is not None else 0
            want = Amount(usd if limits.usd is not None else Decimal(0), tokens if limits.tokens is not None else 0, 1)
            window = b.window_id()
            try:
                grant = yield ("reserve", b, (window, b.rolling, want, limits, b.reservation_ttl))
            except BudgetStoreError as exc:
                _store_failed(b, exc)
                continue
            if grant.reservation is None:
                dimension = grant.refused
                spent = getattr(grant.totals.spent, dimension)
                asked = getattr(want, dimension)
                raise BudgetExceeded(
                    budget=b.name,
                    limit=getattr(limits, dimension),
                    spent=spent,
                    dimension=dimension,
                    estimate=asked if asked else None,
                    reason=None if asked else "the limit is used up",
                )
            held = grant.totals.spent + grant.totals.reserved - want
            headroom = Amount(
                (limits.usd - held.usd) if limits.usd is not None else Decimal(-1),
                (limits.tokens - held.tokens) if limits.tokens is not None else -1,
                0,
            )
            holds.append(Hold(b, window, grant.reservation, headroom))
    except BaseException:
        yield from release_flow(holds)
        raise
    return holds


def release_flow(holds: Iterable[Hold]) -> Generator[Op, Any, None]:
    """Drop the reservations of a call that failed or billed nothing."""
    for hold in holds:
        try:
            yield ("release", hold, (hold.window, hold.budget.rolling, hold.reservation))
        except BudgetStoreError as exc:
            logger.warning("costwrap: could not release a reservation: %s (it expires on its own)", exc)


def settle_flow(holds: Iterable[Hold], actual: Amount, record: Any) -> Generator[Op, Any, BudgetExceeded | None]:
    """Settle every reservation to the call's real cost; the exception to raise if a limit was crossed."""
    crossed: list[tuple[Decimal, BudgetExceeded]] = []
    for hold in holds:
        b = hold.budget
        try:
            totals = yield ("settle", hold, (hold.window, b.rolling, hold.reservation, actual))
        except BudgetStoreError as exc:
            logger.warning("costwrap: budget %r could not record a call's cost: %s", b.name, exc)
            continue
        b._maybe_warn(hold.window, totals)
        for dimension in ("usd", "tokens", "calls"):
            limit = getattr(b.limits, dimension)
            spent = getattr(totals.spent, dimension)
            if limit is not None and spent > limit:
                ratio = Decimal(spent) / Decimal(limit) if limit else Decimal("Infinity")
                crossed.append(
                    (
                        ratio,
                        BudgetExceeded(
                            budget=b.name,
                            limit=limit,
                            spent=spent,
                            dimension=dimension,
                            record=record,
                        ),
                    )
                )
    if not crossed:
        return None
    return max(crossed, key=lambda pair: pair[0])[1]  # the tightest budget crossed


class StreamWatch:
    """Counts a stream's output as it passes and says when its running cost crosses a budget."""

    __slots__ = ("_estimate", "_holds", "_model", "_seen", "output_tokens")

    def __init__(self, holds: list[Hold], estimate: Any, model: str | None) -> None:
        self._holds = [h for h in holds if h.budget.stop_streams and h.headroom is not None]
        self._estimate = estimate
        self._model = model
        self._seen = 0
        self.output_tokens = 0

    def over(self, accumulator: Any) -> BudgetExceeded | None:
        """The budget the stream has now taken past its limit, or None."""
        parts = getattr(accumulator, "parts", None)
        if not self._holds or parts is None or len(parts) == self._seen:
            return None
        from costwrap import tokens

        new = "".join(parts[self._seen :])
        self._seen = len(parts)
        self.output_tokens += tokens.count_text(new, self._model)[0]
        estimate = self._estimate
        running_usd = None
        if estimate.output_rate is not None:
            running_usd = (estimate.input_usd or Decimal(0)) + estimate.output_rate * self.output_tokens
        running_tokens = estimate.prompt_tokens + self.output_tokens
        for hold in self._holds:
            limits, headroom = hold.budget.limits, hold.headroom
            assert headroom is not None
            if limits.usd is not None and running_usd is not None and running_usd > headroom.usd:
                return BudgetExceeded(
                    budget=hold.budget.name,
                    limit=limits.usd,
                    spent=limits.usd - headroom.usd + running_usd,
                    reason="the stream's running cost took it past its limit: the stream was closed",
                )
            if limits.tokens is not None and running_tokens > headroom.tokens:
                return BudgetExceeded(
                    budget=hold.budget.name,
                    limit=limits.tokens,
                    spent=limits.tokens - headroom.tokens + running_tokens,
                    dimension="tokens",
                    reason="the stream's running tokens took it past its limit: the stream was closed",
                )
        return None
