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
from datetime import datetime
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from costwrap._errors import CostwrapError
from costwrap._record import decimal_text

if TYPE_CHECKING:
    from costwrap.reports import Report

EXIT_USAGE = 2
EXIT_NO_MATCH = 1


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


def _usd(amount: Decimal | None, places: int | None = None, *, min_places: int = 0) -> str:
    from costwrap._format import usd

    return usd(amount, places, min_places=min_places)


def _note(command: str, text: str) -> None:
    print(f"costwrap {command}: note: {text}", file=sys.stderr)


def _progress(ledger: str, since: datetime | None, enabled: bool) -> Callable[[int], None] | None:
    """A progress bar on stderr, only when stderr is a terminal and the ledger is large.

    Sizing the bar takes a pass over the ledger of its own, so it is only made for a terminal.
    """
    if not enabled or not sys.stderr.isatty():
        return None
    from costwrap.reports import count_records

    total = count_records(ledger, since)
    if total < 50_000:
        return None

    def show(done: int) -> None:
        filled = int(30 * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}")
        if done >= total - 10_000:
            sys.stderr.write("\r" + " " * 60 + "\r")
        sys.stderr.flush()

    return show


def _rate(value: Any) -> str:
    """A rate for the table: ``2.5``, ``2.5 (>200,000: 5)`` for long-context tiers, ``-`` for none."""
    from costwrap.pricing._rates import Tiered

    if value is None:
        return "-"
    if isinstance(value, Tiered):
        tiers = ", ".join(f">{start:,}: {decimal_text(rate)}" for start, rate in value.tiers)
        return f"{decimal_text(value.base)} ({tiers})"
    return decimal_text(value)


def _rate_json(value: Any) -> Any:
    """A rate for JSON: a decimal string, ``null``, or ``{"base": ..., "tiers": [[above, rate], ...]}``."""
    from costwrap.pricing._rates import Tiered

    if value is None:
        return None
    if isinstance(value, Tiered):
        return {"base": decimal_text(value.base), "tiers": [[start, decimal_text(rate)] for start, rate in value.tiers]}
    return decimal_text(value)


def _at(command: str, text: str | None) -> datetime | None:
    """``--at`` as a UTC datetime; a date older than any price data gets a note on stderr."""
    from costwrap.reports import PRICE_DATA_START, parse_date

    if not text:
        return None
    at = parse_date(text)
    if at.date() < PRICE_DATA_START:
        _note(
            command,
            f"--at {text.strip()} is before any priced LLM API ({PRICE_DATA_START}): "
            "the earliest rates in the price data are used",
        )
    return at


# --- commands ------------------------------------------------------------------------------------


def cmd_price(args: argparse.Namespace, out: _Out) -> int:
    """One call's cost with its breakdown."""
    from costwrap.pricing import registry
    from costwrap.reports import ReportError

    at = _at("price", args.at)
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
                "total": decimal_text(price.total),
                "breakdown": {k: decimal_text(v) for k, v in price.breakdown.items()},
                "source": price.source,
                "notes": list(price.notes),
            }
        )
        return 0
    out.line(f"{args.model} priced as {price.provider}/{price.model} ({price.source})")
    rows = [[part, _usd(cost)] for part, cost in price.breakdown.items()]
    out.table(["part", "USD"], [*rows, ["total", _usd(price.total)]], numeric=[1])
    for note in price.notes:
        out.line(f"note: {note}")
    return 0


_RATE_COLUMNS = ("input", "cache_read", "cache_write", "output")


def cmd_models(args: argparse.Namespace, out: _Out) -> int:
    """The registry's models and their rates per million tokens."""
    from datetime import UTC

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
                **{name: rates.get(name) for name in _RATE_COLUMNS},
                "context_window": entry.context_window,
                "source": entry.source,
            }
        )
    if out.as_json:
        out.json([{k: (_rate_json(v) if k in _RATE_COLUMNS else v) for k, v in r.items()} for r in rows])
    elif rows:
        out.table(
            ["provider", "model", "input/M", "cached/M", "cache write/M", "output/M", "context", "source"],
            [
                [
                    r["provider"],
                    r["model"],
                    *(_rate(r[name]) for name in _RATE_COLUMNS),
                    f"{r['context_window']:,}" if r["context_window"] else "-",
                    r["source"],
                ]
                for r in rows
            ],
        )
        out.line(f"{len(rows)} models; rates in USD per million tokens, in force today")
    if not rows:
        wanted = " ".join(
            f"{flag} {value!r}" for flag, value in (("--provider", args.provider), ("--search", args.search)) if value
        )
        print(f"costwrap models: no model matches{' ' + wanted if wanted else ''}", file=sys.stderr)
        return EXIT_NO_MATCH
    return 0


