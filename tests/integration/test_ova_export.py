"""virtcloud.core.ova_export against the real qemu:///system: a shut-off guest with a qcow2 and a raw
disk becomes an OVA; verified with tar, sha256sum, the DMTF XSD and qemu-img (independent paths)."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

import pytest
from lxml import etree

from conftest import run_module, sh
from test_libvirt_domain import workdir  # noqa: F401 pylint: disable=unused-import

URI = "qemu:///system"
SCHEMAS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "ovf-schemas")
XSD = {"1.0": "ovf-1.1.1/dsp8023_1.1.1.xsd", "2.0": "ovf-2.0.1/dsp8023_2.0.1.xsd"}
MIB = 1 << 20
MAC = "52:54:00:3c:00:2a"

DOMAIN = """<domain type='qemu'>
  <name>%(name)s</name>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='MiB'>128</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='%(qcow2)s'/><target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='%(raw)s'/><target dev='sdb' bus='sata'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/><target dev='sdc' bus='sata'/><readonly/>
    </disk>
    <interface type='user'><mac address='%(mac)s'/><model type='e1000'/></interface>
  </devices>
</domain>
"""


def virsh(*argv, check=True):
    return sh("virsh", "-c", URI, *argv, check=check)


def fill(path, pieces, size):
    """A raw file of `size` bytes holding `pieces` ({offset: bytes}); the rest is a hole."""
    with open(path, "wb") as out:
        for offset, data in pieces.items():
            out.seek(offset)
            out.write(data)
        out.truncate(size)


@pytest.fixture
def guest(libvirt_daemon, unique, workdir):
    """A shut-off guest: vda a qcow2 of 6 MiB (random data, text, a hole), sdb a raw 3 MiB disk."""
    source = os.path.join(workdir, "vda.raw")
    fill(source, {0: os.urandom(MIB), 3 * MIB + 4096: b"virtcloud ova export\n" * 5000}, 6 * MIB)
    qcow2 = os.path.join(workdir, "vda.qcow2")
    sh("qemu-img", "convert", "-f", "raw", "-O", "qcow2", source, qcow2)
    raw = os.path.join(workdir, "sdb.raw")
    fill(raw, {MIB: os.urandom(70000)}, 3 * MIB)
    xml = os.path.join(workdir, "domain.xml")
    with open(xml, "w") as out:
        out.write(DOMAIN % {"name": unique, "qcow2": qcow2, "raw": raw, "mac": MAC})
    virsh("define", xml)
    yield {"name": unique, "vda": qcow2, "vda_raw": source, "sdb": raw}
    virsh("destroy", unique, check=False)
    virsh("undefine", unique, check=False)


def leftovers(folder):
    return [f for f in os.listdir(folder) if f.endswith(".part")]


def members(path):
    """(name, size) of each member, in archive order, as GNU tar lists them."""
    out = []
    for line in sh("tar", "tvf", path).stdout.splitlines():
        fields = line.split()
        out.append((fields[-1], int(fields[2])))
    return out


def extract(path, folder):
    sh("tar", "xf", path, "-C", folder)
    return folder


def validate(descriptor, version):
    schema = etree.XMLSchema(etree.parse(os.path.join(SCHEMAS, XSD[version])))
    doc = etree.parse(descriptor)
    assert schema.validate(doc), schema.error_log
    return doc


def check_manifest(folder, mf):
    """Every line of the manifest matches sha256sum of the extracted file, and every member is listed."""
    listed = {}
    with open(os.path.join(folder, mf)) as handle:
        for line in handle:
            match = re.fullmatch(r"SHA256\((.+)\)= ([0-9a-f]{64})\n", line)
            assert match, line
            listed[match.group(1)] = match.group(2)
    for name, digest in listed.items():
        assert sh("sha256sum", os.path.join(folder, name)).stdout.split()[0] == digest, name
    return listed


def test_export_guest(guest, workdir):
    name = guest["name"]
    out = os.path.join(workdir, "out")
    os.mkdir(out)
    dest = os.path.join(out, "guest.ova")
    args = dict(name=name, dest=dest, uri=URI)

    predicted = run_module("ova_export", check=True, diff=True, **args)
    assert predicted["changed"] and not predicted.get("failed"), predicted
    assert os.listdir(out) == []  # check mode wrote nothing
    assert predicted["diff"]["before"] == {} and predicted["diff"]["after"]["path"] == dest

    applied = run_module("ova_export", diff=True, **args)
    assert applied["changed"] and applied["actions"] == predicted["actions"], applied
    assert os.listdir(out) == ["guest.ova"]
    assert applied["ova"]["size"] == os.path.getsize(dest)
    assert applied["diff"]["after"]["digest"] == predicted["diff"]["after"]["digest"]

    # member order: descriptor, manifest, disks in the guest's order; tar's own view of the sizes
    listing = members(dest)
    base = name
    assert [m for m, _size in listing] == [base + ".ovf", base + ".mf", base + "-disk1.vmdk", base + "-disk2.vmdk"]
    folder = extract(dest, tempfile.mkdtemp(dir=workdir))
    assert sorted(check_manifest(folder, base + ".mf")) == sorted(m for m, _size in listing if not m.endswith(".mf"))

    doc = validate(os.path.join(folder, base + ".ovf"), "1.0")
    ns = {"ovf": "http://schemas.dmtf.org/ovf/envelope/1",
          "rasd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"}
    assert doc.xpath("//ovf:VirtualSystem/ovf:Name/text()", namespaces=ns) == [name]
    assert doc.xpath("//ovf:OperatingSystemSection/@ovf:id", namespaces=ns) == ["96"]
    quantity = {t: doc.xpath("//ovf:Item[rasd:ResourceType=%d]/rasd:VirtualQuantity/text()" % t, namespaces=ns)
                for t in (3, 4)}
    assert quantity == {3: ["2"], 4: ["128"]}
    assert doc.xpath("//ovf:Item[rasd:ResourceType=10]/rasd:Address/text()", namespaces=ns) == [MAC]
    assert doc.xpath("//ovf:Item[rasd:ResourceType=10]/rasd:ResourceSubType/text()", namespaces=ns) == ["E1000"]
    assert len(doc.xpath("//ovf:Item[rasd:ResourceType=15]", namespaces=ns)) == 1
    sizes = dict(listing)
    files = {f.get("{%s}href" % ns["ovf"]): int(f.get("{%s}size" % ns["ovf"]))
             for f in doc.xpath("//ovf:References/ovf:File", namespaces=ns)}
    assert files == {m: sizes[m] for m in files} and len(files) == 2
    capacities = doc.xpath("//ovf:Disk/@ovf:capacity", namespaces=ns)
    assert capacities == [str(6 * MIB), str(3 * MIB)]

    # the disks: streamOptimized VMDKs with the guest's data, clean
    for member, source, fmt in (("-disk1.vmdk", guest["vda"], "qcow2"), ("-disk2.vmdk", guest["sdb"], "raw")):
        vmdk = os.path.join(folder, base + member)
        info = sh("qemu-img", "info", "--output=json", vmdk).stdout
        assert '"create-type": "streamOptimized"' in info and '"compressed": true' in info
        sh("qemu-img", "check", vmdk)
        sh("qemu-img", "compare", "-f", fmt, "-F", "vmdk", source, vmdk)

    # up to date: nothing written (same inode, same mtime), also in check mode
    before = os.stat(dest)
    again = run_module("ova_export", **args)
    assert again["changed"] is False and again["actions"] == [], again
    assert run_module("ova_export", check=True, **args)["changed"] is False
    after = os.stat(dest)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    # a changed disk makes it stale; force rewrites an up-to-date one
    with open(guest["sdb"], "r+b") as disk:
        disk.seek(2 * MIB)
        disk.write(b"changed")
    stale = run_module("ova_export", **args)
    assert stale["changed"], stale
    assert os.stat(dest).st_ino != before.st_ino
    sh("tar", "xf", dest, "-C", folder, base + "-disk2.vmdk")
    sh("qemu-img", "compare", "-f", "raw", "-F", "vmdk", guest["sdb"], os.path.join(folder, base + "-disk2.vmdk"))
    assert run_module("ova_export", force=True, **args)["changed"]
    assert leftovers(out) == []


def test_export_ovf2(guest, workdir):
    dest = os.path.join(workdir, "two.ova")
    result = run_module("ova_export", name=guest["name"], dest=dest, uri=URI, ovf_version="2.0")
    assert result["changed"] and result["ova"]["ovf_version"] == "2.0", result
    folder = extract(dest, tempfile.mkdtemp(dir=workdir))
    validate(os.path.join(folder, guest["name"] + ".ovf"), "2.0")
    # the 1.0 export of the same guest is a different package: a version change rewrites it
    changed = run_module("ova_export", name=guest["name"], dest=dest, uri=URI, ovf_version="1.0")
    assert changed["changed"] and changed["ova"]["ovf_version"] == "1.0", changed


def test_refusals_leave_nothing(guest, workdir):
    name = guest["name"]
    missing = run_module("ova_export", name=name, dest=os.path.join(workdir, "nope", "g.ova"), uri=URI)
    assert missing["failed"] and missing["option"] == "dest" and "does not exist" in missing["msg"], missing

    unknown = run_module("ova_export", name=name + "x", dest=os.path.join(workdir, "g.ova"), uri=URI)
    assert unknown["failed"] and unknown["option"] == "name" and name + "x" in unknown["msg"], unknown

    virsh("start", name)
    try:
        running = run_module("ova_export", name=name, dest=os.path.join(workdir, "g.ova"), uri=URI)
        assert running["failed"] and running["option"] == "name", running
        assert name in running["msg"] and "shut off" in running["msg"]
        checked = run_module("ova_export", check=True, name=name, dest=os.path.join(workdir, "g.ova"), uri=URI)
        assert checked["failed"] and checked["option"] == "name"
    finally:
        virsh("destroy", name, check=False)
    assert not os.path.exists(os.path.join(workdir, "g.ova")) and leftovers(workdir) == []


def test_failure_midway_removes_the_temporary_file(guest, workdir):
    """A file system that fills up while the disks are written: the error says so, the partial
    archive is removed, and an OVA already at dest stays as it was."""
    small = os.path.join(workdir, "small")
    os.mkdir(small)
    sh("mount", "-t", "tmpfs", "-o", "size=640k", "vct-ovaexport", small)
    try:
        dest = os.path.join(small, "g.ova")
        with open(dest, "wb") as old:
            old.write(b"previous content")
        result = run_module("ova_export", name=guest["name"], dest=dest, uri=URI)
        assert result["failed"], result
        assert "No space left" in result["msg"], result
        assert os.listdir(small) == ["g.ova"]
        with open(dest, "rb") as old:
            assert old.read() == b"previous content"
    finally:
        subprocess.run(["umount", small], check=False)
