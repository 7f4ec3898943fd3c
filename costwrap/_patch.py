"""wrap / unwrap / instrument / uninstrument: installing costwrap's wrappers, and taking them off.

costwrap patches SDK *classes* (with wrapt), once per provider, the first time a client of that
SDK is wrapped or the provider is instrumented. Each patched method then decides per call whether
to record: a client passed to :func:`wrap` carries its options in its ``__dict__``; with
:func:`instrument` every client of the provider is recorded. So ``wrap()`` returns the very same
client object, a client wrapped twice is recorded once, and ``wrap()`` under ``instrument()`` still
gives exactly one record per call.

Patching is idempotent and reversible. A ledger remembers each patch; removing one restores the
original only if costwrap's wrapper is still the one installed. If another tool wrapped over it,
costwrap's wrapper is switched off instead (it then passes calls straight through) and the other
tool's wrapper stays in place. A failure half-way through patching a provider rolls back what was
already applied.
"""

from __future__ import annotations

import importlib
import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from costwrap._call import (
    DEFAULT_OPTIONS,
    OPTIONS_ATTR,
    CallOptions,
    ProviderSpec,
    Switch,
    async_handler,
    copy_handler,
    scope_handler,
    sync_handler,
)
from costwrap._config import Sink
from costwrap.providers._spec import PatchPoint

logger = logging.getLogger("costwrap")

ClientT = TypeVar("ClientT")

# Provider modules, imported only when needed (each imports nothing from its SDK at import time).
PROVIDER_MODULES: dict[str, str] = {
    "openai": "costwrap.providers.openai",
    "anthropic": "costwrap.providers.anthropic",
    "google": "costwrap.providers.google_genai",
    "google-legacy": "costwrap.providers.google_generativeai",
}


@dataclass(slots=True)
class _Patch:
    owner: type
    attribute: str
    original: Any
    wrapper: Any
    switch: Switch


_lock = threading.RLock()
_ledger: dict[str, list[_Patch]] = {}
_instrumented: set[str] = set()
"""Providers whose every client is recorded (read by the handlers on each call)."""
_wanted: set[str] = set()
"""Providers instrument() asked for whose SDK is not imported yet (patched on import)."""
_hooked: set[str] = set()
_wrapped: dict[str, weakref.WeakSet[Any]] = {}
_specs: dict[str, tuple[ModuleType, ProviderSpec]] = {}


def _provider_module(name: str) -> tuple[ModuleType, ProviderSpec]:
    found = _specs.get(name)
    if found is None:
        module = importlib.import_module(PROVIDER_MODULES[name])
        found = _specs[name] = (module, ProviderSpec(module))
    return found


def _version_ok(module: ModuleType) -> bool:
    import sys

    package = getattr(module, "DISTRIBUTION", module.PACKAGE)
    # The imported SDK's own __version__ when it has one: reading the installed metadata instead
    # scans site-packages (about 25 ms at the first wrap()).
    text = getattr(sys.modules.get(module.PACKAGE), "__version__", None)
    if not isinstance(text, str):
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version(package)
        except PackageNotFoundError:
            return False
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    minimum = tuple(module.MIN_VERSION)
    if tuple(parts) < minimum:
        logger.warning(
            "costwrap: %s %s is older than the %s it supports; its calls are not recorded",
            package,
            text,
            ".".join(map(str, minimum)),
        )
        return False
    return True


def _resolve(point: PatchPoint) -> tuple[type, str]:
    module = importlib.import_module(point.module)
    class_name, attribute = point.attribute.split(".")
    return getattr(module, class_name), attribute


def _register_wrapped(name: str) -> Callable[[Any], None]:
    def register(client: Any) -> None:
        with _lock:
            _wrapped.setdefault(name, weakref.WeakSet()).add(client)

    return register


def _install(name: str) -> None:
    """Patch every method of provider ``name`` (idempotent; rolls back on failure).

    Only the SDK modules already imported are patched now; each of the others is patched when
    it is first imported (a wrapt post-import hook). The SDKs load most of their API surface
    lazily (``client.beta`` imports hundreds of type modules), and importing it all at ``wrap()``
    time once cost a process about 0.7 s of start-up for APIs it might never call.
    """
    if name in _ledger:
        return
    import sys

    import wrapt  # imported when the first client is wrapped, not at `import costwrap`

    module, spec = _provider_module(name)
    applied: list[_Patch] = []
    pending: dict[str, list[PatchPoint]] = {}
    try:
        for point in module.PATCHES:
            if point.module in sys.modules:
                _apply(name, spec, point, applied)
            else:
                pending.setdefault(point.module, []).append(point)
    except BaseException:
        _remove(applied)
        raise
    _ledger[name] = applied
    for module_name, points in pending.items():
        wrapt.register_post_import_hook(_patch_on_import(name, spec, points, applied), module_name)