def cmd_estimate(args: argparse.Namespace, out: _Out) -> int:
    """Monthly projections side by side."""
    from costwrap.reports import project

    at = _at("estimate", args.at)
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

    def ratio(per_month: Decimal) -> str:
        if per_month == cheapest:
            return "cheapest"
        return f"x{(per_month / cheapest):.2f}" if cheapest else "-"

    # Exact amounts (cents at least): a small request shows its digits, and day x days is the month.
    out.table(
        ["model", "priced as", "per request", "per day", f"per month ({args.days} d)", "vs cheapest"],
        [
            [
                p.model,
                p.priced_as,
                _usd(p.per_request, min_places=2),
                _usd(p.per_day, min_places=2),
                _usd(p.per_month, min_places=2),
                ratio(p.per_month),
            ]
            for p in projections
        ],
        numeric=[2, 3, 4, 5],
    )
    return 0


_EXCLUSION_TEXT = {
    "not_chat": "not chat (embeddings, ...)",
    "no_usage": "without usage",
    "unpriced": "unpriced as run",
    "invalid_usage": "with usage no model can price",
}


def cmd_compare(args: argparse.Namespace, out: _Out) -> int:
    """Re-price a ledger's usage on other models."""
    from costwrap.reports import EXACT, compare, parse_since

    since = parse_since(args.since) if args.since else None
    progress = _progress(args.ledger, since, not out.as_json)
    actual, alternatives = compare(args.ledger, args.models.split(","), since=since, progress=progress)
    if out.as_json:
        out.json({"actual": actual.to_dict(), "alternatives": [a.to_dict() for a in alternatives]})
        return 0
    out.line(f"{actual.calls:,} calls in {args.ledger}: {_usd(actual.cost)} as run ({actual.unpriced:,} unpriced)")
    left_out = sum(actual.excluded.values())
    reasons = ", ".join(f"{n:,} {_EXCLUSION_TEXT[why]}" for why, n in actual.excluded.items() if n)
    out.line(
        f"compared {actual.compared_calls:,} calls that cost {_usd(actual.compared_cost)} as run"
        + (f"; left out {left_out:,}: {reasons}" if left_out else "")
    )
    rows = []
    for a in alternatives:
        with localcontext(EXACT):
            difference = a.cost - actual.compared_cost
        change = f"{difference / actual.compared_cost:+.1%}" if actual.compared_cost else "-"
        rows.append(
            [a.model, a.priced_as or "-", _usd(a.cost), ("+" if difference > 0 else "") + _usd(difference), change]
        )
    out.table(["model", "priced as", "would have cost", "difference", "vs actual"], rows, numeric=[2, 3, 4])
    out.line("Same token counts on every model: another model's tokenizer would count somewhat differently.")
    return 0


def _cache_line(result: Report) -> str:
    """What caching saved, net of the cache writes' premium when there were writes."""
    reads = f"{_usd(result.cache_read_savings)} on {result.cache_read_tokens:,} cached tokens"
    if not result.cache_write_premium:
        return f"caching saved {reads}"
    net = result.cache_savings
    if net >= 0:
        verdict = f"caching saved {_usd(net)} net"
    else:
        verdict = f"caching cost {_usd(net.copy_negate())} more than it saved"
    return (
        f"{verdict}: reads saved {reads}, writes cost {_usd(result.cache_write_premium)} "
        f"above the input rate on {result.cache_write_tokens:,} tokens"
    )


