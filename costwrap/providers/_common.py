"""Small readers shared by the provider extractors: counts that are never negative or None."""

from __future__ import annotations

from typing import Any


def count(obj: Any, name: str, notes: list[str] | None = None) -> int:
    """``obj.name`` (or ``obj[name]`` for a dict) as a non-negative int; 0 when absent.

    SDK models built without validation can hold ``None``, and a misbehaving server can send
    anything: a value that is not a non-negative integer counts as 0 and, when ``notes`` is
    given, says so there instead of crashing or pricing a negative amount.
    """
    if obj is None:
        return 0
    value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    if value.__class__ is int and value >= 0:
        return int(value)
    if value is None:
        return 0
    if isinstance(value, bool):
        result = 0
    elif isinstance(value, int):
        result = value if value >= 0 else 0
    elif isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    else:
        result = 0
    if notes is not None:
        notes.append(f"ignored a malformed {name} value {value!r}")
    return result


def attr(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``, ``None`` when absent."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def text_or_none(value: Any) -> str | None:
    """A non-empty string, else ``None`` (servers send ``""`` for unknown models and ids)."""
    return value if isinstance(value, str) and value else None
