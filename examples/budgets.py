"""Budgets: refuse a call before it is sent, stop a loop, stop a stream mid-way.

Each call here costs 1,200 prompt tokens (1,000 cached) and 300 completion tokens of gpt-4o-mini:
200 x $0.15/M + 1,000 x $0.075/M + 300 x $0.60/M = $0.000285.

Run: python examples/budgets.py
"""

from decimal import Decimal

from _offline import openai_client

import costwrap

client = costwrap.wrap(openai_client())
HI = [{"role": "user", "content": "Hi"}]
DOC = [{"role": "user", "content": "Summarize: " + "word " * 1180}]  # about the 1,200 tokens billed


@costwrap.budget(usd="0.001", name="summaries")  # each invocation gets its own $0.001
def summarize_all(n: int) -> int:
    """Call the model n times; the budget stops the loop when the next call could cross $0.001."""
    done = 0
    for _ in range(n):
        client.chat.completions.create(model="gpt-4o-mini", messages=DOC, max_tokens=300)
        done += 1
    return done


try:
    summarize_all(10)
except costwrap.BudgetExceeded as exc:
    # Pre-flight: the worst case (prompt counted offline + 300 output tokens) did not fit what was left.
    print(f"refused before sending: budget {exc.budget!r} spent ${exc.spent} of ${exc.limit};")
    print(f"  the next call could cost up to ${exc.estimate}")

with costwrap.budget(usd=1, calls=2) as b:
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    except costwrap.BudgetExceeded as exc:
        print(f"third call refused on {exc.dimension}: {b.calls_made} calls, ${b.spent} spent")
assert b.spent == 2 * Decimal("0.000285")

# After the fact: with pre-flight off the call that crosses the limit is recorded, then raises.
with costwrap.track() as t, costwrap.budget(usd="0.0004", preflight=False):
    try:
        for _ in range(3):
            client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    except costwrap.BudgetExceeded as exc:
        print(f"crossed after the fact: ${exc.spent} > ${exc.limit}; {len(t.records)} calls recorded")
