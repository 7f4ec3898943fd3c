"""costwrap demo: the README's first command, offline through the real OpenAI clients."""

from __future__ import annotations

import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from costwrap import _demo, tokens
from costwrap.cli import main
from costwrap.sinks.sqlite import read_records


def per_m(*parts: tuple[int, str]) -> Decimal:
    return sum((Decimal(n) * Decimal(rate) for n, rate in parts), Decimal(0)) / 1_000_000


def test_demo_total_is_the_sum_of_hand_priced_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    enc = tokens.encoding("o200k_base")
    assert enc is not None
    # The stream the demo stops reading at its fifth chunk: the prompt and the text seen, counted.
    early_in = len(enc.encode("Write the weekly summary again.")) + 3 + 3
    early_out = len(enc.encode("Here is the weekly "))
    expected = (
        per_m((412, "0.15"), (96, "0.6"))  # gpt-4o-mini
        + per_m((6210 - 5888, "2"), (5888, "0.5"), (240, "8"))  # gpt-4.1 with a cached prompt
        + per_m((905, "1.1"), (1840, "4.4"))  # o4-mini, reasoning inside output
        + per_m((1320, "0.4"), (210, "1.6"))  # gpt-4.1-mini stream
        + per_m((early_in, "0.4"), (early_out, "1.6"))  # the same, closed early: estimated
        + per_m((27, "0.02"))  # three embeddings
        + per_m((2450 - 1920, "0.125"), (1920, "0.0125"), (690, "1"))  # gpt-5-mini on flex
        # claude-sonnet-4-5: 3 in / 0.3 cache read / 3.75 5m write / 6 1h write / 15 out
        + per_m((35, "3"), (1200, "3.75"), (6000, "6"), (180, "15"))  # writes the cache at two TTLs
        + per_m((42, "3"), (7200, "0.3"), (150, "15"))  # reads it back
        + per_m((520, "5"), (2400, "25"))  # claude-opus-4-8, thinking inside the output
        + per_m((640, "1"), (95, "5"))  # claude-haiku-4-5 stream: message_delta replaces the placeholder
        # gemini-2.5-flash 0.3 / 2.5, thoughts billed as output; gemini-2.5-pro above 200k: 2.5 / 0.25 / 15
        + per_m((1150, "0.3"), (260 + 540, "2.5"))
        + per_m((380, "0.3"), (120 + 210, "2.5"))  # the stream's last value per field
        + per_m((50_000, "2.5"), (200_000, "0.25"), (900 + 1400, "15"))
    )
    out = io.StringIO()
    assert _demo.run(out) == expected
    text = out.getvalue()
    assert "chat.completions (stream)" in text and "[flex]" in text and "~" in text
    assert "anthropic messages (stream)" in text and "google generate_content" in text
    # Cache savings: each cached token at (input - cache) rate, on its own request's tier.
    saved = per_m((5888, "1.5"), (1920, "0.1125"), (7200, "2.7"), (200_000, "2.25"))
    assert f"prompt caching saved ${saved.normalize():f}" in text
    assert "sk-demo" not in text and "skipped" not in text
    # ... and the same records are in the ledger it writes for `costwrap report`.
    ledger = list(read_records(tmp_path / "costwrap-demo.db"))
    assert len(ledger) == 14 and sum(r.cost for r in ledger if r.cost) == expected
    _demo.run(io.StringIO())  # a second run starts the ledger afresh
    assert len(list(read_records(tmp_path / "costwrap-demo.db"))) == 14


def test_cli_demo_in_process_and_as_a_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    result = subprocess.run([sys.executable, "-m", "costwrap.cli", "demo"], capture_output=True, text=True, check=True)
    assert (tmp_path / "costwrap-demo.db").exists()
    assert "total: $0.3407" in result.stdout and result.stderr == ""


def test_cli_without_a_command_prints_help() -> None:
    assert main([]) == 1
