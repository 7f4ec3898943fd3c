"""What every reliability test shares: production mode, the secret sweep, the three SDK surfaces.

- Production mode (autouse): the project's conftest switches strict mode on so that our own bugs
  fail our tests; these tests check what users get, so strict mode is off here, as in production.
- The secret sweep (autouse): every record, every line on the ``costwrap`` loggers (at DEBUG), and
  every exception or exported attribute a test hands to it is searched for the API keys, the Redis
  password and the prompt and completion texts the tests use. Any hit fails the test.
- Surfaces: the real OpenAI, Anthropic and Google Gen AI clients over mock transports, each with a
  key of its own, so that a leak of any of them is caught; each call sends ``PROMPT`` and each
  answer carries ``COMPLETION``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis.configuration import set_hypothesis_home_dir

import costwrap
from costwrap import CostRecord, _dispatch, _guard
from tests.conftest import (
    API_KEY,
    MockServer,
    _free_port,
    anthropic_usage,
    chat_body,
    chat_chunks,
    chat_usage,
    gemini_body,
    message_body,
    message_events,
)

# Hypothesis keeps caches in ./.hypothesis by default: keep them out of the work tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "costwrap-reliability-hypothesis")

ANTHROPIC_KEY = "sk-ant-api03-reliability-0123456789abcdef-SECRET"
GOOGLE_KEY = "AIzaSyReliability0123456789abcdefSECRET"
REDIS_PASSWORD = "redis-reliability-pw-0123456789-SECRET"
PROMPT = "PROMPT-CANARY-d41d8cd9 please summarise the quarterly figures"
COMPLETION = "COMPLETION-CANARY-9e107d9d"
WORDS = ["COMPLETION-", "CANARY-", "9e107d9d ", "and more ", "words"]
"""A streamed answer: the pieces join into text that holds the completion canary."""

NEEDLES = {
    "the OpenAI API key": API_KEY,
    "the Anthropic API key": ANTHROPIC_KEY,
    "the Google API key": GOOGLE_KEY,
    "the Redis password": REDIS_PASSWORD,
    "the prompt text": "PROMPT-CANARY",
    "the completion text": "COMPLETION-CANARY",
}
"""What must never appear in a record, a costwrap log line, an exception or an exported attribute.
(No costwrap setting opts into recording prompt or completion text: records carry neither.)"""


# --- production mode --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strict mode off, as users run costwrap (a `reset()` inside a test keeps it off too)."""
    monkeypatch.setenv("COSTWRAP_STRICT", "0")
    costwrap.configure(strict=False)
    _guard.reset_reported()
    _dispatch.reset_failed_sinks()
    assert costwrap.get_config().strict is False


# --- the secret sweep ---------------------------------------------------------------------------------


class Sweep:
    """Searches everything costwrap hands out for secrets; keeps the hits, not the texts."""

    def __init__(self, needles: dict[str, str] | None = None) -> None:
        self.needles = dict(NEEDLES if needles is None else needles)
        self.leaks: list[str] = []
        self.records = 0
        self.lines = 0
        self.texts = 0
        self.internal_errors: list[str] = []
        """costwrap's own WARNING-or-above lines: internal errors, failing sinks, dropped records."""

    def scan(self, text: str, where: str) -> None:
        for label, needle in self.needles.items():
            if needle in text:
                at = text.index(needle)
                self.leaks.append(f"{label} in {where}: ...{text[max(0, at - 80) : at + 80]!r}...")

    def sink(self, record: CostRecord) -> None:
        """A global sink: every record of every call."""
        self.records += 1
        self.scan(json.dumps(record.to_dict(), default=str) + repr(record), "a record")

    def text(self, text: str, where: str) -> None:
        self.texts += 1
        self.scan(text, where)

    def exception(self, exc: BaseException | None) -> None:
        """An exception a test caught, with its chain (causes and contexts)."""
        seen: set[int] = set()
        while exc is not None and id(exc) not in seen:
            seen.add(id(exc))
            self.text(f"{type(exc).__name__}: {exc} | {exc!r} | {exc.args!r}", f"a {type(exc).__name__}")
            exc = exc.__cause__ or exc.__context__

    def assert_clean(self) -> None:
        assert self.leaks == [], "secrets leaked:\n" + "\n".join(self.leaks)


