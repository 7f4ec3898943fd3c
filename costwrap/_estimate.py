"""Pre-flight: the worst case a request can cost, before it is sent.

The prompt is counted offline with tiktoken (OpenAI's own vocabularies: an upper bound for OpenAI
text prompts, with the chat format's per-message overhead and a generous allowance per image); for
other providers the o200k count is raised by a safety margin and labelled an estimate. The output
is the request's ``max_tokens`` / ``max_output_tokens``, else the model's output limit from the
price data, else its context window left after the prompt, else a conservative default. Both are
priced at the rates in force (long-context tier included), so a budget can refuse a call before
any money is spent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from costwrap._record import new_usage
from costwrap.pricing import registry

if TYPE_CHECKING:
    from costwrap._call import Call

TOKENS_PER_MEDIA_PART = 4_000
"""Allowance per image/audio/file part of a prompt (OpenAI's largest image costs ~3,800 tokens)."""
OTHER_PROVIDER_MARGIN = Decimal("1.25")
"""Claude and Gemini tokenizers count differently from o200k: the estimate is raised by this."""
DEFAULT_MAX_OUTPUT = {"google": 65_536, "vertex": 65_536}
FALLBACK_MAX_OUTPUT = 128_000


@dataclass(frozen=True, slots=True)
class Estimate:
    """The worst case of one request, worked out before it is sent."""

    usd: Decimal | None
    """Worst-case cost in USD; ``None`` when the model has no price."""
    input_usd: Decimal | None
    """The prompt's part of it (what a stream costs before its first token)."""
    output_rate: Decimal | None
    """USD per output token (to count a stream's running cost)."""
    prompt_tokens: int
    max_output_tokens: int
    exact_prompt: bool
    """True when the prompt was counted with the model's own tokenizer and nothing was guessed."""
    model: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def tokens(self) -> int:
        """Worst-case input plus output tokens."""
        return self.prompt_tokens + self.max_output_tokens


def _tools_text(kwargs: Any) -> str:
    tools = kwargs.get("tools") if hasattr(kwargs, "get") else None
    if not tools:
        return ""
    try:
        return json.dumps(tools, default=str)
    except (TypeError, ValueError):
        return str(tools)


def estimate(call: Call, *, count_prompt: bool = True) -> Estimate:
    """The worst case of ``call``'s request (with ``count_prompt=False``: its rates only, prompt 0)."""
    model = call.request.model
    notes: list[str] = []
    prompt, exact = _prompt_tokens(call, notes) if count_prompt else (0, False)

    match = None
    if model is not None:
        name = call.options.model_map.get(model, model)
        match = registry.lookup(name, call.provider)
    max_output = call.spec.max_output(call.args, call.kwargs)
    if not max_output:
        entry = match.entry if match is not None else None
        if entry is not None and entry.max_output_tokens:
            max_output = entry.max_output_tokens
            notes.append(f"no output limit in the request: the model's ({max_output} tokens) assumed")
        elif entry is not None and entry.context_window:
            max_output = max(entry.context_window - prompt, 0)
            notes.append(f"no output limit in the request: the context window left ({max_output} tokens) assumed")
        else:
            max_output = DEFAULT_MAX_OUTPUT.get(call.provider, FALLBACK_MAX_OUTPUT)
            notes.append(f"no output limit known: {max_output} tokens assumed")
    choices = call.spec.choices(call.args, call.kwargs)
    if choices > 1:
        max_output *= choices
        notes.append(f"{choices} answers asked for: each may use the whole output limit")
    if match is None:
        return Estimate(None, None, None, prompt, max_output, exact, model, (*notes, "the model has no price"))
    day = int(time.time() // 86400)
    tier = call.kwargs.get("service_tier") if hasattr(call.kwargs, "get") else None
    context = (tier if isinstance(tier, str) else None, False, None)
    worst = registry.price_match(match, new_usage(input_tokens=prompt, output_tokens=max_output), day, context)
    prompt_only = registry.price_match(match, new_usage(input_tokens=prompt), day, context)
    output_rate = (worst.total - prompt_only.total) / max_output if max_output else None
    return Estimate(worst.total, prompt_only.total, output_rate, prompt, max_output, exact, model, tuple(notes))


def _prompt_tokens(call: Call, notes: list[str]) -> tuple[int, bool]:
    from costwrap import tokens

    spec, point, model = call.spec, call.point, call.request.model
    texts, messages = spec.prompt_texts(point.operation, call.args, call.kwargs)
    tools = _tools_text(call.kwargs)
    if tools:
        texts = [*texts, tools]
    prompt, exact = tokens.count_prompt(texts, messages, model)
    media = spec.count_media(point.operation, call.args, call.kwargs)
    if media:
        prompt += media * TOKENS_PER_MEDIA_PART
        notes.append(f"{media} image/audio/file part(s) allowed {TOKENS_PER_MEDIA_PART} tokens each")
    if not tokens.is_exact_for(call.provider, model):
        prompt = int((prompt * OTHER_PROVIDER_MARGIN).to_integral_value(rounding="ROUND_CEILING"))
        exact = False
        notes.append(f"{call.provider} counts tokens its own way: the prompt is an o200k count plus 25%")
    return prompt, exact
