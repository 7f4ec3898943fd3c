"""Azure OpenAI: priced by the model the response names; deployments mapped when it names none.

Run: python examples/azure.py
"""

from _offline import azure_client

import costwrap

client = costwrap.wrap(azure_client(), model_map={"prod-chat": "gpt-4o"})
with costwrap.track() as t:
    client.chat.completions.create(model="prod-chat", messages=[{"role": "user", "content": "Hi"}])
record = t.records[0]
print(record.provider, record.request_model, "->", record.model, "priced as", record.priced_as, record.cost)
