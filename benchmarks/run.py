"""costwrap's overhead, measured against the raw SDK call in the same process run.

    make bench            # full run (a few minutes)
    make bench QUICK=1    # a quick run, as CI does, to check the script works

Variants of one measurement are interleaved round by round (raw, wrapped, raw, wrapped, ...) so
drift in machine speed hits them alike; each figure is the median over rounds, with the spread
(interquartile range). The SDK clients are real; their HTTP transport is an in-process mock, so no
network is in the numbers. Prints a markdown table and writes benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1000},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
BASE = {"id": "chatcmpl-bench", "created": 1764300000, "model": "gpt-4o-mini-2024-07-18"}
CHAT = json.dumps(
    {
        **BASE,
        "object": "chat.completion",
        "usage": USAGE,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello there!"}}],
    }
).encode()
CHUNK = {**BASE, "object": "chat.completion.chunk"}
STREAM_CHUNKS = 51  # 50 content chunks + the usage chunk (as in the performance issue)
SSE = (
    "".join(
        f"data: {json.dumps({**CHUNK, 'choices': [{'index': 0, 'delta': {'content': 'tok '}}]})}\n\n" for _ in range(50)
    )
    + f"data: {json.dumps({**CHUNK, 'choices': [], 'usage': USAGE})}\n\n"
    + "data: [DONE]\n\n"
).encode()
MESSAGES = [{"role": "user", "content": "Say hello"}]


def clients() -> tuple[Any, Any]:
    import httpx2
    from openai import AsyncOpenAI, OpenAI

    def handler(request: httpx2.Request) -> httpx2.Response:
        stream = b'"stream":true' in request.content or b'"stream": true' in request.content
        body = SSE if stream else CHAT
        ctype = "text/event-stream" if stream else "application/json"
        return httpx2.Response(200, content=body, headers={"content-type": ctype})

    async def ahandler(request: httpx2.Request) -> httpx2.Response:
        return handler(request)

    sync = OpenAI(api_key="sk-bench", max_retries=0, http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    async_ = AsyncOpenAI(
        api_key="sk-bench", max_retries=0, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(ahandler))
    )
    return sync, async_


def timed(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``fn`` over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def interleave(variants: dict[str, Callable[[], object]], rounds: int, calls: int) -> dict[str, list[float]]:
    """Per-call seconds of each variant, one sample per round, variants alternating."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():  # warm up: imports, caches, the registry's first load
        timed(fn, max(3, calls // 10))
    gc.disable()
    try:
        for r in range(rounds):
            order = list(variants.items())
            if r % 2:
                order.reverse()
            for name, fn in order:
                samples[name].append(timed(fn, calls))
    finally:
        gc.enable()
    return samples


def summary(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=4) if len(values) >= 4 else [min(values), statistics.median(values), max(values)]
    return {"median": statistics.median(values), "q1": q[0], "q3": q[2]}


def bench_calls(rounds: int, calls: int) -> dict[str, Any]:
    import costwrap

    raw, araw = clients()
    wrapped, awrapped = clients()
    costwrap.wrap(wrapped)
    costwrap.wrap(awrapped)
    loop = asyncio.new_event_loop()

    def chat(client: Any) -> Callable[[], object]:
        return lambda: client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    def achat(client: Any) -> Callable[[], object]:
        return lambda: loop.run_until_complete(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    def stream(client: Any) -> Callable[[], object]:
        def run() -> None:
            for _ in client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            ):
                pass

        return run

    results: dict[str, Any] = {}
    for label, variants, per in (
        ("openai chat.completions.create (sync)", {"raw": chat(raw), "costwrap": chat(wrapped)}, 1),
        ("openai chat.completions.create (async)", {"raw": achat(araw), "costwrap": achat(awrapped)}, 1),
        ("openai chat stream, 51 chunks (per chunk)", {"raw": stream(raw), "costwrap": stream(wrapped)}, STREAM_CHUNKS),
    ):
        samples = interleave(variants, rounds, calls)
        results[label] = {name: summary([v / per for v in values]) for name, values in samples.items()}
    loop.close()
    return results


def bench_price(rounds: int, calls: int) -> dict[str, Any]:
    import costwrap

    usage = costwrap.Usage(input_tokens=1200, cache_read_tokens=1000, output_tokens=300)
    variants: dict[str, Callable[[], object]] = {
        "costwrap.price()": lambda: costwrap.price("gpt-4o-mini", usage=usage, provider="openai"),
    }
    try:
        from genai_prices import Usage, calc_price

        gp_usage = Usage(input_tokens=1200, cache_read_tokens=1000, output_tokens=300)
        variants["genai-prices calc_price()"] = lambda: calc_price(gp_usage, "gpt-4o-mini", provider_id="openai")
        ours = costwrap.price("gpt-4o-mini", usage=usage, provider="openai")
        theirs = calc_price(gp_usage, "gpt-4o-mini", provider_id="openai").total_price
        if ours is None or ours.total != theirs:
            raise SystemExit(f"costwrap and genai-prices disagree: {ours} vs {theirs}")
    except ImportError:
        pass
    samples = interleave(variants, rounds, calls * 20)
    return {name: summary(values) for name, values in samples.items()}


def bench_import(runs: int) -> dict[str, Any]:
    def seconds(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    bare = [seconds("pass") for _ in range(runs)]
    imported = [seconds("import costwrap") for _ in range(runs)]
    first_load = [
        float(
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import time, costwrap; t = time.perf_counter(); "
                    "costwrap.price('gpt-4o-mini', input_tokens=1); print(time.perf_counter() - t)",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(runs)
    ]
    return {
        "import costwrap over bare python": statistics.median(imported) - statistics.median(bare),
        "registry first load (openai table)": statistics.median(first_load),
    }


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.2f} us"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few rounds: checks the script, not the machine")
    args = parser.parse_args(argv)
    rounds, calls, runs = (5, 20, 3) if args.quick else (41, 200, 15)

    calls_result = bench_calls(rounds, calls)
    price_result = bench_price(rounds, calls)
    import_result = bench_import(runs)

    lines = [
        f"costwrap benchmark ({'quick' if args.quick else 'full'}): Python {platform.python_version()}, "
        f"{platform.machine()}, {rounds} interleaved rounds, medians (IQR)",
        "",
        "| call | raw SDK | with costwrap | overhead | overhead / raw |",
        "|---|---|---|---|---|",
    ]
    for label, result in calls_result.items():
        raw, ours = result["raw"]["median"], result["costwrap"]["median"]
        spread = f"({us(result['costwrap']['q1'])}-{us(result['costwrap']['q3'])})"
        lines.append(f"| {label} | {us(raw)} | {us(ours)} {spread} | {us(ours - raw)} | {(ours - raw) / raw:+.1%} |")
    lines += ["", "| pricing one call | median (IQR) |", "|---|---|"]
    for label, s in price_result.items():
        lines.append(f"| {label} | {us(s['median'])} ({us(s['q1'])}-{us(s['q3'])}) |")
    lines += ["", "| start-up | median |", "|---|---|"]
    for label, seconds in import_result.items():
        lines.append(f"| {label} | {seconds * 1e3:.1f} ms |")
    print("\n".join(lines))

    out = HERE / "results" / ("quick.json" if args.quick else "latest.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "rounds": rounds,
                "calls": calls_result,
                "price": price_result,
                "startup_s": import_result,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"\nwrote {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
