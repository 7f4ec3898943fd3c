"""import costwrap: no provider SDK, no tokenizer, no I/O."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import json, sys
opened = []
def audit(event, args):
    path = args[0] if event == "open" else None
    if isinstance(path, str) and not path.endswith((".py", ".pyc")) and "__pycache__" not in path:
        opened.append(path)
    if event in ("socket.connect", "socket.getaddrinfo"):
        opened.append(event)
before = set(sys.modules)
sys.addaudithook(audit)
import costwrap
new = sorted(set(sys.modules) - before)
print(json.dumps({"modules": new, "opened": [p for p in opened if "site-packages" not in p or "costwrap" in p]}))
"""


def test_import_loads_no_sdk_no_tokenizer_and_reads_no_data() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    heavy = ("openai", "anthropic", "google", "tiktoken", "httpx", "httpx2", "pydantic", "requests", "grpc")
    assert [m for m in result["modules"] if m.split(".")[0] in heavy] == []
    assert not any("pricing/data" in p for p in result["opened"])
    assert [p for p in result["opened"] if not p.endswith(("/", ".so")) and "costwrap" in p] == []
    assert "socket.connect" not in result["opened"]


def test_import_loads_nothing_but_the_package_until_a_name_is_used() -> None:
    # The public names load on first use: a process pays only for the parts it touches.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert [m for m in json.loads(out.stdout)["modules"] if m.startswith("costwrap")] == ["costwrap"]


def test_budget_and_track_stay_the_functions_whatever_loads_first() -> None:
    script = """
import costwrap
import costwrap.budget, costwrap.track  # binding the submodules to the package must not win
from costwrap._call import Call
assert costwrap.budget is costwrap.Budget, costwrap.budget
assert callable(costwrap.track) and not isinstance(costwrap.track, type(costwrap)), costwrap.track
assert sorted(costwrap.__all__) == sorted(n for n in costwrap.__all__ if hasattr(costwrap, n))
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
