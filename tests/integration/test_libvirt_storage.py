"""virtcloud.core.libvirt_pool / volume / storage_info against the real libvirtd (qemu:///system).

Pools live under pytest's temporary directory; every object is named vct* and removed in finalizers."""

from __future__ import annotations

import json
import os

import pytest

from conftest import converge, run_module, sh

pytestmark = pytest.mark.usefixtures("libvirt_daemon")
MIB, GIB, TIB = 1 << 20, 1 << 30, 1 << 40


def drop_pool(name):
    listing = sh("virsh", "-q", "vol-list", name, check=False).stdout.split("\n")
    for line in listing:
        if line.strip():
            sh("virsh", "-q", "vol-delete", line.split()[0], "--pool", name, check=False)
    sh("virsh", "-q", "pool-destroy", name, check=False)
    sh("virsh", "-q", "pool-undefine", name, check=False)


@pytest.fixture
def pool(tmp_path, unique):
    """An active dir pool made through the module under test, removed afterwards with its volumes."""
    name, path = unique + "p", str(tmp_path / "pool")
    result = run_module("libvirt_pool", name=name, path=path)
    assert result["changed"], result
    yield name, path
    drop_pool(name)


def vol_info(pool, name):
    out = sh("virsh", "vol-info", "--bytes", name, "--pool", pool).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {k.strip(): v.strip() for k, v in fields.items()}


def allocated(path):
    return os.stat(path).st_blocks * 512


def qemu_info(path):
    return json.loads(sh("qemu-img", "info", "-U", "--output=json", path).stdout)


def test_dir_pool_lifecycle(tmp_path, unique):
    name, path = unique, str(tmp_path / "images")
    try:
        assert not os.path.exists(path)
        result = converge("libvirt_pool", name=name, path=path, autostart=True)
        assert result["actions"] == ["define pool %s" % name, "build pool %s" % name, "start pool %s" % name,
                                     "enable autostart of pool %s" % name]
        facts = result["pool"]
        assert facts["active"] and facts["autostart"] and facts["capacity"] > 0 and facts["volumes"] == 0
        assert os.path.isdir(path)
        info = sh("virsh", "pool-info", name).stdout
        assert "running" in info and "Autostart:      yes" in info
        assert sh("virsh", "pool-dumpxml", name).stdout.count("<path>%s</path>" % path) == 1

        # a file made behind libvirt's back shows after a refresh, which is not a change
        sh("qemu-img", "create", "-f", "qcow2", os.path.join(path, "outside.qcow2"), "1M")
        refreshed = run_module("libvirt_pool", name=name, path=path, refresh=True)
        assert not refreshed["changed"] and refreshed["pool"]["volumes"] == 1
        os.remove(os.path.join(path, "outside.qcow2"))
        run_module("libvirt_pool", name=name, path=path, refresh=True)

        # removing keeps the data unless asked
        assert run_module("libvirt_pool", name=name, state="absent")["changed"]
        assert os.path.isdir(path) and sh("virsh", "pool-info", name, check=False).returncode != 0
        run_module("libvirt_pool", name=name, path=path)
        gone = run_module("libvirt_pool", name=name, state="absent", delete_data=True)
        assert "delete the data of pool %s (%s)" % (name, path) in gone["actions"]
        assert not os.path.exists(path)
        assert not run_module("libvirt_pool", name=name, state="absent")["changed"]
    finally:
        drop_pool(name)


