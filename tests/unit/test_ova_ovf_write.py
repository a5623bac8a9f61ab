"""ova/ovf_write.py and the archive side of ova/export.py: descriptors valid against the DMTF OVF
XSDs (1.x and 2.0, loaded offline), the record read back, tar headers that tar and Python's tarfile
read, an OVA written from plain files, and a failure that leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import tarfile

import pytest
from lxml import etree

from ansible_collections.virtcloud.core.plugins.module_utils.ova import export, ovf_write

SCHEMAS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "ovf-schemas")
XSD = {"1.0": "ovf-1.1.1/dsp8023_1.1.1.xsd", "2.0": "ovf-2.0.1/dsp8023_2.0.1.xsd"}
MIB = 1 << 20


@pytest.fixture(scope="module")
def schemas():
    return {version: etree.XMLSchema(etree.parse(os.path.join(SCHEMAS, path))) for version, path in XSD.items()}


def spec(version="1.0", **extra):
    disks = [dict(href="g-disk1.vmdk", size=1234, capacity=1 << 30, populated_size=65536, bus="virtio",
                  controller=0, unit=0),
             dict(href="g-disk2.vmdk", size=None, capacity=3 * MIB, populated_size=None, bus="scsi",
                  controller=0, unit=1, controller_model="virtio-scsi"),
             dict(href="g-disk3.vmdk", size=99, capacity=MIB, populated_size=0, bus="ide", controller=1, unit=0),
             dict(href="g-disk4.vmdk", size=99, capacity=MIB, populated_size=0, bus="sata", controller=0, unit=2)]
    base = dict(name="web <&> 1", description="an appliance", ovf_version=version,
                os={"id": 96, "type": "debian10_64Guest", "description": "Debian"}, cpus=4, memory=1536 * MIB,
                firmware="efi", disks=disks, cdroms=[dict(bus="ide", controller=1, unit=1)],
                nics=[dict(network="lan", model="virtio", mac="52:54:00:00:00:01"),
                      dict(network="lan", model="e1000e", mac=None), dict(network="dmz", model=None, mac=None)],
                record={"digest": "d" * 64, "size": 20480})
    base.update(extra)
    return base


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_descriptor_validates(schemas, version):
    data = ovf_write.build(spec(version))
    doc = etree.fromstring(data)
    assert schemas[version].validate(doc), schemas[version].error_log
    ns = {"o": ovf_write.ENVELOPE[version], "r": ovf_write.RASD}
    assert doc.xpath("//o:Item[r:ResourceType=4]/r:VirtualQuantity/text()", namespaces=ns) == ["1536"]
    assert [n.get("{%s}name" % ns["o"]) for n in doc.xpath("//o:Network", namespaces=ns)] == ["lan", "dmz"]
    assert doc.xpath("//o:Item[r:ResourceType=10]/r:ResourceSubType/text()", namespaces=ns) == ["virtio", "E1000e"]
    # each disk sits on the controller of its bus: IDE secondary (Address 1) holds disk3 and the CD-ROM
    ide = doc.xpath("//o:Item[r:ResourceType=5]", namespaces=ns)
    assert len(ide) == 1 and ide[0].findtext("{%s}Address" % ovf_write.RASD) == "1"
    ide_id = ide[0].findtext("{%s}InstanceID" % ovf_write.RASD)
    assert doc.xpath("//o:Item[r:ResourceType=15]/r:Parent/text()", namespaces=ns) == [ide_id]
    assert doc.xpath("//o:Item[r:ResourceType=6]/r:ResourceSubType/text()", namespaces=ns) == ["virtio-scsi"]
    assert doc.xpath("//o:Item[r:ResourceType=20]/r:ResourceSubType/text()", namespaces=ns) == ["virtio", "AHCI"]
    assert doc.xpath("//*[local-name()='Config']/@*[local-name()='value']") == ["efi"]
    assert ovf_write.read_record(data + b"   \n") == {"version": version, "digest": "d" * 64, "size": 20480}


def test_minimal_descriptor_validates(schemas):
    """No disks, no NICs, BIOS, no description: still a valid envelope."""
    data = ovf_write.build(spec(disks=[], cdroms=[], nics=[], firmware="bios", description=None, record=None))
    assert schemas["1.0"].validate(etree.fromstring(data)), schemas["1.0"].error_log
    assert ovf_write.read_record(data) == {"version": "1.0", "digest": None, "size": None}


def test_read_record_is_safe():
    hostile = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               b'<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" '
               b'xmlns:vct="urn:virtcloud:core:ova" vct:exportDigest="&x;"/>')
    record = ovf_write.read_record(hostile)
    assert record is None or "root:" not in (record["digest"] or "")
    assert ovf_write.read_record(b"<domain/>") is None
    assert ovf_write.read_record(b"not xml") is None


@pytest.mark.parametrize("size", [0, 1, 12345, 8 ** 11 - 1, 8 ** 11, 20 << 30])
def test_tar_header_read_by_tarfile(size):
    block = export.tar_header("g-disk1.vmdk", size, 1700000000)
    info = tarfile.TarInfo.frombuf(block, "utf-8", "strict")
    assert (info.name, info.size, info.mtime, info.isreg()) == ("g-disk1.vmdk", size, 1700000000, True)
    assert export._tar_size(block[124:136]) == size


def test_member_base():
    assert export.member_base("web server #1") == "web_server_1"
    assert export.member_base("..") == "guest"
    assert len(export.member_base("x" * 300)) == 64


def files_spec(tmp_path, sizes):
    disks = []
    for index, size in enumerate(sizes, start=1):
        path = tmp_path / ("d%d.raw" % index)
        with open(path, "wb") as out:
            out.write(os.urandom(1000 * index))
            out.truncate(size)
        disks.append(dict(path=str(path), format="raw", capacity=size, href="g-disk%d.vmdk" % index, size=None,
                          populated_size=None, bus="virtio", controller=0, unit=index - 1, adapter="lsilogic"))
    return dict(spec(), base="g", disks=disks, cdroms=[], record=None)


def test_write_ova_from_files(tmp_path, schemas):
    dest = str(tmp_path / "out" / "g.ova")
    os.mkdir(tmp_path / "out")
    export.write_ova(dest, files_spec(tmp_path, [MIB, 2 * MIB]), "e" * 64)
    assert os.listdir(tmp_path / "out") == ["g.ova"]
    assert os.path.getsize(dest) % 10240 == 0
    with tarfile.open(dest) as archive:
        names = archive.getnames()
        assert names == ["g.ovf", "g.mf", "g-disk1.vmdk", "g-disk2.vmdk"]
        content = {name: archive.extractfile(name).read() for name in names}
    lines = content["g.mf"].decode().splitlines()
    assert lines == ["SHA256(%s)= %s" % (n, hashlib.sha256(content[n]).hexdigest()) for n in names if n != "g.mf"]
    doc = etree.fromstring(content["g.ovf"])
    assert schemas["1.0"].validate(doc), schemas["1.0"].error_log
    sizes = [int(f.get("{%s}size" % ovf_write.ENVELOPE["1.0"])) for f in doc.iter("{*}File")]
    assert sizes == [len(content["g-disk1.vmdk"]), len(content["g-disk2.vmdk"])]
    facts = export.read_ova(dest)
    assert facts == {"path": dest, "ovf_version": "1.0", "digest": "e" * 64, "size": os.path.getsize(dest),
                     "complete": True}
    # a truncated archive is not complete: a rerun would rewrite it
    with open(dest, "r+b") as handle:
        handle.truncate(os.path.getsize(dest) - 10240)
    assert export.read_ova(dest)["complete"] is False


def test_failure_removes_the_partial_archive(tmp_path, monkeypatch):
    dest = str(tmp_path / "g.ova")
    with open(dest, "wb") as old:
        old.write(b"old")
    calls = []

    def failing(out, disk):
        calls.append(disk["href"])
        if len(calls) == 2:
            out.write(b"x" * 5000)
            raise OSError(28, "No space left on device")
        return real(out, disk)

    real = export.write_disk
    monkeypatch.setattr(export, "write_disk", failing)
    with pytest.raises(OSError):
        export.write_ova(dest, files_spec(tmp_path, [MIB, MIB]), "e" * 64)
    assert calls == ["g-disk1.vmdk", "g-disk2.vmdk"]
    assert sorted(os.listdir(tmp_path)) == ["d1.raw", "d2.raw", "g.ova"]
    with open(dest, "rb") as old:
        assert old.read() == b"old"


def test_read_ova_of_foreign_files(tmp_path):
    assert export.read_ova(str(tmp_path / "none.ova")) is None
    junk = tmp_path / "junk.ova"
    junk.write_bytes(b"hello")
    assert export.read_ova(str(junk)) == {"path": str(junk), "ovf_version": None, "digest": None, "size": 5,
                                          "complete": False}


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_parser_reads_what_we_write(version):
    """ova/ovf.py (what ovf_info and ova_import read) gets back the hardware we described."""
    from ansible_collections.virtcloud.core.plugins.module_utils.ova import ovf

    parsed = ovf.parse(ovf_write.build(spec(version)))
    assert (parsed["version"], parsed["name"], parsed["cpus"], parsed["memory"], parsed["firmware"]) == \
        (version, "web <&> 1", 4, 1536 * MIB, "efi")
    assert parsed["os"]["id"] == 96 and parsed["os"]["type"] == "debian10_64Guest"
    assert [(d["bus"], d["unit"], d["capacity"], d["format"]) for d in parsed["disks"]] == [
        ("virtio", 0, 1 << 30, "streamOptimized"), ("scsi", 1, 3 * MIB, "streamOptimized"),
        ("ide", 0, MIB, "streamOptimized"), ("sata", 2, MIB, "streamOptimized")]
    assert parsed["disks"][1]["controller_model"] == "virtio-scsi"
    assert [c["bus"] for c in parsed["cdroms"]] == ["ide"]
    assert [(n["network"], n["model"], n["mac"]) for n in parsed["nics"]] == [
        ("lan", "virtio", "52:54:00:00:00:01"), ("lan", "e1000e", None), ("dmz", None, None)]
    assert parsed["warnings"] == [] and parsed["foreign"] == []
