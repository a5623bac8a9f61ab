"""ova_import against what one would do by hand with the same OVA (issue 22's goals):

- `cp` of the OVA (the cost of reading and writing its bytes once: a floor for any copy);
- `tar xf` + `qemu-img convert` of the extracted VMDK into a qcow2 (the usual recipe: a temporary
  copy of the disk, two passes);
- in-place `qemu-img convert` of the VMDK where it lies in the tar (a json: source at the member's
  offset): the same conversion ova_import runs, without the manifest check, the guest, the module;
- ova_import into a dir pool: task time (run_module-style, a fresh Python process), peak RSS of the
  module process (VmHWM, polled) and of its process tree (wait4: the module or its qemu-img), and the
  extra disk space it used at its peak beyond the volume it made.

big_ova(size=2 GiB, random_fraction=1): a ~1 GiB streamOptimized disk (1 GiB of random data, every other MiB
of a 2 GiB disk; the issue's fixture). The page
cache is warmed for all alike. Run with `make bench` (or pytest tests/bench/test_bench_ova_import.py -s);
prints a side-by-side table (the median of 3 interleaved rounds, recorded for the report by lib.bench.record;
VIRTCLOUD_BENCH_OVA_IMPORT_MIB overrides the disk size) with the ratios against the goals (ova_import <= 1.1 x in-place convert,
peak memory <= 100 MB, extra disk = the output volume only); asserts the import worked, nothing about time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest

from conftest import _env, sh
from lib.bench import RUNS, record
from lib.ova import big_ova

URI = "qemu:///system"
MIB = 1 << 20
DEFAULT_MIB = 2048
DISK_MIB = int(os.environ.get("VIRTCLOUD_BENCH_OVA_IMPORT_MIB", str(DEFAULT_MIB)))


def allocated(folder):
    return sum(os.stat(os.path.join(folder, name)).st_blocks * 512 for name in os.listdir(folder))


def run_measured(module, args, watch):
    """Run a module like conftest.run_module, polling its VmHWM and the allocation of `watch`.
    Returns (result, seconds, module peak RSS, tree peak RSS, peak allocation of watch) (bytes)."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "ansible_collections.virtcloud.core.plugins.modules." + module],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(), cwd="/")
    proc.stdin.write(json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
    proc.stdin.close()
    hwm, peak_disk = 0, 0
    while proc.poll() is None:
        try:
            with open("/proc/%d/status" % proc.pid) as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]) * 1024)
        except OSError:
            pass
        peak_disk = max(peak_disk, allocated(watch))
        time.sleep(0.02)
    # poll() reaped it: wait4 is gone; getrusage of the children includes it (and it is our largest)
    import resource
    tree = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    seconds = time.monotonic() - start
    out = proc.stdout.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    return json.loads(out), seconds, hwm, tree, peak_disk


def _startup():
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import ansible.module_utils.basic, libvirt, lxml.etree"], check=True)
    return time.monotonic() - start


@pytest.fixture
def bench_place(libvirt_daemon, unique):
    with tempfile.TemporaryDirectory(prefix="vct-bench-ovaimport-", dir="/var/tmp") as work:
        os.chmod(work, 0o755)
        target = os.path.join(work, "pool")
        os.makedirs(target)
        sh("virsh", "-c", URI, "pool-create-as", unique, "dir", "--target", target)
        try:
            yield unique, work, target
        finally:
            sh("virsh", "-c", URI, "destroy", unique + "g", check=False)
            sh("virsh", "-c", URI, "undefine", unique + "g", check=False)
            sh("virsh", "-c", URI, "pool-destroy", unique, check=False)


