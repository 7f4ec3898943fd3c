"""Reference instrumentation tools, switched on and off in-process, to compare costwrap's per-call overhead with.

    from benchmarks.references import references

    refs, unavailable = references("openai")
    for ref in refs:
        ref.on()            # instrument globally: every client of the SDK is traced from now on
        ...                 # timed calls with a plain client
        assert ref.spans() > 0
        ref.off()           # uninstrument: a plain client is raw again

The references, by provider:

* ``openai``: OpenLLMetry (``opentelemetry-instrumentation-openai``) and the OpenTelemetry contrib
  instrumentation (``opentelemetry-instrumentation-openai-v2``).
* ``anthropic``: OpenLLMetry (``opentelemetry-instrumentation-anthropic``) and the tracing that the Anthropic
  SDK itself ships (``anthropic._tracing``: one ``CLIENT`` span per API call).

Each reference exports to a private OpenTelemetry SDK pipeline that keeps everything in memory: a
``TracerProvider`` with a ``SimpleSpanProcessor`` into an ``InMemorySpanExporter``, a ``MeterProvider`` with an
``InMemoryMetricReader`` (delta temporality, so each collection holds what was recorded since the last), and a
``LoggerProvider`` with a ``SimpleLogRecordProcessor`` into an ``InMemoryLogRecordExporter`` for the tools that
emit events as log records. The instrumentors are given these providers (``instrument(tracer_provider=...,
meter_provider=..., logger_provider=...)``), so no global provider is set for them.

The Anthropic SDK's tracing has no global switch of its own: a client traces, by default, to the tracer provider
registered with the OpenTelemetry API, and a process can register one only once. So that reference registers,
once, a global tracer provider that is a switch: off, it hands out the API's no-op tracer, which is what a client
gets when no provider is registered; on, it hands out tracers of the reference's private provider. It is
registered when the reference is created (by :func:`references`), before anything is timed, so that every raw
measurement sees the same global state.

Each tool captures prompt and completion content as its defaults have it: OpenLLMetry on (its
``TRACELOOP_TRACE_CONTENT`` defaults to true), the OpenTelemetry contrib instrumentation off
(``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` defaults to false), and the Anthropic SDK off (its
content mode defaults to ``metadata_only``). Environment variables that change these are honoured as the tools
read them; :attr:`Reference.captures_content` says what they were when the reference was created.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

PROVIDERS = ("openai", "anthropic")

# One set of references per provider, for the whole process: the instrumentors are singletons, and the Anthropic
# SDK's switch is one global tracer provider, so two references to one tool must not exist side by side.
_CACHE: dict[str, tuple[list[Reference], dict[str, str]]] = {}

# The switching global tracer provider of the Anthropic SDK reference, once it is registered.
_SWITCH: Any = None


def _version(package: str) -> str:
    """The installed version of ``package``, or ``"?"``."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip().lower()


class _Telemetry:
    """A private OpenTelemetry SDK pipeline whose spans, metrics and log records stay in memory."""

    def __init__(self) -> None:
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
        from opentelemetry.sdk.metrics import (
            Counter,
            Histogram,
            MeterProvider,
            ObservableCounter,
            ObservableGauge,
            ObservableUpDownCounter,
            UpDownCounter,
        )
        from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.span_exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))

        instruments = (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge)
        self.metric_reader = InMemoryMetricReader(
            preferred_temporality=dict.fromkeys(instruments, AggregationTemporality.DELTA)
        )
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader])

        self.log_exporter = InMemoryLogRecordExporter()
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))

    def span_count(self) -> int:
        return len(self.span_exporter.get_finished_spans())

    def drain(self) -> dict[str, int]:
        """What was exported since the last drain, counted; the exporters are emptied."""
        points = 0
        data = self.metric_reader.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    points += len(metric.data.data_points)
        counts = {
            "spans": self.span_count(),
            "metric_points": points,
            "log_records": len(self.log_exporter.get_finished_logs()),
        }
        self.span_exporter.clear()
        self.log_exporter.clear()
        return counts


