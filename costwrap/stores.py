"""Where a budget keeps its state: in the process, or in Redis shared by processes and hosts.

:class:`MemoryBudgetStore` keeps it in the process; :class:`RedisBudgetStore` in Redis, shared by
every process and host that names the same key.

A store holds one budget's spend per window and the reservations of the calls in flight. Its three
operations are atomic: ``reserve`` (check the limits and hold an amount, or refuse), ``settle``
(drop the hold, add what the call really cost) and ``release`` (drop the hold of a call that
failed). Reservations expire on their own (``reservation_ttl``), so a process that dies mid-call
cannot hold a budget forever.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from costwrap._errors import BudgetStoreError
from costwrap._money import exact_add, exact_subtract

if TYPE_CHECKING:
    import asyncio

_ZERO = Decimal(0)
_NANO = Decimal("1e-9")


@dataclass(frozen=True, slots=True)
class Amount:
    """USD, tokens and calls: what a call wants, costs, or what a budget has spent."""

    usd: Decimal = _ZERO
    tokens: int = 0
    calls: int = 0

    def __add__(self, other: Amount) -> Amount:
        return Amount(exact_add(self.usd, other.usd), self.tokens + other.tokens, self.calls + other.calls)

    def __sub__(self, other: Amount) -> Amount:
        return Amount(exact_subtract(self.usd, other.usd), self.tokens - other.tokens, self.calls - other.calls)


@dataclass(frozen=True, slots=True)
class Limits:
    """A budget's limits; ``None`` means that dimension is not limited."""

    usd: Decimal | None = None
    tokens: int | None = None
    calls: int | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    """A budget's state in one window: what was spent and what calls in flight hold."""

    spent: Amount = field(default_factory=Amount)
    reserved: Amount = field(default_factory=Amount)


@dataclass(frozen=True, slots=True)
class Grant:
    """The answer to ``reserve``: a reservation id, or the dimension that refused."""

    reservation: str | None
    refused: str | None
    totals: Totals


def refusal(totals: Totals, want: Amount, limits: Limits) -> str | None:
    """The first dimension whose limit ``want`` would cross (or that is already used up), or None."""
    for dimension in ("usd", "tokens", "calls"):
        limit = getattr(limits, dimension)
        if limit is None:
            continue
        held = getattr(totals.spent, dimension) + getattr(totals.reserved, dimension)
        asked = getattr(want, dimension)
        if held + asked > limit or (not asked and held >= limit):
            return dimension
    return None


class MemoryBudgetStore:
    """A budget's state in this process (thread-safe). What a budget uses when given no store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent: dict[str, Amount] = {}
        self._log: dict[str, list[tuple[float, Amount]]] = {}
        self._reserved: dict[str, dict[str, tuple[Amount, float]]] = {}
        self._ids = itertools.count(1)

    def _totals(self, window: str, rolling: float | None, now: float) -> Totals:
        holds = self._reserved.setdefault(window, {})
        for rid in [rid for rid, (_, expires) in holds.items() if expires < now]:
            del holds[rid]
        reserved = sum((amount for amount, _ in holds.values()), Amount())
        if rolling:
            log = [(t, a) for t, a in self._log.get(window, []) if t > now - rolling]
            self._log[window] = log
            spent = sum((a for _, a in log), Amount())
        else:
            spent = self._spent.get(window, Amount())
        return Totals(spent, reserved)

    def reserve(self, window: str, rolling: float | None, want: Amount, limits: Limits, ttl: float) -> Grant:
        """Hold ``want`` if it fits under ``limits``; else say which limit refused."""
        with self._lock:
            now = time.time()
            totals = self._totals(window, rolling, now)
            refused = refusal(totals, want, limits)
            if refused is not None:
                return Grant(None, refused, totals)
            rid = str(next(self._ids))
            self._reserved[window][rid] = (want, now + ttl)
            return Grant(rid, None, Totals(totals.spent, totals.reserved + want))

    def settle(self, window: str, rolling: float | None, reservation: str | None, actual: Amount) -> Totals:
        """Drop the hold and add what the call really cost; the new totals."""
        with self._lock:
            now = time.time()
            if reservation is not None:
                self._reserved.setdefault(window, {}).pop(reservation, None)
            if rolling:
                self._log.setdefault(window, []).append((now, actual))
            else:
                self._spent[window] = self._spent.get(window, Amount()) + actual
            return self._totals(window, rolling, now)

    def release(self, window: str, rolling: float | None, reservation: str | None) -> Totals:
        """Drop the hold of a call that failed (nothing was spent)."""
        return self.settle(window, rolling, reservation, Amount())

    def totals(self, window: str, rolling: float | None) -> Totals:
        """The current totals of ``window``."""
        with self._lock:
            return self._totals(window, rolling, time.time())

    # The async interface of a store; an in-process store has nothing to wait for.
    async def areserve(self, window: str, rolling: float | None, want: Amount, limits: Limits, ttl: float) -> Grant:
        """See :meth:`reserve`."""
        return self.reserve(window, rolling, want, limits, ttl)

    async def asettle(self, window: str, rolling: float | None, reservation: str | None, actual: Amount) -> Totals:
        """See :meth:`settle`."""
        return self.settle(window, rolling, reservation, actual)

    async def arelease(self, window: str, rolling: float | None, reservation: str | None) -> Totals:
        """See :meth:`release`."""
        return self.release(window, rolling, reservation)

    def __repr__(self) -> str:
        return "MemoryBudgetStore()"


# --- Redis ---------------------------------------------------------------------------------------

# One script for the three operations, so each is atomic on the server. Money is integer
# nano-dollars (no float touches it: Lua numbers hold integers exactly up to 2^53 nano-dollars).
# KEYS: totals hash, reservations hash, rolling log (zset), rolling amounts (hash).
# ARGV: op, id, nano, tokens, calls, limit_nano, limit_tokens, limit_calls (-1 = none),
#       key_ttl_ms (0 = keep), reservation_ttl_ms, rolling_ms (0 = fixed window).
# "Now" is the server's clock (TIME), so hosts whose clocks disagree still agree on when a
# reservation expires and what a rolling window holds.
_SCRIPT = """
local op = ARGV[1]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local rolling = tonumber(ARGV[11])
local function int(x) return string.format('%d', x) end  -- never '1.2e+14'
local function parse(text)
  local n, t, c, e = string.match(text, '^(%-?%d+) (%-?%d+) (%-?%d+) ?(%-?%d*)$')
  return tonumber(n), tonumber(t), tonumber(c), tonumber(e)
