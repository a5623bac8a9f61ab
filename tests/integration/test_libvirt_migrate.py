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

MARKER = ("-P", "0x5a", "0", "8M")  # qemu-io: a pattern over the disk's first 8 MiB


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


def test_live_migration_there_and_back_with_storage(guest, workdir, host2, private_dir):
    # one host UUID each, one host name each: a separate daemon, not this one over SSH
    assert dest_virsh(host2, "hostname").stdout.strip() == host2.hostname
    assert host2.host_uuid in dest_virsh(host2, "capabilities").stdout
    assert host2.host_uuid not in virsh("capabilities").stdout

    # the disk: this host's with a marker, the destination's own file of the same path empty
    disk = os.path.join(private_dir, "disk.qcow2")
    sh("qemu-img", "create", "-f", "qcow2", disk, "16M")
    assert "wrote 8388608/8388608" in qemu_io(disk, "write")
    host2.run("mkdir", "-p", private_dir)
    host2.run("qemu-img", "create", "-f", "qcow2", disk, "16M")
    assert "Pattern verification failed" in qemu_io(disk, "read", host2.run)  # the check can fail

    log = os.path.join(workdir, "console.log")
    run_module("libvirt_domain", **tiny(guest, workdir, state="running", disks=[{"path": disk}]))
    wait_for(lambda: GUEST_MARKER in read(log) and "block=vda," in read(log), "the guest up with its disk")
    spec = dict(name=guest, dest_uri=host2.uri, copy_storage="all", timeout=120)

    # errors, before anything is touched
    closed = host2.uri.replace(host2.address, host2.address + ":2222")  # nothing listens there
    down = run_module("libvirt_migrate", **{**spec, "dest_uri": closed})
    assert down.get("failed") and closed in down["msg"] and "(dest_uri)" in down["msg"], down
    assert "Connection refused" in down["msg"], down
    missing = run_module("libvirt_migrate", **{**spec, "name": guest + "x"})
    assert missing.get("failed") and "no guest named" in missing["msg"] and "(uri)" in missing["msg"], missing
    # the 8 MiB disk copy at 1 MiB/s outlasts the timeout: aborted, the guest still runs here only
    slow = run_module("libvirt_migrate", **{**spec, "bandwidth": 1, "timeout": 2})
    assert slow.get("failed") and "did not complete within 2s (timeout)" in slow["msg"], slow
    assert virsh("domstate", guest).stdout.strip() == "running"
    assert guest not in dest_virsh(host2, "list", "--all", "--name").stdout

    # check mode predicts, the run migrates (the stream to tcp://<dest_uri's host>), reruns change nothing
    applied = converge("libvirt_migrate", **spec)
    assert applied["actions"] == ["migrate %s live from qemu:///system to %s, copying storage (all)" % (guest, host2.uri)]
    assert applied["domain"]["destination"] == {"state": "running", "persistent": True}
    assert applied["domain"]["source"] is None
    assert dest_virsh(host2, "domstate", guest).stdout.strip() == "running"
    assert virsh("domstate", guest, check=False).returncode != 0  # undefined on the source

    # it kept running: the serial log (the destination's QEMU writes it now) grows, no new boot
    size = len(read(log))
    wait_for(lambda: len(read(log)) > size + 30, "the migrated guest's console to go on", timeout=20)
    assert GUEST_MARKER not in read(log) and "Linux version" not in read(log), read(log)[-2000:]
    assert "block=vda," in read(log).splitlines()[-1]

    # a different guest of that name on the source is a clash
    other = os.path.join(workdir, "other.xml")
    with open(other, "w") as handle:  # the same guest without its UUID: libvirt makes a new one
        handle.write(re.sub(r"<uuid>.*</uuid>", "", dest_virsh(host2, "dumpxml", "--inactive", guest).stdout))
    virsh("define", other)
    clash = run_module("libvirt_migrate", **spec)
    assert clash.get("failed") and "another guest named" in clash["msg"] and "(dest_uri)" in clash["msg"], clash
    assert dest_virsh(host2, "domstate", guest).stdout.strip() == "running"
    virsh("undefine", guest)

    # and back, the disk copied back into this host's file (made empty meanwhile): the marker there again
    # went this host -> host2 -> this host
    sh("qemu-img", "create", "-f", "qcow2", disk, "16M")
    back = {**spec, "uri": host2.uri, "dest_uri": "qemu:///system", "migrate_uri": "tcp://" + host2.gateway}
    returned = converge("libvirt_migrate", **back)
    assert returned["domain"]["destination"] == {"state": "running", "persistent": True}
    assert virsh("domstate", guest).stdout.strip() == "running"
    assert guest not in dest_virsh(host2, "list", "--all", "--name").stdout
    size = len(read(log))
    wait_for(lambda: len(read(log)) > size + 30, "the guest's console to go on after coming back", timeout=20)
    assert GUEST_MARKER not in read(log), read(log)[-2000:]
    virsh("destroy", guest)
    assert "read 8388608/8388608" in qemu_io(disk, "read") and "verification failed" not in qemu_io(disk, "read")


