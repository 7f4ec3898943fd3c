"""The generic call wrapper: before -> call -> extract -> price -> record -> dispatch.

One core for sync and async: :class:`Call` holds what is known before the request, and
:meth:`Call.finish` turns whatever the SDK returned into a record (or a proxy that records when the
stream or raw response is consumed). The handlers differ only by ``await``.

Every step of costwrap's own runs under :func:`~costwrap._guard.guard`; the SDK's call itself runs
outside it, so its exceptions reach the caller untouched and a failed call is never billed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from types import AsyncGeneratorType, GeneratorType, MappingProxyType
from typing import TYPE_CHECKING, Any

from costwrap import _config
from costwrap._config import Sink
from costwrap._context import active
from costwrap._dispatch import emit
from costwrap._errors import BudgetExceeded
from costwrap._guard import absorb, guard, report
from costwrap._record import EMPTY_MAPPING, CostRecord, RecordBuilder, Usage, empty_mapping
from costwrap.pricing import registry
from costwrap.pricing._table import STANDARD_CONTEXT
from costwrap.providers._spec import Extracted, PatchPoint, RequestInfo

if TYPE_CHECKING:
    from costwrap._estimate import Estimate
    from costwrap.budget import Hold, StreamWatch

_MISS: Any = object()

OPTIONS_ATTR = "_costwrap_options"
"""Where a wrapped client keeps its :class:`CallOptions` (in its ``__dict__``)."""
PROVIDER_ATTR = "_costwrap_provider"
"""Where a client caches which provider it talks to."""


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Per-client options from :func:`costwrap.wrap`, merged over the global defaults."""

    on_cost: tuple[Sink, ...] = ()
    tags: Mapping[str, str] = field(default_factory=empty_mapping)
    model_map: Mapping[str, str] = field(default_factory=empty_mapping)
    inject_stream_usage: bool | None = None

    def merged(
        self,
        on_cost: Sink | None = None,
        tags: Mapping[str, str] | None = None,
        model_map: Mapping[str, str] | None = None,
        inject_stream_usage: bool | None = None,
    ) -> CallOptions:
        """These options with the new ones added (callbacks accumulate, mappings update)."""
        callbacks = self.on_cost
        if on_cost is not None:
            if not callable(on_cost):
                raise TypeError(f"on_cost must be callable, got {type(on_cost).__name__}")
            if on_cost not in callbacks:
                callbacks = (*callbacks, on_cost)
        return CallOptions(
            on_cost=callbacks,
            tags=_merge(self.tags, tags, "tags"),
            model_map=_merge(self.model_map, model_map, "model_map"),
            inject_stream_usage=self.inject_stream_usage if inject_stream_usage is None else inject_stream_usage,
        )


def _merge(old: Mapping[str, str], new: Mapping[str, str] | None, what: str) -> Mapping[str, str]:
    if not new:
        return old
    if not isinstance(new, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in new.items()):
        raise TypeError(f"{what} must be a mapping of str to str")
    return MappingProxyType({**old, **new})


DEFAULT_OPTIONS = CallOptions()


class Switch:
    """Whether one installed patch is live.

    A patch that cannot be removed (another tool wrapped over it) is switched off instead, and
    then only passes calls through.
    """

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = True


