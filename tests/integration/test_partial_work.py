"""Work that stops partway: a pool and a directory on a small file system that fills up, a volume a
killed run left half made, removals whose preconditions do not hold. Every failure names its
cause, leaves nothing half made behind, and says what ran; the rerun completes.

The small file system is a tmpfs the test mounts (as root) and unmounts whatever happens."""

from __future__ import annotations

import filecmp
import os
import subprocess

import pytest

from conftest import proves, run_module, sh
from test_ova_import import build, place  # noqa: F401 pylint: disable=unused-import

pytestmark = pytest.mark.usefixtures("libvirt_daemon")
MIB = 1 << 20


def volumes(pool):
    return sorted(line.split()[0] for line in sh("virsh", "-q", "vol-list", pool).stdout.splitlines() if line.strip())


def pool_state(name):
    proc = sh("virsh", "-q", "pool-info", name, check=False)
    if proc.returncode:
        return None
    return dict((k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in proc.stdout.splitlines()))["State"]


def drop_pool(name):
    if pool_state(name) == "running":
        for volume in volumes(name):
            sh("virsh", "-q", "vol-delete", volume, "--pool", name, check=False)
    sh("virsh", "-q", "pool-destroy", name, check=False)
    sh("virsh", "-q", "pool-undefine", name, check=False)


def image(path, size):
    """A raw image of `size` bytes that does not compress to nothing (tmpfs stores every byte)."""
    with open(path, "wb") as out:
        out.write(os.urandom(size))
    return str(path)


@pytest.fixture
def small(tmp_path):
    """A 12 MiB file system, 9 MiB of it taken by a filler file: 3 MiB are left until the
    filler is removed (the space an operator frees before the rerun)."""
    mount = tmp_path / "small"
    mount.mkdir()
    sh("mount", "-t", "tmpfs", "-o", "size=12m", "vct-partial", mount)
    try:
        image(mount / "filler", 9 * MIB)
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


@pytest.fixture
def small_pool(small, unique):
    name = unique + "full"
    path = small / "pool"
    result = run_module("libvirt_pool", name=name, path=str(path))
    assert result["changed"], result
    try:
        yield name, path
    finally:
        drop_pool(name)


@proves("disk full", "libvirt_volume: raw upload that fills the pool is removed, the rerun completes")
def test_upload_that_fills_the_pool_is_removed_and_the_rerun_completes(small, small_pool, tmp_path):
    pool, path = small_pool
    source = image(tmp_path / "src.raw", 6 * MIB)
    args = {"pool": pool, "name": "disk.raw", "upload": source, "format": "raw"}
    failed = run_module("libvirt_volume", **args)
    assert failed.get("failed") and "no space" in failed["msg"].lower(), failed
    assert "rolled back: deleted volume %s/disk.raw" % pool in failed["msg"], failed
    assert failed["changed"] is False and failed["actions"] == []
    assert volumes(pool) == [] and os.listdir(path) == []

    # the rerun fails the same way, never takes a half-written volume
    again = run_module("libvirt_volume", **args)
    assert again.get("failed") and volumes(pool) == [], again

    os.remove(small / "filler")
    done = run_module("libvirt_volume", **args)
    assert done["changed"] and not done.get("failed"), done
    assert volumes(pool) == ["disk.raw"] and filecmp.cmp(source, path / "disk.raw", shallow=False)
    assert run_module("libvirt_volume", **args)["changed"] is False


@proves("disk full", "libvirt_volume: qcow2 upload and preallocated create into a full pool")
def test_qcow2_upload_and_preallocated_create_fail_cleanly(small_pool, tmp_path):
    pool, path = small_pool
    source = image(tmp_path / "src.raw", 6 * MIB)
    converted = run_module("libvirt_volume", pool=pool, name="disk.qcow2", upload=source, format="qcow2")
    assert converted.get("failed") and "no space" in converted["msg"].lower(), converted
    thick = run_module("libvirt_volume", pool=pool, name="thick.raw", capacity="8MiB", format="raw",
                       preallocation="falloc")
    assert thick.get("failed") and "no space" in thick["msg"].lower(), thick
    assert thick["changed"] is False
    assert volumes(pool) == [] and os.listdir(path) == []