def test_offline_migration_moves_the_definition(guest, host2):
    run_module("libvirt_domain", name=guest, virt_type="qemu", memory="64MiB")
    stopped = run_module("libvirt_migrate", name=guest, dest_uri=host2.uri)
    assert stopped.get("failed") and stopped.get("option") == "live" and "shutdown" in stopped["msg"], stopped
    moved = converge("libvirt_migrate", name=guest, dest_uri=host2.uri, live=False)
    assert moved["actions"] == ["migrate %s offline from qemu:///system to %s" % (guest, host2.uri)]
    assert moved["domain"]["destination"] == {"state": "shutdown", "persistent": True}
    assert moved["domain"]["source"] is None
    assert dest_virsh(host2, "domstate", guest).stdout.strip() == "shut off"
    assert dest_virsh(host2, "domuuid", guest).stdout.strip() == moved["domain"]["uuid"]
    assert virsh("domstate", guest, check=False).returncode != 0


def test_shared_storage_is_used_in_place(guest, workdir, host2):
    """A disk outside /var/lib/libvirt is the same file on both hosts: shared storage. libvirt cannot
    tell (no cluster filesystem), so the migration needs unsafe=true; without it nothing moves."""
    disk = os.path.join(workdir, "shared.qcow2")
    sh("qemu-img", "create", "-f", "qcow2", disk, "16M")
    log = os.path.join(workdir, "console.log")
    run_module("libvirt_domain", **tiny(guest, workdir, state="running", disks=[{"path": disk}]))
    wait_for(lambda: GUEST_MARKER in read(log) and "block=vda," in read(log), "the guest up with its disk")

    refused = run_module("libvirt_migrate", name=guest, dest_uri=host2.uri)
    assert refused.get("failed") and "unsafe=true" in refused["msg"] and "still runs on" in refused["msg"], refused
    assert refused["changed"] is False and virsh("domstate", guest).stdout.strip() == "running"
    assert guest not in dest_virsh(host2, "list", "--all", "--name").stdout

    applied = converge("libvirt_migrate", name=guest, dest_uri=host2.uri, unsafe=True, undefine_source=False)
    assert applied["actions"] == ["migrate %s live from qemu:///system to %s" % (guest, host2.uri)]
    assert applied["domain"]["source"] == {"state": "shutdown", "persistent": True}  # kept, shut off
    assert virsh("domstate", guest).stdout.strip() == "shut off"
    assert dest_virsh(host2, "domstate", guest).stdout.strip() == "running"
    assert disk in dest_virsh(host2, "domblklist", guest).stdout
    size = len(read(log))
    wait_for(lambda: len(read(log)) > size + 30, "the migrated guest's console to go on", timeout=20)
    assert GUEST_MARKER not in read(log) and "block=vda," in read(log).splitlines()[-1], read(log)[-2000:]
