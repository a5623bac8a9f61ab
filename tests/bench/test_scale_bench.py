"""Scale of the batch modules alone: libvirt_domains and docker_containers at N=100 and N=1000
(run by `make bench`, never by `make test`).

The peers are not run here: a loop pays the module process per item, so their N=100 figure of
test_bench_domain.py / test_docker_bench.py times 10 stands in for N=1000. What this file measures
is what a batch module adds per object above its fixed task cost:

    marginal = (t(1000) - t(100)) / 900,   goal: no-op rerun t(1000) <= 2 x t(100), <= 2 ms/object

libvirt: 1000 minimal guests (the spec of test_bench_domain.py) are defined, never started.
Docker: 1000 containers of the busybox image test_docker_bench.py builds locally, created
(state present, never started) through docker_containers. Task time = playbook time - the median
playbook with no task; every time the median of 3 runs from a clean slate, recorded for the report
(lib.bench.record). Only `changed` is read from a run, so the result shape of either module may
change. Everything created is removed in a finally. Nothing here asserts on time.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import sys
import time

import pytest

from conftest import ROOT, VENV_BIN, sh  # noqa: E402
from lib.bench import median_of, record
from test_docker_bench import image  # noqa: F401  pylint: disable=unused-import

DEFAULT_SIZES = [100, 1000]
SIZES = [int(n) for n in os.environ.get("VIRTCLOUD_SCALE_SIZES", " ".join(map(str, DEFAULT_SIZES))).split()]
URI = "qemu:///system"
PREFIX = "vctscale-"


def _playbook(tmp_path, task, specs):
    """Run one play with `task` (YAML, or "" for none) over `specs`; return (seconds, changed)."""
    path = tmp_path / "play.yml"
    path.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:%s\n"
                    % (("\n    - name: bench\n" + task) if task else " []"))
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps({"specs": specs}))
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventory", "localhost.yml"),
            str(path), "-e", "@%s" % varfile, "-e", "ansible_python_interpreter=%s" % sys.executable]
    start = time.monotonic()
    proc = sh(*argv, timeout=1800)
    elapsed = time.monotonic() - start
    recap = [line for line in proc.stdout.splitlines() if line.startswith("localhost") and "changed=" in line]
    changed = int(recap[-1].split("changed=")[1].split()[0]) if recap else 0
    return elapsed, changed


def _create_rerun(tmp_path, task, specs):
    """One run from a clean slate: (create seconds, no-op rerun seconds)."""
    create, changed = _playbook(tmp_path, task, specs)
    assert changed == 1, "the first run created nothing"
    elapsed, changed = _playbook(tmp_path, task, specs)
    assert changed == 0, "the no-op rerun reported a change"
    return create, elapsed


def _measure(tmp_path, task, specs, baseline, create_cleanup):
    """The median of RUNS creations from a clean slate, each followed by a no-op rerun, as task
    seconds: (create, no-op rerun)."""
    create, rerun = median_of(functools.partial(_create_rerun, tmp_path, task, specs), before=create_cleanup)
    return create - baseline, rerun - baseline


def _report(title, rows, tmp_name, bench, module):
    for size, (create, rerun) in rows.items():
        for phase, seconds in (("create", create), ("no-op rerun", rerun)):
            record(bench, phase, seconds, size=size, default_sizes=DEFAULT_SIZES, ours_label=module,
                   note="task time; no peer (a loop's N=100 time x 10 stands in)")
    lines = ["", "%s: task seconds (playbook - median empty playbook)" % title,
             "%6s %10s %12s" % ("N", "create", "no-op rerun")]
    lines += ["%6d %10.2f %12.2f" % (n, create, rerun) for n, (create, rerun) in rows.items()]
    if 100 in rows and 1000 in rows:
        (c100, r100), (c1000, r1000) = rows[100], rows[1000]
        lines.append("marginal per object (t1000 - t100) / 900: create %.2f ms, no-op rerun %.2f ms"
                     % ((c1000 - c100) / 0.9, (r1000 - r100) / 0.9))
        lines.append("no-op rerun t1000 / t100 = %.2f (goal <= 2.00 and <= 2 ms per object): %s"
                     % (r1000 / r100, "met" if r1000 <= 2 * r100 and (r1000 - r100) / 0.9 <= 2.0 else "MISSED"))
    report = "\n".join(lines)
    print(report)
    out = os.path.join(ROOT, "tests", "output")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, tmp_name), "w") as handle:
        handle.write(report + "\n")


def _baseline(tmp_path):
    return statistics.median(_playbook(tmp_path, "", [])[0] for dummy in range(5))


def _undefine_guests():
    libvirt = pytest.importorskip("libvirt")
    conn = libvirt.open(URI)
    try:
        for dom in conn.listAllDomains():
            if dom.name().startswith(PREFIX):
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
    finally:
        conn.close()


def _remove_containers():
    ids = sh("docker", "ps", "-aq", "--filter", "name=^%s" % PREFIX).stdout.split()
    for start in range(0, len(ids), 200):
        sh("docker", "rm", "-f", *ids[start:start + 200], timeout=600)


def test_libvirt_domains_scale(libvirt_daemon, tmp_path):
    task = "      virtcloud.core.libvirt_domains:\n        uri: %s\n        domains: \"{{ specs }}\"\n" % URI
    baseline = _baseline(tmp_path)
    rows = {}
    try:
        for size in SIZES:
            specs = [{"name": "%s%04d" % (PREFIX, i), "virt_type": "qemu", "memory": 64, "vcpus": 1}
                     for i in range(size)]
            rows[size] = _measure(tmp_path, task, specs, baseline, _undefine_guests)
    finally:
        _undefine_guests()
    _report("libvirt_domains, minimal guests defined (never started)", rows, "bench-scale-libvirt.txt",
            "scale-libvirt", "virtcloud.core.libvirt_domains")


def test_docker_containers_scale(image, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    task = "      virtcloud.core.docker_containers:\n        containers: \"{{ specs }}\"\n"
    baseline = _baseline(tmp_path)
    rows = {}
    try:
        for size in SIZES:
            specs = [{"name": "%s%04d" % (PREFIX, i), "image": image, "command": "/bin/busybox sleep 3600",
                      "state": "present"} for i in range(size)]
            rows[size] = _measure(tmp_path, task, specs, baseline, _remove_containers)
    finally:
        _remove_containers()
    _report("docker_containers, containers created (never started)", rows, "bench-scale-docker.txt",
            "scale-docker", "virtcloud.core.docker_containers")
