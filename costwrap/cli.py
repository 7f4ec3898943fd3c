"""The ``costwrap`` command line: price, models, estimate, compare, report, demo.

Offline and fast: it reads the shipped price tables and your ledger, nothing else. A table for
people (bold headers on a terminal, plain when piped or with ``NO_COLOR``) or ``--json`` for
scripts, money always as exact decimal strings there. Bad input gets one line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TextIO

from costwrap._errors import CostwrapError
from costwrap._format import usd

EXIT_USAGE = 2


class _Out:
    """Where a command writes: tables for people, JSON for scripts."""

    def __init__(self, stream: TextIO, as_json: bool) -> None:
        self.stream = stream
        self.as_json = as_json
        self.colour = stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"

    def line(self, text: str = "") -> None:
        print(text, file=self.stream)

    def json(self, data: Any) -> None:
        json.dump(data, self.stream, indent=2)
        self.stream.write("\n")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> None:
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

        def fmt(cells: Sequence[str]) -> str:
            return "  ".join(
                c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        head = fmt(headers)
        self.line(f"\033[1m{head}\033[0m" if self.colour else head)
        for row in rows:
            self.line(fmt(row))


def _progress(total: int, enabled: bool) -> Callable[[int], None] | None:
    """A progress bar on stderr, only when stderr is a terminal and the work is large."""
    if not enabled or total < 50_000 or not sys.stderr.isatty():
        return None

    def show(done: int) -> None:
        filled = int(30 * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}")
        if done >= total - 10_000:
            sys.stderr.write("\r" + " " * 60 + "\r")
        sys.stderr.flush()

    return show


def _rate(value: Any) -> str:
    from costwrap.pricing._rates import Tiered

    if value is None:
        return "-"
    if isinstance(value, Tiered):
        tiers = ", ".join(f">{start:,}: {rate}" for start, rate in value.tiers)
        return f"{value.base} ({tiers})"
    return str(value)


# --- commands ------------------------------------------------------------------------------------


def cmd_price(args: argparse.Namespace, out: _Out) -> int:
    """One call's cost with its breakdown."""
    from costwrap.pricing import registry
    from costwrap.reports import ReportError, parse_date

    at = parse_date(args.at) if args.at else None
    if registry.lookup(args.model, args.provider) is None:
        raise ReportError(f"unknown model {args.model!r}: `costwrap models --search` lists the priced ones")
    price = registry.price(
        args.model,
        input_tokens=args.input,
        output_tokens=args.output,
        cache_read_tokens=args.cached,
        cache_write_tokens=args.cache_write,
        reasoning_tokens=args.reasoning,
        provider=args.provider,
        batch=args.batch,
        at=at,
    )
    assert price is not None
    if out.as_json:
        out.json(
            {
                "model": args.model,
                "priced_as": price.model,
                "provider": price.provider,
                "total": str(price.total),
                "breakdown": {k: str(v) for k, v in price.breakdown.items()},
                "source": price.source,
                "notes": list(price.notes),
            }
        )
        return 0
    out.line(f"{args.model} priced as {price.provider}/{price.model} ({price.source})")
    rows = [[part, usd(cost)] for part, cost in price.breakdown.items()]
    out.table(["part", "USD"], [*rows, ["total", usd(price.total)]], numeric=[1])
    for note in price.notes:
        out.line(f"note: {note}")
    return 0


def cmd_models(args: argparse.Namespace, out: _Out) -> int:
    """The registry's models and their rates per million tokens."""
    from datetime import UTC, datetime

    from costwrap.pricing import registry
    from costwrap.pricing._table import day_number

    today = day_number(datetime.now(UTC).date())
    needle = (args.search or "").lower()
    rows: list[dict[str, Any]] = []
    for entry in registry.models(args.provider):
        if needle and needle not in entry.id.lower() and needle not in (entry.name or "").lower():
            continue
        rates = entry.rates(today).per_million
        rows.append(
            {
                "provider": entry.provider,
                "model": entry.id,
                "input": rates.get("input"),
                "cache_read": rates.get("cache_read"),
                "cache_write": rates.get("cache_write"),
                "output": rates.get("output"),
                "context_window": entry.context_window,
                "source": entry.source,
            }
        )
    if out.as_json:
        out.json(
            [
                {k: (_rate(v) if k in ("input", "cache_read", "cache_write", "output") else v) for k, v in r.items()}
                for r in rows
            ]
        )
        return 0
    if not rows:
        out.line("no model matches")
        return 1
    out.table(
        ["provider", "model", "input/M", "cached/M", "cache write/M", "output/M", "context", "source"],
        [
            [
                r["provider"],
                r["model"],
                _rate(r["input"]),
                _rate(r["cache_read"]),
                _rate(r["cache_write"]),
                _rate(r["output"]),
                f"{r['context_window']:,}" if r["context_window"] else "-",
                r["source"],
            ]
            for r in rows
        ],
    )
    out.line(f"{len(rows)} models; rates in USD per million tokens, in force today")
    return 0