class _SweepHandler(logging.Handler):
    def __init__(self, sweep: Sweep) -> None:
        super().__init__(logging.DEBUG)
        self.sweep = sweep
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("costwrap"):
            return
        self.sweep.lines += 1
        text = self.format(record)  # the message, and the traceback when there is one
        extras = {k: v for k, v in vars(record).items() if k.startswith("costwrap_")}
        self.sweep.scan(f"{text} {extras!r}", f"a log line of {record.name}")
        if record.levelno >= logging.WARNING:
            self.sweep.internal_errors.append(record.getMessage())


@pytest.fixture(autouse=True)
def sweep() -> Iterator[Sweep]:
    """Every reliability test runs under the sweep; a secret found anywhere fails it."""
    found = Sweep()
    handler = _SweepHandler(found)
    logger = logging.getLogger("costwrap")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    costwrap.add_sink(found.sink)
    try:
        yield found
    finally:
        costwrap.remove_sink(found.sink)
        logger.removeHandler(handler)
        logger.setLevel(level)
    found.assert_clean()


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """costwrap's WARNING (and above) lines captured by ``caplog``."""
    return [r for r in caplog.records if r.name.startswith("costwrap") and r.levelno >= logging.WARNING]


# --- the SDK surfaces ----------------------------------------------------------------------------------

MISSING: Any = object()
"""A usage block left out of the body altogether (as opposed to ``null``)."""


def sse(events: list[dict[str, Any]], *, named: bool = False, done: bool = False, crlf: bool = False) -> bytes:
    end = "\r\n\r\n" if crlf else "\n\n"
    text = ""
    for event in events:
        if named:
            text += f"event: {event['type']}\n"
        text += f"data: {json.dumps(event)}{end}"
    if done:
        text += f"data: [DONE]{end}"
    return text.encode()


def event_stream(content: bytes) -> httpx2.Response:
    return httpx2.Response(200, content=content, headers={"content-type": "text/event-stream"})


def dying_stream(first: bytes, error: Exception, *, is_async: bool) -> httpx2.Response:
    """A streamed body that sends ``first`` and then fails as a dropped connection does."""
    if is_async:

        async def agen() -> AsyncIterator[bytes]:
            yield first
            raise error

        return httpx2.Response(200, content=agen(), headers={"content-type": "text/event-stream"})

    def gen() -> Iterator[bytes]:
        yield first
        raise error

    return httpx2.Response(200, content=gen(), headers={"content-type": "text/event-stream"})


def _with_usage(body: dict[str, Any], key: str, usage: Any) -> dict[str, Any]:
    if usage is MISSING:
        body.pop(key, None)
    else:
        body[key] = usage
    return body