def test_thin_thick_overcommit_and_guard(pool):
    pool_name, path = pool
    thin = converge("libvirt_volume", pool=pool_name, name="thin.qcow2", capacity="1TiB")
    assert thin["volume"]["provisioning"] == "thin"
    assert vol_info(pool_name, "thin.qcow2")["Capacity"] == "%d bytes" % TIB
    thin_path = os.path.join(path, "thin.qcow2")
    assert qemu_info(thin_path)["virtual-size"] == TIB and qemu_info(thin_path)["format"] == "qcow2"
    assert allocated(thin_path) < 2 * MIB

    thick = converge("libvirt_volume", pool=pool_name, name="thick.raw", format="raw", capacity="64 MiB",
                     preallocation="falloc")
    assert thick["volume"]["provisioning"] == "thick"
    assert allocated(os.path.join(path, "thick.raw")) >= 64 * MIB

    meta = converge("libvirt_volume", pool=pool_name, name="meta.qcow2", capacity="64M", preallocation="metadata")
    assert meta["volume"]["provisioning"] == "thin"
    assert allocated(os.path.join(path, "meta.qcow2")) < 64 * MIB

    info = run_module("libvirt_storage_info", name=pool_name)
    facts = info["pools"][0]
    assert not info["changed"] and facts["virtual_size"] == TIB + 128 * MIB
    assert facts["overcommit"] == round((TIB + 128 * MIB) / facts["capacity"], 3)
    assert facts["capacity"] < TIB and facts["overcommit"] > 1  # 1 TiB thin on a smaller disk
    assert {v["name"]: v["provisioning"] for v in facts["volumes"]} == {
        "thin.qcow2": "thin", "thick.raw": "thick", "meta.qcow2": "thin"}

    # the guard refuses a create past the ratio, before anything exists
    limit = facts["overcommit"] + 0.5
    refused = run_module("libvirt_volume", pool=pool_name, name="more.qcow2", capacity="1TiB", max_overcommit=limit)
    assert refused["failed"] and refused["option"] == "max_overcommit", refused
    assert "nothing was changed" in refused["msg"]
    assert "more.qcow2" not in sh("virsh", "vol-list", pool_name).stdout
    assert run_module("libvirt_volume", pool=pool_name, name="small.qcow2", capacity="1GiB", max_overcommit=limit)["changed"]


def test_grow_shrink_and_bad_sizes(pool):
    pool_name, path = pool
    spec = dict(pool=pool_name, name="disk.raw", format="raw")
    converge("libvirt_volume", capacity="32MiB", **spec)
    grown = converge("libvirt_volume", capacity="48MiB", **spec)
    assert grown["actions"] == ["grow volume %s/disk.raw to 48 MiB" % pool_name]
    assert os.path.getsize(os.path.join(path, "disk.raw")) == 48 * MIB

    shrink = run_module("libvirt_volume", capacity="16MiB", **spec)
    assert shrink["failed"] and shrink["option"] == "capacity" and "allow_shrink" in shrink["msg"]
    assert os.path.getsize(os.path.join(path, "disk.raw")) == 48 * MIB
    converge("libvirt_volume", capacity="16MiB", allow_shrink=True, **spec)
    assert os.path.getsize(os.path.join(path, "disk.raw")) == 16 * MIB

    bad = run_module("libvirt_volume", capacity="12 furlongs", **spec)
    assert bad["failed"] and bad["option"] == "capacity" and "12 furlongs" in bad["msg"]
    other = run_module("libvirt_volume", pool=pool_name, name="disk.raw", format="qcow2")
    assert other["failed"] and other["option"] == "format"


def test_names_with_xml_characters_and_refused_names(pool):
    """A volume name is text in the volume XML: &, < and quotes stay part of the file name (they
    used to break the XML). A name libvirt refuses fails before anything is made."""
    pool_name, path = pool
    name = "db & <logs> \"1\".qcow2"
    converge("libvirt_volume", pool=pool_name, name=name, capacity="8MiB")
    assert os.path.exists(os.path.join(path, name))
    assert vol_info(pool_name, name)["Capacity"] == "%d bytes" % (8 * MIB)
    refused = run_module("libvirt_volume", pool=pool_name, name="sub/disk.qcow2", capacity="8MiB")
    assert refused["failed"] and refused["option"] == "name" and "'/'" in refused["msg"], refused
    assert sorted(os.listdir(path)) == [name]