@proves("killed midway", "libvirt_volume: volume half uploaded by a killed run is made again")
def test_incomplete_volume_left_by_a_killed_run_is_made_again(small_pool, tmp_path):
    """What a run killed during its upload leaves: the volume, partly written, and its marker."""
    pool, path = small_pool
    source = image(tmp_path / "src.raw", 2 * MIB)
    sh("virsh", "-q", "vol-create-as", pool, "disk.raw", "2MiB", "--format", "raw")
    sh("virsh", "-q", "vol-create-as", pool, "disk.raw.virtcloud-partial", "512", "--format", "raw")
    with open(path / "disk.raw", "r+b") as half:
        with open(source, "rb") as src:
            half.write(src.read(MIB))
    args = {"pool": pool, "name": "disk.raw", "upload": source, "format": "raw"}
    predicted = run_module("libvirt_volume", check=True, **args)
    redone = run_module("libvirt_volume", **args)
    assert redone["changed"] and not redone.get("failed"), redone
    assert redone["actions"] == predicted["actions"] == [
        "delete incomplete volume %s/disk.raw" % pool, "create volume %s/disk.raw (upload of raw image %s)" % (pool, source)]
    assert any("incomplete" in str(warning) for warning in redone.get("warnings", [])), redone
    assert volumes(pool) == ["disk.raw"] and filecmp.cmp(source, path / "disk.raw", shallow=False)
    assert run_module("libvirt_volume", **args)["changed"] is False


@proves("disk full", "disk_image: convert into a full directory")
def test_disk_image_convert_into_a_full_directory(small, tmp_path):
    source = image(tmp_path / "src.raw", 6 * MIB)
    dest = str(small / "out.qcow2")
    args = {"path": dest, "source": source, "format": "qcow2"}
    failed = run_module("disk_image", **args)
    assert failed.get("failed") and "no space" in failed["msg"].lower(), failed
    assert failed["changed"] is False and sorted(os.listdir(small)) == ["filler"]
    os.remove(small / "filler")
    done = run_module("disk_image", **args)
    assert done["changed"] and not done.get("failed"), done
    sh("qemu-img", "compare", "-f", "raw", "-F", "qcow2", source, dest)
    assert sorted(os.listdir(small)) == ["out.qcow2"]
    assert run_module("disk_image", **args)["changed"] is False


@proves("preconditions", "libvirt_pool: deleting the data of a pool that holds volumes")
def test_deleting_the_data_of_a_pool_that_holds_volumes_is_refused_before_stopping_it(tmp_path, unique):
    name, path = unique + "busy", tmp_path / "busy"
    assert run_module("libvirt_pool", name=name, path=str(path))["changed"]
    try:
        sh("virsh", "-q", "vol-create-as", name, "keep.qcow2", "1MiB", "--format", "qcow2")
        for check in (True, False):
            refused = run_module("libvirt_pool", check=check, name=name, state="absent", delete_data=True)
            assert refused.get("failed") and refused["option"] == "delete_data", refused
            assert "keep.qcow2" in refused["msg"] and refused["changed"] is False
        assert pool_state(name) == "running" and volumes(name) == ["keep.qcow2"]
    finally:
        drop_pool(name)


@proves("preconditions", "libvirt_pool: netfs pool without mount.nfs")
def test_netfs_pool_without_its_mount_helper_is_refused_before_anything(tmp_path, unique):
    if any(os.access(os.path.join(d, "mount.nfs"), os.X_OK) for d in ("/sbin", "/usr/sbin", "/bin", "/usr/bin")):
        pytest.fail("this host has mount.nfs: the test needs a host without the NFS client")
    name, mountpoint = unique + "nfs", tmp_path / "nfs"
    args = {"name": name, "type": "netfs", "path": str(mountpoint), "source": {"host": "198.18.0.1", "dir": "/export"}}
    try:
        for check in (True, False):
            refused = run_module("libvirt_pool", check=check, **args)
            assert refused.get("failed") and refused["option"] == "source", refused
            assert "mount.nfs" in refused["msg"] and "nfs-common" in refused["msg"]
        assert pool_state(name) is None and not mountpoint.exists()
    finally:
        drop_pool(name)