class ProviderSpec:
    """The functions of one provider module that the generic wrapper uses (see providers/)."""

    def __init__(self, module: Any) -> None:
        self.name: str = module.NAME
        self.client_of: Callable[[Any], Any] = module.client_of
        self.describe_client: Callable[[Any], tuple[str, bool]] = module.describe_client
        self.read_request: Callable[[tuple[Any, ...], Mapping[str, Any]], RequestInfo] = module.read_request
        self.with_stream_usage: Callable[[str, dict[str, Any]], dict[str, Any] | None] = module.with_stream_usage
        self.extract: Callable[[Any, str], Extracted] = module.extract
        self.accumulator: Callable[[str, bool], Any] = module.accumulator
        self.prompt_texts: Callable[[str, tuple[Any, ...], Mapping[str, Any]], tuple[list[str], int]] = (
            module.prompt_texts
        )
        # Where a call's options come from: the client the method belongs to, or (``scoped``)
        # the enclosing wrapped call of a higher-level object (google-generativeai's models).
        self.scoped: bool = getattr(module, "SCOPED", False)
        self.client_attribute: str | None = getattr(module, "CLIENT_ATTRIBUTE", None)
        self.is_retrieve_billable: Callable[[Extracted], bool] = module.is_retrieve_billable
        self.options_holder: Callable[[Any], Any] = module.options_holder
        self.extract_batch_item: Callable[[Any], Extracted | None] | None = getattr(module, "extract_batch_item", None)
        self.extract_batch_job: Callable[[Any], list[Extracted]] = getattr(module, "extract_batch_job", lambda _: [])
        # For budget pre-flight: the request's output limit, and its non-text parts.
        self.max_output: Callable[[tuple[Any, ...], Mapping[str, Any]], int | None] = module.max_output
        self.count_media: Callable[[str, tuple[Any, ...], Mapping[str, Any]], int] = module.count_media
        # How many answers the request asks for (OpenAI ``n``, Gemini ``candidate_count``): each
        # one can use the whole output limit.
        self.choices: Callable[[tuple[Any, ...], Mapping[str, Any]], int] = getattr(module, "choices", lambda _a, _k: 1)
        # Providers whose request names the model more precisely than the response (a Bedrock
        # id says regional or global; the response says only the model): priced by it first.
        self.request_model_first: frozenset[str] = getattr(module, "REQUEST_MODEL_FIRST", frozenset())


# --- de-duplication of responses that can be read more than once --------------------------------

_billed: OrderedDict[str, None] = OrderedDict()
_BILLED_LIMIT = 10_000


def _first_billing(response_id: str) -> bool:
    """True the first time a (background) response id is billed; False after that."""
    if response_id in _billed:
        return False
    _billed[response_id] = None
    if len(_billed) > _BILLED_LIMIT:
        _billed.popitem(last=False)
    return True


# --- one call -------------------------------------------------------------------------------------


