"""The same one line for Anthropic and Gemini: their usage conventions are normalised for you.

Anthropic's `input_tokens` leaves the cache out and splits cache writes by TTL; Gemini counts
thinking apart from the reply. costwrap's Usage always means the same thing.

Run: python examples/anthropic_and_gemini.py
"""

from _offline import anthropic_client, gemini_client

import costwrap

claude = costwrap.wrap(anthropic_client())  # in your code: wrap(Anthropic())
gemini = costwrap.wrap(gemini_client())  # in your code: wrap(genai.Client())

with costwrap.track() as t:
    claude.messages.create(model="claude-sonnet-4-5", max_tokens=500, messages=[{"role": "user", "content": "Hi"}])
    gemini.models.generate_content(model="gemini-2.5-flash", contents="Classify this ticket")

for record in t.records:
    u = record.usage
    print(
        f"{record.provider}: input {u.input_tokens} (cache read {u.cache_read_tokens}, "
        f"writes {dict(u.cache_write_by_ttl)}), output {u.output_tokens} (reasoning {u.reasoning_tokens}) "
        f"-> ${record.cost}"
    )
    print("   ", {k: str(v) for k, v in record.breakdown.items()})
