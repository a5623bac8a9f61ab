"""Side-by-side benchmark on the same dockerd (run by `make bench`, never by `make test`).

For N containers (10 and 100; VIRTCLOUD_BENCH_SIZES overrides), create and then a no-op rerun, as
whole ansible-playbook runs:
  (a) community.docker.docker_container in a loop,
  (b) virtcloud.core.docker_container in a loop,
  (c) virtcloud.core.docker_containers, one task.
Task time = playbook time - the time of the same playbook with no task. community.docker comes from
the `ansible` PyPI package, installed by this file into its own venv (.venv-bench, or
VIRTCLOUD_BENCH_VENV), which runs all three so they share one ansible-core and one interpreter.
Below the table, the floor: the same containers created, then created and started, straight through
the docker SDK (8 threads, as docker_containers' batch_workers), without Ansible.
Every time is the median of 3 runs from a clean slate (lib.bench.median_of), recorded for the report
(lib.bench.record). Nothing here asserts on time: the table is the result.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ROOT, sh  # noqa: E402
from lib.bench import median_of, play, record_side_by_side, sizes_from_env

DEFAULT_SIZES = [10, 100]
SIZES = sizes_from_env("VIRTCLOUD_BENCH_SIZES", DEFAULT_SIZES)
RUN = uuid.uuid4().hex[:6]  # concurrent runs (other work trees) must not remove each other's containers
PREFIX = "vctbench%s" % RUN
IMAGE = "local/vctbench-sleep:%s" % RUN
MODES = {
    "a": "community.docker.docker_container (loop)",
    "b": "virtcloud.core.docker_container (loop)",
    "c": "virtcloud.core.docker_containers (one task)",
}
TASKS = {
    "a": """
    - community.docker.docker_container:
        name: "{{ item.name }}"
        image: "{{ item.image }}"
        command: "{{ item.command }}"
        state: started
      loop: "{{ specs }}"
""",
    "b": """
    - virtcloud.core.docker_container:
        name: "{{ item.name }}"
        image: "{{ item.image }}"
        command: "{{ item.command }}"
        state: started
      loop: "{{ specs }}"
""",
    "c": """
    - virtcloud.core.docker_containers:
        containers: "{{ specs }}"
""",
    "none": "",
}


@pytest.fixture(scope="module")
def image(docker_daemon, tmp_path_factory):
    ctx = tmp_path_factory.mktemp("bench-ctx")
    shutil.copy("/bin/busybox", ctx / "busybox")
    (ctx / "Dockerfile").write_text('FROM scratch\nCOPY busybox /bin/busybox\n')
    sh("docker", "build", "-q", "-t", IMAGE, str(ctx))
    yield IMAGE
    _cleanup()
    sh("docker", "rmi", "-f", IMAGE, check=False)


def _cleanup():
    ids = sh("docker", "ps", "-aq", "--filter", "name=^%s-" % PREFIX).stdout.split()
    if ids:
        sh("docker", "rm", "-f", *ids)


def _api_floor(specs, workers=8):
    """Seconds to create the containers, and to create and start them, through the SDK alone."""
    import docker

    api = docker.APIClient(version="auto", timeout=300)

    def create(spec):
        api.create_container(spec["image"], name=spec["name"], command=spec["command"].split())

    def create_start(spec):
        create(spec)
        api.start(spec["name"])

    out = []
    for call in (create, create_start):
        _cleanup()
        start = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(call, specs))
        out.append(time.monotonic() - start)
    _cleanup()
    return out


def _playbook(venv, tmp_path, mode, specs):
    return play(venv, tmp_path, mode, TASKS[mode], specs)


def _create_rerun(venv, tmp_path, mode, specs):
    """One run from a clean slate: (create seconds, no-op rerun seconds)."""
    create, changed = _playbook(venv, tmp_path, mode, specs)
    assert changed >= 1, (mode, "create changed nothing")
    rerun, changed = _playbook(venv, tmp_path, mode, specs)
    assert changed == 0, (mode, "no-op rerun reported changes")
    return create, rerun


def test_docker_bench(bench_venv, image, tmp_path):
    baselines = sorted(_playbook(bench_venv, tmp_path, "none", [])[0] for dummy in range(5))
    baseline = baselines[2]  # the median: one slow start of ansible-playbook should not skew every row
    rows = []
    for size in SIZES:
        specs = [{"name": "%s-%03d" % (PREFIX, i), "image": image, "command": "/bin/busybox sleep 3600"}
                 for i in range(size)]
        times = {mode: median_of(functools.partial(_create_rerun, bench_venv, tmp_path, mode, specs), before=_cleanup)
                 for mode in MODES}
        _cleanup()
        rows.append((size, times, _api_floor(specs)))
        record_side_by_side("docker", size, times, baseline, MODES, ("create", "no-op rerun"), DEFAULT_SIZES)

    lines = ["", "Docker benchmark, seconds. task = playbook - %.2f s (median playbook with no task)" % baseline,
             "%-5s %-7s %-9s %9s %9s %9s %9s %9s" % ("N", "run", "time", "(a)", "(b)", "(c)", "(a)/(b)", "(a)/(c)")]
    for size, times, floor in rows:
        for index, label in enumerate(("create", "no-op")):
            for kind, offset in (("playbook", 0), ("task", baseline)):
                a, b, c = (max(times[m][index] - offset, 0.01) for m in "abc")
                lines.append("%-5d %-7s %-9s %9.2f %9.2f %9.2f %8.1fx %8.1fx"
                             % (size, label, kind, a, b, c, a / b, a / c))
    lines += ["  (%s) %s" % (key, label) for key, label in MODES.items()]
    lines += ["Floor, docker SDK alone, 8 threads: N=%d create %.2f s, create+start %.2f s" % ((size,) + tuple(floor))
              for size, times, floor in rows]
    report = "\n".join(lines)
    print(report)
    out = os.path.join(ROOT, "tests", "output")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "bench-docker.txt"), "w") as f:
        f.write(report + "\n")