class Reference:
    """One reference tool for one provider, switched on and off globally, exporting to memory.

    ``on()`` and ``off()`` may be called any number of times, alternately, in one process, and calling either
    twice in a row does nothing the second time. They are cheap: no provider is set up, and each costs well under
    a millisecond to a few milliseconds (OpenLLMetry's OpenAI instrumentation wraps some 24 methods and checks
    its dependencies on each ``on()``). The slow first ``on()`` (which imports the tool, up to a second) and
    first ``off()`` were done by :func:`references`, which switches each reference on and off once to check it.
    Between ``on()`` and ``off()`` every client of the provider's SDK is traced, including clients built before
    ``on()``; after ``off()`` they are raw again.

    Attributes:
        name: the tool, as the benchmark's tables name it.
        provider: ``"openai"`` or ``"anthropic"``.
        package: the distribution that provides the tool, with its installed version.
        description: what ``on()`` turns on.
        captures_content: whether the tool records prompts and completions, as its defaults (and the
            environment when the reference was created) have it.
        signals: what the tool emits: some of ``"spans"``, ``"metrics"``, ``"log records"``.
    """

    name: str
    provider: str
    package: str
    description: str
    captures_content: bool
    signals: tuple[str, ...]

    def __init__(
        self,
        name: str,
        provider: str,
        package: str,
        description: str,
        *,
        captures_content: bool,
        signals: tuple[str, ...],
    ) -> None:
        self.name = name
        self.provider = provider
        self.package = package
        self.description = description
        self.captures_content = captures_content
        self.signals = signals
        self._telemetry = _Telemetry()
        self._enabled = False
        self._counts = {"spans": 0, "metric_points": 0, "log_records": 0}

    def __repr__(self) -> str:
        state = "on" if self._enabled else "off"
        return f"<Reference {self.name!r} ({self.provider}, {self.package}) {state}>"

    @property
    def enabled(self) -> bool:
        """Whether the tool is on."""
        return self._enabled

    def on(self) -> None:
        """Instruments the provider's SDK globally. The counts of what was exported start again from 0."""
        if self._enabled:
            return
        self._telemetry.drain()
        self._counts = dict.fromkeys(self._counts, 0)
        self._enable()
        self._enabled = True

    def off(self) -> None:
        """Uninstruments completely, so a plain client is raw again, and empties the exporters.

        What was exported since ``on()`` stays counted: ``spans()`` and ``counts()`` still give it until the
        next ``on()``.
        """
        if not self._enabled:
            return
        self._disable()
        self._enabled = False
        self._bank()

    def spans(self) -> int:
        """The number of spans exported since the last ``on()`` (up to its ``off()``, if that came)."""
        return self._counts["spans"] + self._telemetry.span_count()

    def counts(self) -> dict[str, int]:
        """Spans, metric data points and log records exported since the last ``on()``.

        Collects the metrics, so it costs more than :meth:`spans`: call it outside timed code.
        """
        self._bank()
        return dict(self._counts)

    def _bank(self) -> None:
        for key, count in self._telemetry.drain().items():
            self._counts[key] += count

    def _enable(self) -> None:
        raise NotImplementedError

    def _disable(self) -> None:
        raise NotImplementedError


def _wrapt_proxy() -> type:
    import wrapt

    return getattr(wrapt, "BaseObjectProxy", None) or wrapt.ObjectProxy


def _is_tool_wrapper(member: object, proxy: type, tool: str) -> bool:
    """Whether ``member`` is a wrapt wrapper whose wrapper function comes from the package ``tool``."""
    # type(), not isinstance(): the SDKs keep lazy proxies that import modules when their __class__ is read.
    if not issubclass(type(member), proxy):
        return False
    module = getattr(getattr(member, "_self_wrapper", None), "__module__", None) or ""
    return module == tool or module.startswith(tool + ".")


def _tool_wrappers(sdk: str, tool: str) -> list[tuple[type, str]]:
    """Each (class, attribute) of the SDK's imported classes that holds a wrapper installed by the package ``tool``."""
    proxy = _wrapt_proxy()
    seen: set[int] = set()
    found: list[tuple[type, str]] = []
    for name, module in list(sys.modules.items()):
        if module is None or not (name == sdk or name.startswith(sdk + ".")):
            continue
        for value in list(vars(module).values()):
            if not issubclass(type(value), type) or id(value) in seen:
                continue
            seen.add(id(value))
            found.extend(
                (value, attr) for attr, member in list(vars(value).items()) if _is_tool_wrapper(member, proxy, tool)
            )
    return found


