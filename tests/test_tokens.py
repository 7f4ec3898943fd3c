"""Offline token counting: tiktoken's own vocabularies, from an installed package, never a URL."""

from __future__ import annotations

import socket
from typing import Any
from unittest import mock

import pytest

from costwrap import tokens


def test_the_vocabularies_build_offline_and_count_like_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("costwrap tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    enc = tokens.encoding("o200k_base")
    assert enc is not None
    assert enc.encode("hello world") == [24912, 2375]
    cl = tokens.encoding("cl100k_base")
    assert cl is not None and cl.encode("hello world") == [15339, 1917]


def test_split_patterns_and_special_tokens_equal_tiktoken_s_own() -> None:
    import tiktoken_ext.openai_public as public

    with mock.patch.object(public, "load_tiktoken_bpe", return_value={}):  # no download
        for name in ("o200k_base", "cl100k_base"):
            spec = getattr(public, name)()
            assert spec["pat_str"] == tokens._PATTERNS[name]
            assert spec["special_tokens"] == tokens._SPECIAL_TOKENS[name]
            assert public.__dict__[name].__code__.co_consts  # the constructor still exists


def test_a_corrupt_vocabulary_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(tokens._EXPECTED_SHA256, "cl100k_base", "0" * 64)
    with pytest.raises(ValueError, match="SHA-256"):
        tokens._rank_file("cl100k_base")


def test_without_a_vocabulary_counts_fall_back_to_bytes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(tokens, "_encodings", {})
    monkeypatch.setattr(tokens, "_failed", set())
    monkeypatch.setattr(tokens.importlib.util, "find_spec", lambda name: None)
    count, exact = tokens.count_text("twelve bytes", "gpt-4o")
    assert (count, exact) == (3, False)
    assert "cannot load the o200k_base tokenizer offline" in caplog.text


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-5.5", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("ft:gpt-4o-mini:x::y", "o200k_base"),
        ("claude-sonnet-4-5", "o200k_base"),
        (None, "o200k_base"),
    ],
)
def test_model_to_encoding(model: str | None, encoding: str) -> None:
    assert tokens.encoding_name_for(model) == encoding


def test_prompt_counting_adds_the_chat_format_overhead() -> None:
    count, exact = tokens.count_prompt(["hello world", "hi"], messages=2, model="gpt-4o")
    assert exact and count == 2 + 1 + 2 * 3 + 3
