"""The pytest plugin users get with costwrap: a records fixture and a cost_budget marker."""

from __future__ import annotations

import pytest

INNER = """
import json
import httpx2
import pytest
import costwrap
from openai import OpenAI

def client(model="gpt-4o-mini", prompt=1_000_000):
    body = {"id": "c", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "x"}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 0, "total_tokens": prompt}}
    transport = httpx2.MockTransport(lambda r: httpx2.Response(200, json=body))
    return costwrap.wrap(OpenAI(api_key="sk-x", max_retries=0, http_client=httpx2.Client(transport=transport)))

@pytest.mark.cost_budget(usd="0.20")
def test_within_budget():
    client().chat.completions.create(model="gpt-4o-mini", messages=[])   # $0.15

@pytest.mark.cost_budget(usd="0.20")
def test_over_budget():
    for _ in range(2):
        client().chat.completions.create(model="gpt-4o-mini", messages=[])   # $0.30

@pytest.mark.cost_budget(usd="1")
def test_unpriced():
    with pytest.warns(costwrap.UnpricedModelWarning):
        client("acme-llm").chat.completions.create(model="acme-llm", messages=[])

@pytest.mark.cost_budget(usd="1", allow_unpriced=True)
def test_unpriced_allowed():
    with pytest.warns(costwrap.UnpricedModelWarning):
        client("acme-llm-2").chat.completions.create(model="acme-llm-2", messages=[])

def test_fixture(costwrap_records):
    client(prompt=1000).chat.completions.create(model="gpt-4o-mini", messages=[])
    assert costwrap_records.calls == 1
    from decimal import Decimal
    assert costwrap_records.cost == Decimal("0.00015")
"""


def test_cost_budget_marker_and_records_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_over_budget _*",
            "cost_budget exceeded: the LLM calls of this test cost $0.3 (limit $0.2, 2 calls)",
            "*_ test_unpriced _*",
            "cost_budget cannot be checked: 1 call(s) could not be priced (acme-llm)*",
        ]
    )


def test_a_marker_without_a_limit_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner="import pytest\n@pytest.mark.cost_budget()\ndef test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*cost_budget needs a limit*"])
