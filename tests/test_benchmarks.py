"""CI checks that the benchmark script runs (its figures are read by people, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_quick_benchmark_runs_and_writes_its_results() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    assert "| openai chat.completions.create (sync) |" in result.stdout
    assert "costwrap.price()" in result.stdout
    data = json.loads((ROOT / "benchmarks" / "results" / "quick.json").read_text())
    assert set(data["calls"]["openai chat stream, 51 chunks (per chunk)"]) == {"raw", "costwrap"}