def test_bench_ova_import(bench_place):
    pool, work, target = bench_place
    info = big_ova(os.path.join(work, "big.ova"), size=DISK_MIB * MIB, random_fraction=1.0)
    ova = info["path"]
    disk = info["disks"][0]["href"]
    with tarfile.open(ova) as tar:
        member = tar.getmember(disk)
    subprocess.run(["cat", ova], stdout=subprocess.DEVNULL, check=True)  # the same (hot) page cache for all
    json_src = "json:" + json.dumps({"driver": "vmdk", "file": {"driver": "raw", "offset": member.offset_data,
                                                                "size": member.size,
                                                                "file": {"driver": "file", "filename": ova}}})
    copy, extract = os.path.join(work, "copy.ova"), os.path.join(work, "extract")
    inplace_out = os.path.join(work, "inplace.qcow2")
    name, volume = pool + "g", os.path.join(target, pool + "g-disk1.qcow2")
    args = {"src": ova, "name": name, "uri": URI, "pool": pool, "virt_type": "qemu",
            "_ansible_check_mode": False, "_ansible_diff": False}

    def cp():
        subprocess.run(["cp", ova, copy], check=True)
        os.remove(copy)

    def tar_convert():
        os.makedirs(extract)
        subprocess.run(["tar", "xf", ova, "-C", extract], check=True)
        subprocess.run(["qemu-img", "convert", "-f", "vmdk", "-O", "qcow2", os.path.join(extract, disk),
                        os.path.join(work, "extracted.qcow2")], check=True)
        sh("rm", "-rf", extract, os.path.join(work, "extracted.qcow2"))

    def inplace():
        subprocess.run(["qemu-img", "convert", "-f", "vmdk", "-O", "qcow2", json_src, inplace_out], check=True)
        os.remove(inplace_out)

    # rounds, interleaved, the median of each: the machine is shared, single runs vary by +-50%
    times = {"cp": [], "tar xf + qemu-img convert": [], "qemu-img convert in place": [], "ova_import": []}
    memory, extra, allocation = [], [], 0
    for dummy in range(RUNS):
        for label, call in (("cp", cp), ("tar xf + qemu-img convert", tar_convert),
                            ("qemu-img convert in place", inplace)):
            start = time.monotonic()
            call()
            times[label].append(time.monotonic() - start)
        result, seconds, hwm, tree, peak_disk = run_measured("ova_import", args, target)
        assert result.get("changed") and not result.get("failed"), result
        assert os.listdir(target) == [os.path.basename(volume)]
        times["ova_import"].append(seconds)
        allocation = os.stat(volume).st_blocks * 512
        memory.append((hwm, tree))
        extra.append(max(peak_disk, allocated(target)) - allocation)
        rerun = run_measured("ova_import", args, target)
        assert rerun[0].get("changed") is False, rerun[0]
        sh("virsh", "-c", URI, "undefine", name)
        sh("virsh", "-c", URI, "vol-delete", "--pool", pool, os.path.basename(volume))

    medians = {label: statistics.median(values) for label, values in times.items()}
    for peer in ("qemu-img convert in place", "tar xf + qemu-img convert"):
        record("ova-import", "import a %d MiB disk" % DISK_MIB, medians["ova_import"], medians[peer], size=DISK_MIB,
               default_sizes=[DEFAULT_MIB], ours_label="virtcloud.core.ova_import", peer_label=peer,
               note="N = virtual disk size, MiB")
    # what any module of the collection pays before it does anything: Python, ansible, libvirt, lxml
    startup = statistics.median(_startup() for dummy in range(RUNS))
    base = medians["qemu-img convert in place"]
    print("\nova_import bench (%d MiB OVA, %d MiB virtual disk, %d CPUs)"
          % (os.path.getsize(ova) >> 20, info["disks"][0]["capacity"] >> 20, os.cpu_count()))
    print("  %-28s %8s %12s   %s" % ("", "median s", "/ in place", "rounds"))
    for label, value in medians.items():
        print("  %-28s %8.2f %12.2f   %s" % (label, value, value / base, " ".join("%.2f" % v for v in times[label])))
    print("  %-28s %8.2f" % ("ova_import rerun (no-op)", rerun[1]))
    print("  %-28s %8.2f" % ("module start-up (imports)", startup))
    print("  ova_import / in-place convert: %.2f (goal <= 1.1); without the start-up: %.2f"
          % (medians["ova_import"] / base, (medians["ova_import"] - startup) / base))
    print("  ova_import peak RSS: module %.1f MiB, process tree %.1f MiB (goal <= 100 MB)"
          % (max(m[0] for m in memory) / MIB, max(m[1] for m in memory) / MIB))
    print("  disk: volume %.1f MiB allocated, extra at peak %.1f MiB (goal: 0, the volume only)"
          % (allocation / MIB, max(extra) / MIB))
