"""virtcloud.core.libvirt_snapshot against the real qemu:///system: internal snapshots of a shut-off and
of a running guest, revert (the disk's content read back with qemu-io), external disk-only snapshots
(the overlay seen by virsh domblklist and qemu-img info), retention, and a raw disk refused.

Verified independently through virsh, qemu-img and qemu-io. One tiny guest boots (TCG, a few seconds)."""

from __future__ import annotations

import json
import os

import pytest

from conftest import converge, run_module, sh  # noqa: E402
from test_libvirt_domain import guest, read, tiny, virsh, wait_for, workdir  # noqa: F401 pylint: disable=unused-import
from lib.guest import GUEST_MARKER

MODULE = "libvirt_snapshot"


def write(disk, pattern):
    """Fill the first 4 KiB of a shut-off guest's qcow2 disk with the byte `pattern`."""
    sh("qemu-io", "-f", "qcow2", "-c", "write -P %#x 0 4k" % pattern, disk)


def holds(disk, pattern):
    """Whether the first 4 KiB of the disk are the byte `pattern` (qemu-io's read -P verifies them)."""
    proc = sh("qemu-io", "-f", "qcow2", "-c", "read -P %#x 0 4k" % pattern, disk, check=False)
    assert proc.returncode == 0 or "Pattern verification failed" in proc.stdout, proc
    return proc.returncode == 0


def snapshot_names(domain):
    return virsh("snapshot-list", domain, "--name").stdout.split()


def image_snapshots(disk):
    """The internal snapshots qemu-img lists in a qcow2 image, by name: their VM state size."""
    info = json.loads(sh("qemu-img", "info", "-U", "--output=json", disk).stdout)
    return {s["name"]: s["vm-state-size"] for s in info.get("snapshots", [])}


def define(domain, workdir, disk, fmt="qcow2", **extra):  # noqa: F811
    sh("qemu-img", "create", "-f", fmt, disk, "16M")
    spec = tiny(domain, workdir, disks=[{"path": disk, "format": fmt}], **extra)
    defined = run_module("libvirt_domain", **spec)
    assert defined.get("changed") is True, defined
    return spec


def test_internal_snapshot_of_a_shut_off_guest_revert_and_retention(guest, workdir):  # noqa: F811
    disk = os.path.join(workdir, "disk.qcow2")
    define(guest, workdir, disk)
    write(disk, 0x41)

    made = converge(MODULE, domain=guest, name="s1", description="first")
    snap = made["snapshot"]
    assert snap["kind"] == "internal" and snap["state"] == "shutoff" and snap["current"], snap
    assert snap["description"] == "first" and snap["created"] and snap["parent"] is None
    assert made["predicted"]["snapshot"]["created"] is None  # not known before it is made
    assert snapshot_names(guest) == ["s1"] and "s1" in image_snapshots(disk)
    assert virsh("snapshot-current", guest, "--name").stdout.strip() == "s1"

    # a new description is metadata: redefined, the snapshot's data untouched
    described = converge(MODULE, domain=guest, name="s1", description="before the change")
    assert described["actions"] == ["set the description of snapshot s1 of %s" % guest]
    assert "before the change" in virsh("snapshot-dumpxml", guest, "s1").stdout
    assert virsh("snapshot-current", guest, "--name").stdout.strip() == "s1"

    # the disk changes; reverting brings the marker back
    write(disk, 0x42)
    assert holds(disk, 0x42) and not holds(disk, 0x41)
    predicted = run_module(MODULE, check=True, domain=guest, name="s1", state="reverted")
    assert predicted["changed"] and holds(disk, 0x42)
    reverted = run_module(MODULE, domain=guest, name="s1", state="reverted")
    assert reverted["changed"] and reverted["actions"] == ["revert %s to snapshot s1" % guest], reverted
    assert holds(disk, 0x41)
    assert virsh("snapshot-current", guest, "--name").stdout.strip() == "s1"

    # bad names: reverting to a missing snapshot fails naming it; deleting one is no change
    missing = run_module(MODULE, domain=guest, name="nope", state="reverted")
    assert missing.get("failed") and "name" in missing["msg"] and "nope" in missing["msg"], missing
    assert run_module(MODULE, domain=guest, name="nope", state="absent")["changed"] is False
    unknown = run_module(MODULE, domain=guest + "x", name="s1")
    assert unknown.get("failed") and "domain" in unknown["msg"], unknown

    # retention: keep the newest two, counting the new one; check mode predicts the list exactly
    for name in ("s2", "s3"):
        assert run_module(MODULE, domain=guest, name=name)["changed"]
    pruned = converge(MODULE, domain=guest, name="s4", keep=2)
    assert pruned["actions"] == ["create internal snapshot s4 of %s" % guest,
                                 "delete snapshot s1 of %s (retention)" % guest,
                                 "delete snapshot s2 of %s (retention)" % guest], pruned["actions"]
    assert [s["name"] for s in pruned["predicted"]["snapshots"]] == ["s3", "s4"]
    assert sorted(snapshot_names(guest)) == ["s3", "s4"]
    assert sorted(image_snapshots(disk)) == ["s3", "s4"]
    # retention alone, no name: nothing is older than a day
    assert run_module(MODULE, domain=guest, max_age="1d")["changed"] is False
    aged = run_module(MODULE, domain=guest, max_age=0, diff=True)
    assert aged["changed"] and aged["snapshots"] == [] and snapshot_names(guest) == [], aged