def test_clone_upload_wipe_delete(pool, tmp_path):
    pool_name, path = pool
    image = tmp_path / "src.raw"
    payload = b"virtcloud" * 100000
    with open(image, "wb") as src:
        src.write(payload)
        src.truncate(4 * MIB)
    uploaded = converge("libvirt_volume", pool=pool_name, name="up.qcow2", upload=str(image))
    assert uploaded["volume"]["capacity"] == 4 * MIB and uploaded["volume"]["format"] == "qcow2"
    bigger = converge("libvirt_volume", pool=pool_name, name="up-big.raw", format="raw", upload=str(image), capacity="6MiB")
    assert bigger["volume"]["capacity"] == 6 * MIB
    up_path = os.path.join(path, "up.qcow2")
    assert qemu_info(up_path)["format"] == "qcow2"
    sh("qemu-img", "compare", "-f", "raw", "-F", "qcow2", str(image), up_path)

    cloned = converge("libvirt_volume", pool=pool_name, name="clone.qcow2", clone_from="up.qcow2", capacity="8MiB")
    assert cloned["volume"]["capacity"] == 8 * MIB
    clone_path = os.path.join(path, "clone.qcow2")
    sh("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", up_path, clone_path)

    missing = run_module("libvirt_volume", pool=pool_name, name="x.qcow2", clone_from="vctnosuch.qcow2")
    assert missing["failed"] and missing["option"] == "clone_from"

    gone = run_module("libvirt_volume", pool=pool_name, name="clone.qcow2", state="absent", wipe=True)
    assert gone["actions"] == ["wipe volume %s/clone.qcow2" % pool_name, "delete volume %s/clone.qcow2" % pool_name]
    assert not os.path.exists(clone_path)
    assert not run_module("libvirt_volume", pool=pool_name, name="clone.qcow2", state="absent")["changed"]


def test_volume_outlives_its_guest(pool, unique):
    pool_name, path = pool
    converge("libvirt_volume", pool=pool_name, name="data.qcow2", capacity="256MiB")
    disk = os.path.join(path, "data.qcow2")
    guest = unique + "g"
    xml = """<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>
    <source pool='%s' volume='data.qcow2'/><target dev='vda' bus='virtio'/></disk></devices>
</domain>""" % (guest, pool_name)
    xml_file = os.path.join(os.path.dirname(path), "guest.xml")
    with open(xml_file, "w") as out:
        out.write(xml)
    try:
        sh("virsh", "define", xml_file)
        assert "data.qcow2" in sh("virsh", "domblklist", guest).stdout
        sh("virsh", "undefine", guest)
    finally:
        sh("virsh", "-q", "undefine", guest, check=False)
    assert sh("virsh", "dominfo", guest, check=False).returncode != 0
    assert vol_info(pool_name, "data.qcow2")["Capacity"] == "%d bytes" % (256 * MIB)
    assert qemu_info(disk)["virtual-size"] == 256 * MIB
    assert not run_module("libvirt_volume", pool=pool_name, name="data.qcow2", capacity="256MiB")["changed"]


def test_pool_needs_to_exist_and_run(unique):
    result = run_module("libvirt_volume", pool=unique, name="x.qcow2", capacity="1G")
    assert result["failed"] and result["option"] == "pool" and "does not exist" in result["msg"]


@pytest.mark.parametrize("kind, args", [
    ("netfs", dict(path="/tmp/vct-netfs-mnt", source={"host": "nfs.example.com", "dir": "/export/vct"})),
    ("logical", dict(source={"name": "vg_vct", "devices": ["/dev/vctnosuchdisk"]})),
    ("iscsi", dict(source={"host": "san.example.com", "port": 3260, "iqn": "iqn.2013-06.com.example:vct"})),
])
def test_other_pool_types_are_defined_idempotently(unique, tmp_path, kind, args):
    """No NFS server, volume group or iSCSI target here: the pools are defined, not started, which
    proves libvirtd accepts their XML and that our normalisation matches what it stores."""
    if "path" in args:
        args = dict(args, path=str(tmp_path / "mnt"))
    try:
        result = converge("libvirt_pool", name=unique, type=kind, active=False, **args)
        # building a netfs pool only makes its mount point; a logical one is not formatted unasked
        assert result["actions"] == ["define pool %s" % unique] + (
            ["build pool %s" % unique] if kind == "netfs" else [])
        assert sh("virsh", "pool-dumpxml", unique).stdout.count("type='%s'" % kind) == 1
        moved = run_module("libvirt_pool", name=unique, type=kind, active=False,
                           **dict(args, source=dict(args["source"], host="other.example.com"))
                           if kind != "logical" else dict(args, source=dict(args["source"], name="vg_other")))
        assert moved["actions"] == ["redefine pool %s (source)" % unique] and "restart_required" not in moved
        # an existing pool: the options left out (type, path, source) are not managed
        assert not run_module("libvirt_pool", name=unique, active=False, autostart=False)["changed"]
        wrong = run_module("libvirt_pool", name=unique, type="dir", path="/tmp/x")
        assert wrong["failed"] and wrong["option"] == "type"
    finally:
        drop_pool(unique)
