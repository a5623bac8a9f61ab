"""ova_import over the fixture OVAs of tests/lib/ova.py (issue 22): the three flavours (generic,
VMware's ovftool, VirtualBox) in OVF 1.0 and 2.0, plain, gzip-compressed, chunked and in directory
form, each through the converge contract; the guest's hardware read back with virsh and its disk
compared with the source (qemu-img compare); a boot of the imported appliance; a round trip through
ova_export; and a failure in the middle of an import, which must leave nothing behind."""

from __future__ import annotations

import os
import tarfile
import time

import pytest
from lxml import etree

from conftest import converge, run_module, sh
from lib.guest import GUEST_MARKER
from lib.ova import build_ova, boot_disk, manifest_text, Part, write_tar
# place: the fixture (pool + network) of test_ova_import, used by name
from test_ova_import import place, virsh  # noqa: F401 pylint: disable=unused-import

MIB = 1 << 20
# what each flavour's descriptor says, and what the guest must get: disk bus, NIC model, OVF network
FLAVOUR = {"generic": ("ide", "e1000", "LAN"), "vmware": ("scsi", "vmxnet3", "VM Network"),
           "virtualbox": ("sata", "e1000", "NAT")}


def imported(place, src, name, network, **extra):
    place["guests"].append(name)
    return dict(src=src, name=name, uri="qemu:///system", pool=place["pool"], network_map={network: place["network"]},
                virt_type="qemu", **extra)


def dumpxml(name):
    return etree.fromstring(virsh("dumpxml", "--inactive", name).stdout.encode())


def same_disk(reference, volume, fmt="qcow2"):
    ref_fmt = "raw" if reference.endswith((".img", ".raw")) else "qcow2"
    return sh("qemu-img", "compare", "-f", ref_fmt, "-F", fmt, reference, volume, check=False).returncode == 0


def source_of(disk):
    source = disk.find("source")
    return source.get("pool"), source.get("volume")


def pool_files(place):
    return sorted(os.listdir(place["target"]))


# (flavour, OVF version, packing): every flavour and version once, every packing at least twice
CASES = [("generic", "1.0", "plain"), ("generic", "2.0", "gzip"), ("vmware", "1.0", "chunked"),
         ("vmware", "2.0", "directory"), ("virtualbox", "1.0", "directory"), ("virtualbox", "2.0", "gzip+chunked"),
         ("vmware", "1.0", "plain")]


@pytest.mark.parametrize("flavour, version, packing", CASES, ids=["-".join(c) for c in CASES])
def test_flavour_imports_with_its_hardware(place, unique, flavour, version, packing):
    folder = os.path.join(place["dir"], "pkg")
    os.makedirs(folder)
    layout = "directory" if packing == "directory" else "ova"
    src = os.path.join(folder, "appliance.ovf" if layout == "directory" else "appliance.ova")
    info = build_ova(src, flavour=flavour, ovf_version=version, layout=layout, gzip="gzip" in packing,
                     chunk_size=(5 * MIB) if "chunked" in packing else None, cpus=2, memory_mib=224,
                     name=unique + "a")
    if "chunked" in packing:
        assert len(info["disks"][0]["members"]) > 1
    package = sorted(os.listdir(folder))
    bus, model, network = FLAVOUR[flavour]
    name = unique + "g"
    result = converge("ova_import", **imported(place, src, name, network))
    volume = name + "-disk1.qcow2"
    assert result["actions"] == ["create volume %s in pool %s" % (volume, place["pool"]),
                                 "copy disk vmdisk1 of the OVA into volume %s" % volume, "define guest %s" % name]
    root = dumpxml(name)
    assert root.findtext("memory") == str(224 * 1024) and root.findtext("vcpu") == "2"
    assert root.find("os").get("firmware") is None  # BIOS, as the OVF says
    disks = root.findall("devices/disk[@device='disk']")
    assert [d.find("target").get("bus") for d in disks] == [bus]
    if bus == "scsi":  # ovftool's LSI Logic controller
        assert [c.get("model") for c in root.findall("devices/controller[@type='scsi']")] == ["lsilogic"]
    nics = root.findall("devices/interface")
    assert [(n.find("source").get("network"), n.find("model").get("type")) for n in nics] == [(place["network"], model)]
    path = os.path.join(place["target"], volume)
    assert source_of(disks[0]) == (place["pool"], volume)
    assert same_disk(boot_disk(), path)
    assert pool_files(place) == [volume]            # no temporary file left beside the volume
    assert sorted(os.listdir(folder)) == package    # nor beside the package


def test_imported_appliance_boots(place, unique):
    """The VMware-flavour OVA (ovftool's layout, SCSI disk, VMXNET3 NIC) imported and started boots
    its disk: the guest's init prints the marker on the serial console."""
    src = os.path.join(place["dir"], "boot.ova")
    build_ova(src, flavour="vmware", name=unique + "a")
    name = unique + "g"
    log = os.path.join(place["dir"], "console.log")
    result = run_module("ova_import", **imported(place, src, name, "VM Network", start=True,
                                                 domain={"serial": {"type": "file", "path": log}}))
    assert result["changed"] and result["domain"]["state"] == "running", result
    deadline, text = time.monotonic() + 90, ""
    while time.monotonic() < deadline and GUEST_MARKER not in text:
        time.sleep(0.5)
        text = open(log, errors="replace").read() if os.path.exists(log) else ""
    assert GUEST_MARKER in text, text[-3000:]


