"""The `costwrap` command: in-process and as a subprocess, over a ledger written by real SDK calls.

Rates used (per million tokens): gpt-4o-mini input $0.15, cached $0.075, output $0.60;
gpt-4o input $2.50, output $10. The ledger holds four calls:

1. gpt-4o-mini, 1000 input (800 cached) + 200 output, feature=search, 10 days ago:
   200 x 0.15 + 800 x 0.075 + 200 x 0.60 = 30 + 60 + 120 = 210 micro-dollars; caching saved
   800 x (0.15 - 0.075) = 60 micro-dollars.
2. gpt-4o, 2000 + 500, feature=chat, 1 hour ago: 2000 x 2.50 + 500 x 10 = 10,000 micro-dollars.
3. gpt-4o-mini, 100 + 50, feature=chat, 1 hour ago: 15 + 30 = 45 micro-dollars.
4. acme-llm (no price), 10 + 5, untagged, 1 hour ago: unpriced.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import costwrap
from costwrap.cli import main
from costwrap.sinks import SQLiteSink
from tests.conftest import MockServer, chat_body, chat_usage

MICRO = Decimal("0.000001")
TOTAL = (210 + 10_000 + 45) * MICRO
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def ledger(tmp_path: Path, server: MockServer, openai_client: Any, records: list[costwrap.CostRecord]) -> Path:
    for model, usage in [
        ("gpt-4o-mini", chat_usage(1000, 200, cached=800)),
        ("gpt-4o", chat_usage(2000, 500)),
        ("gpt-4o-mini", chat_usage(100, 50)),
        ("acme-llm", chat_usage(10, 5)),
    ]:
        server.json(chat_body(model, usage))
    search = costwrap.wrap(openai_client, tags={"feature": "search"})
    search.chat.completions.create(model="gpt-4o-mini", messages=HI)
    costwrap.unwrap(openai_client)
    chat = costwrap.wrap(openai_client, tags={"feature": "chat"})
    chat.chat.completions.create(model="gpt-4o", messages=HI)
    chat.chat.completions.create(model="gpt-4o-mini", messages=HI)
    costwrap.unwrap(openai_client)
    with pytest.warns(costwrap.UnpricedModelWarning):
        costwrap.wrap(openai_client).chat.completions.create(model="acme-llm", messages=HI)
    now = datetime.now(UTC)
    when = [now - timedelta(days=10), now - timedelta(hours=1), now - timedelta(hours=1), now - timedelta(hours=1)]
    path = tmp_path / "ledger.db"
    sink = SQLiteSink(path)
    for record, at in zip(records, when, strict=True):
        sink(dataclasses.replace(record, timestamp=at))
    sink.close()
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_report_totals_groups_and_cache_savings(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "report", str(ledger))
    assert (data["calls"], Decimal(data["cost"]), data["unpriced"]) == (4, TOTAL, 1)
    assert Decimal(data["cache_savings"]) == 60 * MICRO and data["cache_read_tokens"] == 800
    models = {g["key"]: (g["calls"], Decimal(g["cost"])) for g in data["models"]}
    assert models == {"gpt-4o": (1, 10_000 * MICRO), "gpt-4o-mini": (2, 255 * MICRO), "acme-llm": (1, Decimal(0))}
    assert [g["key"] for g in data["groups"]] == ["gpt-4o", "gpt-4o-mini", "acme-llm"]  # most expensive first
    assert [Decimal(c["cost"]) for c in data["top_calls"]] == [10_000 * MICRO, 210 * MICRO, 45 * MICRO]
    assert len(data["days"]) == 2


def test_report_by_tag_and_since(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "report", str(ledger), "--by", "tag:feature")
    assert {g["key"]: Decimal(g["cost"]) for g in data["groups"]} == {
        "chat": 10_045 * MICRO,
        "search": 210 * MICRO,
        "(untagged)": Decimal(0),
    }
    recent = run_json(capsys, "report", str(ledger), "--since", "7d")
    assert (recent["calls"], Decimal(recent["cost"]), Decimal(recent["cache_savings"])) == (3, 10_045 * MICRO, 0)


def test_report_table_for_people(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(ledger)]) == 0
    out = capsys.readouterr().out
    assert "spent $0.010255 (+1 unpriced calls); caching saved $0.00006 on 800 cached tokens" in out
    assert "\033[" not in out  # not a terminal: no colour codes


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._current = dict(attrs).get("id")

    def handle_data(self, data: str) -> None:
        if self._current and data.strip():
            self.ids.setdefault(self._current, data.strip())


def test_html_report_is_one_self_contained_page_with_charts(
    ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page_path = tmp_path / "report.html"
    assert main(["report", str(ledger), "--html", str(page_path)]) == 0
    assert f"wrote {page_path}" in capsys.readouterr().out
    page = _Page()
    page.feed(page_path.read_text(encoding="utf-8"))
    assert page.ids["total-cost"] == "$0.010255" and page.ids["total-calls"] == "4"
    assert page.ids["cache-savings"] == "$0.00006"
    svgs = {attrs.get("id") for tag, attrs in page.tags if tag == "svg"}
    assert svgs == {"spend-by-day", "spend-by-model"}
    data = run_json(capsys, "report", str(ledger))
    days = (datetime.fromisoformat(data["last"]).date() - datetime.fromisoformat(data["first"]).date()).days + 1
    assert sum(1 for tag, attrs in page.tags if tag == "rect") == days + 3  # every day in the period, 3 models
    # Nothing to fetch: no scripts, stylesheets, images or fonts from anywhere.
    assert not [t for t, a in page.tags if t in ("script", "link", "img", "iframe")]
    assert not [a for _, a in page.tags if any(str(v).startswith(("http", "//")) for v in a.values())]


def test_compare_reprices_each_call_on_other_models(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "compare", str(ledger), "--models", "gpt-4o-mini,gpt-4o")
    assert Decimal(data["actual"]["cost"]) == TOTAL
    # acme-llm has no price as it ran: left out of both sides.
    assert (data["actual"]["compared_calls"], Decimal(data["actual"]["compared_cost"])) == (3, TOTAL)
    assert data["actual"]["excluded"] == {"not_chat": 0, "no_usage": 0, "unpriced": 1, "invalid_usage": 0}
    mini, big = data["alternatives"]
    # gpt-4o-mini: 210 + (2000 x 0.15 + 500 x 0.60 = 600) + 45
    assert Decimal(mini["cost"]) == Decimal(855) * MICRO and mini["priced_calls"] == 3
    # gpt-4o: (200 x 2.50 + 800 x 1.25 + 200 x 10 = 3500) + 10,000 + (250 + 500)
    assert Decimal(big["cost"]) == Decimal(14_250) * MICRO


def test_price_estimate_and_models(capsys: pytest.CaptureFixture[str]) -> None:
    price = run_json(capsys, "price", "gpt-4o-mini", "--input", "1200", "--cached", "1000", "--output", "300")
    assert Decimal(price["total"]) == Decimal("0.000285")
    assert {k: Decimal(v) for k, v in price["breakdown"].items()} == {
        "input": Decimal("0.00003"),
        "cache_read": Decimal("0.000075"),
        "output": Decimal("0.00018"),
    }
    batch = run_json(capsys, "price", "gpt-4o-mini", "--input", "1000", "--output", "1000", "--batch")
    assert Decimal(batch["total"]) == (Decimal("0.075") + Decimal("0.30")) / 1000  # half price
    [mini, big] = run_json(
        capsys,
        "estimate",
        "--model",
        "gpt-4o-mini",
        "--model",
        "gpt-4o",
        "--requests-per-day",
        "5000",
        "--input",
        "800",
        "--output",
        "250",
        "--cached-share",
        "0.6",
    )
    # 320 x 0.15 + 480 x 0.075 + 250 x 0.60 = 234 micro-dollars a request; x 5000 a day; x 30 a month.
    assert (Decimal(mini["per_request"]), Decimal(mini["per_day"]), Decimal(mini["per_month"])) == (
        234 * MICRO,
        Decimal("1.17"),
        Decimal("35.10"),
    )
    # 320 x 2.50 + 480 x 1.25 + 250 x 10 = 3900 micro-dollars.
    assert Decimal(big["per_month"]) == Decimal("0.0039") * 5000 * 30
    models = run_json(capsys, "models", "--provider", "openai", "--search", "gpt-4o-mini")
    row = next(m for m in models if m["model"] == "gpt-4o-mini")
    assert (row["input"], row["cache_read"], row["output"]) == ("0.15", "0.075", "0.6")
    assert row["source"].startswith("genai-prices")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "{missing}"], "no such ledger"),
        (["report", "{folder}"], "not a file"),
        (["report", "{text}"], "not a costwrap ledger"),
        (["report", "{newer}"], "newer than this costwrap"),
        (["report", "{ledger}", "--since", "last tuesday"], "--since 'last tuesday'"),
        (["report", "{ledger}", "--by", "colour"], "--by 'colour'"),
        (["price", "no-such-model", "--input", "1"], "unknown model 'no-such-model'"),
        (["price", "gpt-4o", "--at", "31/12/2025"], "not a date"),
        (["compare", "{ledger}", "--models", "gpt-4o,nope-9"], "unknown model 'nope-9'"),
        # Spans and dates that fall off the calendar (years 1 to 9999), not tracebacks.
        (["report", "{ledger}", "--since", "999999d"], "--since '999999d'"),
        (["compare", "{ledger}", "--models", "gpt-4o", "--since", "999999d"], "--since '999999d'"),
        (["report", "{ledger}", "--since", "9999999999w"], "--since '9999999999w'"),
        (["report", "{ledger}", "--since", "0001-01-01T00:00+01:00"], "--since '0001-01-01T00:00+01:00'"),
        (["price", "gpt-4o", "--at", "0001-01-01T00:00+01:00"], "--at '0001-01-01T00:00+01:00'"),
        (["price", "gpt-4o", "--at", "9999-12-31T23:00-05:00"], "--at '9999-12-31T23:00-05:00'"),
        (
            [
                *("estimate", "--model", "gpt-4o", "--requests-per-day", "1", "--input", "1", "--output", "1"),
                *("--at", "0001-01-01T00:00+01:00"),
            ],
            "--at '0001-01-01T00:00+01:00'",
        ),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(
    argv: list[str], message: str, ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some words " * 10)
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    paths = {"missing": tmp_path / "missing.db", "text": text, "newer": newer, "ledger": ledger, "folder": tmp_path}
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_numbers_are_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["estimate", "--model", "gpt-4o", "--requests-per-day", "-5", "--input", "1", "--output", "1"])
    assert info.value.code == 2 and "must not be negative" in capsys.readouterr().err


def test_the_installed_command_as_a_subprocess(ledger: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "costwrap.cli", "report", str(ledger), "--by", "day", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == ""
    data = json.loads(result.stdout)
    assert [g["calls"] for g in data["groups"]] == [1, 3] and Decimal(data["cost"]) == TOTAL


# --- review fixes --------------------------------------------------------------------------------


def write_ledger(path: Path, records: list[costwrap.CostRecord], when: list[datetime]) -> Path:
    sink = SQLiteSink(path)
    for record, at in zip(records, when, strict=True):
        sink(dataclasses.replace(record, timestamp=at))
    sink.close()
    return path


def table_rows(out: str, first_cell: str) -> list[list[str]]:
    """The rows of a printed table whose first cell is ``first_cell``, split into cells."""
    return [line.split() for line in out.splitlines() if line.split()[:1] == [first_cell]]


EMBEDDING = {
    "object": "list",
    "model": "text-embedding-3-small",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}


def test_compare_is_like_for_like_and_says_what_it_left_out(
    tmp_path: Path, server: MockServer, openai_client: Any, records: list[costwrap.CostRecord], capsys: Any
) -> None:
    client = costwrap.wrap(openai_client)
    server.json(chat_body("gpt-4o-mini", chat_usage(1000, 200)))  # priced: compared
    server.json(chat_body("gpt-4o-mini", None))  # no usage: left out
    server.json(chat_body("acme-llm", chat_usage(10, 5)))  # unpriced as it ran: left out
    server.json(EMBEDDING)  # an embedding is no chat call: left out
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    with pytest.warns(costwrap.UnpricedModelWarning):
        client.chat.completions.create(model="acme-llm", messages=HI)
    client.embeddings.create(model="text-embedding-3-small", input="hello")
    now = datetime.now(UTC) - timedelta(hours=1)
    path = write_ledger(tmp_path / "mixed.db", records, [now] * 4)

    data = run_json(capsys, "compare", str(path), "--models", "gpt-4o")
    actual, [big] = data["actual"], data["alternatives"]
    # As run: 1000 x 0.15 + 200 x 0.60 = 270 micro-dollars; the embedding 8 x 0.02 = 0.16.
    assert (actual["calls"], Decimal(actual["cost"]), actual["unpriced"]) == (4, Decimal("270.16") * MICRO, 2)
    assert (actual["compared_calls"], Decimal(actual["compared_cost"])) == (1, 270 * MICRO)
    assert actual["excluded"] == {"not_chat": 1, "no_usage": 1, "unpriced": 1, "invalid_usage": 0}
    # gpt-4o re-prices only the compared call: 1000 x 2.50 + 200 x 10 = 4500 micro-dollars.
    assert (Decimal(big["cost"]), big["priced_calls"]) == (4500 * MICRO, 1)

    assert main(["compare", str(path), "--models", "gpt-4o"]) == 0
    out = capsys.readouterr().out
    assert (
        "compared 1 calls that cost $0.00027 as run; left out 3: "
        "1 not chat (embeddings, ...), 1 without usage, 1 unpriced as run" in out
    )
    # (4500 - 270) / 270 = +1566.7 %
    assert table_rows(out, "gpt-4o") == [["gpt-4o", "gpt-4o", "$0.0045", "+$0.00423", "+1566.7%"]]


def test_report_nets_the_cache_write_premium(
    tmp_path: Path, server: MockServer, anthropic_client: Any, records: list[costwrap.CostRecord], capsys: Any
) -> None:
    from tests.conftest import anthropic_usage, message_body

    # claude-haiku-4-5 per million: input 1, 5m write 1.25, 1h write 2, cache read 0.10, output 5.
    server.json(message_body("claude-haiku-4-5", anthropic_usage(1000, 100, read=4000)))
    server.json(message_body("claude-haiku-4-5", anthropic_usage(1000, 100, write_5m=3000, write_1h=1000)))
    client = costwrap.wrap(anthropic_client)
    for _ in range(2):
        client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=HI)
    days = [datetime(2026, 11, 1, 12, tzinfo=UTC), datetime(2026, 11, 3, 12, tzinfo=UTC)]
    path = write_ledger(tmp_path / "cache.db", records, days)

    data = run_json(capsys, "report", str(path))
    # Read: 1000 x 1 + 4000 x 0.10 + 100 x 5 = 1900; write: 1000 x 1 + 3000 x 1.25 + 1000 x 2 + 100 x 5 = 7250.
    assert Decimal(data["cost"]) == (1900 + 7250) * MICRO
    # The reads saved 4000 x (1 - 0.10) = 3600; the writes cost 3000 x 0.25 + 1000 x 1 = 1750 more than input.
    assert Decimal(data["cache_read_savings"]) == 3600 * MICRO
    assert Decimal(data["cache_write_premium"]) == 1750 * MICRO
    assert Decimal(data["cache_savings"]) == 1850 * MICRO
    assert (data["cache_read_tokens"], data["cache_write_tokens"]) == (4000, 4000)

    assert main(["report", str(path)]) == 0
    assert (
        "caching saved $0.00185 net: reads saved $0.0036 on 4,000 cached tokens, "
        "writes cost $0.00175 above the input rate on 4,000 tokens" in capsys.readouterr().out
    )
    assert main(["report", str(path), "--since", "2026-11-02"]) == 0  # the writes alone
    assert "caching cost $0.00175 more than it saved" in capsys.readouterr().out


def test_report_table_counts_unpriced_calls_per_model(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(ledger)]) == 0
    out = capsys.readouterr().out
    assert table_rows(out, "model") == [["model", "calls", "cost", "unpriced", "input", "tokens", "output", "tokens"]]
    assert table_rows(out, "acme-llm") == [["acme-llm", "1", "$0", "1", "10", "5"]]
    assert table_rows(out, "gpt-4o-mini") == [["gpt-4o-mini", "2", "$0.000255", "0", "1,100", "250"]]


def test_html_day_chart_draws_days_without_calls(
    ledger: Path, tmp_path: Path, records: list[costwrap.CostRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    days = [datetime(2026, 11, d, 9, tzinfo=UTC) for d in (1, 4, 4, 4)]
    path = write_ledger(tmp_path / "gaps.db", records, days)
    page_path = tmp_path / "gaps.html"
    assert main(["report", str(path), "--html", str(page_path)]) == 0
    html = page_path.read_text(encoding="utf-8")
    chart = html[html.index("<svg id='spend-by-day'") : html.index("</svg>")]
    titles = [t.split("</title>")[0] for t in chart.split("<title>")[1:]]
    assert titles == [
        "2026-11-01: $0.00021 (1 calls)",
        "2026-11-02: $0 (0 calls)",
        "2026-11-03: $0 (0 calls)",
        "2026-11-04: $0.010045 (3 calls)",
    ]


def test_top_zero_is_refused(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["report", str(ledger), "--top", "0"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--top" in err and "at least 1" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        (["report"], "costwrap report: error: the following arguments are required: ledger"),
        (["estimate", "--model", "gpt-4o"], "costwrap estimate: error: the following arguments are required"),
        (["nope"], "costwrap: error: argument COMMAND: invalid choice: 'nope'"),
        (["price", "gpt-4o", "--input", "many"], "costwrap price: error: argument --input: 'many' is not a whole"),
    ],
)
def test_parser_errors_are_one_line_with_a_hint(
    argv: list[str], start: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(start) and "--help" in err and "usage:" not in err


def test_models_json_is_structured_and_no_match_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "models", "--provider", "openai", "--search", "gpt-5.4")
    row = next(r for r in rows if r["model"] == "gpt-5.4")
    # gpt-5.4 per million: input 2.50, above 272,000 input tokens 5; output 15 / 22.50; no cache-write rate.
    assert row["input"] == {"base": "2.5", "tiers": [[272000, "5"]]}
    assert row["output"] == {"base": "15", "tiers": [[272000, "22.5"]]}
    assert row["cache_write"] is None
    assert main(["models", "--search", "no-such-model-at-all", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "no model matches" in captured.err
    assert main(["models", "--search", "no-such-model-at-all"]) == 1
    assert "no model matches" in capsys.readouterr().err


def test_estimate_table_shows_small_amounts_and_adds_up(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["estimate", "--model", "gpt-4o-mini", "--requests-per-day", "10", "--input", "100", "--output", "10"]
    assert main(argv) == 0
    [row] = table_rows(capsys.readouterr().out, "gpt-4o-mini")
    # 100 x 0.15 + 10 x 0.60 = 21 micro-dollars a request; x 10 a day; x 30 a month.
    assert row[2:5] == ["$0.000021", "$0.00021", "$0.0063"]
    per_day, per_month = (Decimal(cell.lstrip("$")) for cell in row[3:5])
    assert per_day * 30 == per_month
    assert main([*argv[:4], "100000", *argv[5:]]) == 0
    [row] = table_rows(capsys.readouterr().out, "gpt-4o-mini")
    assert row[2:5] == ["$0.000021", "$2.10", "$63.00"]  # whole cents padded, never rounded


def test_a_huge_estimate_is_exact_and_never_in_exponent_notation(capsys: pytest.CaptureFixture[str]) -> None:
    volume = 123_456_789_012_345_678_901_234_567_891  # 30 digits: past the default context's 28
    argv = ["estimate", "--model", "gpt-4o-mini", "--requests-per-day", str(volume), "--input", "1", "--output", "0"]
    [data] = run_json(capsys, *argv)
    per_day = "18518518351851851835185.18518365"  # volume x 0.15 / 1,000,000, worked out digit by digit
    assert (data["per_request"], data["per_day"]) == ("0.00000015", per_day)
    assert data["per_month"] == "555555550555555555055555.55550950"  # x 30
    assert main(argv) == 0
    assert "$18,518,518,351,851,851,835,185.18518365" in capsys.readouterr().out


def test_huge_ledger_amounts_are_exact_and_never_in_exponent_notation(
    tmp_path: Path, server: MockServer, openai_client: Any, records: list[costwrap.CostRecord], capsys: Any
) -> None:
    # A model at $1,000,000,000,000 per million tokens ($1,000,000 a token) next to a 210 micro-dollar call.
    costwrap.registry.register("whale", provider="openai", input="1000000000000", output="1000000000000")
    server.json(chat_body("whale", chat_usage(9_000_000_000_000_000_000, 0)))
    server.json(chat_body("gpt-4o-mini", chat_usage(1000, 200, cached=800)))
    client = costwrap.wrap(openai_client)
    for model in ("whale", "gpt-4o-mini"):
        client.chat.completions.create(model=model, messages=HI)
    path = write_ledger(tmp_path / "huge.db", records, [datetime(2026, 11, 2, tzinfo=UTC)] * 2)
    exact = Decimal("9000000000000000000000000.00021")  # 9e18 tokens x $1e6, plus 210 micro-dollars
    report = run_json(capsys, "report", str(path))
    assert Decimal(report["cost"]) == exact and Decimal(report["groups"][0]["cost"]) == 9 * 10**24
    assert "E" not in report["cost"] + report["groups"][0]["cost"]
    assert main(["report", str(path)]) == 0
    assert "spent $9,000,000,000,000,000,000,000,000.00021;" in capsys.readouterr().out
    compared = run_json(capsys, "compare", str(path), "--models", "gpt-4o-mini")
    assert Decimal(compared["actual"]["compared_cost"]) == exact


def test_a_date_before_any_price_gets_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["price", "gpt-4o", "--input", "1000", "--at", "1900-01-01"]) == 0
    captured = capsys.readouterr()
    assert "$0.0025" in captured.out  # 1000 x 2.50 per million: the earliest rates known
    [note] = captured.err.splitlines()
    assert note.startswith("costwrap price: note: --at 1900-01-01 is before any priced LLM API")
    assert main(["price", "gpt-4o", "--input", "1000", "--at", "2026-11-01"]) == 0
    assert capsys.readouterr().err == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ledger_is_counted_for_a_progress_bar_only_on_a_terminal(
    ledger: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from costwrap import reports

    counted: list[str] = []
    monkeypatch.setattr(reports, "count_records", lambda path, since=None: counted.append(str(path)) or 4)
    assert main(["report", str(ledger)]) == 0
    assert main(["compare", str(ledger), "--models", "gpt-4o"]) == 0
    assert counted == []  # stderr is no terminal: no extra pass over the ledger
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert main(["report", str(ledger)]) == 0
    assert counted == [str(ledger)]
