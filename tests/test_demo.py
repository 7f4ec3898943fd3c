"""costwrap demo: the README's first command, offline through the real OpenAI clients."""

from __future__ import annotations

import io
import subprocess
import sys
from decimal import Decimal

from costwrap import _demo, tokens
from costwrap.cli import main


def per_m(*parts: tuple[int, str]) -> Decimal:
    return sum((Decimal(n) * Decimal(rate) for n, rate in parts), Decimal(0)) / 1_000_000


def test_demo_total_is_the_sum_of_hand_priced_calls() -> None:
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
    )
    out = io.StringIO()
    assert _demo.run(out) == expected
    text = out.getvalue()
    assert "chat.completions (stream)" in text and "[flex]" in text and "~" in text
    assert "sk-demo" not in text


def test_cli_demo_in_process_and_as_a_command(capsys: object) -> None:
    assert main(["demo"]) == 0
    result = subprocess.run([sys.executable, "-m", "costwrap.cli", "demo"], capture_output=True, text=True, check=True)
    assert "total: $0.0163" in result.stdout and result.stderr == ""


def test_cli_without_a_command_prints_help() -> None:
    assert main([]) == 1
