"""Model-name matching: the rules in the price data, and the spellings names arrive in.

Price data describes which names a model answers to as a small boolean tree
(``{"or": [{"equals": "gpt-4o"}, {"starts_with": "gpt-4o-2024-"}]}``). :func:`compile_rule` turns
one into a predicate. :func:`candidates` lists the spellings to try for a name as it arrives from
an SDK or a user (``models/gemini-2.5-pro``, ``ft:gpt-4o-mini-2024-07-18:org::id``,
``claude-sonnet-4-5@20250929``, ...), each with the note to record when it is the one that matched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any
from urllib.parse import unquote

Rule = Callable[[str], bool]


def compile_rule(tree: Mapping[str, Any], where: str = "match") -> Rule:
    r"""Compile a match tree into a predicate over lower-case names.

    >>> rule = compile_rule({"or": [{"equals": "gpt-4o"}, {"regex": "^gpt-4o-\\d{4}"}]})
    >>> rule("gpt-4o"), rule("gpt-4o-2024-08-06"), rule("gpt-4o-mini")
    (True, True, False)
    """
    if len(tree) != 1:
        raise ValueError(f"{where}: a match rule has exactly one key, got {sorted(tree)}")
    ((kind, arg),) = tree.items()
    if kind in ("or", "and"):
        if not isinstance(arg, list) or not arg:
            raise ValueError(f"{where}.{kind}: expected a non-empty list of rules")
        parts = tuple(compile_rule(sub, f"{where}.{kind}[{i}]") for i, sub in enumerate(arg))
        if kind == "or":
            return lambda name: any(part(name) for part in parts)
        return lambda name: all(part(name) for part in parts)
    if not isinstance(arg, str):
        raise ValueError(f"{where}.{kind}: expected a string, got {type(arg).__name__}")
    if kind == "equals":
        text = arg.lower()
        return lambda name: name == text
    if kind == "starts_with":
        text = arg.lower()
        return lambda name: name.startswith(text)
    if kind == "ends_with":
        text = arg.lower()
        return lambda name: name.endswith(text)
    if kind == "contains":
        text = arg.lower()
        return lambda name: text in name
    if kind == "regex":
        pattern = re.compile(arg)
        return lambda name: pattern.search(name) is not None
    raise ValueError(f"{where}: unknown match rule {kind!r}")


_PREFIXES = re.compile(
    r"^(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/[^/]+/models/|models/)"
    r"|^(?:openai|anthropic|google|gemini|azure|bedrock|vertex_ai)/"
)
_ARN = re.compile(r"^arn:aws[\w-]*:bedrock:[^:]*:[^:]*:[\w-]+/")
_COMPACT_DATE = re.compile(r"-(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)")
_DATE_SUFFIX = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-20\d{6}|@20\d{6}|-\d{4})$")
_FINE_TUNE = re.compile(r"^ft:([^:]+):")
_BEDROCK_ANTHROPIC = re.compile(r"^(?:[a-z]+\.)?anthropic\.(.+?)(?:-v\d+(?::\d+)?)?$")


def _expand_compact_date(name: str) -> str:
    def dashed(match: re.Match[str]) -> str:
        year, month, day = (int(g) for g in match.groups())
        try:
            date(year, month, day)
        except ValueError:
            return match.group(0)
        return f"-{year:04d}-{month:02d}-{day:02d}"

    return _COMPACT_DATE.sub(dashed, name)


def candidates(name: str) -> Iterator[tuple[str, str | None]]:
    """Spellings of ``name`` to look up, most faithful first, each with a note for the record.

    >>> [c for c, _ in candidates("models/gemini-2.5-pro")]
    ['models/gemini-2.5-pro', 'gemini-2.5-pro']
    """
    seen: set[str] = set()

    def fresh(text: str) -> bool:
        if text and text not in seen:
            seen.add(text)
            return True
        return False

    raw = name.strip().lower()
    if fresh(raw):
        yield raw, None
    base = raw
    if _ARN.match(base):
        base = _ARN.sub("", unquote(base))
    base = unquote(base)
    while _PREFIXES.match(base):
        base = _PREFIXES.sub("", base, count=1)
    if fresh(base):
        yield base, None
    if "@" in base:  # Vertex spells Claude snapshots `claude-sonnet-4-5@20250929`
        at = base.replace("@", "-")
        if fresh(at):
            yield at, None
        base = at
    compact = _expand_compact_date(base)
    if fresh(compact):
        yield compact, None
    fine_tune = _FINE_TUNE.match(base)
    if fine_tune:
        base_model = fine_tune.group(1)
        note = f"fine-tune {name!r} priced at the rates of its base model {base_model!r}"
        if fresh(base_model):
            yield base_model, note
        base = base_model
    bedrock = _BEDROCK_ANTHROPIC.match(base)
    if bedrock:
        bare = bedrock.group(1)
        if fresh(bare):
            yield bare, f"Bedrock id {name!r} priced as {bare!r}"
        base = bare
    undated = _DATE_SUFFIX.sub("", base)
    if undated != base and fresh(undated):
        yield undated, f"{name!r} is not in the price table; priced as {undated!r} (date suffix dropped)"
