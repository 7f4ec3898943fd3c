"""Small readers shared by the provider extractors: counts that are never negative or None."""

from __future__ import annotations

import re
from typing import Any

_DIGITS = re.compile(r"[0-9]{1,30}")
"""A count sent as a string: ``str.isdigit`` also accepts "²" and 5,000-digit strings, which
``int()`` refuses (a crash that would cost the call its record)."""


def count(obj: Any, name: str, notes: list[str] | None = None) -> int:
    """``obj.name`` (or ``obj[name]`` for a dict) as a non-negative int; 0 when absent.

    SDK models built without validation can hold ``None``, and a misbehaving server can send
    anything: a value that is not a non-negative integer counts as 0 and, when ``notes`` is
    given, says so there instead of crashing or pricing a negative amount.
    """
    value = attr(obj, name)
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
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())  # ASCII digits only, and few enough for int() to take
    else:
        result = 0
    if notes is not None:
        notes.append(f"ignored a malformed {name} value {value!r}")
    return result


def attr(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``, ``None`` when absent.

    Reading an absent field of a pydantic model (the SDKs' response types) through ``getattr``
    raises and catches an ``AttributeError`` inside pydantic, ~2.5 us; extractors probe for fields
    that newer API versions add (``usage.iterations``, ``speed``) on every call. So the instance's
    own dict answers first (a model's fields live there), and a name the model's class does not
    declare is looked up in its extras instead of through ``getattr``.
    """
    if obj is None:
        return None
    if obj.__class__ is dict:
        return obj.get(name)
    try:
        fields = obj.__dict__  # a pydantic model keeps its fields here: the every-call case
    except AttributeError:
        return _absent_or_elsewhere(obj, name)
    value = fields.get(name, _ABSENT)
    return _absent_or_elsewhere(obj, name) if value is _ABSENT else value


def _absent_or_elsewhere(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    cls = obj.__class__
    declared = _declared.get((cls, name))
    if declared is None:
        declared = _declares(cls, name)
    if declared:
        return getattr(obj, name, None)
    extra = obj.__pydantic_extra__
    return extra.get(name) if extra else None


_ABSENT: Any = object()
_declared: dict[tuple[type, str], bool] = {}


def _declares(cls: type, name: str) -> bool:
    """Whether reading ``name`` can find something without pydantic's extras (cached per class)."""
    fields = getattr(cls, "__pydantic_fields__", None)
    if not isinstance(fields, dict) or not hasattr(cls, "__pydantic_extra__"):
        found = True  # not a pydantic model: plain getattr (instance attributes are not on the class)
    else:
        found = name in fields or hasattr(cls, name)
    if len(_declared) > 4096:  # bounded however many SDK types pass through
        _declared.clear()
    _declared[(cls, name)] = found
    return found


def text_or_none(value: Any) -> str | None:
    """A non-empty string, else ``None`` (servers send ``""`` for unknown models and ids)."""
    return value if isinstance(value, str) and value else None


_NOT_USAGE = (str, bytes, int, float, list, tuple)  # bool is an int; a tuple: faster than a union here


def usage_object(u: Any, notes: list[str]) -> Any:
    """``u`` if it can be a usage block (a mapping or an object), else ``None`` with a note.

    A server that sends ``"usage": "n/a"`` (or a number, a list) reported no usage: reading it as
    all-zero counts would record a confident $0 instead of an unknown cost.
    """
    if u is None or isinstance(u, dict):
        return u
    if isinstance(u, _NOT_USAGE):
        notes.append(f"the response's usage was a {type(u).__name__}, not an object: usage unknown")
        return None
    return u