end
local rn, rt, rc = 0, 0, 0
local holds = redis.call('HGETALL', KEYS[2])
for i = 1, #holds, 2 do
  local n, t, c, e = parse(holds[i + 1])
  if e < now then redis.call('HDEL', KEYS[2], holds[i]) else rn, rt, rc = rn + n, rt + t, rc + c end
end
local sn, st, sc = 0, 0, 0
if rolling > 0 then
  local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - rolling)
  for _, id in ipairs(old) do redis.call('HDEL', KEYS[4], id) end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - rolling)
  for _, text in ipairs(redis.call('HVALS', KEYS[4])) do
    local n, t, c = parse(text)
    sn, st, sc = sn + n, st + t, sc + c
  end
else
  local v = redis.call('HMGET', KEYS[1], 'n', 't', 'c')
  sn, st, sc = tonumber(v[1] or 0), tonumber(v[2] or 0), tonumber(v[3] or 0)
end
local id, n, t, c = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function expire()
  local ttl = tonumber(ARGV[9])
  if ttl > 0 then for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], int(ttl)) end end
end
if op == 'reserve' then
  local limits = {{'usd', sn + rn, n, tonumber(ARGV[6])}, {'tokens', st + rt, t, tonumber(ARGV[7])},
                  {'calls', sc + rc, c, tonumber(ARGV[8])}}
  for _, l in ipairs(limits) do
    if l[4] >= 0 and (l[2] + l[3] > l[4] or (l[3] == 0 and l[2] >= l[4])) then
      return {0, l[1], sn, st, sc, rn, rt, rc}
    end
  end
  redis.call('HSET', KEYS[2], id, int(n) .. ' ' .. int(t) .. ' ' .. int(c) .. ' ' .. int(now + tonumber(ARGV[10])))
  expire()
  return {1, '', sn, st, sc, rn + n, rt + t, rc + c}
end
local held = redis.call('HGET', KEYS[2], id)
if held then
  redis.call('HDEL', KEYS[2], id)
  local hn, ht, hc = parse(held)
  rn, rt, rc = rn - hn, rt - ht, rc - hc
end
if op == 'settle' and (n > 0 or t > 0 or c > 0) then
  if rolling > 0 then
    redis.call('ZADD', KEYS[3], now, id)
    redis.call('HSET', KEYS[4], id, int(n) .. ' ' .. int(t) .. ' ' .. int(c))
  else
    redis.call('HINCRBY', KEYS[1], 'n', int(n))
    redis.call('HINCRBY', KEYS[1], 't', int(t))
    redis.call('HINCRBY', KEYS[1], 'c', int(c))
  end
  sn, st, sc = sn + n, st + t, sc + c