def _apply(name: str, spec: ProviderSpec, point: PatchPoint, applied: list[_Patch]) -> None:
    """Install costwrap's wrapper on one SDK method (skipped, with a debug line, if it is absent)."""
    import wrapt

    try:
        owner, attribute = _resolve(point)
    except (ImportError, AttributeError) as exc:
        # An SDK release without this method: record the rest, say what is missing.
        logger.debug("costwrap: %s has no %s.%s (%s)", name, point.module, point.attribute, exc)
        return
    if attribute not in owner.__dict__:
        logger.debug("costwrap: %s.%s is inherited, not defined there; skipped", point.module, point.attribute)
        return
    original = owner.__dict__[attribute]
    switch = Switch()
    if point.kind == "client-copy":
        handler = copy_handler(switch, _register_wrapped(name))
    elif point.kind == "scope":
        handler = scope_handler(spec, point, switch, _instrumented)
    elif point.is_async:
        handler = async_handler(spec, point, switch, _instrumented)
    else:
        handler = sync_handler(spec, point, switch, _instrumented)
    wrapper = wrapt.FunctionWrapper(original, handler)
    setattr(owner, attribute, wrapper)
    applied.append(_Patch(owner, attribute, original, wrapper, switch))


def _patch_on_import(
    name: str, spec: ProviderSpec, points: list[PatchPoint], applied: list[_Patch]
) -> Callable[[ModuleType], None]:
    def hook(_module: ModuleType) -> None:
        with _lock:
            # Hooks cannot be unregistered: one left from an install that was since removed
            # (uninstrument, the last wrapped client gone) must do nothing.
            if _ledger.get(name) is not applied:
                return
            for point in points:
                try:
                    _apply(name, spec, point, applied)
                except Exception:
                    logger.warning("costwrap: could not patch %s.%s", point.module, point.attribute, exc_info=True)

    return hook


def _remove(patches: list[_Patch]) -> None:
    for patch in reversed(patches):
        patch.switch.on = False
        if patch.owner.__dict__.get(patch.attribute) is patch.wrapper:
            setattr(patch.owner, patch.attribute, patch.original)
        else:
            logger.warning(
                "costwrap: %s.%s was wrapped again by another tool after costwrap; leaving that "
                "wrapper in place (costwrap's own now passes calls through)",
                patch.owner.__qualname__,
                patch.attribute,
            )


def _uninstall_if_unused(name: str) -> None:
    if name in _instrumented or name in _wanted:
        return
    clients = _wrapped.get(name)
    if clients is not None and len(clients) > 0:
        return
    patches = _ledger.pop(name, None)
    if patches:
        _remove(patches)


def _provider_for(client: Any) -> str:
    for name in PROVIDER_MODULES:
        module, _ = _provider_module(name)
        if module.owns(client):
            return name
    raise TypeError(
        f"costwrap.wrap() does not know {type(client).__module__}.{type(client).__qualname__}; "
        f"it wraps clients of: {', '.join(PROVIDER_MODULES)}"
    )


def _forget_cached_raw_wrappers(client: Any) -> None:
    """Make already-built ``with_raw_response`` helpers rebuild through the patched methods.

    They hold the bound method of the time they were built (a ``cached_property``); dropping the
    cached value from the resource objects this client created means they pick up the patch.
    """
    seen: set[int] = set()

    def visit(obj: Any, depth: int) -> None:
        if depth > 4 or id(obj) in seen:
            return
        seen.add(id(obj))
        attributes = getattr(obj, "__dict__", None)
        if not isinstance(attributes, dict):
            return
        for key in ("with_raw_response", "with_streaming_response"):
            attributes.pop(key, None)
        for value in list(attributes.values()):
            if ".resources" in type(value).__module__:
                visit(value, depth + 1)

    visit(client, 0)


