"""Tracking follows contextvars: asyncio tasks inherit a track(), threads need copy_context().

Run: python examples/async_and_threads.py
"""

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor

from _offline import async_openai_client, openai_client

import costwrap

costwrap.instrument()  # every client in the process, wrapped or not

sync_client, async_client = openai_client(), async_openai_client()


async def fan_out() -> None:
    await asyncio.gather(
        *(
            async_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": str(i)}])
            for i in range(10)
        )
    )


with costwrap.track("nightly-batch") as t:
    asyncio.run(fan_out())
    with ThreadPoolExecutor(4) as pool:
        ctx = contextvars.copy_context()
        for _ in range(4):
            pool.submit(
                ctx.copy().run,
                sync_client.chat.completions.create,
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
            ).result()

print(t)
costwrap.uninstrument()
