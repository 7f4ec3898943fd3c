"""Price a call without making it: cache, reasoning, tiers, batch, flex, dated prices.

Run: python examples/price_a_call.py
"""

from datetime import UTC, datetime

import costwrap

# 1,200 input tokens of which 1,000 were cache reads, 300 output tokens.
p = costwrap.price("gpt-4o-mini", input_tokens=1200, cache_read_tokens=1000, output_tokens=300)
print("gpt-4o-mini:", p.total, dict(p.breakdown))

# Long prompts are a cliff: above 272k input tokens every token of gpt-5.5 costs the tier rate.
for n in (272_000, 272_001):
    print(f"gpt-5.5 with {n:,} input tokens:", costwrap.price("gpt-5.5", input_tokens=n, output_tokens=1000).total)

# Batch and flex are priced from their own rows in the data, not computed.
print("gpt-5.5 batch:", costwrap.price("gpt-5.5", input_tokens=10_000, output_tokens=1000, batch=True).total)
print("gpt-5.5 flex:", costwrap.price("gpt-5.5", input_tokens=10_000, output_tokens=1000, service_tier="flex").total)

# Anthropic cache writes by TTL: 5-minute writes at 1.25x input, 1-hour writes at 2x.
p = costwrap.price(
    "claude-sonnet-4-5", input_tokens=3000, cache_write_by_ttl={"5m": 1000, "1h": 1000}, output_tokens=200
)
print("claude-sonnet-4-5 with cache writes:", p.total, dict(p.breakdown))

# Dated prices: gemini-4-argon doubles at midnight UTC on 2026-12-01.
for at in (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), datetime(2026, 12, 1, 0, 0, tzinfo=UTC)):
    print(
        f"gemini-4-argon at {at:%Y-%m-%d %H:%M}Z:",
        costwrap.price("gemini-4-argon", input_tokens=1_000_000, at=at).total,
    )