def test_raw_disk_refused_for_internal_snapshot(guest, workdir):  # noqa: F811
    disk = os.path.join(workdir, "disk.raw")
    define(guest, workdir, disk, fmt="raw")
    for check in (True, False):
        refused = run_module(MODULE, check=check, domain=guest, name="s1")
        assert refused.get("failed") and refused["changed"] is False, refused
        assert refused["msg"].startswith("kind:") and "vda" in refused["msg"] and disk in refused["msg"], refused
    assert snapshot_names(guest) == []


def test_running_guest_external_and_internal_snapshots(guest, workdir):  # noqa: F811
    disk = os.path.join(workdir, "disk.qcow2")
    spec = define(guest, workdir, disk)
    assert run_module("libvirt_domain", **dict(spec, state="running"))["changed"]
    wait_for(lambda: GUEST_MARKER in read(os.path.join(workdir, "console.log")), "the guest's marker")

    # external, disk-only: the guest writes to a new overlay over the old disk
    external = converge(MODULE, domain=guest, name="e1", kind="external")
    snap = external["snapshot"]
    overlay = os.path.join(workdir, "disk.e1")
    assert snap["kind"] == "external" and snap["state"] == "disk-snapshot" and snap["files"] == [overlay], snap
    assert overlay in virsh("domblklist", guest).stdout
    info = json.loads(sh("qemu-img", "info", "-U", "--output=json", overlay).stdout)
    assert info["backing-filename"] == disk, info
    # the kind of an existing snapshot does not change
    other = run_module(MODULE, domain=guest, name="e1", kind="internal")
    assert other.get("failed") and other["msg"].startswith("kind:"), other

    # deleting it merges the overlay back (libvirt >= 9.0): the guest runs on its disk again
    deleted = run_module(MODULE, domain=guest, name="e1", state="absent")
    assert deleted["changed"] and deleted["snapshots"] == [], deleted
    assert run_module(MODULE, domain=guest, name="e1", state="absent")["changed"] is False
    blk = virsh("domblklist", guest).stdout
    assert disk in blk and overlay not in blk and not os.path.exists(overlay), blk

    # internal while running: the memory is in the snapshot too
    running = converge(MODULE, domain=guest, name="r1")
    assert running["snapshot"]["state"] == "running" and running["snapshot"]["kind"] == "internal"
    assert image_snapshots(disk)["r1"] > 0
    assert "running" in virsh("snapshot-info", guest, "r1").stdout
    reverted = run_module(MODULE, domain=guest, name="r1", state="reverted")
    assert reverted["changed"] and reverted["snapshot"]["current"], reverted
    assert "running" in virsh("domstate", guest).stdout


@pytest.mark.parametrize("args, option", [
    ({"name": "s1", "state": "absent", "keep": 2}, "keep"),
    ({"max_age": "7 days"}, "max_age"),
    ({"keep": 0}, "keep"),
])
def test_bad_snapshot_options_fail_before_anything(libvirt_daemon, args, option):
    failed = run_module(MODULE, domain="vct-no-such-guest", **args)
    assert failed.get("failed") and failed["msg"].startswith(option + ":"), failed