@dataclass(frozen=True)
class Surface:
    """One provider's main operation through its real SDK client, sync and async, streamed or not."""

    name: str
    provider: str
    """The provider's name in costwrap (the key of its patch ledger)."""
    model: str
    good_usage: dict[str, Any]
    expected_cost: Any
    """What one call with ``good_usage`` costs (exact Decimal, by hand from the rates)."""

    # --- clients ---
    def client(self, server: MockServer, *, is_async: bool = False, retries: int = 0) -> Any:
        transport = httpx2.MockTransport(server.handler)
        http = httpx2.AsyncClient(transport=transport) if is_async else httpx2.Client(transport=transport)
        if self.provider == "openai":
            from openai import AsyncOpenAI, OpenAI

            return (AsyncOpenAI if is_async else OpenAI)(api_key=API_KEY, max_retries=retries, http_client=http)
        if self.provider == "anthropic":
            from anthropic import Anthropic, AsyncAnthropic

            return (AsyncAnthropic if is_async else Anthropic)(
                api_key=ANTHROPIC_KEY, max_retries=retries, http_client=http
            )
        from google import genai
        from google.genai import types

        retry = (
            types.HttpRetryOptions(attempts=retries + 1, initial_delay=0.001, max_delay=0.002, jitter=0)
            if retries
            else None
        )
        client = genai.Client(
            api_key=GOOGLE_KEY,
            http_options=types.HttpOptions(
                httpx_client=httpx2.Client(transport=httpx2.MockTransport(server.handler)),
                httpx_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server.handler)),
                retry_options=retry,
                async_client_args={"ssl": _ssl_context()},  # one, not a CA bundle load per client
            ),
        )
        return client.aio if is_async else client

    # --- bodies ---
    def body(self, usage: Any = None, model: str | None = None) -> dict[str, Any]:
        model = model or self.model
        usage = self.good_usage if usage is None else usage
        if self.provider == "openai":
            return _with_usage(chat_body(model, None, content=COMPLETION), "usage", usage)
        if self.provider == "anthropic":
            return _with_usage(message_body(model, {}, text=COMPLETION), "usage", usage)
        return _with_usage(gemini_body(model, None, text=COMPLETION), "usageMetadata", usage)

    def stream_body(self, request: httpx2.Request, usage: Any = None, *, complete: bool = True) -> bytes:
        """The SSE body of a streamed answer; ``complete=False`` cuts it before its usage/finish."""
        usage = self.good_usage if usage is None else usage
        if self.provider == "openai":
            asked = (json.loads(request.content).get("stream_options") or {}).get("include_usage") is True
            chunks = chat_chunks(self.model, WORDS, usage=usage if asked and complete else None)
            if not complete:
                chunks = chunks[:-1]  # no finish chunk either
            return sse(chunks, done=complete)
        if self.provider == "anthropic":
            start = dict(usage) if isinstance(usage, dict) else usage
            if isinstance(start, dict) and "output_tokens" in start:
                start["output_tokens"] = 1  # message_start's placeholder
            delta = {"output_tokens": usage.get("output_tokens")} if isinstance(usage, dict) else usage
            events = message_events(self.model, start, delta if complete else None, WORDS)
            return sse(events, named=True)
        chunks = []
        for i, word in enumerate(WORDS):
            last = i == len(WORDS) - 1
            chunk = gemini_body(self.model, None, text=word, finish="STOP" if last and complete else None)
            if last and complete:
                _with_usage(chunk, "usageMetadata", usage)
            elif isinstance(usage, dict):
                chunk["usageMetadata"] = {k: v for k, v in usage.items() if k == "promptTokenCount"}
            chunks.append(chunk)
        return sse(chunks, crlf=True)

    def responder(
        self, usage: Any = None, *, model: str | None = None, complete: bool = True
    ) -> Callable[[httpx2.Request], httpx2.Response]:
        """Answers every request like the API: a JSON body, or SSE when the request streams."""

        def respond(request: httpx2.Request) -> httpx2.Response:
            if self.is_stream_request(request):
                return event_stream(self.stream_body(request, usage, complete=complete))
            return httpx2.Response(200, json=self.body(usage, model), headers={"x-request-id": "req-reliability"})

        return respond

    def is_stream_request(self, request: httpx2.Request) -> bool:
        if self.provider == "google":
            return ":streamGenerateContent" in request.url.path
        return json.loads(request.content).get("stream") is True

    # --- calls ---
    def call(self, client: Any, *, stream: bool = False, **extra: Any) -> Any:
        """Make the call; a stream is read to its end (the chunks, as they came, are returned)."""
        if self.provider == "openai":
            result = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}], stream=stream, **extra
            )
        elif self.provider == "anthropic":
            result = client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=100,
                messages=[{"role": "user", "content": PROMPT}],
                stream=stream,
                **extra,
            )
        elif stream:
            result = client.models.generate_content_stream(model="gemini-2.5-flash", contents=PROMPT, **extra)
        else:
            result = client.models.generate_content(model="gemini-2.5-flash", contents=PROMPT, **extra)
        return list(result) if stream else result

    async def acall(self, client: Any, *, stream: bool = False, **extra: Any) -> Any:
        if self.provider == "openai":
            result = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}], stream=stream, **extra
            )
        elif self.provider == "anthropic":
            result = await client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=100,
                messages=[{"role": "user", "content": PROMPT}],
                stream=stream,
                **extra,
            )
        elif stream:
            result = await client.models.generate_content_stream(model="gemini-2.5-flash", contents=PROMPT, **extra)
        else:
            result = await client.models.generate_content(model="gemini-2.5-flash", contents=PROMPT, **extra)
        return [chunk async for chunk in result] if stream else result


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _per_m(*parts: tuple[int, str]) -> Any:
    from decimal import Decimal

    return sum((Decimal(n) * Decimal(rate) for n, rate in parts), Decimal(0)) / 1_000_000


