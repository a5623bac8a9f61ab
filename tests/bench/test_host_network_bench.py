"""Side-by-side benchmark on the same Open vSwitch (run by `make bench`, never by `make test`).

For N pairs (20; VIRTCLOUD_BENCH_OVS_SIZES overrides) of an OVS bridge (userspace datapath) and a
VXLAN port on it, created and then a no-op rerun, as whole ansible-playbook runs:
  (a) openvswitch.openvswitch's openvswitch_bridge and openvswitch_port, each in a loop,
  (b) virtcloud.core.host_bridge and host_vxlan (type ovs), each in a loop.
Task time = playbook time - the time of the same playbook with no task. Then host_network_info
reads it all in one task, and says how many netlink and OVSDB round trips that took.

openvswitch.openvswitch left the `ansible` package after 10.x: the bench takes it from the
ansible 10.7.0 wheel (tests/lib/bench.peer_collection) and runs it with the bench venv's
ansible-core, as it runs ours. Every time is the median of 3 runs from a clean slate, recorded for
the report (lib.bench.record). Nothing here asserts on time: the table is the result.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import uuid

import pytest

from conftest import COLLECTIONS, ROOT, run_module, sh
from lib.bench import median_of, peer_collection, play, record, record_side_by_side, sizes_from_env

DEFAULT_SIZES = [20]
SIZES = sizes_from_env("VIRTCLOUD_BENCH_OVS_SIZES", DEFAULT_SIZES)
PEER_RELEASE = "10.7.0"  # the last `ansible` release that carries openvswitch.openvswitch
PREFIX = "vcb" + uuid.uuid4().hex[:4]  # concurrent runs (other work trees) must not remove each other's bridges
MODES = {
    "a": "openvswitch.openvswitch openvswitch_bridge + openvswitch_port (loops)",
    "b": "virtcloud.core host_bridge + host_vxlan, type ovs (loops)",
}
TASKS = {
    "a": """
    - openvswitch.openvswitch.openvswitch_bridge:
        bridge: "{{ item.bridge }}"
        set: "bridge {{ item.bridge }} datapath_type=netdev"
      loop: "{{ specs }}"
    - openvswitch.openvswitch.openvswitch_port:
        bridge: "{{ item.bridge }}"
        port: "{{ item.vxlan }}"
        set:
          - "Interface {{ item.vxlan }} type=vxlan options:remote_ip={{ item.remote }} options:key={{ item.vni }}"
      loop: "{{ specs }}"
""",
    "b": """
    - virtcloud.core.host_bridge:
        name: "{{ item.bridge }}"
        type: ovs
        datapath_type: netdev
      loop: "{{ specs }}"
    - virtcloud.core.host_vxlan:
        name: "{{ item.vxlan }}"
        type: ovs
        bridge: "{{ item.bridge }}"
        vni: "{{ item.vni }}"
        remotes: ["{{ item.remote }}"]
      loop: "{{ specs }}"
""",
    "info": """
    - virtcloud.core.host_network_info:
