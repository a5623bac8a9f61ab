"""Side by side (issue 25): 10 guests cloned from one template volume and started, then a no-op rerun,
for a template of 64 MiB and one of 1 GiB of written data (run by `make bench`, never by `make test`).

  (a) the peer, community.libvirt, the way its user does it: per guest, in loops, virt_volume with
      `clone_source` (libvirt's volume clone, a full copy of the template), virt `command: define`
      with the domain XML, and virt `state: running`. The `ansible` package of the bench venv carries
      community.libvirt 2.x, which has no virt_cloud_instance; when it does, it is the peer to use.
  (c) virtcloud.core.libvirt_domains, one task: every guest's disk a linked clone of the template
      (disks[].backing, a qcow2 overlay) made, the guest defined and started.

The guests are the tiny test guest (tests/lib/guest.py: direct kernel boot under TCG, 192 MiB); the
cloned disk is an extra disk it ignores. Task time = playbook time - the same playbook with no task;
every time is the median of 3 runs from a clean slate, recorded for the report (lib.bench.record).
Checked on every run, outside the timed plays: all guests run; ours are overlays of the template,
the peer's full copies (qemu-img). After the last run of each side every guest printed its marker on
its serial console. Nothing here asserts on time: the goals (ours <= 1/10 of the peer's time for
the clones, <= 1/20 for the rerun; ours independent of the template's size) are printed, met or not.

A community.libvirt user could also write a linked clone by hand (a volume XML with <backingStore>);
that is not what its clone option does, and not measured here.
VIRTCLOUD_BENCH_CLONE_MIB overrides the template sizes in MiB (e.g. "16" to try the bench quickly).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from lib.bench import median_of, play, record_side_by_side, sizes_from_env
from lib.guest import GUEST_MARKER, guest_assets

URI = "qemu:///system"
GUESTS = 10
DEFAULT_MIB = [64, 1024]
TEMPLATE_MIB = sizes_from_env("VIRTCLOUD_BENCH_CLONE_MIB", DEFAULT_MIB)
DISK_SIZE = "2GiB"  # every clone's size: larger than either template, so both sides grow the clone too
PREFIX = "vctbclone%s" % uuid.uuid4().hex[:6]  # concurrent runs (other work trees) keep apart
MODES = {
    "a": "community.libvirt virt_volume clone + virt define + virt start (loops)",
    "c": "virtcloud.core.libvirt_domains (linked clones, one task)",
}
TASKS = {
    "a": """
    - community.libvirt.virt_volume:
        uri: %(uri)s
        pool: "{{ item.pool }}"
        state: present
        clone_source: "{{ item.template }}"
        xml: "{{ item.volume_xml }}"
      loop: "{{ specs }}"
    - community.libvirt.virt:
        uri: %(uri)s
        command: define
        xml: "{{ item.xml }}"
      loop: "{{ specs }}"
    - community.libvirt.virt:
        uri: %(uri)s
        name: "{{ item.name }}"
        state: running
      loop: "{{ specs }}"
""" % {"uri": URI},
    "c": """
    - virtcloud.core.libvirt_domains:
        uri: %s
        domains: "{{ specs }}"
""" % URI,
    "none": "",
}
VOLUME_XML = ("<volume><name>{name}-root</name><capacity unit='G'>2</capacity>"
              "<target><format type='qcow2'/></target></volume>")
DOMAIN_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd><cmdline>{cmdline}</cmdline></os>
  <features><acpi/></features>
  <devices>
    <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>
      <source pool='{pool}' volume='{name}-root'/><target dev='vda' bus='virtio'/></disk>
    <serial type='file'><source path='{log}'/><target port='0'/></serial>
    <console type='file'><source path='{log}'/><target type='serial' port='0'/></console>
  </devices>
</domain>"""
CMDLINE = "console=ttyS0 panic=-1"


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=600).stdout


def virsh(*argv):
    return sh("virsh", "-c", URI, *argv)


@pytest.fixture(scope="module")
def conn(libvirt_daemon):
    libvirt = pytest.importorskip("libvirt")
    connection = libvirt.open(URI)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def pool(conn):
    """A dir pool of our own holding the templates and the clones; removed with all it holds."""
    with tempfile.TemporaryDirectory(prefix="vct-bench-clones-", dir="/var/tmp") as path:
        os.chmod(path, 0o755)
        name = PREFIX + "p"
        virsh("pool-define-as", name, "dir", "--target", path)
        try:
            virsh("pool-start", name)
            yield name, path
        finally:
            _cleanup(conn, name)
            subprocess.run(["virsh", "-c", URI, "pool-destroy", name], capture_output=True, check=False)
            subprocess.run(["virsh", "-c", URI, "pool-undefine", name], capture_output=True, check=False)


def _cleanup(conn, pool_name, keep=()):
    """Remove our guests and every volume of our pool but `keep` (by name prefix: nothing else is touched)."""
    for dom in conn.listAllDomains():
        if dom.name().startswith(PREFIX):
            if dom.isActive():
                dom.destroy()
            dom.undefine()
    storage = conn.storagePoolLookupByName(pool_name)
    storage.refresh(0)
    for vol in storage.listAllVolumes():
        if vol.name() not in keep:
            vol.delete(0)


def _template(pool_name, path, mib):
    """A qcow2 template volume with `mib` MiB of data written (not zeroes, which a copy may skip)."""
    name = "%s-tmpl-%d.qcow2" % (PREFIX, mib)
    file = os.path.join(path, name)
    sh("qemu-img", "create", "-q", "-f", "qcow2", file, "%dM" % mib)
    sh("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 %dM" % mib, file)
    virsh("pool-refresh", pool_name)
    return name


