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
    assert "| openai chat.completions.create | raw SDK |" in result.stdout
    assert "| costwrap.price() <= 2 us |" in result.stdout
    data = json.loads((ROOT / "benchmarks" / "results" / "quick.json").read_text())
    openai = data["calls"]["openai chat.completions.create"]
    # Every variant ran, the reference tools among them (installed by the bench extra).
    assert {"raw", "costwrap", "costwrap + track", "costwrap + budget", "costwrap + sqlite"} <= set(openai)
    assert {"OpenLLMetry", "OTel contrib openai-v2"} <= set(openai), data["references_unavailable"]
    anthropic = data["calls"]["anthropic messages.create"]
    assert {"raw", "costwrap", "OpenLLMetry", "Anthropic SDK built-in OTel"} <= set(anthropic)
    assert data["memory_bytes"] and data["startup_s"]["import costwrap"] > 0
    # Instruction counts (valgrind is on every machine of this project's kind, CI included).
    counted = data["instructions_per_call"]["openai chat.completions.create"]
    assert counted["raw"] > 1_000_000 and counted["costwrap"] > counted["raw"]
