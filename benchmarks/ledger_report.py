"""How long `costwrap report` and `compare` take on a large ledger, and how much memory they need.

Builds a ledger of N records (default 1,000,000: five models, 30 days, three tag values, a third
of the calls with cache reads), then, each in a fresh process, times:

- a raw scan: plain sqlite3 reading the same columns (the floor any report pays),
- ``report(ledger)``: totals, groups, top calls and cache savings,
- ``compare(ledger, [one model])``: every call re-priced,

and prints seconds, the ratio to the raw scan and the peak RSS over the process's start (Linux).

Run: python benchmarks/ledger_report.py [--records N] [--keep PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from costwrap import price
from costwrap._time import to_us
from costwrap.sinks.sqlite import connect

MODELS = [
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o"),
    ("anthropic", "claude-sonnet-4-5"),
    ("google", "gemini-2.5-flash"),
    ("openai", "gpt-4.1-mini"),
]

MEASURE = """
import sys, time
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
open("/proc/self/clear_refs", "w").write("5")  # reset the peak, which exec inherits from the parent
start_rss = status("VmRSS:")
import sqlite3
from costwrap import reports
path, what = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if what == "raw":
    conn = sqlite3.connect(path)
    n = sum(1 for _ in conn.execute(
        "SELECT id, timestamp_us, provider, model, priced_as, cost, input_tokens, output_tokens, "
        "cache_read_tokens, service_tier, batch, tags, request_id FROM records ORDER BY timestamp_us, id"))
elif what == "report":
    n = reports.report(path).calls
else:
    n = reports.compare(path, ["gpt-4o-mini"])[0].calls
elapsed = time.perf_counter() - t0
print(n, elapsed, status("VmHWM:") - start_rss)
"""


def build(path: Path, n: int) -> None:
    rng = random.Random(7)
    conn = connect(path)
    start = datetime(2026, 10, 29, tzinfo=UTC)
    costs: dict[tuple[str, int, int, int], str] = {}
    conn.execute("BEGIN")
    batch = []
    for i in range(n):
        provider, model = MODELS[i % len(MODELS)]
        inp = rng.choice((400, 800, 1600, 3200))
        out = rng.choice((100, 250, 500))
        cached = inp // 2 if i % 3 == 0 else 0
        key = (model, inp, out, cached)
        if key not in costs:
            p = price(model, input_tokens=inp, output_tokens=out, cache_read_tokens=cached, at=start)
            assert p is not None
            costs[key] = str(p.total)
        when = start + timedelta(seconds=i * 30 * 86400 // n)
        usage = json.dumps({"input_tokens": inp, "output_tokens": out, "cache_read_tokens": cached})
        tags = json.dumps({"feature": ("search", "chat", "summaries")[i % 3]})
        batch.append(
            (to_us(when), provider, "chat.completions", model, model, model, costs[key], inp, out, cached, 0, 0,
             usage, "{}", 0, 0, 0, 0.5, None, f"req-{i}", "genai-prices", tags, "[]")
        )  # fmt: skip
        if len(batch) == 50_000:
            conn.executemany(_INSERT, batch)
            batch.clear()
    conn.executemany(_INSERT, batch)
    conn.execute("COMMIT")
    conn.close()


_INSERT = """INSERT INTO records (
    timestamp_us, provider, operation, model, request_model, priced_as, cost, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, reasoning_tokens, usage, breakdown, stream, estimated, batch, latency_s,
    service_tier, request_id, price_source, tags, notes
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def measure(path: Path, what: str) -> tuple[int, float, int]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), what], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), float(out[1]), int(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the ledger here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "ledger.db"
        t0 = time.perf_counter()
        build(path, args.records)
        print(f"built {args.records:,} records in {time.perf_counter() - t0:.1f} s ({path.stat().st_size >> 20} MiB)")
        results = {what: measure(path, what) for what in ("raw", "report", "compare")}
    raw = results["raw"][1]
    print(f"{'what':<10}{'records':>12}{'seconds':>10}{'x raw scan':>12}{'peak RSS +MiB':>15}")
    for what, (n, seconds, rss_kib) in results.items():
        print(f"{what:<10}{n:>12,}{seconds:>10.2f}{seconds / raw:>12.1f}{rss_kib / 1024:>15.1f}")


if __name__ == "__main__":
    main()