def cmd_estimate(args: argparse.Namespace, out: _Out) -> int:
    """Monthly projections side by side."""
    from costwrap.reports import parse_date, project

    at = parse_date(args.at) if args.at else None
    projections = [
        project(
            model,
            requests_per_day=args.requests_per_day,
            input_tokens=args.input,
            output_tokens=args.output,
            cached_share=args.cached_share,
            batch=args.batch,
            at=at,
            days_per_month=args.days,
        )
        for model in args.model
    ]
    if out.as_json:
        out.json([p.to_dict() for p in projections])
        return 0
    cheapest = min(p.per_month for p in projections)
    out.line(
        f"{args.requests_per_day:,} requests/day x ({args.input:,} input"
        f"{f' ({args.cached_share} cached)' if Decimal(args.cached_share) else ''} + {args.output:,} output tokens)"
        f"{', batch' if args.batch else ''}; a month is {args.days} days"
    )
    out.table(
        ["model", "priced as", "per request", "per day", "per month", "vs cheapest"],
        [
            [
                p.model,
                p.priced_as,
                usd(p.per_request),
                usd(p.per_day, 2),
                usd(p.per_month, 2),
                "cheapest" if p.per_month == cheapest else f"x{(p.per_month / cheapest):.2f}" if cheapest else "-",
            ]
            for p in projections
        ],
        numeric=[2, 3, 4, 5],
    )
    return 0


def cmd_compare(args: argparse.Namespace, out: _Out) -> int:
    """Re-price a ledger's usage on other models."""
    from costwrap.reports import compare, count_records, parse_since

    since = parse_since(args.since) if args.since else None
    progress = _progress(count_records(args.ledger, since), not out.as_json)
    actual, alternatives = compare(args.ledger, args.models.split(","), since=since, progress=progress)
    if out.as_json:
        out.json({"actual": actual.to_dict(), "alternatives": [a.to_dict() for a in alternatives]})
        return 0
    out.line(f"{actual.calls:,} calls in {args.ledger}: {usd(actual.cost)} as run ({actual.unpriced} unpriced)")
    out.table(
        ["model", "priced as", "would have cost", "vs actual", "calls re-priced", "skipped (no usage)"],
        [
            [
                a.model,
                a.priced_as or "-",
                usd(a.cost),
                f"{(a.cost - actual.cost) / actual.cost:+.1%}" if actual.cost else "-",
                f"{a.priced_calls:,}",
                f"{a.skipped:,}",
            ]
            for a in alternatives
        ],
        numeric=[2, 3, 4, 5],
    )
    out.line("Same token counts on every model: another model's tokenizer would count somewhat differently.")
    return 0


def cmd_report(args: argparse.Namespace, out: _Out) -> int:
    """Totals, groups, top calls and cache savings for a ledger."""
    from costwrap.reports import count_records, parse_since, report

    since = parse_since(args.since) if args.since else None
    progress = _progress(count_records(args.ledger, since), not out.as_json)
    result = report(args.ledger, since=since, by=args.by, top=args.top, progress=progress)
    if args.html:
        from costwrap._html import render

        with open(args.html, "w", encoding="utf-8") as page:
            page.write(render(result))
    if out.as_json:
        out.json(result.to_dict())
        return 0
    period = f", {result.first:%Y-%m-%d %H:%M} to {result.last:%Y-%m-%d %H:%M} UTC" if result.first else ""
    out.line(f"{args.ledger}: {result.calls:,} calls{period}")
    out.line(
        f"spent {usd(result.cost)}"
        + (f" (+{result.unpriced:,} unpriced calls)" if result.unpriced else "")
        + f"; caching saved {usd(result.cache_savings)} on {result.cache_read_tokens:,} cached tokens"
    )
    out.line()
    out.table(
        [args.by, "calls", "cost", "input tokens", "output tokens"],
        [
            [g.key, f"{g.calls:,}", usd(g.cost), f"{g.input_tokens:,}", f"{g.output_tokens:,}"]
            for g in result.groups[: args.top if args.by != "day" else None]
        ],
        numeric=[1, 2, 3, 4],
    )
    if result.tags and args.by == "model":
        out.line()
        out.table(
            ["top tags", "calls", "cost"],
            [[g.key, f"{g.calls:,}", usd(g.cost)] for g in result.tags[: args.top]],
            numeric=[1, 2],
        )
    if result.top_calls:
        out.line()
        out.table(
            ["most expensive calls (UTC)", "model", "cost", "input", "output"],
            [
                [
                    f"{c.timestamp:%Y-%m-%d %H:%M:%S}",
                    c.model or "-",
                    usd(c.cost),
                    f"{c.input_tokens:,}",
                    f"{c.output_tokens:,}",
                ]
                for c in result.top_calls
            ],
            numeric=[2, 3, 4],
        )
    if args.html:
        out.line()
        out.line(f"wrote {args.html}")
    return 0


