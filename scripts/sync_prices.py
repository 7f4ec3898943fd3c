#!/usr/bin/env python3
"""Regenerate costwrap's price data from genai-prices and cross-check it against LiteLLM.

A dev-time tool, never run by CI or at import: it needs the pinned ``genai-prices`` (a dev
dependency, see ``pyproject.toml``) and a copy of LiteLLM's price table.

    python scripts/sync_prices.py                          # downloads the LiteLLM wheel with pip
    python scripts/sync_prices.py --litellm-json PATH      # or use a local copy of its JSON

It writes ``costwrap/pricing/data/<provider>.json`` (one file per provider, the source and its
version recorded in each) and ``docs/price-disagreements.md`` (every first-party rate on which the
two sources differ, and the rows only one of them has). The converted data keeps genai-prices'
model order, because matching takes the first model whose rule matches, as genai-prices does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

GENAI_PRICES_VERSION = "0.2.3"
LITELLM_VERSION = "1.110.2"
LITELLM_MEMBER = "litellm/model_prices_and_context_window_backup.json"

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "costwrap" / "pricing" / "data"
REPORT = ROOT / "docs" / "price-disagreements.md"

# genai-prices provider id -> (our provider name, the fallback providers we ship)
PROVIDERS: dict[str, tuple[str, list[str]]] = {
    "openai": ("openai", []),
    "anthropic": ("anthropic", []),
    "google": ("google", ["anthropic"]),  # Claude on Vertex is priced from the Anthropic rows
    "azure": ("azure", ["openai", "anthropic"]),
    "aws": ("bedrock", []),
}

# genai-prices price key -> our rate name. Token rates are per million, fees per thousand.
RATE_NAMES = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
    "cache_write_5m_mtok": "cache_write_5m",
    "cache_write_1h_mtok": "cache_write_1h",
    "input_audio_mtok": "input_audio",
    "output_audio_mtok": "output_audio",
    "cache_audio_read_mtok": "cache_read_audio",
    "input_image_mtok": "input_image",
    "output_image_mtok": "output_image",
    "cache_image_read_mtok": "cache_read_image",
    "input_video_mtok": "input_video",
    "output_video_mtok": "output_video",
    "web_searches_kcount": "web_search",
    "storage_searches_kcount": "file_search",
    "audio_hours": "audio_hour",
    "input_audio_hours": "input_audio_hour",
    "input_mchars": "input_mchar",
}

LICENCE_NOTE = (
    "Price data converted from genai-prices (https://github.com/pydantic/genai-prices), "
    "MIT licence, Copyright (c) Pydantic Services Inc. 2025 to present. See costwrap/pricing/data/NOTICE."
)


def _dec(value: Decimal) -> str:
    """A Decimal as a plain string without exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return text


def _rate(value: Any) -> Any:
    from genai_prices.types import TieredPrices

    if isinstance(value, TieredPrices):
        return {"base": _dec(value.base), "tiers": [[t.start, _dec(t.price)] for t in value.tiers]}
    if isinstance(value, Decimal):
        return _dec(value)
    raise TypeError(f"unexpected price value {value!r}")