def cmd_report(args: argparse.Namespace, out: _Out) -> int:
    """Totals, groups, top calls and cache savings for a ledger."""
    from costwrap.reports import OTHER, TAG_GROUP_LIMIT, parse_since, report

    since = parse_since(args.since) if args.since else None
    progress = _progress(args.ledger, since, not out.as_json)
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
        f"spent {_usd(result.cost)}"
        + (f" (+{result.unpriced:,} unpriced calls)" if result.unpriced else "")
        + f"; {_cache_line(result)}"
    )
    out.line()
    out.table(
        [args.by, "calls", "cost", "unpriced", "input tokens", "output tokens"],
        [
            [g.key, f"{g.calls:,}", _usd(g.cost), f"{g.unpriced:,}", f"{g.input_tokens:,}", f"{g.output_tokens:,}"]
            for g in result.groups[: args.top if args.by != "day" else None]
        ],
        numeric=[1, 2, 3, 4, 5],
    )
    if result.tags and args.by == "model":
        out.line()
        out.table(
            ["top tags", "calls", "cost"],
            [[g.key, f"{g.calls:,}", _usd(g.cost)] for g in result.tags[: args.top]],
            numeric=[1, 2],
        )
    if any(g.key == OTHER for g in (*result.groups, *result.tags)):
        out.line(f"{OTHER}: calls whose tag value came after the first {TAG_GROUP_LIMIT:,} distinct ones")
    if result.top_calls:
        out.line()
        out.table(
            ["most expensive calls (UTC)", "model", "cost", "input", "output"],
            [
                [
                    f"{c.timestamp:%Y-%m-%d %H:%M:%S}",
                    c.model or "-",
                    _usd(c.cost),
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


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the usage block is what ``--help`` is for."""

    def error(self, message: str) -> NoReturn:
        """Say what is wrong on one line of stderr and exit with status 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must not be negative")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _share(text: str) -> str:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite() or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1")
    return text


_AT_HELP = (
    "prices in force at this date, e.g. 2026-11-01 or 2026-11-01T12:00+01:00 (UTC when naive; default now); "
    "a date before 2020-06-11, older than any priced LLM API, gets a note on stderr"
)
_SINCE_HELP = "only calls since then: 7d, 24h, 30m, 2w ago, or a date (UTC when naive)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``costwrap`` command."""
    parser = _Parser(
        prog="costwrap",
        description="What every LLM call costs, offline.",
        epilog="Exit status: 0 done, 1 nothing matched (models), 2 bad input.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, fn: Callable[[argparse.Namespace, _Out], int], help_text: str, epilog: str | None = None
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, epilog=epilog)
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
    price.add_argument("--at", metavar="DATE", help=_AT_HELP)

    models = command(
        "models",
        cmd_models,
        "the priced models and their rates per million tokens",
        epilog="--json gives rates as decimal strings, null where the model has no such rate, and "
        '{"base": RATE, "tiers": [[ABOVE_INPUT_TOKENS, RATE], ...]} for long-context tiers (the '
        "shape a price file takes). No model matching: exit status 1, in both forms.",
    )
    models.add_argument("--provider")
    models.add_argument("--search", metavar="TEXT")

    estimate = command(
        "estimate",
        cmd_estimate,
        "monthly cost of a steady volume, model by model",
        epilog="Amounts are exact (never rounded to cents): per day x days is the month shown.",
    )
    estimate.add_argument("--model", action="append", required=True, help="repeat to compare models")
    estimate.add_argument("--requests-per-day", type=_count, required=True)
    estimate.add_argument("--input", type=_count, required=True, help="input tokens per request")
    estimate.add_argument("--output", type=_count, required=True, help="output tokens per request")
    estimate.add_argument("--cached-share", type=_share, default="0", help="share of the input read from the cache")
    estimate.add_argument("--batch", action="store_true", help="batch rates")
    estimate.add_argument("--days", type=_count, default=30, help="days in a month (default 30)")
    estimate.add_argument("--at", metavar="DATE", help=_AT_HELP)

    compare = command(
        "compare",
        cmd_compare,
        "what a ledger's calls would have cost on other models",
        epilog="Like for like: only chat/generation calls with usage and a price as they ran are compared; "
        "the others (embeddings, calls without usage, unpriced calls) are counted and left out.",
    )
    compare.add_argument("ledger")
    compare.add_argument("--models", required=True, help="comma-separated model names")
    compare.add_argument("--since", help=_SINCE_HELP)

    report = command(
        "report",
        cmd_report,
        "a ledger's spend: totals, top models and tags, cache savings",
        epilog="Caching saved = cache reads priced at the input rate minus what they cost, net of what "
        "cache writes cost above the input rate. Tags: past 10,000 distinct values, later values are "
        "totalled as (other), so memory stays bounded.",
    )
    report.add_argument("ledger")
    report.add_argument("--since", help=_SINCE_HELP)
    report.add_argument("--by", default="model", help="model, provider, day or tag:NAME")
    report.add_argument(
        "--top", type=_positive, default=10, help="rows per table and most expensive calls shown (default 10, >= 1)"
    )
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
