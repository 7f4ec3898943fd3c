"""One self-contained HTML page for a ledger report: inline CSS and SVG charts, no scripts or fonts.

It opens offline in any browser and can be mailed or attached to a ticket as one file.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from html import escape

from costwrap._format import usd
from costwrap.reports import Group, Report

MAX_FILLED_DAYS = 3_660
"""Days with no calls are drawn as empty bars over at most ten years (a longer span plots only days with calls)."""

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;
color:#1d2433;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:2rem}
.muted{color:#5b6475}.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #d8dde6;border-radius:.5rem;padding:.7rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.3rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e6e9ef}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
svg text{font:11px system-ui,sans-serif;fill:#1d2433}
"""


def _scaled(value: Decimal, largest: Decimal, size: int) -> float:
    # Only the drawing is scaled through float; every figure printed is the exact Decimal.
    return 0.0 if largest <= 0 else float(value / largest) * size


def _short(amount: Decimal) -> str:
    """Four decimals for a chart label, unless that would round a real amount to nothing."""
    return usd(amount, 4) if amount >= Decimal("0.0001") or not amount else usd(amount)


def _every_day(days: list[Group]) -> list[Group]:
    """``days`` with the days between them that had no calls, as empty groups (a chart to scale in time)."""
    if not days:
        return days
    first, last = date.fromisoformat(days[0].key), date.fromisoformat(days[-1].key)
    if (last - first).days >= MAX_FILLED_DAYS:
        return days
    known = {g.key: g for g in days}
    span = ((first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1))
    return [known.get(key) or Group(key) for key in span]


def _day_chart(days: list[Group]) -> str:
    if not days:
        return "<p class='muted'>No calls in this period.</p>"
    days = _every_day(days)
    width, height, pad = 720, 180, 30
    largest = max(g.cost for g in days)
    step = (width - pad) / len(days)
    bar = min(max(step - 2, 1), 48)  # a few days should not turn into slabs
    bars = []
    for i, g in enumerate(days):
        h = _scaled(g.cost, largest, height - 20)
        x = pad + i * step
        bars.append(
            f"<rect class='bar' x='{x:.1f}' y='{height - h:.1f}' width='{bar:.1f}' height='{h:.1f}' "
            f"fill='#3b6fd8'><title>{escape(g.key)}: {escape(usd(g.cost))} ({g.calls} calls)</title></rect>"
        )
    labels = f"<text x='{pad}' y='{height + 14}'>{escape(days[0].key)}</text>"
    if len(days) > 1:
        labels += f"<text x='{width}' y='{height + 14}' text-anchor='end'>{escape(days[-1].key)}</text>"
    labels += f"<text x='0' y='10'>{escape(usd(largest, 2))}</text>"
    return (
        f"<svg id='spend-by-day' role='img' aria-label='Spend per day' viewBox='0 0 {width} {height + 20}' "
        f"width='100%'>{''.join(bars)}{labels}</svg>"
    )


def _model_chart(models: list[Group], limit: int = 12) -> str:
    shown = models[:limit]
    if not shown:
        return ""
    row, label_w, width = 22, 220, 720
    largest = max(g.cost for g in shown)
    parts = []
    for i, g in enumerate(shown):
        w = _scaled(g.cost, largest, width - label_w - 110)
        y = i * row
        parts.append(
            f"<text x='0' y='{y + 15}'>{escape(g.key[:34])}</text>"
            f"<rect class='bar' x='{label_w}' y='{y + 4}' width='{w:.1f}' height='{row - 8}' fill='#d8863b'>"
            f"<title>{escape(g.key)}: {escape(usd(g.cost))}</title></rect>"
            f"<text x='{label_w + w + 6:.1f}' y='{y + 15}'>{escape(_short(g.cost))}</text>"
        )
    return (
        f"<svg id='spend-by-model' role='img' aria-label='Spend per model' viewBox='0 0 {width} {len(shown) * row}' "
        f"width='100%'>{''.join(parts)}</svg>"
    )


def _group_table(groups: list[Group], title: str, limit: int = 20) -> str:
    rows = "".join(
        f"<tr><td>{escape(g.key)}</td><td class='n'>{g.calls:,}</td><td class='n'>{escape(usd(g.cost))}</td>"
        f"<td class='n'>{g.input_tokens:,}</td><td class='n'>{g.output_tokens:,}</td>"
        f"<td class='n'>{g.unpriced:,}</td></tr>"
        for g in groups[:limit]
    )
    return (
        f"<table><thead><tr><th>{escape(title)}</th><th class='n'>calls</th><th class='n'>cost</th>"
        f"<th class='n'>input tokens</th><th class='n'>output tokens</th><th class='n'>unpriced</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def render(report: Report) -> str:
    """The report as one HTML document."""
    period = (
        f"{report.first:%Y-%m-%d %H:%M} to {report.last:%Y-%m-%d %H:%M} UTC"
        if report.first and report.last
        else "no calls"
    )
    cards = "".join(
        f"<div class='card'><span class='muted'>{escape(label)}</span><b id='{key}'>{escape(value)}</b></div>"
        for key, label, value in (
            ("total-cost", "spent", usd(report.cost)),
            ("total-calls", "calls", f"{report.calls:,}"),
            ("cache-savings", "saved by caching, net of cache writes", usd(report.cache_savings)),
            ("unpriced", "unpriced calls", f"{report.unpriced:,}"),
        )
    )
    calls = "".join(
        f"<tr><td>{c.timestamp:%Y-%m-%d %H:%M:%S}</td><td>{escape(c.model or '')}</td>"
        f"<td class='n'>{escape(usd(c.cost))}</td><td class='n'>{c.input_tokens:,}</td>"
        f"<td class='n'>{c.output_tokens:,}</td>"
        f"<td>{escape(', '.join(f'{k}={v}' for k, v in c.tags.items()))}</td></tr>"
        for c in report.top_calls
    )
    body = f"""<h1>LLM spend</h1>
<p class="muted">{escape(report.ledger)} · {escape(period)}</p>
<div class="cards">{cards}</div>
<h2>Spend per day</h2>{_day_chart(report.days)}
<h2>Spend per model</h2>{_model_chart(report.models)}
{_group_table(report.models, "model")}
<h2>Top tags</h2>{_group_table(report.tags, "tag") if report.tags else "<p class='muted'>No tags.</p>"}
<h2>Most expensive calls</h2>
<table id="top-calls"><thead><tr><th>time (UTC)</th><th>model</th><th class='n'>cost</th><th class='n'>input</th>
<th class='n'>output</th><th>tags</th></tr></thead><tbody>{calls}</tbody></table>
<p class="muted">Made by costwrap. Amounts are exact USD; the charts are drawn to scale.</p>"""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>LLM spend: {escape(report.ledger)}</title>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
