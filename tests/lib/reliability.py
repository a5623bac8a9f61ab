"""Figures of the reliability proofs (issue 21), as the test suite measures them.

A test that tries a fault or a bad input records each case it tried and whether the collection handled
it (failed cleanly, naming what it should, with nothing changed):

    from lib.reliability import record
    record("daemon down", "libvirt_domain against a dead socket", handled=True)

Records are appended as JSON lines under tests/output/reliability/ (one file per process, so
parallel or subprocess writers never interleave). At the end of a pytest session the collected
figures are written to docs/reliability.md by tests/conftest.py (`write_report`), so `make test`
regenerates them. A case recorded with handled=False is also a failing assertion in its test: the
figures describe what the tests enforce, never a second opinion.
"""

from __future__ import annotations

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# a pytest run inside a test (the bench harness) is told another directory: its session start would
# otherwise reset the records of the session that runs it
OUTPUT = os.environ.get("VIRTCLOUD_RELIABILITY_DIR") or os.path.join(ROOT, "tests", "output", "reliability")


def record(category, case, handled, detail=""):
    """One case of `category` tried; `handled`: the collection did what it promises."""
    os.makedirs(OUTPUT, exist_ok=True)
    line = json.dumps({"category": category, "case": case, "handled": bool(handled), "detail": detail})
    with open(os.path.join(OUTPUT, "%d.jsonl" % os.getpid()), "a") as handle:
        handle.write(line + "\n")


def collected():
    """Every record written so far, in no particular order."""
    out = []
    if not os.path.isdir(OUTPUT):
        return out
    for name in sorted(os.listdir(OUTPUT)):
        with open(os.path.join(OUTPUT, name)) as handle:
            out.extend(json.loads(line) for line in handle if line.strip())
    return out


def reset():
    """Forget the records of an earlier session (called when a session starts)."""
    if os.path.isdir(OUTPUT):
        for name in os.listdir(OUTPUT):
            os.unlink(os.path.join(OUTPUT, name))