def _rates(model_price: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in model_price.__dict__.items():
        if key.startswith("_") or value is None:
            continue
        if key not in RATE_NAMES:
            raise SystemExit(f"unknown genai-prices price key {key!r}: teach RATE_NAMES about it")
        out[RATE_NAMES[key]] = _rate(value)
    return out


def _match(clause: Any) -> dict[str, Any]:
    from genai_prices import types as t

    if isinstance(clause, t.ClauseEquals):
        return {"equals": clause.equals.lower()}
    if isinstance(clause, t.ClauseStartsWith):
        return {"starts_with": clause.starts_with.lower()}
    if isinstance(clause, t.ClauseEndsWith):
        return {"ends_with": clause.ends_with.lower()}
    if isinstance(clause, t.ClauseContains):
        return {"contains": clause.contains.lower()}
    if isinstance(clause, t.ClauseRegex):
        return {"regex": clause.regex}
    if isinstance(clause, t.ClauseOr):
        return {"or": [_match(c) for c in clause.or_]}
    if isinstance(clause, t.ClauseAnd):
        return {"and": [_match(c) for c in clause.and_]}
    raise TypeError(f"unexpected match clause {clause!r}")


def _start(constraint: Any) -> str | None:
    from genai_prices import types as t

    if constraint is None:
        return None
    if isinstance(constraint, t.StartDateConstraint):
        return constraint.start_date.isoformat()
    raise SystemExit(f"unsupported price constraint {constraint!r}: costwrap prices by date only")


def _model(model: Any) -> dict[str, Any]:
    from genai_prices.types import ModelPrice

    if isinstance(model.prices, ModelPrice):
        prices = [{"from": None, "rates": _rates(model.prices)}]
    else:
        prices = [{"from": _start(c.constraint), "rates": _rates(c.prices)} for c in model.prices]
    entry: dict[str, Any] = {"id": model.id, "match": _match(model.match), "prices": prices}
    if model.name:
        entry["name"] = model.name
    if model.context_window:
        entry["context_window"] = model.context_window
    if model.deprecated:
        entry["deprecated"] = True
    variants = [
        {"when": dict(v.when), "from": _start(v.constraint), "rates": _rates(v.prices)}
        for v in model.price_variants or ()
    ]
    if variants:
        entry["variants"] = variants
    return entry


def convert(litellm: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Convert the installed genai-prices snapshot into costwrap's per-provider documents.

    Output limits (``max_output_tokens``, used by budget pre-flight estimates) are not in
    genai-prices; they come from LiteLLM's table where it lists the model, and say so.
    """
    import genai_prices
    from genai_prices import data

    if genai_prices.__version__ != GENAI_PRICES_VERSION:
        raise SystemExit(
            f"genai-prices {genai_prices.__version__} is installed; this script is pinned to "
            f"{GENAI_PRICES_VERSION} (pip install genai-prices=={GENAI_PRICES_VERSION})"
        )
    by_id = {p.id: p for p in data.providers}
    docs: dict[str, dict[str, Any]] = {}
    for source_id, (name, fallback) in PROVIDERS.items():
        provider = by_id[source_id]
        docs[name] = {
            "schema_version": 1,
            "provider": name,
            "source": {
                "name": "genai-prices",
                "version": GENAI_PRICES_VERSION,
                "provider_id": source_id,
                "licence": "MIT",
                "url": "https://github.com/pydantic/genai-prices",
            },
            "notice": LICENCE_NOTE,
            "model_match": _match(provider.model_match) if provider.model_match else None,
            "fallback": fallback,
            "models": [_model(m) for m in provider.models],
        }
        if litellm is not None:
            docs[name]["source"]["output_limits"] = {"name": "litellm", "version": LITELLM_VERSION, "licence": "MIT"}
            for entry in docs[name]["models"]:
                limit = _output_limit(litellm, name, entry["id"])
                if limit:
                    entry["max_output_tokens"] = limit
    return docs


def _output_limit(litellm: dict[str, Any], provider: str, model_id: str) -> int | None:
    prefixes = {"google": ("gemini/", "vertex_ai/", ""), "bedrock": ("bedrock/", ""), "azure": ("azure/", "")}
    for prefix in prefixes.get(provider, ("",)):
        row = litellm.get(prefix + model_id)
        value = row.get("max_output_tokens") if isinstance(row, dict) else None
        if isinstance(value, int) and value > 0:
            return value
    return None


# --- LiteLLM cross-check -------------------------------------------------------------------------


def _litellm_table(path: str | None) -> dict[str, Any]:
    if path:
        return dict(json.loads(Path(path).read_text()))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, f"litellm=={LITELLM_VERSION}"],
            check=True,
        )
        wheel = next(Path(tmp).glob("litellm-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            return dict(json.loads(zf.read(LITELLM_MEMBER)))


def _per_million(value: Any) -> Decimal | None:
    if value is None or isinstance(value, (dict, list, str)):
        return None
    return (Decimal(repr(value)) * 1_000_000).normalize()


def _rates_at(entry: dict[str, Any], day: str, when: dict[str, str] | None = None) -> dict[str, Any]:
    """The rates in effect on ``day`` for a request context, resolved as genai-prices does."""
    rates = dict(entry["prices"][0]["rates"])
    for cond in entry["prices"]:
        if cond["from"] is None or cond["from"] <= day:
            rates = dict(cond["rates"])
    overrides: dict[str, Any] = {}
    for variant in entry.get("variants", []) if when else []:
        active = variant["from"] is None or variant["from"] <= day
        if active and all(when.get(k) == v for k, v in variant["when"].items()):
            for key, value in variant["rates"].items():
                overrides.setdefault(key, value)
    return rates | overrides


def _base(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return Decimal(value["base"])
    return Decimal(value)


def _tier(value: Any) -> tuple[int, Decimal] | None:
    if isinstance(value, dict) and value["tiers"]:
        start, price = value["tiers"][0]
        return int(start), Decimal(price)
    return None


LITELLM_FIELDS = {
    "input": "input_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "output": "output_cost_per_token",
}
LITELLM_SUFFIX = {"batch": "_batches", "flex": "_flex", "priority": "_priority"}
# Where LiteLLM keeps a first-party row: Gemini API rows under "gemini/", Vertex rows bare.
LITELLM_KEY_PREFIXES = {"openai": ("",), "anthropic": ("",), "google": ("gemini/", "vertex_ai/", "")}


def cross_check(docs: dict[str, dict[str, Any]], litellm: dict[str, Any], day: str) -> str:
    """A markdown report of every first-party rate on which genai-prices and LiteLLM differ."""
    lines = [
        "# Price disagreements: genai-prices vs LiteLLM",
        "",
        f"Generated by `scripts/sync_prices.py` on {day} from genai-prices {GENAI_PRICES_VERSION} "
        f"(the source costwrap ships) and LiteLLM {LITELLM_VERSION} "
        "(`model_prices_and_context_window_backup.json`, used only as a cross-check).",
        "Rates are USD per million tokens, in effect on the date above. costwrap prices with the",
        "genai-prices value; each row here is a place where a bill could differ from LiteLLM's estimate.",
        "",
        "| provider | model | rate | genai-prices | LiteLLM |",
        "|---|---|---|---|---|",
    ]
    agree = 0
    missing: list[str] = []
    for provider in ("openai", "anthropic", "google"):
        for entry in docs[provider]["models"]:
            row = next(
                (litellm[p + entry["id"]] for p in LITELLM_KEY_PREFIXES[provider] if p + entry["id"] in litellm),
                None,
            )
            if row is None:
                missing.append(f"{provider} `{entry['id']}`")
                continue
            differs = False
            checks: list[tuple[str, dict[str, str] | None, str]] = [("", None, "standard")]
            checks += [(suffix, _when(provider, tier), tier) for tier, suffix in LITELLM_SUFFIX.items()]
            for suffix, when, label in checks:
                ours = _rates_at(entry, day, when)
                if when and not _has_variant(entry, when, day):
                    continue
                for rate, field in LITELLM_FIELDS.items():
                    theirs = _per_million(row.get(field + suffix))
                    mine = _base(ours.get(rate))
                    if theirs is None or (mine is None and theirs == 0):
                        continue
                    if mine != theirs:
                        differs = True
                        lines.append(
                            f"| {provider} | `{entry['id']}` | {label} {rate} | {_fmt(mine)} | {_fmt(theirs)} |"
                        )
                    tier = _tier(ours.get(rate))
                    if tier:
                        their_tier = _per_million(row.get(f"{field}_above_{tier[0] // 1000}k_tokens{suffix}"))
                        if their_tier is not None and their_tier != tier[1]:
                            differs = True
                            lines.append(
                                f"| {provider} | `{entry['id']}` | {label} {rate} >{tier[0]} | "
                                f"{_fmt(tier[1])} | {_fmt(their_tier)} |"
                            )
                        elif their_tier is None and label == "standard":
                            differs = True
                            lines.append(
                                f"| {provider} | `{entry['id']}` | {label} {rate} >{tier[0]} | "
                                f"{_fmt(tier[1])} | no tier |"
                            )
            if not differs:
                agree += 1
    lines += ["", "## Dated price changes after that day", ""]
    for provider in ("openai", "anthropic", "google"):
        for entry in docs[provider]["models"]:
            for cond in entry["prices"]:
                if cond["from"] and cond["from"] > day:
                    new = ", ".join(f"{k} {_fmt(_base(v))}" for k, v in cond["rates"].items())
                    lines.append(f"- {provider} `{entry['id']}` from {cond['from']}: {new}")
    lines += [
        "",
        f"{agree} first-party models agree on every rate both sources list.",
        "",
        "## Models LiteLLM does not list under the same key",
        "",
        ", ".join(missing) if missing else "none",
        "",
    ]
    return "\n".join(lines)


def _when(provider: str, tier: str) -> dict[str, str]:
    return {"processing": "batch"} if tier == "batch" else {"service_tier": tier}


def _has_variant(entry: dict[str, Any], when: dict[str, str], day: str) -> bool:
    return any(v["when"] == when and (v["from"] is None or v["from"] <= day) for v in entry.get("variants", []))


def _fmt(value: Decimal | None) -> str:
    return "-" if value is None else format(value.normalize(), "f")


def main(argv: list[str] | None = None) -> int:
    """Write the data files and the disagreements report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--litellm-json", help="a local copy of LiteLLM's price JSON")
    parser.add_argument("--date", default=dt.date.today().isoformat(), help="compare rates in effect on this day")
    args = parser.parse_args(argv)

    litellm = _litellm_table(args.litellm_json)
    docs = convert(litellm)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (DATA_DIR / f"{name}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {name}.json: {len(doc['models'])} models")
    report = cross_check(docs, litellm, args.date)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)
    print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
