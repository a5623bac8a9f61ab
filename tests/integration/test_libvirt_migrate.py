"""virtcloud.core.libvirt_migrate between this machine's libvirtd and a second, separate libvirtd
(tests/lib/libvirt_host.py: its own network, mount and UTS namespaces, its own host UUID, reached
over real SSH at qemu+ssh://root@198.18.x.11/system). Verified through virsh on both hosts, the
guest's serial log and qemu-io on each host's own copy of the disk.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from conftest import converge, run_module, sh  # noqa: E402
from lib.guest import GUEST_MARKER
from lib.libvirt_host import libvirt_host
from test_libvirt_domain import guest, read, tiny, virsh, wait_for, workdir  # noqa: F401 pylint: disable=unused-import

MARKER = ("-P", "0x5a", "0", "64k")  # qemu-io: a pattern at the disk's start


@pytest.fixture
def host2(libvirt_daemon, unique):
    with libvirt_host(unique) as host:
        yield host


@pytest.fixture
def private_dir(guest):
    """A directory that each host has for itself (under /var/lib/libvirt, private on the second host)."""
    path = os.path.join("/var/lib/libvirt", guest)
    os.makedirs(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def dest_virsh(host, *argv, check=True):
    return sh("virsh", "-c", host.uri, *argv, check=check)


def qemu_io(disk, op, runner=None):
    argv = ["qemu-io", "-f", "qcow2", "-c", " ".join((op,) + MARKER), disk]
    proc = runner(*argv, check=False) if runner else subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.stdout + proc.stderr


def test_live_migration_copies_storage_and_keeps_the_guest_running(guest, workdir, host2, private_dir):
    # one host UUID each, one host name each: a separate daemon, not this one over SSH
    assert dest_virsh(host2, "hostname").stdout.strip() == host2.hostname
    assert host2.host_uuid in dest_virsh(host2, "capabilities").stdout
    assert host2.host_uuid not in virsh("capabilities").stdout

    # the disk: this host's with a marker, the destination's own file of the same path empty
    disk = os.path.join(private_dir, "disk.qcow2")
    sh("qemu-img", "create", "-f", "qcow2", disk, "16M")
    assert "wrote 65536/65536" in qemu_io(disk, "write")
    host2.run("mkdir", "-p", private_dir)
    host2.run("qemu-img", "create", "-f", "qcow2", disk, "16M")
    assert "Pattern verification failed" in qemu_io(disk, "read", host2.run)  # the check can fail

    log = os.path.join(workdir, "console.log")
    run_module("libvirt_domain", **tiny(guest, workdir, state="running", disks=[{"path": disk}]))
    wait_for(lambda: GUEST_MARKER in read(log) and "block=vda," in read(log), "the guest up with its disk")
    spec = dict(name=guest, dest_uri=host2.uri, copy_storage="all", timeout=120)

    # errors, before anything is touched
    closed = host2.uri.replace(host2.address, host2.address + ":2222")  # nothing listens there
    down = run_module("libvirt_migrate", **dict(spec, dest_uri=closed))
    assert down.get("failed") and closed in down["msg"] and "(dest_uri)" in down["msg"], down
    assert "Connection refused" in down["msg"], down
    missing = run_module("libvirt_migrate", **dict(spec, name=guest + "x"))
    assert missing.get("failed") and "no guest named" in missing["msg"] and "(uri)" in missing["msg"], missing

    # check mode predicts, the run migrates (the stream to tcp://<dest_uri's host>), reruns change nothing
    applied = converge("libvirt_migrate", **spec)
    assert applied["actions"] == ["migrate %s live from qemu:///system to %s, copying storage (all)" % (guest, host2.uri)]
    assert applied["domain"]["destination"] == {"state": "running", "persistent": True}
    assert applied["domain"]["source"] is None
    assert dest_virsh(host2, "domstate", guest).stdout.strip() == "running"
    assert virsh("domstate", guest, check=False).returncode != 0                # undefined on the source

    # it kept running: the serial log (the destination's QEMU writes it now) grows, no new boot
    size = len(read(log))
    wait_for(lambda: len(read(log)) > size + 30, "the migrated guest's console to go on", timeout=20)
    assert GUEST_MARKER not in read(log) and "Linux version" not in read(log), read(log)[-2000:]
    assert "block=vda," in read(log).splitlines()[-1]

    # a different guest of that name on the destination is a clash; a shut-off guest does not move live
    other = os.path.join(workdir, "other.xml")
    with open(other, "w") as handle:  # the same guest without its UUID: libvirt makes a new one
        handle.write(re.sub(r"<uuid>.*</uuid>", "", dest_virsh(host2, "dumpxml", "--inactive", guest).stdout))
    virsh("define", other)
    clash = run_module("libvirt_migrate", **spec)
    assert clash.get("failed") and "another guest named" in clash["msg"] and "(dest_uri)" in clash["msg"], clash
    assert dest_virsh(host2, "domstate", guest).stdout.strip() == "running"
    virsh("undefine", guest)
    off = guest + "b"
    try:
        run_module("libvirt_domain", name=off, virt_type="qemu", memory="64MiB")
        stopped = run_module("libvirt_migrate", name=off, dest_uri=host2.uri)
        assert stopped.get("failed") and stopped.get("option") == "live" and "shutdown" in stopped["msg"], stopped
        # live=false moves the definition
        moved = converge("libvirt_migrate", name=off, dest_uri=host2.uri, live=False)
        assert moved["domain"]["destination"] == {"state": "shutdown", "persistent": True}
        assert dest_virsh(host2, "domstate", off).stdout.strip() == "shut off"
        assert virsh("domstate", off, check=False).returncode != 0
    finally:
        virsh("undefine", off, check=False)

    # the disk's data came along: the destination's own file holds the marker now
    dest_virsh(host2, "destroy", guest)
    assert "read 65536/65536" in qemu_io(disk, "read", host2.run) and "verification failed" not in qemu_io(
        disk, "read", host2.run)