class _InstrumentorReference(Reference):
    """A tool that is an OpenTelemetry ``BaseInstrumentor``, given the reference's private providers.

    ``off()`` calls the instrumentor's ``uninstrument()`` and then takes off any wrapper of the tool's that it left
    on the SDK's classes (OpenLLMetry's OpenAI instrumentation 0.62 leaves all of them: see :meth:`_disable`).
    """

    def __init__(
        self,
        name: str,
        provider: str,
        package: str,
        description: str,
        *,
        instrumentor: Any,
        tool_module: str,
        captures_content: bool,
        signals: tuple[str, ...],
    ) -> None:
        super().__init__(name, provider, package, description, captures_content=captures_content, signals=signals)
        self._instrumentor = instrumentor
        self._tool_module = tool_module
        self._leftovers: list[tuple[type, str]] | None = None
        self.unwrapped_by_reference = 0
        """How many wrappers the tool's ``uninstrument()`` left in place at the first ``off()`` (``off()`` takes
        them off itself, every time)."""

    def _enable(self) -> None:
        telemetry = self._telemetry
        self._instrumentor.instrument(
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
            logger_provider=telemetry.logger_provider,
            # Checked once, when the reference was created: importlib.metadata is slow.
            skip_dep_check=True,
        )
        if not self._instrumentor.is_instrumented_by_opentelemetry:
            raise RuntimeError(f"{self.name} did not instrument {self.provider}")

    def _disable(self) -> None:
        """Uninstruments, then restores what ``uninstrument()`` left wrapped.

        OpenLLMetry's OpenAI instrumentation (0.62.x) calls ``unwrap("openai.resources.chat.completions",
        "Completions.create")`` and the like, but ``opentelemetry.instrumentation.utils.unwrap`` takes
        ``("module.Class", "method")``: it looks for an attribute ``Completions.create`` on the module
        ``openai.resources.chat.completions``, finds none, and does nothing. The wrappers would stay on, and pile
        up with each ``on()``. So the SDK's classes are scanned once, at the first ``off()``, for wrappers of the
        tool's that are still installed (a few tens of milliseconds); those places are restored at every ``off()``.
        """
        self._instrumentor.uninstrument()
        if self._leftovers is None:
            self._leftovers = _tool_wrappers(self.provider, self._tool_module)
            self.unwrapped_by_reference = len(self._leftovers)
        proxy = _wrapt_proxy()
        for owner, attribute in self._leftovers:
            member = vars(owner).get(attribute)
            if _is_tool_wrapper(member, proxy, self._tool_module):
                setattr(owner, attribute, member.__wrapped__)  # type: ignore[union-attr]


class _AnthropicBuiltinReference(Reference):
    """The Anthropic SDK's own tracing, through the switching global tracer provider."""

    def _enable(self) -> None:
        _SWITCH.target = self._telemetry.tracer_provider

    def _disable(self) -> None:
        _SWITCH.target = None


def _make_switch() -> Any:
    """A tracer provider that gives the API's no-op tracers while its ``target`` is ``None``, else the target's.

    Every tracer that it gave follows the switch, so a client that got its tracer while the switch was off traces
    once it is on, and the other way round. Switching re-points each tracer's ``start_span`` and
    ``start_as_current_span`` at the bound methods of the tracer it stands for, so a span costs no more than with
    that tracer itself: off, exactly the no-op tracer's work (no extra frame; the global ``ProxyTracer`` that a
    client may hold adds the same one call as when no provider is registered).
    """
    import weakref

    from opentelemetry.trace import NoOpTracer, Tracer, TracerProvider

    class SwitchTracer(Tracer):
        def __init__(self, args: tuple[Any, ...], target: Any) -> None:
            self._args = args
            self._noop = NoOpTracer()
            self._reals: dict[int, Tracer] = {}
            self.point(target)

        def point(self, target: Any) -> None:
            """Sends this tracer's spans to ``target``'s tracer of the same scope, or to the no-op tracer."""
            if target is None:
                tracer: Tracer = self._noop
            else:
                tracer = self._reals.get(id(target)) or self._reals.setdefault(
                    id(target), target.get_tracer(*self._args)
                )
            # Instance attributes shadow the methods below, which only serve before the first point().
            self.start_span = tracer.start_span  # type: ignore[method-assign]
            self.start_as_current_span = tracer.start_as_current_span  # type: ignore[method-assign]

        def start_span(self, *args: Any, **kwargs: Any) -> Any:
            return self._noop.start_span(*args, **kwargs)

        def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
            return self._noop.start_as_current_span(*args, **kwargs)

    class SwitchTracerProvider(TracerProvider):
        def __init__(self) -> None:
            self._target: Any = None
            self._tracers: weakref.WeakSet[SwitchTracer] = weakref.WeakSet()

        @property
        def target(self) -> Any:
            """The SDK ``TracerProvider`` that spans go to, or ``None`` for none (no-op tracers)."""
            return self._target

        @target.setter
        def target(self, target: Any) -> None:
            self._target = target
            for tracer in list(self._tracers):
                tracer.point(target)

        def get_tracer(
            self,
            instrumenting_module_name: str,
            instrumenting_library_version: str | None = None,
            schema_url: str | None = None,
            attributes: Any = None,
        ) -> Tracer:
            args = (instrumenting_module_name, instrumenting_library_version, schema_url, attributes)
            tracer = SwitchTracer(args, self._target)
            self._tracers.add(tracer)
            return tracer

    return SwitchTracerProvider()