def _specs(mode, pool_name, path, template, logs):
    kernel, initrd = guest_assets()
    names = ["%s-%02d" % (PREFIX, i) for i in range(GUESTS)]
    if mode == "a":
        return [{"name": name, "pool": pool_name, "template": template, "volume_xml": VOLUME_XML.format(name=name),
                 "xml": DOMAIN_XML.format(name=name, kernel=kernel, initrd=initrd, cmdline=CMDLINE, pool=pool_name,
                                          log=os.path.join(logs, name + ".log"))} for name in names]
    return [{"name": name, "virt_type": "qemu", "memory": "192MiB", "vcpus": 1, "kernel": kernel, "initrd": initrd,
             "cmdline": CMDLINE, "serial": {"type": "file", "path": os.path.join(logs, name + ".log")},
             "disks": [{"pool": pool_name, "volume": name + "-root", "backing": template, "size": DISK_SIZE}],
             "state": "running"} for name in names]


def _check_clones(mode, path, template, specs):
    running = set(virsh("list", "--name", "--state-running").split())
    missing = [spec["name"] for spec in specs if spec["name"] not in running]
    assert not missing, (mode, "not running", missing)
    for spec in specs:
        info = json.loads(sh("qemu-img", "info", "-U", "--output=json", os.path.join(path, spec["name"] + "-root")))
        assert info["virtual-size"] == 2 << 30, (mode, info)
        if mode == "c":
            assert info.get("backing-filename") == os.path.join(path, template), (mode, "not a linked clone", info)
        else:
            assert "backing-filename" not in info, (mode, "not a full copy", info)


def _create_rerun(venv, tmp_path, mode, specs, path, template):
    """One run from a clean slate: (clone+define+start seconds, no-op rerun seconds, rerun's changed count)."""
    create, changed = play(venv, tmp_path, mode, TASKS[mode], specs, python=sys.executable)
    assert changed >= 1, (mode, "the clones changed nothing")
    _check_clones(mode, path, template, specs)
    rerun, rerun_changed = play(venv, tmp_path, mode, TASKS[mode], specs, python=sys.executable)
    if mode == "c":
        assert rerun_changed == 0, (mode, "no-op rerun reported changes")
    return create, rerun, rerun_changed


def _wait_for_markers(mode, specs, logs, timeout=240):
    """Every guest printed its marker on its serial console (they are real guests that boot)."""
    deadline = time.monotonic() + timeout
    pending = [spec["name"] for spec in specs]
    while pending and time.monotonic() < deadline:
        pending = [name for name in pending if GUEST_MARKER not in _read(os.path.join(logs, name + ".log"))]
        time.sleep(1)
    assert not pending, (mode, "no marker on the serial console after %d s" % timeout, pending)


def _read(file):
    try:
        with open(file, errors="replace", encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def test_clone_define_start_and_noop_rerun(bench_venv, conn, pool, tmp_path):
    pool_name, path = pool
    logs = tempfile.mkdtemp(prefix="vct-bench-clones-logs-", dir="/var/tmp")
    os.chmod(logs, 0o755)
    specs = _specs("c", pool_name, path, "none", logs)
    # the baseline reads an extra-vars file of the same size; the median of five
    baseline = sorted(play(bench_venv, tmp_path, "none", TASKS["none"], specs)[0] for dummy in range(5))[2]
    rows = []
    try:
        for mib in TEMPLATE_MIB:
            template = _template(pool_name, path, mib)
            cleanup = functools.partial(_cleanup, conn, pool_name, keep=(template,))
            times = {}
            for mode in MODES:
                specs = _specs(mode, pool_name, path, template, logs)
                times[mode] = median_of(functools.partial(_create_rerun, bench_venv, tmp_path, mode, specs, path,
                                                          template), before=cleanup)
                _wait_for_markers(mode, specs, logs)
            _cleanup(conn, pool_name)
            rows.append((mib, times))
            record_side_by_side("libvirt-clones", GUESTS, times, baseline, MODES,
                                ("clone, define, start (%d MiB template)" % mib, "no-op rerun (%d MiB template)" % mib))
    finally:
        _cleanup(conn, pool_name)
        subprocess.run(["rm", "-rf", logs], check=False)

    print("\n%d guests cloned from a template, defined, started; seconds, medians of 3 runs; task = playbook - "
          "the same playbook with no task (%.2f s)" % (GUESTS, baseline))
    print("%-9s %-18s %9s %9s %9s %7s %s" % ("template", "run", "(a) task", "(c) task", "(c)/(a)", "goal", ""))
    for mib, times in rows:
        for index, (label, goal) in enumerate((("clone+define+start", 0.1), ("no-op rerun", 0.05))):
            theirs, ours = (max(times[m][index] - baseline, 0.01) for m in "ac")
            verdict = "met" if ours / theirs <= goal else "NOT met"
            cells = ("%d MiB" % mib, label, theirs, ours, ours / theirs, goal, verdict)
            print("%-9s %-18s %9.2f %9.2f %9.3f %7.3f %s" % cells)
        print("%-9s peer rerun reported changed=%g (median)" % ("", times["a"][2]))
    if len(rows) > 1:
        (small, first), (large, last) = rows[0], rows[-1]
        for mode in MODES:
            print("%s: clone time %d MiB / %d MiB template = %.2f" % (
                MODES[mode], large, small, max(last[mode][0] - baseline, 0.01) / max(first[mode][0] - baseline, 0.01)))
