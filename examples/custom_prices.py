"""Your own prices: fine-tunes, Azure deployments, negotiated discounts, a price file.

Run: python examples/custom_prices.py
"""

import tempfile
from pathlib import Path

import costwrap

costwrap.registry.register("acme-finetune", provider="openai", input="0.30", output="1.20", cache_read="0.15")
print("registered:", costwrap.price("acme-finetune", input_tokens=1_000_000, output_tokens=100_000).total)

costwrap.registry.alias("prod-chat", "gpt-4o")  # an Azure deployment name
print("alias:", costwrap.price("prod-chat", input_tokens=1_000_000).model)

costwrap.registry.discount("0.9", provider="openai")  # 10 % off every OpenAI call
print("with discount:", costwrap.price("gpt-4o", input_tokens=1_000_000).total)

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "prices.toml"
    path.write_text('[models."acme-v2"]\ninput = "0.50"\noutput = "2.00"\n')
    costwrap.configure(prices=path)  # or set COSTWRAP_PRICES=/path/to/prices.toml
    print("from a price file:", costwrap.price("acme-v2", input_tokens=1_000_000).total)

    path.write_text('[models."broken"]\ninput = "zero"\n')
    try:
        costwrap.configure(prices=path)
    except costwrap.PriceFileError as exc:
        print("a bad file is refused:", str(exc).split("/")[-1])
