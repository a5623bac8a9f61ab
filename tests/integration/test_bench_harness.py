"""Keeps `make bench`'s harness working (issue 26) without its cost: the cheapest bench (ova_export) at a
16 MiB disk, run as `make bench` runs it (pytest tests/bench ... with VIRTCLOUD_BENCH_RESULTS), then the
report writer (python -m lib.bench report) into a temporary directory, never docs/. Asserts that the
results, docs-style Markdown and PNG chart are produced, nothing about speed."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest

from conftest import ROOT
from lib import bench, reliability

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    """(width, height) of a PNG file, from its IHDR chunk; fails when it is not a PNG."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == PNG_MAGIC and head[12:16] == b"IHDR", "%s is not a PNG" % path
    return struct.unpack(">II", head[16:24])


def _report(results, out):
    proc = subprocess.run([sys.executable, "-m", "lib.bench", "report", "--results", str(results), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH="tests"),
                          timeout=120, check=False)
    return proc


def test_tiny_bench_writes_results_report_and_chart(libvirt_daemon, tmp_path):
    results, out = tmp_path / "results", tmp_path / "docs"
    env = dict(os.environ, VIRTCLOUD_BENCH_RESULTS=str(results), VIRTCLOUD_BENCH_OVA_EXPORT_MIB="16",
               VIRTCLOUD_RELIABILITY_DIR=str(tmp_path / "reliability"))
    # an empty records file of this session: the inner session must leave it (its start resets its own)
    os.makedirs(reliability.OUTPUT, exist_ok=True)
    sentinel = os.path.join(reliability.OUTPUT, "harness-%s.jsonl" % tmp_path.name)
    open(sentinel, "w").close()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s",
                           "tests/bench/test_bench_ova_export.py"], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    # the inner pytest session left the reliability records of this one alone (make test's report needs them)
    assert os.path.exists(sentinel), "the inner pytest run reset the records of the session that ran it"
    os.unlink(sentinel)

    with open(results / "ova-export.json", encoding="utf-8") as handle:
        data = json.load(handle)
    [row] = data["rows"]
    assert row["size"] == 16 and row["runs"] >= bench.RUNS and row["ours"] > 0 and row["peer"] > 0, row
    assert row["ratio"] == pytest.approx(row["ours"] / row["peer"])

    proc = _report(results, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (out / "benchmarks.md").read_text()
    machine = text.split("\n## ")[0]
    for label in ("CPU", "Memory", "Kernel", "OS", "Python", "ansible-core", "Peer collections"):
        assert "\n| %s | " % label in machine, (label, machine)
    assert "Debian" in machine and "community.docker" in machine, machine
    assert "![ratio of our time to the peer's](benchmarks.png)" in text
    assert "## ova-export" in text
    assert "Not run for this report: %s." % ", ".join(sorted(set(bench.BENCHES) - {"ova-export"})) in text, text
    # the table row, with the same median seconds and ratio the bench recorded
    assert "| virtcloud.core.ova_export | %.2f | qemu-img convert + tar | %.2f | %.3f | %d |" % (
        row["ours"], row["peer"], row["ratio"], row["runs"]) in text, text
    # a 16 MiB run says it is not the bench's default size
    assert "NOT the default sizes (N=1024)" in text
    width, height = _png_size(out / "benchmarks.png")
    assert width >= 400 and height >= 100
    assert not os.path.exists(os.path.join(results, "benchmarks.md")), "the report went beside the results"


def test_report_without_peer_and_without_results(tmp_path, monkeypatch):
    """A row without a peer is in the table but not in the chart; no results at all is an error, not
    an empty report."""
    results = tmp_path / "results"
    monkeypatch.setattr(bench, "RESULTS", str(results))
    monkeypatch.setattr(bench, "_STARTED", set())
    assert bench.median_of(iter([3.0, 1.0, 2.0]).__next__) == 2.0
    assert bench.median_of(iter([(1, 9), (3, 7), (2, 8)]).__next__) == (2, 8)
    with pytest.raises(ValueError):
        bench.median_of(lambda: 1.0, runs=2)
    bench.record("alone", "no-op rerun", 1.25, size=7, default_sizes=[7], ours_label="virtcloud.core.x")
    bench.record("alone", "create", 2.5, size=7, default_sizes=[7], ours_label="virtcloud.core.x")
    proc = _report(results, tmp_path / "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (tmp_path / "out" / "benchmarks.md").read_text()
    assert "| no-op rerun | 7 | virtcloud.core.x | 1.25 | - | - | - | 3 |" in text
    assert "| create | 7 | virtcloud.core.x | 2.50 | - | - | - | 3 |" in text
    assert "Sizes run: N=7." in text  # the default size: no warning
    assert "benchmarks.png" not in text and not (tmp_path / "out" / "benchmarks.png").exists()

    proc = _report(tmp_path / "empty", tmp_path / "out2")
    assert proc.returncode != 0 and "no bench results" in proc.stderr
    assert not (tmp_path / "out2").exists()