class Call:
    """What costwrap knows about one request, from before it is sent until it is recorded."""

    __slots__ = (
        "args",
        "closed",
        "deferred",
        "estimate",
        "hide_usage",
        "holds",
        "kwargs",
        "options",
        "outcome",
        "point",
        "provider",
        "request",
        "spec",
        "started",
        "wall",
        "watch",
    )

    def __init__(  # noqa: PLR0917 - positional: built once per call, where keywords cost more
        self,
        spec: ProviderSpec,
        point: PatchPoint,
        options: CallOptions,
        provider: str,
        request: RequestInfo,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        hide_usage: bool,
    ) -> None:
        self.spec = spec
        self.point = point
        self.options = options
        self.provider = provider
        self.request = request
        # Kept only to count a prompt when a stream never reports usage; never stored in a record.
        self.args = args
        self.kwargs = kwargs
        self.hide_usage = hide_usage
        self.holds: list[Hold] | None = None  # this call's reservations in the budgets in context
        self.estimate: Estimate | None = None
        self.watch: StreamWatch | None = None
        self.outcome: CostRecord | None = None
        self.deferred = False  # recorded later, by a stream or raw-response proxy
        self.closed = False
        self.wall = time.time()
        self.started = time.perf_counter()

    # The SDK returned: a model, a stream, or a raw response to be parsed later.
    def finish(self, result: Any) -> Any:
        """Record ``result`` now, or return a proxy that records when it is consumed."""
        kind = self.point.kind
        if kind == "stream-manager":
            from costwrap._streams import hook_stream_manager

            manager = hook_stream_manager(result, self)
            self.deferred = True  # only once hooked: a failed hook leaves the charge to be closed now
            return manager
        if kind == "batch-results":
            from costwrap._streams import wrap_items

            return wrap_items(result, self)
        if kind == "batch-job":
            for extracted in self.spec.extract_batch_job(result):
                self._record_batch(extracted)
            return result
        raw = self.request.raw
        if raw is not None and hasattr(result, "parse"):
            from costwrap._streams import wrap_raw_response

            proxy = wrap_raw_response(result, self)
            self.deferred = True
            return proxy
        known = _stream_types.get(type(result))  # _is_stream's cache, read here: no call per result
        if self.request.stream or self.point.stream or (_is_stream(result) if known is None else known):
            from costwrap._streams import wrap_stream

            stream = wrap_stream(result, self, self._accumulator())
            self.deferred = True
            return stream
        self.record_response(result)
        return result

    def _accumulator(self) -> Any:
        """The provider's stream reader; if it cannot be built, one that only hides (see _Blind)."""
        try:
            return self.spec.accumulator(self.point.operation, self.hide_usage)
        except Exception as exc:
            if not absorb("reading a stream", exc):
                raise
            from costwrap._streams import blind_accumulator

            return blind_accumulator(self.hide_usage)

    def finish_parsed(self, parsed: Any) -> Any:
        """A raw response was parsed: record the model, or proxy the stream it turned out to be."""
        if _is_stream(parsed):
            from costwrap._streams import wrap_stream

            return wrap_stream(parsed, self, self._accumulator())
        self.deferred = False  # recorded now: the charge can be closed
        self.record_response(parsed)
        return parsed

    def record_response(self, response: Any) -> None:
        """Record a complete (non-streamed) response."""
        latency = time.perf_counter() - self.started
        extracted = self.spec.extract(response, self.point.operation)
        if (extracted.response_id is not None or not extracted.billable or self.point.kind != "call") and not (
            self._billable(extracted)
        ):
            return
        self._emit(extracted, extracted.usage, latency, False, False, ())

    def record_batch_item(self, item: Any) -> None:
        """Record one finished request read from a batch's results."""
        extract = self.spec.extract_batch_item
        extracted = extract(item) if extract is not None else None
        if extracted is not None:
            self._record_batch(extracted)

    def _record_batch(self, extracted: Extracted) -> None:
        # Billed at batch rates, once per request however often the results are read.
        if extracted.usage is None:
            return
        if extracted.response_id is not None and not _first_billing(extracted.response_id):
            return
        self._emit(extracted, extracted.usage, 0.0, False, False, ())

    def record_stream(self, accumulator: Any, completed: bool) -> None:
        """Record a stream that ended (exhausted, closed, failed or dropped)."""
        latency = time.perf_counter() - self.started
        extracted = accumulator.result()  # None from an accumulator that failed: usage unknown
        usage = extracted.usage if extracted is not None else None
        if usage is not None and extracted is not None and extracted.complete:
            if self._billable(extracted):
                self._emit(extracted, usage, latency, True, False, ())
            return
        if self.point.kind == "retrieve":
            return  # a re-read stream that ended early bills nothing: the original call does
        if usage is not None:
            # The input is known; the output so far is at least what was seen.
            usage, notes = self._partial(usage, accumulator.text())
        else:
            usage, notes = self._estimate(accumulator.text(), completed)
        self._emit(extracted, usage, latency, True, usage is not None, notes)

    def _partial(self, usage: Usage, output_text: str) -> tuple[Usage, tuple[str, ...]]:
        from costwrap import tokens

        seen, _ = tokens.count_text(output_text, self.request.model)
        if seen <= usage.output_tokens:
            note = "the stream ended before its final usage: the last counts it reported are used"
            return usage, (note,)
        note = "the stream ended before its final usage: input as reported, output counted from the text seen"
        return replace(usage, output_tokens=seen), (note,)

    def _billable(self, extracted: Extracted) -> bool:
        if self.point.kind == "retrieve":
            if not self.spec.is_retrieve_billable(extracted):
                return False
            return extracted.response_id is not None and _first_billing(extracted.response_id)
        if not extracted.billable:
            return False
        if extracted.response_id is not None and extracted.usage is not None:
            return _first_billing(extracted.response_id)
        return True

    def _estimate(self, output_text: str, completed: bool) -> tuple[Usage | None, tuple[str, ...]]:
        from costwrap import tokens  # tiktoken loads only when a count is needed

        why = (
            "the stream ended without reporting usage"
            if completed
            else "the stream was closed before it reported usage"
        )
        texts, messages = self.spec.prompt_texts(self.point.operation, self.args, self.kwargs)
        if not texts and not output_text:
            return None, (f"{why}; nothing could be counted",)
        model = self.request.model
        prompt, exact_prompt = tokens.count_prompt(texts, messages, model)
        output, exact_output = tokens.count_text(output_text, model)
        if exact_prompt and exact_output:
            how = f"counted with tiktoken ({tokens.encoding_name_for(model)}) from the prompt and the output seen"
            if not tokens.is_exact_for(self.provider, model):
                how += f"; an estimate: {self.provider} uses its own tokenizer"
        else:
            how = "estimated at ~4 bytes per token from the prompt and the output seen (no tokenizer available)"
        return Usage(input_tokens=prompt, output_tokens=output), (f"{why}; usage {how}",)

    def _emit(  # noqa: PLR0917 - positional: once per call, where keywords cost more
        self,
        extracted: Extracted | None,
        usage: Usage | None,
        latency: float,
        stream: bool,
        estimated: bool,
        notes: tuple[str, ...],
    ) -> None:
        options = self.options
        request_model = self.request.model
        wall = self.wall
        if extracted is None:
            model, request_id, service_tier, batch, speed = request_model, None, None, False, None
            all_notes = list(notes)
        else:
            model = extracted.model or request_model
            request_id, service_tier, batch, speed = (
                extracted.request_id,
                extracted.service_tier,
                extracted.batch,
                extracted.speed,
            )
            all_notes = [*extracted.notes, *notes] if extracted.notes or notes else []
            if extracted.created_at and self.point.kind == "retrieve":
                wall = extracted.created_at  # a background response is priced at its creation
        cost = source = priced_as = unpriced_name = None
        breakdown: Mapping[str, Any] = EMPTY_MAPPING
        if usage is not None and model is not None:
            priced = False
            try:
                # The common case inline: no model map, and the registry already knows the name.
                match = registry._cache.get((self.provider, model)) if not options.model_map else None
                if match is None or self.provider in self.spec.request_model_first:
                    match, name = self._lookup(model, request_model)
                if match is None:
                    unpriced_name = name
                    all_notes.append(f"no price known for {name!r} ({self.provider}): cost unknown")
                else:
                    context = (
                        STANDARD_CONTEXT
                        if service_tier is None and not batch and speed is None
                        else (service_tier, batch, speed)
                    )
                    day = int(wall // 86400)
                    try:
                        if extracted is not None and extracted.iterations:
                            price = registry.price_steps(
                                match,
                                extracted.iterations,
                                usage.web_search_requests,
                                day,
                                context,
                                provider=self.provider,
                            )
                            cost, breakdown, price_notes = price.total, price.breakdown, price.notes
                        else:
                            cost, breakdown, price_notes = registry.price_parts(match, usage, day, context)
                    except ValueError as exc:
                        all_notes.append(f"could not be priced: {exc}")
                        report("pricing a call", exc)
                    else:
                        entry = match.entry
                        source, priced_as = entry.source, entry.id
                        if price_notes:
                            all_notes.extend(price_notes)
                priced = True
            except Exception as exc:
                if not absorb("pricing a call", exc):
                    raise
            if not priced:
                all_notes.append("pricing failed with an internal error (see the costwrap log): cost unknown")
        elif usage is None:
            all_notes.append("no usage was reported or could be counted: cost unknown")
        else:
            all_notes.append("neither the request nor the response named a model: cost unknown")
        # Filled field by field on a builder, then made a CostRecord (see costwrap._fast): no call,
        # no keyword matching. A renamed field fails here (no such slot), a new one in every test.
        record = RecordBuilder()
        record.provider = self.provider
        record.model = model
        record.request_model = request_model
        record.operation = self.point.operation
        record.usage = usage
        record.cost = cost
        record.breakdown = breakdown
        record.stream = stream
        record.estimated = estimated
        record.latency_s = latency
        record.timestamp = datetime.fromtimestamp(wall, UTC)
        tags = options.tags
        record.tags = _redacted(tags, all_notes) if _config._config.redact_tags is not None else tags
        record.request_id = request_id
        record.price_source = source
        record.priced_as = priced_as
        record.service_tier = service_tier
        record.batch = batch
        record.notes = tuple(all_notes) if all_notes else ()
        record.__class__ = CostRecord
        emit(record, options.on_cost)
        self.outcome = record
        if unpriced_name is not None:
            # After every sink has the record: strict pricing raises, otherwise a warning once.
            registry.unpriced(unpriced_name, self.provider)

    def _lookup(self, model: str, request_model: str | None) -> tuple[Any, str]:
        model_map = self.options.model_map
        provider = self.provider
        if not model_map and provider not in self.spec.request_model_first:
            # The common case in one step, the registry's own cache first: the response's model
            # (often a dated snapshot of the requested one) is known.
            cached = registry._cache.get((provider, model), _MISS)
            if cached is _MISS:
                cached = registry.lookup(model, provider)
            if cached is not None or request_model is None or request_model == model:
                return cached, model
        names = [model_map.get(model, model)]
        if request_model and request_model != model:
            if self.provider in self.spec.request_model_first:
                names.insert(0, model_map.get(request_model, request_model))
            else:
                names.append(model_map.get(request_model, request_model))
        for name in names:
            match = registry.lookup(name, self.provider)
            if match is not None:
                return match, name
        return None, names[0]

    # --- budgets -----------------------------------------------------------------------------

    def open_charge(self) -> Generator[Any, Any, list[Hold]] | None:
        """The flow reserving this call in the budgets in context, or None when there are none."""
        budgets = active.get()
        if not budgets or self.point.kind not in ("call", "stream-manager", "retrieve"):
            return None
        # Imported here: a process that wraps clients but sets no budget never loads these.
        from costwrap._estimate import estimate
        from costwrap.budget import distinct, reserve_flow

        budgets = distinct(budgets)
        preflight = self.point.kind != "retrieve"  # a re-read costs nothing more up front
        count = preflight and any(b.preflight for b in budgets)
        # A failed estimate costs the call its pre-flight check, not its budget: it is still
        # reserved (as one call) and charged its real cost.
        with guard("estimating a call's worst case"):
            self.estimate = estimate(self, count_prompt=count)
        return reserve_flow(budgets, self.estimate, preflight)

    def charged(self, holds: list[Hold]) -> None:
        """Keep the reservations; watch streams if a budget stops them."""
        self.holds = holds
        if self.estimate is not None and any(h.budget.stop_streams for h in holds):
            from costwrap.budget import StreamWatch

            self.watch = StreamWatch(holds, self.estimate, self.request.model)

    def _closing(self) -> Generator[Any, Any, BudgetExceeded | None] | None:
        if self.holds is None or self.closed:
            return None
        from costwrap.budget import release_flow, settle_flow
        from costwrap.stores import Amount

        self.closed = True
        record = self.outcome
        if record is None:  # the call failed, or billed nothing (yet): give the reservations back
            return _nothing_after(release_flow(self.holds))
        usage = record.usage
        actual = Amount(record.cost or Decimal(0), usage.total_tokens if usage else 0, 1)
        return settle_flow(self.holds, actual, record)

    def close_charge(self) -> None:
        """Settle (or release) this call's reservations; raise if it took a budget over its limit."""
        flow = self._closing()
        if flow is not None:
            from costwrap.budget import run

            exceeded = run(flow)
            if exceeded is not None:
                raise exceeded

    async def aclose_charge(self) -> None:
        """The async form of :meth:`close_charge` (a shared store is awaited, not blocked on)."""
        flow = self._closing()
        if flow is not None:
            from costwrap.budget import arun

            exceeded = await arun(flow)
            if exceeded is not None:
                raise exceeded


def _nothing_after(flow: Generator[Any, Any, None]) -> Generator[Any, Any, BudgetExceeded | None]:
    yield from flow
    return None


def _redacted(tags: Mapping[str, str], notes: list[str]) -> Mapping[str, str]:
    redact = _config.get_config().redact_tags
    if redact is None or not tags:
        return tags
    try:
        return MappingProxyType({str(k): str(v) for k, v in redact(dict(tags)).items()})
    except Exception as exc:  # noqa: BLE001 - a user's redactor failing must never leak the tags
        report("redacting tags", exc)
        notes.append("the tag redactor failed: tags dropped")
        return EMPTY_MAPPING


_GENERATORS = (GeneratorType, AsyncGeneratorType)  # a tuple: `A | B` would be built on every call


def _is_stream(result: Any) -> bool:
    # Decided once per result type: the ABC isinstance check costs more than a dict lookup.
    cls = type(result)
    known = _stream_types.get(cls)
    if known is None:
        known = cls.__name__ in ("Stream", "AsyncStream") or isinstance(result, _GENERATORS)
        if len(_stream_types) >= 256:  # response types are few; bound it all the same
            _stream_types.clear()
        _stream_types[cls] = known
    return known


_stream_types: dict[type, bool] = {}


# --- handlers installed by _patch -----------------------------------------------------------------


scope: ContextVar[CallOptions | None] = ContextVar("costwrap_scope", default=None)
"""The options of the wrapped object whose method is running (for ``scoped`` providers)."""


def _options_for(spec: ProviderSpec, instance: Any, instrumented: set[str]) -> tuple[Any, CallOptions | None]:
    attribute = spec.client_attribute
    if attribute is not None:  # the every-call case: one read, no helper calls
        holder = getattr(instance, attribute)
        options = holder.__dict__.get(OPTIONS_ATTR)
        if options is None and spec.name in instrumented:
            options = DEFAULT_OPTIONS
        return holder, options
    if spec.scoped:
        options = scope.get()
        holder = instance
    else:
        holder = spec.options_holder(spec.client_of(instance))
        options = vars(holder).get(OPTIONS_ATTR)
    if options is None and spec.name in instrumented:
        options = DEFAULT_OPTIONS
    return holder, options


def _begin(
    spec: ProviderSpec,
    point: PatchPoint,
    client: Any,
    options: CallOptions,
    *,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[Call, dict[str, Any]]:
    described = vars(client).get(PROVIDER_ATTR)
    if described is None:
        described = spec.describe_client(client)
        vars(client)[PROVIDER_ATTR] = described
    provider, own_api = described
    request = spec.read_request(args, kwargs)
    hide_usage = False
    if request.stream and point.kind == "call":
        inject = options.inject_stream_usage
        if inject is None:
            inject = _config.get_config().inject_stream_usage
        if inject is None:
            inject = own_api
        if inject:
            new_kwargs = spec.with_stream_usage(point.operation, kwargs)
            if new_kwargs is not None:
                kwargs, hide_usage = new_kwargs, True
    call = Call(spec, point, options, provider, request, args, kwargs, hide_usage)
    return call, kwargs


def sync_handler(spec: ProviderSpec, point: PatchPoint, switch: Switch, instrumented: set[str]) -> Callable[..., Any]:
    """The wrapt wrapper for a synchronous SDK method."""

    def handler(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not switch.on:
            return wrapped(*args, **kwargs)
        # try/except rather than `with guard(...)` on this path: the same rule (see _guard),
        # without a context-manager object per stage and call.
        call = flow = None
        try:
            client, options = _options_for(spec, instance, instrumented)
            if options is not None:
                call, kwargs = _begin(spec, point, client, options, args=args, kwargs=kwargs)
                if active.get():
                    flow = call.open_charge()
        except Exception as exc:
            if not absorb("preparing a call", exc):
                raise
        if call is None:
            return wrapped(*args, **kwargs)
        if flow is not None:
            from costwrap.budget import run

            with guard("checking budgets"):  # BudgetExceeded passes: the call is refused unsent
                call.charged(run(flow))
        try:
            result = wrapped(*args, **kwargs)
        except BaseException:
            if call.holds is not None:
                call.close_charge()  # a failed call bills nothing: release its reservations
            raise
        try:
            result = call.finish(result)
        except Exception as exc:
            if not absorb("recording a call", exc):
                raise
        if call.holds is not None and not call.deferred:
            call.close_charge()  # after the sinks have the record: may raise BudgetExceeded
        return result

    return handler


def async_handler(spec: ProviderSpec, point: PatchPoint, switch: Switch, instrumented: set[str]) -> Callable[..., Any]:
    """The wrapt wrapper for an SDK method that returns an awaitable."""

    def handler(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not switch.on:
            return wrapped(*args, **kwargs)
        call = None
        try:
            client, options = _options_for(spec, instance, instrumented)
            if options is not None:
                call, kwargs = _begin(spec, point, client, options, args=args, kwargs=kwargs)
        except Exception as exc:
            if not absorb("preparing a call", exc):
                raise
        if call is None:
            return wrapped(*args, **kwargs)
        return _call_async(call, wrapped, args, kwargs)

    return handler


async def _call_async(call: Call, wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    flow = None
    with guard("preparing a call"):
        flow = call.open_charge()
    if flow is not None:
        from costwrap.budget import arun

        with guard("checking budgets"):
            call.charged(await arun(flow))
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException:
        await call.aclose_charge()
        raise
    try:
        result = call.finish(result)
    except Exception as exc:
        if not absorb("recording a call", exc):
            raise
    if not call.deferred:
        await call.aclose_charge()
    return result


def scope_handler(spec: ProviderSpec, point: PatchPoint, switch: Switch, instrumented: set[str]) -> Callable[..., Any]:
    """The wrapt wrapper for a high-level method whose requests are recorded further down.

    google-generativeai's ``GenerativeModel.generate_content`` makes its request(s) through the
    SDK's shared GAPIC client; this wrapper only makes the model's options visible to the patches
    there, for the duration of the call (and of its streamed response being created).
    """

    def options_of(instance: Any) -> CallOptions | None:
        options: CallOptions | None = vars(spec.options_holder(instance)).get(OPTIONS_ATTR)
        return options

    if point.is_async:

        async def scoped_async(options: CallOptions, awaitable_call: Callable[[], Any]) -> Any:
            token = scope.set(options)
            try:
                return await awaitable_call()
            finally:
                scope.reset(token)

        def async_handler_(
            wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            options = None
            if switch.on:
                with guard("preparing a call"):
                    options = options_of(instance)
            if options is None:
                return wrapped(*args, **kwargs)
            return scoped_async(options, lambda: wrapped(*args, **kwargs))

        return async_handler_

    def handler(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        options = None
        if switch.on:
            with guard("preparing a call"):
                options = options_of(instance)
        if options is None:
            return wrapped(*args, **kwargs)
        token = scope.set(options)
        try:
            return wrapped(*args, **kwargs)
        finally:
            scope.reset(token)

    return handler


def copy_handler(switch: Switch, register: Callable[[Any], None]) -> Callable[..., Any]:
    """The wrapt wrapper for ``client.copy()`` / ``with_options()``: the copy keeps the options."""

    def handler(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        new = wrapped(*args, **kwargs)
        if not switch.on:
            return new
        with guard("copying a client's options"):
            options = vars(instance).get(OPTIONS_ATTR)
            if options is not None and new is not instance:
                vars(new)[OPTIONS_ATTR] = options
                register(new)
        return new

    return handler
