"""``JSONLSink``: one JSON object per line, appended atomically, optionally rotated by size."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

if sys.platform != "win32":
    import fcntl

from costwrap._record import CostRecord


class JSONLSink:
    """Append each record to a JSON Lines file, money as exact decimal strings.

    Each record is written with a single ``write()`` on a file opened with ``O_APPEND``, so lines
    from several threads or processes appending to the same local file never interleave or tear;
    a process killed mid-run loses nothing it wrote. With ``max_bytes``, a file that would grow past
    it is renamed ``<name>.1`` (older ones shift to ``.2`` ... ``.<backups>``) and a new one started;
    processes sharing the file rotate it under a lock on ``<name>.lock`` (POSIX), and a process
    that finds the file rotated by another reopens it. A write cut short by a full disk raises
    (the sink's failure is logged) and the next record starts on a new line.

    >>> import costwrap, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "costs.jsonl")
    >>> costwrap.add_sink(costwrap.sinks.JSONLSink(path))
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int | None = None, backups: int = 5) -> None:
        if max_bytes is not None and max_bytes <= 0:
            raise ValueError("max_bytes must be a positive number of bytes")
        if backups < 1:
            raise ValueError("backups must be at least 1")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._inode: int | None = None
        self._lock_fd: int | None = None
        self._torn = False  # the last line was cut short and is not ended yet

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._fd, self._inode = fd, os.fstat(fd).st_ino
        return fd

    def __call__(self, record: CostRecord) -> None:
        """Append ``record`` as one line."""
        line = (json.dumps(record.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            if self._torn:
                # The last write was cut short (a full disk): end that half line first, so this
                # record starts a line of its own and stays readable.
                line = b"\n" + line
            fd = self._fd if self._fd is not None else self._open()
            if self.max_bytes is None:
                self._write(fd, line)
                return
            with self._rotation_lock():
                self._write(self._rotate_if_needed(fd, len(line)), line)

    def _write(self, fd: int, line: bytes) -> None:
        written = os.write(fd, line)
        self._torn = False
        while written < len(line):  # a short write: finish the line, or remember it is torn
            self._torn = True
            more = os.write(fd, line[written:])
            if more <= 0:
                raise OSError(f"{self.path}: wrote {written} of {len(line)} bytes (disk full?)")
            written += more
        self._torn = False

    @contextlib.contextmanager
    def _rotation_lock(self) -> Iterator[None]:
        # Rotation is check-then-rename: two processes rotating the same file at once would rename
        # each other's fresh file over the backup and lose its lines. An exclusive lock on a
        # sidecar file, held from the size check to the write, makes it one step across processes.
        if sys.platform == "win32":  # no flock: rotation is safe within one process only
            yield
            return
        if self._lock_fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _rotate_if_needed(self, fd: int, incoming: int) -> int:
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        if current is None or current.st_ino != self._inode:
            os.close(fd)  # another process rotated (or removed) the file: follow it
            fd = self._open()
            current = os.fstat(fd)
        if current.st_size and current.st_size + incoming > (self.max_bytes or 0):
            for i in range(self.backups - 1, 0, -1):
                with contextlib.suppress(FileNotFoundError):  # no such backup yet
                    os.replace(
                        self.path.with_name(f"{self.path.name}.{i}"), self.path.with_name(f"{self.path.name}.{i + 1}")
                    )
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
            os.close(fd)
            fd = self._open()
        return fd

    def close(self) -> None:
        """Close the file (it is reopened on the next record)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __repr__(self) -> str:
        return f"JSONLSink({str(self.path)!r})"