OPENAI = Surface(
    "openai-chat",
    "openai",
    "gpt-4o-mini-2024-07-18",
    chat_usage(1200, 300, cached=1000),
    _per_m((200, "0.15"), (1000, "0.075"), (300, "0.60")),
)
ANTHROPIC = Surface(
    "anthropic-messages",
    "anthropic",
    "claude-haiku-4-5-20251001",
    anthropic_usage(100, 40, read=1000),
    _per_m((100, "1"), (1000, "0.1"), (40, "5")),
)
GOOGLE = Surface(
    "google-generate",
    "google",
    "gemini-2.5-flash",
    {"promptTokenCount": 100, "cachedContentTokenCount": 40, "candidatesTokenCount": 30, "totalTokenCount": 130},
    _per_m((60, "0.3"), (40, "0.03"), (30, "2.5")),
)
SURFACES = (OPENAI, ANTHROPIC, GOOGLE)


def dump(value: Any) -> Any:
    """A comparable form of what an SDK call returned (models dumped; lists element-wise)."""
    if isinstance(value, list):
        return [dump(v) for v in value]
    if hasattr(value, "model_dump"):
        return (type(value), value.model_dump(warnings=False))
    return (type(value), value)


@dataclass(frozen=True)
class Outcome:
    """What the caller got: a value, or an exception's type and message (and HTTP status)."""

    value: Any = None
    error: type[BaseException] | None = None
    message: str | None = None
    status: int | None = None


def observe(fn: Callable[[], Any], sweep: Sweep | None = None) -> Outcome:
    try:
        value = fn()
    except Exception as exc:
        if sweep is not None:
            sweep.exception(exc)
        return Outcome(
            error=type(exc), message=str(exc), status=getattr(exc, "status_code", getattr(exc, "code", None))
        )
    return Outcome(value=dump(value))


async def aobserve(fn: Callable[[], Any], sweep: Sweep | None = None) -> Outcome:
    try:
        value = await fn()
    except Exception as exc:
        if sweep is not None:
            sweep.exception(exc)
        return Outcome(
            error=type(exc), message=str(exc), status=getattr(exc, "status_code", getattr(exc, "code", None))
        )
    return Outcome(value=dump(value))


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """SDK retry back-off of a millisecond (both clients of a comparison see the same)."""
    import anthropic._base_client
    import openai._base_client

    monkeypatch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.001)
    monkeypatch.setattr(anthropic._base_client, "INITIAL_RETRY_DELAY", 0.001)


# --- a private redis-server (it is stopped mid-test, so not the session one) ----------------------------


class RedisServer:
    """A redis-server with a password, on a free loopback port; ``stop()`` kills it."""

    def __init__(self, binary: str) -> None:
        import redis

        self.port = _free_port()
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                REDIS_PASSWORD,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, password=REDIS_PASSWORD)
        try:
            for _ in range(200):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.02)
            self.stop()
            pytest.fail("redis-server did not start")
        finally:
            client.close()

    @property
    def url(self) -> str:
        return f"redis://:{REDIS_PASSWORD}@127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed, and CI must run the Redis reliability tests")
        pytest.skip(
            "redis-server is not installed (scripts/ensure_redis.sh installs it): "
            "the Redis-down reliability tests did NOT run"
        )
    server = RedisServer(binary)
    yield server
    server.stop()
