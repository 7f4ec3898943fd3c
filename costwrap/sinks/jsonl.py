"""``JSONLSink``: one JSON object per line, appended atomically, optionally rotated by size."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from costwrap._record import CostRecord


class JSONLSink:
    """Append each record to a JSON Lines file, money as exact decimal strings.

    Each record is written with a single ``write()`` on a file opened with ``O_APPEND``, so lines
    from several threads or processes appending to the same local file never interleave or tear;
    a process killed mid-run loses nothing it wrote. With ``max_bytes``, a file that would grow past
    it is renamed ``<name>.1`` (older ones shift to ``.2`` ... ``.<backups>``) and a new one started;
    a process that finds the file rotated by another reopens it.

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

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._fd, self._inode = fd, os.fstat(fd).st_ino
        return fd

    def __call__(self, record: CostRecord) -> None:
        """Append ``record`` as one line."""
        line = (json.dumps(record.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            fd = self._fd if self._fd is not None else self._open()
            if self.max_bytes is not None:
                fd = self._rotate_if_needed(fd, len(line))
            written = os.write(fd, line)
            if written != len(line):  # a full disk: say so rather than leave half a line unnoticed
                raise OSError(f"{self.path}: wrote {written} of {len(line)} bytes")

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
                older = self.path.with_name(f"{self.path.name}.{i}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{i + 1}"))
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

    def __repr__(self) -> str:
        return f"JSONLSink({str(self.path)!r})"
