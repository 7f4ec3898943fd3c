"""``costwrap demo``: realistic sessions through the real SDK clients, offline, with no API key.

Each session uses the genuine OpenAI, Anthropic or Google Gen AI client; only the HTTP transport is
replaced by an in-process mock that answers the way the provider's API does. Everything costwrap
does on the way (patching, reading usage, pricing, recording) is what it does in production.
A session whose SDK is not installed is skipped with a note.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TextIO

SESSIONS: list[tuple[str, str, str]] = [
    ("OpenAI", "costwrap._demo._openai", "openai"),
    ("Anthropic", "costwrap._demo._anthropic", "anthropic"),
    ("Gemini", "costwrap._demo._gemini", "google"),
]


def _row(values: list[str], widths: list[int]) -> str:
    return "  ".join(v.rjust(w) if i >= 3 else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True)))


LEDGER = Path("costwrap-demo.db")
"""The ledger the demo writes (in the current directory), so ``costwrap report`` has data."""


def run(out: TextIO | None = None, ledger: Path | None = LEDGER) -> Decimal:
    """Run every session whose SDK is installed, print each call's record and the total; return it."""
    import importlib

    import costwrap
    from costwrap._format import usd
    from costwrap._savings import cache_savings
    from costwrap.sinks import SQLiteSink

    out = out or sys.stdout
    write: Callable[[str], object] = lambda line: print(line, file=out)  # noqa: E731
    skipped = []
    sink = None
    if ledger is not None:
        for suffix in ("", "-wal", "-shm"):  # a fresh ledger each run: the demo's own file
            ledger.with_name(ledger.name + suffix).unlink(missing_ok=True)
        sink = SQLiteSink(ledger)
        costwrap.add_sink(sink)
    try:
        with costwrap.track("demo") as tracker:
            for label, module, extra in SESSIONS:
                try:
                    session = importlib.import_module(module).session
                    session()
                except ImportError as exc:
                    skipped.append(f"{label} (pip install 'costwrap[{extra}]': {exc.name or exc})")
    finally:
        if sink is not None:
            costwrap.remove_sink(sink)
            sink.close()

    header = ["#", "operation", "model", "input", "cached", "output", "reasoning", "cost (USD)"]
    rows = []
    for i, record in enumerate(tracker.records, 1):
        u = record.usage
        tier = f" [{record.service_tier}]" if record.service_tier not in (None, "default", "standard") else ""
        rows.append(
            [
                str(i),
                f"{record.provider} {record.operation}" + (" (stream)" if record.stream else ""),
                (record.model or "?") + tier,
                f"{u.input_tokens:,}" if u else "?",
                f"{u.cache_read_tokens:,}" if u else "?",
                f"{u.output_tokens:,}" if u else "?",
                f"{u.reasoning_tokens:,}" if u else "?",
                usd(record.cost) + (" ~" if record.estimated else ""),
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    write("costwrap demo: sessions through the real SDK clients, offline (mock transports)\n")
    write(_row(header, widths))
    write(_row(["-" * w for w in widths], widths))
    for r in rows:
        write(_row(r, widths))
    saved = sum((cache_savings(record) for record in tracker.records), Decimal(0))
    write("")
    write(
        f"total: {usd(tracker.cost)} exact ({usd(tracker.cost, 4)}) over {tracker.calls} calls"
        + (f", {tracker.unpriced} unpriced" if tracker.unpriced else "")
    )
    write(f"prompt caching saved {usd(saved)} against full input price")
    write("~ = estimated: that stream was closed before it reported usage, so costwrap counted the tokens itself")
    if ledger is not None:
        write(f"ledger: {ledger} ({tracker.calls} records); read it back with: costwrap report {ledger}")
    for label in skipped:
        write(f"skipped the {label} session")
    for i, record in enumerate(tracker.records, 1):
        for note in record.notes:
            write(f"  note on #{i}: {note}")
    return tracker.cost
