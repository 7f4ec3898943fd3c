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
    assert sum(1 for tag, attrs in page.tags if tag == "rect") == 2 + 3  # 2 days, 3 models
    # Nothing to fetch: no scripts, stylesheets, images or fonts from anywhere.
    assert not [t for t, a in page.tags if t in ("script", "link", "img", "iframe")]
    assert not [a for _, a in page.tags if any(str(v).startswith(("http", "//")) for v in a.values())]


def test_compare_reprices_each_call_on_other_models(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "compare", str(ledger), "--models", "gpt-4o-mini,gpt-4o")
    assert Decimal(data["actual"]["cost"]) == TOTAL
    mini, big = data["alternatives"]
    # gpt-4o-mini: 210 + (2000 x 0.15 + 500 x 0.60 = 600) + 45 + (10 x 0.15 + 5 x 0.60 = 4.5)
    assert Decimal(mini["cost"]) == Decimal("859.5") * MICRO and mini["priced_calls"] == 4
    # gpt-4o: (200 x 2.50 + 800 x 1.25 + 200 x 10 = 3500) + 10,000 + (250 + 500) + (25 + 50)
    assert Decimal(big["cost"]) == Decimal(14_325) * MICRO


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
