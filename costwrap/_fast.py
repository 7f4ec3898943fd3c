"""A fast constructor for frozen, slotted dataclasses, for costwrap's hot path.

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``, which
costs about 0.2 us a field here; a record of 18 fields then costs more than the rest of a call's
bookkeeping. The constructor made here takes the same keyword arguments and defaults but fills
the slots through their descriptors (what ``__init__`` ends up doing, without the detour), so the
objects are the same frozen dataclasses: equal, printable and immutable as usual. costwrap uses it
where it builds records itself; users call the ordinary constructors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Any, TypeVar

T = TypeVar("T")


def fast_constructor(cls: type[T]) -> Callable[..., T]:
    """``new(*, field=..., ...)`` for the frozen slotted dataclass ``cls``: same fields and defaults.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True, slots=True)
    ... class Point:
    ...     x: int
    ...     y: int = 0
    >>> fast_constructor(Point)(x=1) == Point(1, 0)
    True
    """
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_MISSING": MISSING}
    params, body = [], ["    obj = _new(_cls)"]
    for i, f in enumerate(fields(cls)):  # type: ignore[arg-type]
        namespace[f"_set{i}"] = cls.__dict__[f.name].__set__
        if f.default is not MISSING:
            namespace[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
        elif f.default_factory is not MISSING:
            namespace[f"_factory{i}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    if {f.name} is _MISSING: {f.name} = _factory{i}()")
        else:
            params.append(f.name)
        body.append(f"    _set{i}(obj, {f.name})")
    source = f"def new(*, {', '.join(params)}):\n" + "\n".join(body) + "\n    return obj\n"
    exec(source, namespace)  # code generated from the field names, as dataclasses itself does
    constructor: Callable[..., T] = namespace["new"]
    constructor.__doc__ = f"Build a {cls.__name__} (keyword arguments as its constructor's), fast."
    return constructor
