"""Streams are recorded when they end, however they end; usage is asked for and the extra chunk hidden.

Run: python examples/streaming.py
"""

from _offline import openai_client

import costwrap

client = costwrap.wrap(openai_client())

with costwrap.track() as t:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)  # choices[0] always exists
    print("streamed:", text)

    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    next(stream)
    stream.close()  # closed early: the provider never sent usage, costwrap counts it

for record in t.records:
    print(f"stream={record.stream} estimated={record.estimated} cost={record.cost} {record.notes}")
