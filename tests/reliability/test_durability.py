"""Durability: ledgers written by processes that are SIGKILLed at random points.

tests/test_sinks.py kills one process writing SQLite directly, once, after 300 records. Here the
writers are real wrapped clients (the whole pipeline: call -> record -> sinks) with several threads
each, two processes at a time sharing one SQLite ledger, each also appending to a size-rotated
JSONL file, killed at random points (mid-run, or while still starting up, creating or migrating
the ledger) over several rounds on the same files. A writer prints a call's request id only after
the call returned, that is after its sinks wrote the record. After every round:

- every id any writer reported is in the SQLite ledger and in the JSONL files, exactly once;
- no partial row (each record has its tag row: the two inserts are one transaction), no torn line
  (every line of every JSONL file parses, and each file ends with a newline);
- the ledger passes ``PRAGMA integrity_check`` and opens cleanly with costwrap's own reader, and
  the next round's writers keep appending to it.

Also: several processes rotating one JSONL file by size keep every line.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from costwrap.sinks.sqlite import connect, read_records
from tests.reliability.conftest import Sweep

ROOT = Path(__file__).parent.parent.parent
COST = (Decimal(80) * Decimal("0.15") + Decimal(20) * Decimal("0.075") + Decimal(30) * Decimal("0.60")) / 1_000_000

WRITER = textwrap.dedent(
    """
    import itertools, sys, threading
    import httpx2, openai, costwrap
    from costwrap.sinks import JSONLSink, SQLiteSink

    db, jsonl, tag, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    costwrap.add_sink(SQLiteSink(db))
    costwrap.add_sink(JSONLSink(jsonl, max_bytes=24_000, backups=500))
    numbers, lock, out = itertools.count(), threading.Lock(), threading.Lock()

    def respond(request):
        with lock:
            rid = f"{tag}-{next(numbers)}"
        usage = {"prompt_tokens": 100, "completion_tokens": 30, "total_tokens": 130,
                 "prompt_tokens_details": {"cached_tokens": 20}}
        body = {"id": rid, "object": "chat.completion", "created": 1764300000, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "x"}}],
                "usage": usage}
        return httpx2.Response(200, json=body, headers={"x-request-id": rid})

    client = costwrap.wrap(
        openai.OpenAI(api_key="sk-durability", max_retries=0,
                      http_client=httpx2.Client(transport=httpx2.MockTransport(respond))),
        tags={"writer": tag},
    )

    def work():
        while True:
            response = client.chat.completions.create(model="gpt-4o-mini", messages=[])
            with out:  # reported only once the call returned: its record is in both ledgers
                sys.stdout.write(response._request_id + "\\n")
                sys.stdout.flush()

    for _ in range(threads):
        threading.Thread(target=work, daemon=True).start()
    threading.Event().wait()
    """
)


class Writer:
    """A writer process, and the ids it reported (read as they come)."""

    def __init__(self, db: Path, jsonl: Path, tag: str) -> None:
        self.stderr = jsonl.with_name(f"{tag}.stderr")
        with self.stderr.open("wb") as errors:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", WRITER, str(db), str(jsonl), tag, "2"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
        self.reported: list[str] = []
        self._partial = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # a line cut by the kill has no newline: not reported
            if line.endswith(b"\n"):
                self.reported.append(line.decode().strip())

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def check_ledgers(db: Path, jsonl_files: list[Path], reported: set[str]) -> tuple[int, int]:
    connect(db).close()  # opens cleanly (creating the schema, if the kill came before it did)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [row[0] for row in conn.execute("SELECT request_id FROM records")]
        untagged = conn.execute(
            "SELECT count(*) FROM records r WHERE NOT EXISTS (SELECT 1 FROM record_tags t WHERE t.record_id = r.id)"
        ).fetchone()[0]
        costs = {row[0] for row in conn.execute("SELECT DISTINCT cost FROM records")}
    finally:
        conn.close()
    assert len(ids) == len(set(ids)), "a record written twice"
    assert untagged == 0, "a partial record: its row without its tag row"
    assert {Decimal(c) for c in costs} <= {COST}, costs
    missing = reported - set(ids)
    assert not missing, f"{len(missing)} reported records are not in the SQLite ledger: {sorted(missing)[:5]}"
    assert len(list(read_records(db))) == len(ids)  # costwrap's own reader reads it all

    lines: list[str] = []
    for path in jsonl_files:
        data = path.read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"{path.name} ends with a torn line"
        for line in data.decode().splitlines():
            record = json.loads(line)  # every line is whole
            assert Decimal(record["cost"]) == COST
            lines.append(record["request_id"])
    assert len(lines) == len(set(lines)), "a line written twice"
    missing = reported - set(lines)
    assert not missing, f"{len(missing)} reported records are not in the JSONL files: {sorted(missing)[:5]}"
    return len(ids), len(lines)


def test_ledgers_keep_every_reported_record_across_random_sigkills(
    tmp_path: Path, sweep: Sweep, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int(os.environ.get("COSTWRAP_KILL_SEED", "20261128"))
    rng = random.Random(seed)
    db = tmp_path / "ledger.db"
    reported: set[str] = set()
    kills: list[str] = []
    rounds = 4
    for round_ in range(rounds):
        writers = [Writer(db, tmp_path / f"w{round_}{k}.jsonl", f"r{round_}w{k}") for k in range(2)]
        if round_ == 0:  # killed while starting: importing, opening, creating the ledger schema
            time.sleep(rng.uniform(0.0, 0.6))
            point = "during start-up"
        else:
            target = rng.randint(20, 200)
            deadline = time.monotonic() + 30
            while sum(len(w.reported) for w in writers) < target and time.monotonic() < deadline:
                assert all(w.proc.poll() is None for w in writers), [w.stderr.read_text()[-2000:] for w in writers]
                time.sleep(0.005)
            assert sum(len(w.reported) for w in writers) >= target, [w.stderr.read_text()[-2000:] for w in writers]
            time.sleep(rng.uniform(0.0, 0.02))  # and land anywhere inside the next writes
            point = f"after ~{target} records"
        order = writers if rng.random() < 0.5 else writers[::-1]
        for writer in order:
            writer.kill()
            reported.update(writer.reported)
        kills.append(f"round {round_ + 1}: {point} ({sum(len(w.reported) for w in writers)} reported)")
        jsonl_files = sorted(tmp_path.glob("w*.jsonl*"))
        rows, lines = check_ledgers(db, jsonl_files, reported)
        assert rows >= len(reported) and lines >= len(reported)
    assert len(reported) > 100  # the rounds did write something
    with capsys.disabled():
        print(
            f"\n[reliability figure] durability: {rounds} SIGKILL rounds x 2 writer processes (seed {seed}); "
            f"{len(reported)} reported records, all present, no torn line or partial row; " + "; ".join(kills)
        )
    with Path("/tmp/reliability_figures.log").open("a") as out:
        out.write(
            f"durability: {rounds} rounds, seed {seed}, {len(reported)} records reported, all kept; "
            + "; ".join(kills)
            + "\n"
        )


ROTATOR = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from decimal import Decimal
    from costwrap import CostRecord, Usage
    from costwrap.sinks import JSONLSink

    sink = JSONLSink(sys.argv[1], max_bytes=6_000, backups=500)
    tag, failed = sys.argv[2], 0
    for i in range(int(sys.argv[3])):
        record = CostRecord(provider="openai", model="m", request_model="m", operation="chat.completions",
                            usage=Usage(input_tokens=1, output_tokens=1), cost=Decimal("0.000001"),
                            timestamp=datetime.now(UTC), request_id=f"{tag}-{i}")
        try:
            sink(record)
        except OSError:  # in a wrapped call this is a sink failure: logged, and the record is gone
            failed += 1
    print(failed)
    """
)


def test_processes_rotating_one_jsonl_file_keep_every_line(tmp_path: Path, sweep: Sweep) -> None:
    path = tmp_path / "shared.jsonl"
    per_process = 300
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ROTATOR, str(path), f"p{k}", str(per_process)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(3)
    ]
    failed = sum(int(proc.communicate(timeout=60)[0]) for proc in procs)
    assert [proc.returncode for proc in procs] == [0, 0, 0]
    ids = [
        json.loads(line)["request_id"] for f in tmp_path.glob("shared.jsonl*") for line in f.read_text().splitlines()
    ]
    expected = {f"p{k}-{i}" for k in range(3) for i in range(per_process)}
    assert len(ids) == len(set(ids))
    lost = len(expected - set(ids))
    assert (lost, failed) == (0, 0), (
        f"{lost} of {len(expected)} lines lost to concurrent rotation ({failed} writes failed)"
    )