end
expire()
return {1, '', sn, st, sc, rn, rt, rc}
"""


def to_nano(usd: Decimal) -> int:
    """Whole nano-dollars, rounded up: a budget never under-counts (whatever the caller's context)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return int((usd / _NANO).to_integral_value(rounding=ROUND_CEILING))


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username + ':' if parts.username else ''}***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedisBudgetStore:
    """A budget shared by every process and host that uses the same Redis and ``key``.

    ``costwrap.budget(usd=100, store=RedisBudgetStore("redis://localhost:6379/0", key="team-a"),
    window="day")``. Reservations and settlements are Lua scripts, atomic on the server; money is
    integer nano-dollars (rounded up). Windows roll by key (``team-a:d20261128``), so nothing has
    to reset at midnight; old windows expire. ``client`` / ``async_client`` may be given instead of
    ``url`` (a ``redis.Redis`` / ``redis.asyncio.Redis``). An unreachable Redis raises
    :class:`~costwrap.BudgetStoreError` (fail closed) unless the budget says
    ``on_store_error="allow"``. Connections come from a blocking pool of ``max_connections``
    per process: a burst beyond it waits up to ``timeout`` seconds for a free one. Needs
    ``costwrap[redis]``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        key: str,
        prefix: str = "costwrap:budget",
        client: Any = None,
        async_client: Any = None,
        timeout: float = 2.0,
        max_connections: int = 50,
    ) -> None:
        if not key:
            raise ValueError("RedisBudgetStore needs a key naming the shared budget")
        if url is None and client is None and async_client is None:
            raise ValueError("RedisBudgetStore needs a url or a client")
        self.url = url
        self.key = key
        self.prefix = prefix
        self.timeout = timeout
        self.max_connections = max_connections
        self._client = client
        self._async_client = async_client
        self._script: Any = None
        self._async_script: Any = None
        self._loop_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, Any]] = (
            weakref.WeakKeyDictionary()
        )
        self._pid = os.getpid()
        self._where = _redacted(url) if url else "the given Redis client"

    def _sync(self) -> Any:
        if self._script is None or self._pid != os.getpid():
            import redis

            if self._client is None or self._pid != os.getpid():
                self._client = (
                    self._client
                    if self.url is None
                    else redis.Redis.from_pool(redis.BlockingConnectionPool.from_url(self.url, **self._pool_options()))
                )
            self._script = self._client.register_script(_SCRIPT)
            self._pid = os.getpid()
        return self._script

    def _async(self) -> Any:
        if self._async_client is not None:  # the caller's own client, bound to the caller's loop
            if self._async_script is None:
                self._async_script = self._async_client.register_script(_SCRIPT)
            return self._async_script
        if self.url is None:
            raise BudgetStoreError("RedisBudgetStore: an async call needs a url or an async_client")
        # An asyncio connection belongs to the loop that opened it, and each asyncio.run() makes
        # a new loop, so the store keeps one client per running loop.
        import asyncio  # not at module top: asyncio costs import time for sync-only users

        loop = asyncio.get_running_loop()
        entry = self._loop_clients.get(loop)
        if entry is None:
            import redis.asyncio

            pool = redis.asyncio.BlockingConnectionPool.from_url(self.url, **self._pool_options())
            client = redis.asyncio.Redis.from_pool(pool)
            entry = self._loop_clients[loop] = (client, client.register_script(_SCRIPT))
        return entry[1]

    def close(self) -> None:
        """Close the connections this store opened for sync calls (a given ``client`` is left open)."""
        if self.url is not None and self._client is not None:
            self._client.close()
            self._client = None
            self._script = None

    async def aclose(self) -> None:
        """Close the connections this store opened for async calls on the running event loop.

        Call it before the loop ends (for example at the end of the coroutine given to
        ``asyncio.run``); a given ``async_client`` is left open.
        """
        import asyncio

        entry = self._loop_clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[0].aclose()

    @property
    def identity(self) -> tuple[str, ...]:
        """What makes two stores the same total: server, prefix and key."""
        where = self.url if self.url is not None else f"client:{id(self._client or self._async_client)}"
        return (where, self.prefix, self.key)

    def _pool_options(self) -> dict[str, Any]:
        # A blocking pool makes a burst of concurrent calls queue for a connection (up to
        # ``timeout``) instead of failing with "Too many connections" past the pool size.
        return {
            "max_connections": self.max_connections,
            "timeout": self.timeout,
            "socket_timeout": self.timeout,
            "socket_connect_timeout": self.timeout,
        }

    def _keys(self, window: str) -> list[str]:
        base = f"{self.prefix}:{self.key}:{window}"
        return [base, f"{base}:held", f"{base}:log", f"{base}:amounts"]

    def _args(
        self, op: str, rid: str, amount: Amount, limits: Limits, *, rolling: float | None, ttl: float, window: str
    ) -> list[Any]:
        lifetime_ms = _window_lifetime_ms(window, rolling)
        return [
            op,
            rid,
            to_nano(amount.usd),
            amount.tokens,
            amount.calls,
            -1 if limits.usd is None else to_nano(limits.usd) if limits.usd > 0 else 0,
            -1 if limits.tokens is None else limits.tokens,
            -1 if limits.calls is None else limits.calls,
            lifetime_ms,
            int(ttl * 1000),
            int((rolling or 0) * 1000),
        ]

    @staticmethod
    def _totals(reply: list[Any]) -> Totals:
        n, t, c, rn, rt, rc = (int(x) for x in reply[2:8])
        return Totals(Amount(Decimal(n) * _NANO, t, c), Amount(Decimal(rn) * _NANO, rt, rc))

    def _error(self, exc: Exception) -> BudgetStoreError:
        return BudgetStoreError(f"budget store {self._where} (key {self.key!r}) failed: {type(exc).__name__}: {exc}")

    def _run(
        self, op: str, window: str, rolling: float | None, rid: str, amount: Amount, *, limits: Limits, ttl: float
    ) -> Any:
        args = self._args(op, rid, amount, limits, rolling=rolling, ttl=ttl, window=window)
        try:
            return self._sync()(keys=self._keys(window), args=args)
        except Exception as exc:  # noqa: BLE001 - any Redis failure is the store being unavailable
            raise self._error(exc) from None

    async def _arun(
        self, op: str, window: str, rolling: float | None, rid: str, amount: Amount, *, limits: Limits, ttl: float
    ) -> Any:
        args = self._args(op, rid, amount, limits, rolling=rolling, ttl=ttl, window=window)
        try:
            return await self._async()(keys=self._keys(window), args=args)
        except Exception as exc:  # noqa: BLE001 - any Redis failure is the store being unavailable
            raise self._error(exc) from None

    def reserve(self, window: str, rolling: float | None, want: Amount, limits: Limits, ttl: float) -> Grant:
        """Hold ``want`` atomically on the server if it fits under ``limits``."""
        rid = uuid.uuid4().hex
        return self._grant(self._run("reserve", window, rolling, rid, want, limits=limits, ttl=ttl), rid)

    async def areserve(self, window: str, rolling: float | None, want: Amount, limits: Limits, ttl: float) -> Grant:
        """See :meth:`reserve` (on the async client)."""
        rid = uuid.uuid4().hex
        return self._grant(await self._arun("reserve", window, rolling, rid, want, limits=limits, ttl=ttl), rid)

    def _grant(self, reply: list[Any], rid: str) -> Grant:
        refused = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
        return Grant(rid if int(reply[0]) else None, refused or None, self._totals(reply))

    def settle(self, window: str, rolling: float | None, reservation: str | None, actual: Amount) -> Totals:
        """Drop the hold and add the call's real cost (rounded up to whole nano-dollars)."""
        rid = reservation or uuid.uuid4().hex
        return self._totals(self._run("settle", window, rolling, rid, actual, limits=Limits(), ttl=0))

    async def asettle(self, window: str, rolling: float | None, reservation: str | None, actual: Amount) -> Totals:
        """See :meth:`settle` (on the async client)."""
        rid = reservation or uuid.uuid4().hex
        return self._totals(await self._arun("settle", window, rolling, rid, actual, limits=Limits(), ttl=0))

    def release(self, window: str, rolling: float | None, reservation: str | None) -> Totals:
        """Drop the hold of a call that failed."""
        return self.settle(window, rolling, reservation, Amount())

    async def arelease(self, window: str, rolling: float | None, reservation: str | None) -> Totals:
        """See :meth:`release` (on the async client)."""
        return await self.asettle(window, rolling, reservation, Amount())

    def totals(self, window: str, rolling: float | None) -> Totals:
        """The current totals of ``window`` (a settle of nothing)."""
        return self.settle(window, rolling, None, Amount())

    def __repr__(self) -> str:
        return f"RedisBudgetStore({self._where!r}, key={self.key!r})"


def _window_lifetime_ms(window: str, rolling: float | None) -> int:
    """How long a window's keys are worth keeping: until well after the window closes."""
    if rolling:
        return int(rolling * 1000) + 3_600_000
    if window.startswith("d"):
        return 3 * 86_400_000
    if window.startswith("m"):
        return 62 * 86_400_000
    return 0  # a budget without a window keeps its totals
