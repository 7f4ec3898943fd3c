"""``Background``: move a slow sink off the call path, through a bounded queue."""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import weakref
from typing import Any

from costwrap._config import Sink
from costwrap._dispatch import deliver, sink_name
from costwrap._record import CostRecord

logger = logging.getLogger("costwrap")

_STOP: Any = object()
_live: weakref.WeakSet[Background] = weakref.WeakSet()


class Background:
    """Deliver records to ``sink`` from a worker thread, so a slow sink costs the call nothing.

    The queue is bounded (``max_queue``). When it is full (the sink has fallen far behind), a
    record is dropped rather than making the caller wait, and :attr:`dropped` counts it; that is
    logged as a warning (at the first drop and at every power of ten). :meth:`flush` waits until
    everything queued was delivered; at interpreter exit every ``Background`` is flushed, so nothing
    queued is lost on a normal shutdown. A failing sink is logged once, as any sink.

    >>> import costwrap, tempfile, os
    >>> ledger = costwrap.sinks.SQLiteSink(os.path.join(tempfile.mkdtemp(), "costs.db"))
    >>> costwrap.add_sink(costwrap.sinks.Background(ledger))
    """

    def __init__(self, sink: Sink, *, max_queue: int = 10_000) -> None:
        if not callable(sink):
            raise TypeError(f"Background needs a callable sink, got {type(sink).__name__}")
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.sink = sink
        self.max_queue = max_queue
        self.dropped = 0
        self._queue: queue.Queue[Any] = queue.Queue(max_queue)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        _live.add(self)

    def _ensure_worker(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid():  # a forked child has no worker thread
                if self._pid and self._pid != os.getpid():
                    self._queue = queue.Queue(self.max_queue)
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._work, name=f"costwrap-{sink_name(self.sink)}", daemon=True)
                self._thread.start()

    def __call__(self, record: CostRecord) -> None:
        """Queue ``record`` for the worker; never blocks."""
        self._ensure_worker()
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            if str(self.dropped).rstrip("0") == "1":  # 1, 10, 100, ...: loud but not a flood
                logger.warning(
                    "costwrap: the queue of %s is full (%d records); %d record(s) dropped so far",
                    sink_name(self.sink),
                    self.max_queue,
                    self.dropped,
                )

    def _work(self) -> None:
        q = self._queue
        while True:
            record = q.get()
            try:
                if record is _STOP:
                    return
                deliver(self.sink, record)
            finally:
                q.task_done()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued record was delivered; False if ``timeout`` ran out first."""
        q = self._queue
        deadline = None if timeout is None else time.monotonic() + timeout
        with q.all_tasks_done:
            while q.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                q.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout: float | None = 10.0) -> bool:
        """Deliver what is queued, then stop the worker. Records given after ``close`` start a new one."""
        done = self.flush(timeout)
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            self._queue.put(_STOP)
            thread.join(timeout)
        self._thread = None
        return done

    def __repr__(self) -> str:
        return f"Background({self.sink!r}, queued={self._queue.qsize()}, dropped={self.dropped})"


@atexit.register
def _flush_all_at_exit() -> None:
    for background in list(_live):
        running = background._thread is not None and background._pid == os.getpid()
        if running and not background.flush(timeout=10.0):
            logger.warning("costwrap: %r did not finish delivering its queue at exit", background)