def cmd_demo(args: argparse.Namespace, out: _Out) -> int:
    """The offline demo through the real SDK clients."""
    try:
        from costwrap import _demo

        _demo.run()
    except ImportError as exc:
        print(f"costwrap demo needs the openai extra: pip install 'costwrap[openai]' ({exc})", file=sys.stderr)
        return EXIT_USAGE
    return 0


# --- parsing -------------------------------------------------------------------------------------


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must not be negative")
    return value


def _share(text: str) -> str:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite() or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``costwrap`` command."""
    parser = argparse.ArgumentParser(prog="costwrap", description="What every LLM call costs, offline.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, fn: Callable[[argparse.Namespace, _Out], int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=fn)
        sub.add_argument("--json", action="store_true", help="machine-readable output (money as decimal strings)")
        return sub

    price = command("price", cmd_price, "one call's cost with its breakdown")
    price.add_argument("model")
    price.add_argument("--input", type=_count, default=0, help="input tokens, cached ones included")
    price.add_argument("--output", type=_count, default=0, help="output tokens, reasoning included")
    price.add_argument("--cached", type=_count, default=0, help="input tokens read from the cache")
    price.add_argument("--cache-write", type=_count, default=0, help="input tokens written to the cache")
    price.add_argument("--reasoning", type=_count, default=0, help="reasoning tokens (part of --output)")
    price.add_argument("--provider", help="look in this provider's table first (azure, bedrock, ...)")
    price.add_argument("--batch", action="store_true", help="batch rates")
    price.add_argument("--at", metavar="DATE", help="prices in force at this date (default now)")

    models = command("models", cmd_models, "the priced models and their rates per million tokens")
    models.add_argument("--provider")
    models.add_argument("--search", metavar="TEXT")

    estimate = command("estimate", cmd_estimate, "monthly cost of a steady volume, model by model")
    estimate.add_argument("--model", action="append", required=True, help="repeat to compare models")
    estimate.add_argument("--requests-per-day", type=_count, required=True)
    estimate.add_argument("--input", type=_count, required=True, help="input tokens per request")
    estimate.add_argument("--output", type=_count, required=True, help="output tokens per request")
    estimate.add_argument("--cached-share", type=_share, default="0", help="share of the input read from the cache")
    estimate.add_argument("--batch", action="store_true", help="batch rates")
    estimate.add_argument("--days", type=_count, default=30, help="days in a month (default 30)")
    estimate.add_argument("--at", metavar="DATE", help="prices in force at this date (default now)")

    compare = command("compare", cmd_compare, "what a ledger's calls would have cost on other models")
    compare.add_argument("ledger")
    compare.add_argument("--models", required=True, help="comma-separated model names")
    compare.add_argument("--since", help="7d, 24h, or a date")

    report = command("report", cmd_report, "a ledger's spend: totals, top models and tags, cache savings")
    report.add_argument("ledger")
    report.add_argument("--since", help="7d, 24h, or a date")
    report.add_argument("--by", default="model", help="model, provider, day or tag:NAME")
    report.add_argument("--top", type=_count, default=10, help="rows per table (default 10)")
    report.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")

    command("demo", cmd_demo, "an offline session through the real OpenAI, Anthropic and Gemini clients")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``costwrap`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 1
    out = _Out(sys.stdout, getattr(args, "json", False))
    try:
        return int(args.run(args, out))
    except BrokenPipeError:
        # The reader went away (`costwrap report ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (CostwrapError, ValueError, OSError, sqlite3.Error) as exc:  # a file we were asked to read or write
        print(f"costwrap {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"costwrap {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