@proves("preconditions", "libvirt_pool: netfs pool that fails to mount removes its directory")
def test_netfs_pool_that_fails_to_mount_removes_the_directory_it_made(tmp_path, unique, monkeypatch):
    """A mount helper the module finds but that cannot mount (here one that only this test's
    module process sees): the start fails in libvirtd, and the run takes back its define and
    the directory its build made."""
    helper = tmp_path / "bin"
    helper.mkdir()
    (helper / "mount.nfs").write_text("#!/bin/sh\nexit 32\n")
    (helper / "mount.nfs").chmod(0o755)
    monkeypatch.setenv("PATH", "%s%s%s" % (helper, os.pathsep, os.environ["PATH"]))
    name, mountpoint = unique + "nfs", tmp_path / "nfs"
    try:
        failed = run_module("libvirt_pool", name=name, type="netfs", path=str(mountpoint),
                            source={"host": "198.18.0.1", "dir": "/export"})
        assert failed.get("failed") and failed["msg"].startswith("start pool %s failed" % name), failed
        assert "removed the directory %s again" % mountpoint in failed["msg"], failed
        assert failed["actions"] == ["define pool %s" % name, "build pool %s" % name]
        assert failed["changed"] is False
        assert pool_state(name) is None and not mountpoint.exists()
    finally:
        drop_pool(name)


@proves("disk full", "ova_import: disks larger than the pool's free space refused first, the rerun completes")
def test_import_larger_than_the_pool_is_refused_and_the_rerun_completes(small, small_pool, place, unique):  # noqa: F811 pylint: disable=redefined-outer-name
    pool, path = small_pool
    ova, raw = build(place["dir"], unique, capacity_mib=6, content=os.urandom(6 * MIB))
    name = unique + "g"
    args = {"src": ova, "name": name, "pool": pool, "network_map": {"lan": place["network"]}, "virt_type": "qemu"}
    place["guests"].append(name)
    failed = run_module("ova_import", **args)  # the manifest's sizes are checked against the pool first
    assert failed.get("failed") and failed["msg"].startswith("pool:") and "free" in failed["msg"], failed
    assert failed["changed"] is False and not failed.get("actions"), failed
    assert volumes(pool) == [] and os.listdir(path) == []
    assert sh("virsh", "dominfo", name, check=False).returncode != 0

    os.remove(small / "filler")
    done = run_module("ova_import", **args)
    assert done["changed"] and not done.get("failed"), done
    volume = name + "-disk1.qcow2"
    assert volumes(pool) == [volume]
    assert sh("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw, str(path / volume)).returncode == 0
    assert run_module("ova_import", **args)["changed"] is False


@proves("disk full", "ova_export: an OVA that fills its directory is removed, the rerun completes")
def test_export_that_fills_its_directory_is_removed_and_the_rerun_completes(small, place, unique):  # noqa: F811 pylint: disable=redefined-outer-name
    ova = build(place["dir"], unique, capacity_mib=6, content=os.urandom(6 * MIB))[0]
    name = unique + "g"
    place["guests"].append(name)
    imported = run_module("ova_import", src=ova, name=name, pool=place["pool"], network_map={"lan": place["network"]},
                          virt_type="qemu")
    assert imported["changed"] and not imported.get("failed"), imported
    dest = small / "out" / "guest.ova"
    dest.parent.mkdir()
    failed = run_module("ova_export", name=name, dest=str(dest))
    assert failed.get("failed") and "no space" in failed["msg"].lower(), failed
    assert failed["changed"] is False and os.listdir(dest.parent) == [], failed

    os.remove(small / "filler")
    done = run_module("ova_export", name=name, dest=str(dest))
    assert done["changed"] and not done.get("failed"), done
    assert os.listdir(dest.parent) == ["guest.ova"]
    assert run_module("ovf_info", src=str(dest))["disks"], "the exported OVA reads back"
    assert run_module("ova_export", name=name, dest=str(dest))["changed"] is False