@pytest.fixture
def exported_guest(place, unique):
    """A shut-off guest to export: the boot disk as a qcow2 volume of the test pool, 2 vCPUs,
    320 MiB, an e1000 NIC on the test network."""
    name = unique + "src"
    disk = os.path.join(place["target"], name + ".qcow2")
    sh("qemu-img", "convert", "-f", "raw", "-O", "qcow2", boot_disk(), disk)
    virsh("pool-refresh", place["pool"])
    xml = os.path.join(place["dir"], "source.xml")
    with open(xml, "w") as out:
        out.write("<domain type='qemu'><name>%s</name><memory unit='MiB'>320</memory><vcpu>2</vcpu>"
                  "<os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'>"
                  "<driver name='qemu' type='qcow2'/><source file='%s'/><target dev='sda' bus='sata'/></disk>"
                  "<interface type='network'><source network='%s'/><model type='e1000'/></interface>"
                  "</devices></domain>" % (name, disk, place["network"]))
    place["guests"].append(name)
    virsh("define", xml)
    return name, disk


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_round_trip_through_ova_export(place, unique, exported_guest, version):
    source, disk = exported_guest
    ova = os.path.join(place["dir"], "exported.ova")
    exported = run_module("ova_export", name=source, dest=ova, uri="qemu:///system", ovf_version=version)
    assert exported["changed"], exported
    name = unique + "copy"
    # the OVF names the network after the libvirt network the NIC was on
    result = converge("ova_import", **imported(place, ova, name, place["network"]))
    before, after = dumpxml(source), dumpxml(name)
    for path in ("memory", "vcpu"):
        assert after.findtext(path) == before.findtext(path)
    assert after.findtext("memory") == str(320 * 1024) and after.findtext("vcpu") == "2"
    assert after.find("os").get("firmware") == before.find("os").get("firmware")
    nic = after.find("devices/interface")
    assert (nic.find("source").get("network"), nic.find("model").get("type")) == (place["network"], "e1000")
    volume = os.path.join(place["target"], name + "-disk1.qcow2")
    assert [source_of(d) for d in after.findall("devices/disk[@device='disk']")] == \
        [(place["pool"], os.path.basename(volume))]
    assert same_disk(disk, volume) and same_disk(boot_disk(), volume)
    assert result["domain"]["ova_identity"]


def two_disk_ova(folder, name, broken_second):
    """A generic OVA with two disks; the manifest's digest of the second is wrong when asked."""
    second = os.path.join(folder, "second.raw")
    with open(second, "wb") as out:
        out.write(b"second disk\n" * 50000)
        out.truncate(4 * MIB)
    ova = os.path.join(folder, "two.ova")
    info = build_ova(ova, disk=[boot_disk(), second], name=name)
    if broken_second:
        data = {}
        with open(ova, "rb") as handle:
            with tarfile.open(fileobj=handle) as tar:
                for member in tar.getmembers():
                    data[member.name] = tar.extractfile(member).read()
        mf = info["manifest"]
        parts = [Part(n, data=data[n]) for n in info["members"] if n != mf]
        text = manifest_text(parts, "sha256").replace(
            info["digests"][info["disks"][1]["href"]].encode(), b"0" * 64)
        write_tar(ova, [parts[0], Part(mf, data=text)] + parts[1:])
    return ova


def test_failure_in_the_middle_leaves_nothing(place, unique):
    """The second disk fails its manifest check while it is copied: the first disk's volume (done by
    then) is removed, no guest is defined, nothing is left in the pool; check mode predicts it."""
    folder = os.path.join(place["dir"], "pkg")
    os.makedirs(folder)
    ova = two_disk_ova(folder, unique + "a", broken_second=True)
    name = unique + "g"
    spec = imported(place, ova, name, "LAN")
    predicted = run_module("ova_import", check=True, **spec)
    assert predicted.get("failed") and predicted["msg"].startswith("src:") and "manifest" in predicted["msg"], predicted
    result = run_module("ova_import", **spec)
    assert result.get("failed") and "does not match the manifest" in result["msg"], result
    assert "rolled back" in result["msg"] and name + "-disk1.qcow2" in result["msg"]
    assert result["actions"][:3] == ["create volume %s-disk1.qcow2 in pool %s" % (name, place["pool"]),
                                     "copy disk vmdisk1 of the OVA into volume %s-disk1.qcow2" % name,
                                     "create volume %s-disk2.qcow2 in pool %s" % (name, place["pool"])]
    assert pool_files(place) == [] and virsh("dominfo", name, check=False).returncode != 0
    assert virsh("vol-list", place["pool"]).stdout.count(name) == 0
    assert sorted(os.listdir(folder)) == ["second.raw", "two.ova"]


def test_preallocated_raw_larger_than_the_pool_is_refused_before_writing(place, unique, tmp_path):
    """A pool (a 24 MiB tmpfs) with less free space than a preallocated raw volume of the OVA's 32 MiB
    disk needs: refused before anything is written, in check mode and in a real run."""
    small = tmp_path / "small"
    small.mkdir()
    sh("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", small)
    try:
        pool = unique + "s"
        virsh("pool-create-as", pool, "dir", "--target", small)
        try:
            src = os.path.join(place["dir"], "a.ova")
            build_ova(src, name=unique + "a")  # a 32 MiB disk of ~13 MB data
            name = unique + "g"
            spec = {**imported(place, src, name, "LAN"), "pool": pool}
            for check in (True, False):
                refused = run_module("ova_import", check=check, disk_format="raw", preallocation="falloc", **spec)
                assert refused.get("failed") and refused["msg"].startswith("src:") and "free" in refused["msg"], refused
                assert os.listdir(small) == [] and virsh("dominfo", name, check=False).returncode != 0
        finally:
            virsh("pool-destroy", pool, check=False)
    finally:
        sh("umount", small, check=False)
