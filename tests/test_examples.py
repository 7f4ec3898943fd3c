"""Every example runs offline and prints what its docstring promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
EXPECTED = {
    "quickstart.py": "2 calls cost $0.000570000 exactly",
    "price_a_call.py": "gemini-4-argon at 2026-12-01 00:00Z: 4.000000",
    "custom_prices.py": "a bad file is refused: prices.toml: models.broken.input",
    "streaming.py": "stream=True estimated=True",
    "azure.py": "azure prod-chat -> gpt-4o-2024-11-20 priced as gpt-4o 0.00475000",
    "async_and_threads.py": "<Tracker 'nightly-batch' calls=14 cost=$0.00399 unpriced=0>",
    "ledger.py": "3 records in the ledger, total $0.000855000 (exact)",
    "budgets.py": "third call refused on calls: 2 calls, $0.000570000 spent",
    "anthropic_and_gemini.py": "anthropic: input 6020 (cache read 5000, writes {'1h': 1000}), output 150",
}


def test_every_example_is_listed() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_offline(name: str) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=120, cwd=EXAMPLES, check=False
    )
    assert result.returncode == 0, result.stderr
    assert EXPECTED[name] in result.stdout
    assert "sk-example" not in result.stdout + result.stderr
    assert result.stderr == ""