def wrap(
    client: ClientT,
    *,
    on_cost: Sink | None = None,
    tags: Mapping[str, str] | None = None,
    model_map: Mapping[str, str] | None = None,
    inject_stream_usage: bool | None = None,
) -> ClientT:
    """Record the cost of every call ``client`` makes. Returns the same client object.

    >>> import costwrap, openai
    >>> client = costwrap.wrap(openai.OpenAI(api_key="sk-test"))

    - ``on_cost``: a callable called with each :class:`~costwrap.CostRecord` of this client (in
      addition to the global sinks).
    - ``tags``: labels copied into every record (``{"feature": "search"}``).
    - ``model_map``: names to price as other names, e.g. Azure deployments
      (``{"prod-chat": "gpt-4o"}``).
    - ``inject_stream_usage``: ask streams for a usage chunk (default: on for OpenAI's own API
      and Azure, off for other OpenAI-compatible servers).

    Wrapping the same client again merges the new options into the old (callbacks accumulate,
    tags and maps update); its calls are still recorded once. ``client.with_options(...)`` and
    ``client.copy(...)`` return clients that keep the options.
    """
    name = _provider_for(client)
    module, spec = _provider_module(name)
    with _lock:
        if not _version_ok(module):
            return client
        _install(name)
        holder = spec.options_holder(client)
        attributes = vars(holder)
        current = attributes.get(OPTIONS_ATTR) or DEFAULT_OPTIONS
        attributes[OPTIONS_ATTR] = current.merged(on_cost, tags, model_map, inject_stream_usage)
        _wrapped.setdefault(name, weakref.WeakSet()).add(holder)
    _forget_cached_raw_wrappers(client)
    return client


def unwrap(client: ClientT) -> ClientT:
    """Stop recording ``client`` (unless :func:`instrument` covers it) and drop its options."""
    with _lock:
        for name, clients in _wrapped.items():
            module, spec = _provider_module(name)
            if module.owns(client):
                holder = spec.options_holder(client)
                getattr(holder, "__dict__", {}).pop(OPTIONS_ATTR, None)
                clients.discard(holder)
            _uninstall_if_unused(name)
    return client


def is_wrapped(client: Any) -> bool:
    """Whether ``client`` carries costwrap options from :func:`wrap`."""
    for name in PROVIDER_MODULES:
        module, spec = _provider_module(name)
        if module.owns(client):
            return OPTIONS_ATTR in getattr(spec.options_holder(client), "__dict__", {})
    return False


def _on_import(name: str) -> Callable[[ModuleType], None]:
    def hook(_module: ModuleType) -> None:
        with _lock:
            if name not in _wanted:
                return
            try:
                module, _ = _provider_module(name)
                if _version_ok(module):
                    _install(name)
                    _instrumented.add(name)
            except Exception:
                logger.warning("costwrap: could not instrument %s", name, exc_info=True)
            finally:
                _wanted.discard(name)

    return hook


def instrument(*providers: str) -> list[str]:
    """Record every client of the named SDKs (default: all that costwrap supports).

    An SDK that is already imported is patched now; one imported later is patched on import.
    A provider that is named but not installed, or too old, is reported on the ``costwrap``
    logger. Returns the providers now instrumented or waiting for their import.
    Calling it again is harmless; :func:`uninstrument` undoes it.
    """
    import sys
    from importlib.util import find_spec

    names = list(providers) or list(PROVIDER_MODULES)
    unknown = [n for n in names if n not in PROVIDER_MODULES]
    if unknown:
        raise ValueError(f"unknown provider(s) {unknown}; costwrap instruments {list(PROVIDER_MODULES)}")
    done: list[str] = []
    with _lock:
        for name in names:
            module, _ = _provider_module(name)
            package = module.PACKAGE
            if package in sys.modules:
                if _version_ok(module):
                    _install(name)
                    _instrumented.add(name)
                    done.append(name)
            elif find_spec(package) is not None:
                _wanted.add(name)
                if name not in _hooked:
                    import wrapt

                    wrapt.register_post_import_hook(_on_import(name), package)
                    _hooked.add(name)
                done.append(name)
            elif providers:
                logger.warning("costwrap: cannot instrument %r: the %r package is not installed", name, package)
    return done


def uninstrument() -> None:
    """Undo :func:`instrument`. Clients passed to :func:`wrap` stay wrapped."""
    with _lock:
        _instrumented.clear()
        _wanted.clear()
        for name in list(_ledger):
            _uninstall_if_unused(name)


def instrumented() -> frozenset[str]:
    """The providers :func:`instrument` is recording now."""
    return frozenset(_instrumented)


__all__ = ["CallOptions", "instrument", "instrumented", "is_wrapped", "uninstrument", "unwrap", "wrap"]
