"""costwrap's overhead in CPU instructions, counted by valgrind: the same answer on any day.

Wall-clock medians on a shared or virtual machine move by more than the 2 % they are meant to
resolve (other tenants, frequency changes). An instruction count does not: valgrind's callgrind
counts every instruction the interpreter executes, and the count for a given interpreter, input
and environment repeats exactly. The ratio of two counts tracks the ratio of run times for the
same kind of work (Python bytecode in both), which is what the targets are about.

Each variant runs in its own process under ``valgrind --tool=callgrind --instr-atstart=no``:
start-up and warm-up run uninstrumented, then the process switches counting on around N calls
(``callgrind_control``) and off again. Two processes with different N give the count per call
with the fixed cost of switching cancelled: ``(I(N2) - I(N1)) / (N2 - N1)``.

    python benchmarks/instructions.py            # prints a markdown table
    python benchmarks/instructions.py --quick    # one scenario, few calls (checks it works)
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

# scenario -> (provider, variants); "costwrap" is the wrapped client, the rest are references.
SCENARIOS: dict[str, tuple[str, tuple[str, ...]]] = {
    "openai chat.completions.create": ("openai", ("raw", "costwrap", "OpenLLMetry", "OTel contrib openai-v2")),
    "openai chat stream (51 chunks)": ("openai", ("raw", "costwrap", "OpenLLMetry", "OTel contrib openai-v2")),
    "anthropic messages.create": ("anthropic", ("raw", "costwrap", "OpenLLMetry", "Anthropic SDK built-in OTel")),
    "google-genai generate_content": ("google", ("raw", "costwrap")),
    "anthropic messages stream (51 events)": ("anthropic", ("raw", "costwrap")),
    "google-genai stream (51 chunks)": ("google", ("raw", "costwrap")),
    "pricing one call": ("", ("costwrap.price()", "genai-prices calc_price()")),
}


def available() -> str | None:
    """None if valgrind can count here, else why not."""
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: apt install valgrind)"
    return None


def _call(scenario: str, variant: str) -> Callable[[], object]:
    """Set up ``variant`` of ``scenario`` in this process and return the call to count."""
    import run

    if scenario == "pricing one call":
        import costwrap

        if variant == "costwrap.price()":
            usage = costwrap.Usage(input_tokens=1200, cache_read_tokens=1000, output_tokens=300)
            return lambda: costwrap.price("gpt-4o-mini", usage=usage, provider="openai")
        from genai_prices import Usage, calc_price

        gp_usage = Usage(input_tokens=1200, cache_read_tokens=1000, output_tokens=300)
        return lambda: calc_price(gp_usage, "gpt-4o-mini", provider_id="openai")

    provider = SCENARIOS[scenario][0]
    clients = run.Clients.build()
    client, call = {
        "openai chat.completions.create": (clients.openai, run.openai_chat),
        "openai chat stream (51 chunks)": (clients.openai, run.openai_stream),
        "anthropic messages.create": (clients.anthropic, run.anthropic_message),
        "google-genai generate_content": (clients.google, run.gemini_generate),
        "anthropic messages stream (51 events)": (clients.anthropic, run.anthropic_stream),
        "google-genai stream (51 chunks)": (clients.google, run.gemini_stream),
    }[scenario]
    if variant == "costwrap":
        import costwrap

        costwrap.wrap(client)
    elif variant != "raw":
        from references import references

        refs, missing = references(provider)
        chosen = [r for r in refs if r.name == variant]
        if not chosen:
            raise SystemExit(f"reference {variant!r} unavailable: {missing.get(variant, 'unknown')}")
        chosen[0].on()
    return call(clients)


def child(scenario: str, variant: str, calls: int) -> None:
    """Run inside valgrind: warm up uncounted, then count exactly ``calls`` calls."""
    import warnings

    warnings.simplefilter("ignore")  # a deprecation warning per call is the SDK's, not ours
    fn = _call(scenario, variant)
    for _ in range(20):  # imports, caches, the price table, the tokenizer: not per-call work
        fn()
    # The objects alive now go to the permanent generation: a full collection that happened to
    # fall inside one counted window would otherwise scan all of them and swing the count by
    # tens of thousands of instructions per call. The young collections the calls cause still count.
    gc.collect()
    gc.freeze()

    def counting(on: bool) -> None:
        flag = "--instr=on" if on else "--instr=off"
        subprocess.run(["callgrind_control", flag, str(os.getpid())], check=True, capture_output=True)

    counting(True)
    for _ in range(calls):
        fn()
    counting(False)


_COLLECTED = re.compile(r"Collected : (\d+)")


def count(scenario: str, variant: str, calls: int) -> int:
    """Instructions of one child process running ``calls`` counted calls."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts in every run
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            scenario,
            variant,
            str(calls),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    found = _COLLECTED.search(out.stderr)
    if out.returncode != 0 or found is None:
        raise RuntimeError(f"{scenario} / {variant}: valgrind run failed: {out.stderr[-800:]}")
    return int(found.group(1))


def measure(*, quick: bool, workers: int | None = None) -> dict[str, dict[str, float]]:
    """{scenario: {variant: instructions per call}}."""
    n1, n2 = (2, 6) if quick else (10, 40)
    scenarios = dict(list(SCENARIOS.items())[:1]) if quick else SCENARIOS
    jobs = [
        (scenario, variant, n)
        for scenario, (_, variants) in scenarios.items()
        for variant in (variants[:2] if quick else variants)
        for n in (n1, n2)
    ]
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: count(*job), jobs), strict=True))
    result: dict[str, dict[str, float]] = {}
    for scenario, variant, n in jobs:
        if n == n2:
            per_call = (counts[scenario, variant, n2] - counts[scenario, variant, n1]) / (n2 - n1)
            result.setdefault(scenario, {})[variant] = per_call
    return result


def table(result: dict[str, Any]) -> list[str]:
    """Markdown rows: each variant's instructions per call and its overhead over the first."""
    lines = [
        "| call (instructions, valgrind) | variant | per call | overhead | overhead / raw |",
        "|---|---|---|---|---|",
    ]
    for scenario, variants in result.items():
        names = list(variants)
        base = variants[names[0]]
        lines.append(f"| {scenario} | {names[0]} | {base:,.0f} | | |")
        for name in names[1:]:
            extra = variants[name] - base
            lines.append(f"| | {name} | {variants[name]:,.0f} | {extra:+,.0f} | {extra / base:+.2%} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("SCENARIO", "VARIANT", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        scenario, variant, calls = args.child
        child(scenario, variant, int(calls))
        return 0
    why = available()
    if why is not None:
        print(f"not measured: {why}")
        return 0
    print("\n".join(table(measure(quick=args.quick))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
