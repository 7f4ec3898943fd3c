"""Wrap a client in one line; every call yields an exact CostRecord.

Run: python examples/quickstart.py   (offline: the transport is a stand-in, the client is real)
"""

from _offline import openai_client

import costwrap

client = costwrap.wrap(openai_client(), tags={"feature": "support-bot"})  # in your code: wrap(OpenAI())
costwrap.add_sink(lambda record: print("recorded:", record.model, record.cost, dict(record.breakdown)))

with costwrap.track() as t:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Again"}])

print("reply:", reply.choices[0].message.content)  # the SDK's own object, untouched
print(f"{t.calls} calls cost ${t.cost} exactly")  # 2 x (200 x 0.15 + 1000 x 0.075 + 300 x 0.60) / 1M