def _anthropic_builtin() -> Reference | str:
    """The Anthropic SDK's built-in tracing as a reference, or why it cannot be one."""
    global _SWITCH
    try:
        import anthropic
    except ImportError:
        return "anthropic is not installed"
    if "open_telemetry" not in inspect.signature(anthropic.Anthropic.__init__).parameters:
        return f"anthropic {anthropic.__version__} has no built-in OpenTelemetry tracing (no `open_telemetry` option)"
    if _env("ANTHROPIC_OPEN_TELEMETRY") == "false":
        return "ANTHROPIC_OPEN_TELEMETRY=false in the environment: clients built with it have no spans"

    from opentelemetry import trace

    if _SWITCH is None:
        current = trace.get_tracer_provider()
        if not isinstance(current, trace.ProxyTracerProvider):
            return (
                f"a global tracer provider is already registered ({type(current).__name__}): the SDK traces to it, "
                "and the OpenTelemetry API cannot replace it with a switchable one"
            )
        _SWITCH = _make_switch()
        trace.set_tracer_provider(_SWITCH)
    elif trace.get_tracer_provider() is not _SWITCH:
        return "the global tracer provider is no longer the benchmark's switch"
    content = _env("ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE") == "content"
    propagation = _env("ANTHROPIC_OPEN_TELEMETRY_PROPAGATION") != "false"
    return _AnthropicBuiltinReference(
        "Anthropic SDK built-in OTel",
        "anthropic",
        f"anthropic {anthropic.__version__}",
        "the SDK's own tracing (on by default whenever a global tracer provider is registered): one CLIENT span"
        " per API call, kept open until a stream is read; request/response metadata and usage as attributes"
        f" ({'with' if content else 'no'} content); W3C trace context "
        f"{'injected into each request' if propagation else 'not propagated'}",
        captures_content=content,
        signals=("spans",),
    )


def _instrumentor(
    name: str,
    provider: str,
    package: str,
    module: str,
    description: str,
    *,
    content: bool,
    signals: tuple[str, ...],
    version: str = "",
) -> Reference | str:
    """An instrumentor-based reference, or why it cannot be one."""
    try:
        mod = importlib.import_module(module)
    except ImportError as err:
        return f"{package} cannot be imported (pip install {package}): {err}"
    classes = {"openai": "OpenAIInstrumentor", "anthropic": "AnthropicInstrumentor"}
    instrumentor = getattr(mod, classes[provider])()
    conflict = instrumentor._check_dependency_conflicts()
    if conflict is not None:
        return f"{package}: {conflict}"
    return _InstrumentorReference(
        name,
        provider,
        version or f"{package} {_version(package)}",
        description,
        instrumentor=instrumentor,
        tool_module=module,
        captures_content=content,
        signals=signals,
    )


def _openllmetry(provider: str) -> Reference | str:
    """OpenLLMetry's instrumentation of ``provider``, with its defaults."""
    content = _env("TRACELOOP_TRACE_CONTENT", "true") == "true"
    metrics = _env("TRACELOOP_METRICS_ENABLED", "true") == "true"
    methods = {
        "openai": "chat/completions/embeddings/responses/images/assistants methods (sync and async)",
        "anthropic": "Messages.create/stream (sync and async, beta and Bedrock too)",
    }[provider]
    return _instrumentor(
        "OpenLLMetry",
        provider,
        f"opentelemetry-instrumentation-{provider}",
        f"opentelemetry.instrumentation.{provider}",
        f"wrapt wrappers on {methods}: one CLIENT span per call with request, response and usage attributes"
        f" ({'prompts and completions as attributes' if content else 'no content'})"
        + ("; token-usage, duration and choice metrics" if metrics else "")
        + ("; W3C trace context injected into request headers" if provider == "openai" else ""),
        content=content,
        signals=("spans", "metrics") if metrics else ("spans",),
    )


