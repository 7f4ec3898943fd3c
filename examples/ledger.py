"""Keep every call in a SQLite ledger (and a JSONL file), then read it back exactly.

Run: python examples/ledger.py
"""

import tempfile
from pathlib import Path

from _offline import openai_client

import costwrap
from costwrap.sinks import Background, JSONLSink, SQLiteSink
from costwrap.sinks.sqlite import read_records

folder = Path(tempfile.mkdtemp())
ledger = SQLiteSink(folder / "costs.db")  # WAL, one transaction per record: survives a crash
jsonl = Background(JSONLSink(folder / "costs.jsonl"))  # a slow sink off the call path
costwrap.add_sink(ledger)
costwrap.add_sink(jsonl)

client = costwrap.wrap(openai_client(), tags={"feature": "support-bot"})
for _ in range(3):
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
jsonl.flush()

records = list(read_records(folder / "costs.db"))
print(f"{len(records)} records in the ledger, total ${sum(r.cost for r in records if r.cost)} (exact)")
print(f"{len((folder / 'costs.jsonl').read_text().splitlines())} lines in the JSONL file")
