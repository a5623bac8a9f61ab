"""Side-by-side benchmark on the same LXD (run by `make bench`, never by `make test`).

For N instances (20; VIRTCLOUD_BENCH_LXD_SIZES overrides), launch from a local busybox image and
started, then a no-op rerun, as whole ansible-playbook runs:
  (a) community.general.lxd_container in a loop,
  (b) virtcloud.core.lxd_instance in a loop,
  (c) virtcloud.core.lxd_instances, one task.
Task time = playbook time - the time of the same playbook with no task. community.general comes
from the `ansible` PyPI package in the bench venv (the `bench_venv` fixture), which runs all three so
they share one ansible-core and one interpreter. Every time is the median of 3 runs from a clean
slate, recorded for the report (lib.bench.record). Nothing here asserts on time: the table is the result.
"""

from __future__ import annotations

import functools
import os
import uuid

import pytest

from conftest import ROOT  # noqa: E402
from lib.bench import median_of, play, record_side_by_side, sizes_from_env
from lib.lxd import lxc, lxc_json

DEFAULT_SIZES = [20]
SIZES = sizes_from_env("VIRTCLOUD_BENCH_LXD_SIZES", DEFAULT_SIZES)
RUN = uuid.uuid4().hex[:6]  # concurrent runs (other work trees) must not remove each other's instances
PREFIX = "vctbench%s" % RUN
MODES = {
    "a": "community.general.lxd_container (loop)",
    "b": "virtcloud.core.lxd_instance (loop)",
    "c": "virtcloud.core.lxd_instances (one task)",
}
TASKS = {
    "a": """
    - community.general.lxd_container:
        name: "{{ item.name }}"
        source: {type: image, alias: "{{ item.image }}"}
        config: "{{ item.config }}"
        state: started
      loop: "{{ specs }}"
""",
    "b": """
    - virtcloud.core.lxd_instance:
        name: "{{ item.name }}"
        image: "{{ item.image }}"
        config: "{{ item.config }}"
        state: started
      loop: "{{ specs }}"
""",
    "c": """
    - virtcloud.core.lxd_instances:
        instances: "{{ specs }}"
""",
    "none": "",
}


@pytest.fixture(scope="module")
def image(lxd_busybox):
    yield lxd_busybox["alias"]
    _cleanup()


def _cleanup():
    for entry in lxc_json("list"):
        if entry["name"].startswith(PREFIX):
            lxc("delete", "--force", entry["name"], check=False)


def _playbook(venv, tmp_path, mode, specs):
    return play(venv, tmp_path, mode, TASKS[mode], specs)


def _launch_rerun(venv, tmp_path, mode, items):
    """One run from a clean slate: (launch seconds, no-op rerun seconds)."""
    create, changed = _playbook(venv, tmp_path, mode, items)
    assert changed >= 1, (mode, "launch changed nothing")
    running = [i for i in lxc_json("list") if i["name"].startswith(PREFIX) and i["status"] == "Running"]
    assert len(running) == len(items), (mode, "not every instance runs")
    rerun, changed = _playbook(venv, tmp_path, mode, items)
    assert changed == 0, (mode, "no-op rerun reported changes")
    return create, rerun


def test_lxd_bench(bench_venv, image, tmp_path):
    rows, baselines = [], {}
    for size in SIZES:
        specs = [{"name": "%s-%03d" % (PREFIX, i), "image": image, "config": {"user.index": str(i)}}
                 for i in range(size)]
        # the baseline reads the same extra-vars file (it costs ansible-playbook some 0.25 s for 20
        # specs); the median of five, so that one slow start of ansible-playbook skews no row
        baselines[size] = sorted(_playbook(bench_venv, tmp_path, "none", specs)[0] for dummy in range(5))[2]
        times = {}
        for mode in MODES:
            items = specs if mode != "c" else [dict(s, state="started") for s in specs]
            # the median of three launches from a clean slate, each followed by a no-op rerun
            times[mode] = median_of(functools.partial(_launch_rerun, bench_venv, tmp_path, mode, items), before=_cleanup)
        _cleanup()
        rows.append((size, times))
        record_side_by_side("lxd", size, times, baselines[size], MODES, ("launch", "no-op rerun"), DEFAULT_SIZES)

    lines = ["", "LXD benchmark, seconds (medians of 3 runs). task = playbook - the same playbook with no task (%s)"
             % ", ".join("N=%d: %.2f s" % item for item in sorted(baselines.items())),
             "%-5s %-7s %-9s %9s %9s %9s %9s %9s" % ("N", "run", "time", "(a)", "(b)", "(c)", "(a)/(b)", "(a)/(c)")]
    for size, times in rows:
        for index, label in enumerate(("launch", "no-op")):
            for kind, offset in (("playbook", 0), ("task", baselines[size])):
                a, b, c = (max(times[m][index] - offset, 0.01) for m in "abc")
                lines.append("%-5d %-7s %-9s %9.2f %9.2f %9.2f %8.1fx %8.1fx"
                             % (size, label, kind, a, b, c, a / b, a / c))
    lines += ["  (%s) %s" % (key, label) for key, label in MODES.items()]
    report = "\n".join(lines)
    print(report)
    out = os.path.join(ROOT, "tests", "output")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "bench-lxd.txt"), "w") as f:
        f.write(report + "\n")