def _otel_contrib_openai() -> Reference | str:
    """The OpenTelemetry contrib instrumentation of OpenAI (openai-v2), with its defaults."""
    package = "opentelemetry-instrumentation-openai-v2"
    try:
        from opentelemetry.instrumentation._semconv import _OpenTelemetrySemanticConventionStability
        from opentelemetry.util.genai.utils import is_experimental_mode

        # What instrument() does first; it reads OTEL_SEMCONV_STABILITY_OPT_IN, once per process.
        _OpenTelemetrySemanticConventionStability._initialize()
        experimental = is_experimental_mode()
    except ImportError as err:
        return f"{package} cannot be imported (pip install {package}): {err}"
    content_env = _env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    if experimental:
        content = content_env in ("span_only", "event_only", "span_and_event")
        description = (
            "wrapt wrappers on Completions.create and Embeddings.create (sync and async), latest experimental GenAI"
            " conventions through opentelemetry-util-genai's TelemetryHandler: one CLIENT span per call, duration"
            f" and token-usage histograms ({'with' if content else 'no'} content)"
        )
        signals: tuple[str, ...] = (
            ("spans", "metrics", "log records") if "event" in content_env else ("spans", "metrics")
        )
    else:
        content = content_env == "true"
        description = (
            "wrapt wrappers on Completions.create and Embeddings.create (sync and async), GenAI conventions v1.30:"
            " one CLIENT span per call, duration and token-usage histograms, one log-record event per input message"
            f" and per choice ({'with' if content else 'no'} content)"
        )
        signals = ("spans", "metrics", "log records")
    genai = _version("opentelemetry-util-genai")
    return _instrumentor(
        "OTel contrib openai-v2",
        "openai",
        package,
        "opentelemetry.instrumentation.openai_v2",
        description,
        content=content,
        signals=signals,
        version=f"{package} {_version(package)} (opentelemetry-util-genai {genai})",
    )


def _build(provider: str) -> tuple[list[Reference], dict[str, str]]:
    candidates: dict[str, Callable[[], Reference | str]]
    if provider == "openai":
        candidates = {
            "OpenLLMetry": lambda: _openllmetry("openai"),
            "OTel contrib openai-v2": _otel_contrib_openai,
        }
    else:
        candidates = {
            "OpenLLMetry": lambda: _openllmetry("anthropic"),
            "Anthropic SDK built-in OTel": _anthropic_builtin,
        }
    try:
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        return [], dict.fromkeys(candidates, "opentelemetry-sdk is not installed (pip install opentelemetry-sdk)")
    available: list[Reference] = []
    unavailable: dict[str, str] = {}
    for name, make in candidates.items():
        made = make()
        if not isinstance(made, Reference):
            unavailable[name] = made
            continue
        try:
            # Once here, so that the first on() (imports) and off() (the scan for leftover wrappers) are not in
            # the benchmark's rounds, and a tool that breaks on this SDK is reported rather than timed.
            made.on()
            made.off()
        except Exception as err:  # noqa: BLE001 - any failure of a third-party tool makes it unavailable
            with contextlib.suppress(Exception):
                made._disable()  # whatever on() got as far as installing
            unavailable[name] = f"{made.package}: on()/off() failed: {err!r}"
            continue
        available.append(made)
    return available, unavailable


def references(provider: str) -> tuple[list[Reference], dict[str, str]]:
    """The references available for a provider, and {name: reason} for the ones that could not be set up.

    The same :class:`Reference` objects are returned for a provider every time. The first call for a provider
    switches each of its references on and off once (no call is made). Creating the Anthropic SDK's reference
    registers the switching global tracer provider (off), which stays registered for the process.
    """
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}: expected one of {PROVIDERS}")
    if provider not in _CACHE:
        _CACHE[provider] = _build(provider)
    available, unavailable = _CACHE[provider]
    return list(available), dict(unavailable)
