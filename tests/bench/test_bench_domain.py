"""Side by side: community.libvirt.virt in a loop, virtcloud.core.libvirt_domain in a loop, and
virtcloud.core.libvirt_domains, defining 10 and 100 guests and then rerunning (a no-op).

Run with `make bench` (or pytest tests/bench -s). The peer comes from the `ansible` PyPI package,
installed on first use into its own venv (fixture bench_venv) so the project's venv stays ansible-core
only. Prints task times (profile_tasks) and whole-playbook times, and the ratios against the
issue's goals; it asserts nothing about time.

Every run is repeated from a clean slate and the median reported: of RUNS (3) runs, or of REPEAT (5)
when a define takes less than SHORT seconds (one sample of a single task, at the mercy of whatever
else the machine does in that moment). The medians are recorded for the report (lib.bench.record).
VIRTCLOUD_BENCH_DOMAIN_SIZES overrides the sizes (e.g. "2" to try the bench quickly).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import pytest

from lib.bench import RUNS, record, sizes_from_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODULE_PYTHON = sys.executable  # has libvirt-python and lxml, which both collections need
URI = "qemu:///system"
SHORT, REPEAT = 5.0, 5
DEFAULT_SIZES = [10, 100]
SIZES = sizes_from_env("VIRTCLOUD_BENCH_DOMAIN_SIZES", DEFAULT_SIZES)
XML = ("<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
       "<os><type arch='x86_64'>hvm</type></os></domain>")

PLAYS = {
    "community.libvirt.virt loop": """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: bench
      community.libvirt.virt:
        uri: {uri}
        command: define
        xml: "{xml}"
      loop: "{{{{ range({n}) | list }}}}"
""",
    "virtcloud.core.libvirt_domain loop": """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: bench
      virtcloud.core.libvirt_domain:
        uri: {uri}
        name: "{prefix}{{{{ item }}}}"
        virt_type: qemu
        memory: 64
        vcpus: 1
      loop: "{{{{ range({n}) | list }}}}"
""",
    "virtcloud.core.libvirt_domains": """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: bench
      virtcloud.core.libvirt_domains:
        uri: {uri}
        domains: {specs}
""",
}


def run(playbook_bin, text):
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(text)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", ANSIBLE_PYTHON_INTERPRETER=MODULE_PYTHON,
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    env.pop("ANSIBLE_CONFIG", None)
    start = time.monotonic()
    proc = subprocess.run([playbook_bin, "-i", "localhost,", "-c", "local", handle.name],
                          capture_output=True, text=True, env=env, check=False)
    wall = time.monotonic() - start
    os.unlink(handle.name)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    task = sum(float(t) for t in re.findall(r"^bench -+ (\d+\.\d+)s$", proc.stdout, re.M))
    return task, wall


def cleanup(prefix):
    names = subprocess.run(["virsh", "-c", URI, "list", "--all", "--name"], capture_output=True,
                           text=True, check=True).stdout.split()
    for name in names:
        if name.startswith(prefix):
            subprocess.run(["virsh", "-c", URI, "undefine", name], capture_output=True, check=False)


@pytest.mark.parametrize("n", SIZES)
def test_define_and_noop_rerun(libvirt_daemon, bench_venv, n):
    playbook_bin = os.path.join(bench_venv, "bin", "ansible-playbook")
    rows, runs = {}, {}
    for label, template in PLAYS.items():
        prefix = "vctb%d%s-" % (n, "".join(w[0] for w in label.split()))
        xml = XML.format(name=prefix + "{{ item }}")
        specs = json.dumps([{"name": "%s%d" % (prefix, i), "virt_type": "qemu", "memory": 64, "vcpus": 1}
                            for i in range(n)])
        text = template.format(uri=URI, n=n, prefix=prefix, xml=xml, specs=specs)
        samples = []
        try:
            while len(samples) < REPEAT:
                cleanup(prefix)
                samples.append((run(playbook_bin, text), run(playbook_bin, text)))
                if len(samples) >= RUNS and samples[0][0][0] >= SHORT:
                    break
        finally:
            cleanup(prefix)
        rows[label] = tuple(tuple(statistics.median(s[phase][k] for s in samples) for k in (0, 1))
                            for phase in (0, 1))
        runs[label] = len(samples)
    peer_label = "community.libvirt.virt loop"
    peer = rows[peer_label]
    for label, phases in rows.items():
        for index, phase in enumerate(("define", "no-op rerun")):
            if label != peer_label:
                record("libvirt-domain", phase, phases[index][0], peer[index][0], runs=min(runs[label], runs[peer_label]),
                       size=n, default_sizes=DEFAULT_SIZES, ours_label=label, peer_label=peer_label,
                       note="task time (profile_tasks)")
    print("\n%d guests                     define task / playbook    rerun task / playbook" % n)
    for label, ((dt, dw), (rt, rw)) in rows.items():
        print("%-28s %8.2fs / %7.2fs   %8.2fs / %7.2fs   task time vs peer: define %.3f, rerun %.3f"
              % (label, dt, dw, rt, rw, dt / max(peer[0][0], 1e-3), rt / max(peer[1][0], 1e-3)))
    print("goals: domains <= 0.020 of the peer (1/50) for define and rerun; domain loop <= 1.000 "
          "(medians of %d runs, of %d for runs under %.0f s)" % (RUNS, REPEAT, SHORT))