""",
    "none": "",
}


def _vsctl_rows(table):
    out = json.loads(sh("ovs-vsctl", "--format=json", "list", table).stdout)
    return [dict(zip(out["headings"], row)) for row in out["data"]]


def _ours(table):
    return {row["name"]: row for row in _vsctl_rows(table) if row["name"].startswith(PREFIX)}


def _cleanup():
    bridges = sorted(_ours("Bridge"))
    if bridges:
        argv = ["ovs-vsctl"]
        for name in bridges:
            argv += ["--", "--if-exists", "del-br", name]
        sh(*argv)


@pytest.fixture(scope="module")
def peer(bench_venv, ovs_daemon):
    """The peer collection in the bench venv."""
    peer_collection(bench_venv, "openvswitch.openvswitch", PEER_RELEASE)
    yield
    _cleanup()


def _check_made(specs):
    """Every bridge (netdev) and VXLAN port is there, read with ovs-vsctl."""
    bridges, interfaces = _ours("Bridge"), _ours("Interface")
    assert sorted(bridges) == sorted(s["bridge"] for s in specs)
    assert {row["datapath_type"] for row in bridges.values()} == {"netdev"}
    for spec in specs:
        iface = interfaces[spec["vxlan"]]
        options = dict(iface["options"][1])
        assert iface["type"] == "vxlan" and iface["error"] == ["set", []], iface
        assert (options["remote_ip"], options["key"]) == (spec["remote"], str(spec["vni"])), options


# a request as strace shows the system call that sends it: a netlink message (sendto or sendmsg), or a
# JSON-RPC request on the OVSDB socket (the client's replies to the server's echo are no requests)
_SENT = re.compile(r'^\d+\s+(?:sendto|sendmsg|write)\(\d+, (?P<what>\[\{nlmsg_len=|\{msg_name=\{sa_family=AF_NETLINK'
                   r'|"\{\\"method\\")')


def _traced_requests(tmp_path):
    """host_network_info run under strace: the netlink and OVSDB requests it sent, counted from its
    system calls rather than from its own counters. None without strace."""
    if shutil.which("strace") is None:
        return None
    log = tmp_path / "strace.log"
    proc = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=sendto,sendmsg,write", "-o", str(log), sys.executable, "-m",
         "ansible_collections.virtcloud.core.plugins.modules.host_network_info"],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": {}}), capture_output=True, text=True, cwd="/", timeout=120,
        env={**os.environ, "PYTHONPATH": COLLECTIONS}, check=True)
    assert json.loads(proc.stdout).get("failed") is not True, proc.stdout[-2000:]
    counts = {"netlink": 0, "ovsdb": 0}
    for line in log.read_text().splitlines():
        sent = _SENT.match(line)
        if sent:
            counts["ovsdb" if sent.group("what").startswith('"') else "netlink"] += 1
    return counts


def _create_rerun(venv, tmp_path, mode, specs):
    """One run from a clean slate: (create seconds, no-op rerun seconds)."""
    create, changed = play(venv, tmp_path, mode, TASKS[mode], specs)
    assert changed >= 1, (mode, "creating changed nothing")
    _check_made(specs)
    rerun, changed = play(venv, tmp_path, mode, TASKS[mode], specs)
    assert changed == 0, (mode, "no-op rerun reported changes")
    return create, rerun


def test_host_network_bench(bench_venv, peer, tmp_path):
    rows, baselines, infos = [], {}, {}
    for size in SIZES:
        specs = [{"bridge": "%s%02db" % (PREFIX, i), "vxlan": "%s%02dx" % (PREFIX, i), "vni": 5000 + i,
                  "remote": "198.18.1.%d" % (100 + i)} for i in range(size)]
        # the median of five empty playbooks reading the same extra-vars file
        baselines[size] = sorted(play(bench_venv, tmp_path, "none", "", specs)[0] for dummy in range(5))[2]
        # the median of three creations from a clean slate, each followed by a no-op rerun
        times = {mode: median_of(functools.partial(_create_rerun, bench_venv, tmp_path, mode, specs), before=_cleanup)
                 for mode in MODES}
        record_side_by_side("host-network", size, times, baselines[size], MODES, ("create", "no-op rerun"),
                            DEFAULT_SIZES)
        # what is there now: the N pairs (made by b) and whatever else the host has
        info_time = sorted(play(bench_venv, tmp_path, "info", TASKS["info"], specs)[0] for dummy in range(3))[1]
        facts = run_module("host_network_info")
        assert facts.get("failed") is not True, facts
        found = {bridge["name"] for bridge in facts["ovs"]["bridges"]}
        assert {s["bridge"] for s in specs} <= found
        record("host-network", "host_network_info, one task", max(info_time - baselines[size], 0.01), size=size,
               default_sizes=DEFAULT_SIZES, ours_label="virtcloud.core.host_network_info", note="task time; no peer")
        infos[size] = (info_time, facts["round_trips"], _traced_requests(tmp_path), len(facts["interfaces"]),
                       len(found))
        _cleanup()
        rows.append((size, times))

    lines = ["", "Open vSwitch benchmark (N bridges + N VXLAN ports), seconds. task = playbook - the same playbook "
             "with no task (%s); medians of 3 runs" % ", ".join("N=%d: %.2f s" % item for item in sorted(baselines.items())),
             "%-5s %-7s %-9s %9s %9s %9s" % ("N", "run", "time", "(a)", "(b)", "(a)/(b)")]
    for size, times in rows:
        for index, label in enumerate(("create", "no-op")):
            for kind, offset in (("playbook", 0), ("task", baselines[size])):
                a, b = (max(times[m][index] - offset, 0.01) for m in "ab")
                lines.append("%-5d %-7s %-9s %9.2f %9.2f %8.1fx" % (size, label, kind, a, b, a / b))
    lines += ["  (%s) %s" % (key, label) for key, label in MODES.items()]
    for size, (seconds, trips, traced, interfaces, bridges) in sorted(infos.items()):
        lines.append("host_network_info, N=%d: one task %.2f s (playbook, median of 3; task %.2f s); %d interfaces, "
                     "%d OVS bridges in %d netlink + %d OVSDB round trips (its counters; strace saw %s)"
                     % (size, seconds, max(seconds - baselines[size], 0.01), interfaces, bridges,
                        trips["netlink"], trips["ovsdb"],
                        "%(netlink)d + %(ovsdb)d requests" % traced if traced else "nothing: not installed"))
    report = "\n".join(lines)
    print(report)
    out = os.path.join(ROOT, "tests", "output")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "bench-host-network.txt"), "w") as f:
        f.write(report + "\n")
