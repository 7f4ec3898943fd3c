"""configure / reset / sinks: process-wide settings in one place."""

from __future__ import annotations

import pytest

import costwrap


def test_configure_changes_only_what_is_given_and_reset_restores() -> None:
    costwrap.configure(strict_pricing=True)
    costwrap.configure(inject_stream_usage=False)
    config = costwrap.get_config()
    assert (config.strict_pricing, config.inject_stream_usage, config.strict) == (True, False, True)
    costwrap.reset()
    assert costwrap.get_config().strict_pricing is False and costwrap.get_config().inject_stream_usage is None


def test_strict_mode_comes_from_the_environment_not_from_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSTWRAP_STRICT")
    costwrap.reset()
    assert costwrap.get_config().strict is False
    monkeypatch.setenv("COSTWRAP_STRICT", "1")
    costwrap.reset()
    assert costwrap.get_config().strict is True


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(TypeError, match="inject_stream_usage"):
        costwrap.configure(inject_stream_usage="yes")


def test_sinks_are_added_once_and_removed() -> None:
    def sink(record: object) -> None: ...

    costwrap.add_sink(sink)
    costwrap.add_sink(sink)
    costwrap.add_sink(costwrap.LoggingSink())
    assert costwrap._config.get_sinks() == (sink, costwrap.LoggingSink())
    costwrap.remove_sink(costwrap.LoggingSink())
    costwrap.remove_sink(sink)
    assert costwrap._config.get_sinks() == ()
    with pytest.raises(TypeError, match="a sink must be callable"):
        costwrap.add_sink("not a sink")  # type: ignore[arg-type]
