"""The fixture builders of tests/lib/ova.py produce what they claim.

Good packages: member order and types (tarfile listing), descriptors well-formed and, for the
generic and VMware layouts, valid against the DMTF OVF XSDs; manifest lines in each tool's style with
the right digests; gzip and chunked members that reassemble into the disk. Hostile archives: each
carries exactly the defect its case names, and nothing else is written beside it. One integration
check boots the generic OVA's disk in qemu:///system.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import tarfile

import pytest
from lxml import etree

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.ova import archive, manifest, ovf
from ansible_collections.virtcloud.core.plugins.module_utils.storage import qemu_img
from lib import ova
from lib.guest import GUEST_MARKER

# the DMTF schemas, kept in the repository (tests/data/ovf-schemas, README there)
_SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "ovf-schemas")
SCHEMAS = {"1.0": os.path.join(_SCHEMA_DIR, "ovf-1.1.1", "dsp8023_1.1.1.xsd"),
           "2.0": os.path.join(_SCHEMA_DIR, "ovf-2.0.1", "dsp8023_2.0.1.xsd")}
SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
LAYOUTS = [(flavour, version) for flavour in ova.FLAVOURS for version in ("1.0", "2.0")]


def members(path):
    with tarfile.open(path) as tar:
        return [(m.name, m.type, m.size) for m in tar.getmembers()]


def names(path):
    return [name for name, _kind, _size in members(path)]


def member_data(path, name):
    with tarfile.open(path) as tar:
        return tar.extractfile(name).read()


def parse(data):
    return etree.fromstring(data, SAFE)


def manifest_entries(text, flavour):
    pattern = {"virtualbox": r"^(SHA\d+) \((.+)\) = ([0-9a-f]+)$"}.get(flavour, r"^(SHA\d+)\((.+)\)= ([0-9a-f]+)$")
    lines = text.decode().splitlines()
    found = [re.match(pattern, line) for line in lines]
    assert all(found), lines
    return {m.group(2): (m.group(1).lower(), m.group(3)) for m in found}


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    base = tmp_path_factory.mktemp("ova-layouts")
    return {(flavour, version): ova.build_ova(base / ("%s-%s.ova" % (flavour, version)), flavour=flavour,
                                              ovf_version=version)
            for flavour, version in LAYOUTS}


# ---------------------------------------------------------------- the bootable disk
def test_boot_disk_is_a_syslinux_fat_disk_and_its_vmdk_is_stream_optimized():
    raw = ova.boot_disk()
    assert os.path.getsize(raw) == ova.BOOT_DISK_MIB * ova.MiB
    listing = subprocess.run(["mdir", "-a", "-b", "-i", raw, "::/"], capture_output=True, text=True, check=True).stdout
    files = {os.path.basename(line).lower() for line in listing.split()}
    assert {"ldlinux.sys", "syslinux.cfg", "vmlinuz", "initrd.gz"} <= files, listing
    with open(raw, "rb") as handle:
        boot = handle.read(512)
    assert boot[510:512] == b"\x55\xaa" and b"SYSLINUX" in boot
    info = ova.image_info(ova.boot_vmdk())
    assert info["format"] == "vmdk" and info["virtual-size"] == ova.BOOT_DISK_MIB * ova.MiB
    assert info["format-specific"]["data"]["create-type"] == "streamOptimized"
    # cached: a second call builds nothing and answers the same path
    assert ova.boot_vmdk() == ova.boot_vmdk()


# ---------------------------------------------------------------- good packages
@pytest.mark.parametrize("flavour,version", LAYOUTS)
def test_layout_member_order_types_and_manifest(packages, flavour, version):
    info = packages[(flavour, version)]
    listed = members(info["path"])
    assert [name for name, _kind, _size in listed] == info["members"]
    assert all(kind == tarfile.REGTYPE for _name, kind, _size in listed)
    expected = ["vct-tiny.ovf", "vct-tiny.mf", "vct-tiny-disk1.vmdk"]
    if flavour == "virtualbox":    # VirtualBox writes its manifest last
        expected = ["vct-tiny.ovf", "vct-tiny-disk1.vmdk", "vct-tiny.mf"]
    assert info["members"] == expected
    entries = manifest_entries(member_data(info["path"], "vct-tiny.mf"), flavour)
    assert set(entries) == {"vct-tiny.ovf", "vct-tiny-disk1.vmdk"}
    for name, (algorithm, digest) in entries.items():
        assert algorithm == "sha256"
        assert hashlib.sha256(member_data(info["path"], name)).hexdigest() == digest == info["digests"][name]
    with tarfile.open(info["path"]) as tar:   # a ustar archive, as the OVF spec requires
        assert tar.getmember("vct-tiny.ovf").mode == 0o644
    with open(info["path"], "rb") as handle:
        assert handle.read(512)[257:263] == b"ustar\x00"


@pytest.mark.parametrize("flavour,version", LAYOUTS)
def test_layout_descriptor(packages, flavour, version):
    info = packages[(flavour, version)]
    data = member_data(info["path"], "vct-tiny.ovf")
    assert data == info["descriptor"]
    root = parse(data)
    ovf = ova.NS["ovf1" if version == "1.0" else "ovf2"]
    assert root.tag == "{%s}Envelope" % ovf
    ns = {"ovf": ovf, "rasd": ova.NS["rasd"], "vssd": ova.NS["vssd"], "vmw": ova.NS["vmw"], "vbox": ova.NS["vbox"]}
    text = data.decode()
    href = root.find("ovf:References/ovf:File", ns)
    assert href.get("{%s}href" % ovf) == "vct-tiny-disk1.vmdk"
    assert int(href.get("{%s}size" % ovf)) == dict((n, s) for n, _kind, s in members(info["path"]))["vct-tiny-disk1.vmdk"]
    disk = root.find("ovf:DiskSection/ovf:Disk", ns)
    assert disk.get("{%s}format" % ovf) == ova.FORMAT_STREAM
    vst = root.find(".//vssd:VirtualSystemType", ns).text
    subtypes = [e.text for e in root.iter() if isinstance(e.tag, str) and e.tag.endswith("}ResourceSubType")]
    types = [e.text for e in root.iter() if isinstance(e.tag, str) and e.tag.endswith("}ResourceType")]
    assert types.count("17") == 1 and types.count("10") == 1
    if flavour == "vmware":
        assert root.nsmap.get("vmw") == ova.NS["vmw"] and vst == "vmx-13"
        assert "lsilogic" in subtypes and "VmxNet3" in subtypes and "6" in types
        assert disk.get("{%s}capacity" % ovf) == "32"
        assert disk.get("{%s}capacityAllocationUnits" % ovf) == "byte * 2^20"
        assert "Generated by VMware ovftool" in text
    elif flavour == "virtualbox":
        assert root.find(".//vbox:Machine", ns) is not None and vst == "virtualbox-2.2"
        assert "AHCI" in subtypes and "E1000" in subtypes and "20" in types
        assert disk.get("{%s}capacity" % ovf) == str(32 << 20)
        if version == "2.0":   # VirtualBox's own OVF 2.0 quirks
            assert ova.VBOX_SASD in root.nsmap.values() and ">/disk/vmdisk1<" in text
    else:
        assert set(root.nsmap) == {None, "ovf", "rasd", "vssd", "xsi"} | ({"sasd", "epasd"} if version == "2.0" else set())
        assert "5" in types and "E1000" in subtypes     # IDE controller
    if flavour != "virtualbox":
        schema = etree.XMLSchema(etree.parse(SCHEMAS[version]))
        assert schema.validate(root), schema.error_log


@pytest.mark.parametrize("algorithm", ["sha1", "sha512", None])
def test_manifest_algorithms(tmp_path, algorithm):
    info = ova.build_ova(tmp_path / "m.ova", flavour="vmware", manifest=algorithm)
    if algorithm is None:
        assert info["members"] == ["vct-tiny.ovf", "vct-tiny-disk1.vmdk"] and info["manifest"] is None
        return
    entries = manifest_entries(member_data(info["path"], "vct-tiny.mf"), "vmware")
    for name, (found, digest) in entries.items():
        assert found == algorithm
        assert hashlib.new(algorithm, member_data(info["path"], name)).hexdigest() == digest


def test_gzip_and_chunked_members(tmp_path):
    plain = member_data(ova.build_ova(tmp_path / "plain.ova")["path"], "vct-tiny-disk1.vmdk")
    info = ova.build_ova(tmp_path / "gz.ova", flavour="vmware", gzip=True, chunk_size=4 << 20)
    listed = info["members"]
    chunks = [n for n in listed if n.startswith("vct-tiny-disk1.vmdk.gz.")]
    assert listed[:2] == ["vct-tiny.ovf", "vct-tiny.mf"] and listed[2:] == chunks
    assert chunks == ["vct-tiny-disk1.vmdk.gz.%09d" % i for i in range(len(chunks))] and len(chunks) >= 2
    data = [member_data(info["path"], n) for n in chunks]
    assert all(len(d) == 4 << 20 for d in data[:-1]) and 0 < len(data[-1]) <= 4 << 20
    assert gzip.decompress(b"".join(data)) == plain
    root = parse(member_data(info["path"], "vct-tiny.ovf"))
    file_ = root.find("{%(o)s}References/{%(o)s}File" % {"o": ova.NS["ovf1"]})
    attrs = {k.split("}")[1]: v for k, v in file_.attrib.items()}
    assert attrs == {"href": "vct-tiny-disk1.vmdk.gz", "id": "file1", "size": str(sum(map(len, data))),
                     "compression": "gzip", "chunkSize": str(4 << 20)}
    entries = manifest_entries(member_data(info["path"], "vct-tiny.mf"), "vmware")
    assert set(entries) == {"vct-tiny.ovf", *chunks}   # ovftool lists every chunk


def test_directory_layout_nics_firmware_and_extra(tmp_path):
    source = tmp_path / "blank.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(source), "8M"], check=True)
    info = ova.build_ova(tmp_path / "x.ovf", flavour="vmware",
                         layout="directory", disk=[None, str(source)], firmware="efi", name="x", cpus=2,
                         memory_mib=256,
                         nics=["VM Network", {"network": "Other", "model": "e1000", "mac": "00:50:56:01:02:03"}],
                         extra={"product": {"product": "Tiny", "vendor": "virtcloud", "version": "1.0"},
                                "properties": [{"key": "greeting", "value": "hi", "user_configurable": True}],
                                "eula": "Be nice.", "annotation": "a note", "cores_per_socket": 2})
    assert sorted(os.listdir(tmp_path)) == sorted(["blank.qcow2", "x.ovf", "x.mf", "x-disk1.vmdk", "x-disk2.vmdk"])
    for name, digest in info["digests"].items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    assert ova.image_info(str(tmp_path / "x-disk2.vmdk"))["virtual-size"] == 8 << 20
    text = (tmp_path / "x.ovf").read_text()
    root = parse(text.encode())
    assert 'vmw:key="firmware" vmw:value="efi"' in text and "<vmw:CoresPerSocket" in text
    assert text.count("<rasd:ResourceType>17<") == 2 and text.count("<rasd:ResourceType>10<") == 2
    assert "<rasd:Address>00:50:56:01:02:03</rasd:Address>" in text and "<rasd:ResourceSubType>E1000<" in text
    assert [n.get("{%s}name" % ova.NS["ovf1"]) for n in root.iter("{%s}Network" % ova.NS["ovf1"])] == ["VM Network", "Other"]
    for needle in ("<Product>Tiny</Product>", 'ovf:key="greeting"', "<License>Be nice.</License>", "<Annotation>a note"):
        assert needle in text
    assert etree.XMLSchema(etree.parse(SCHEMAS["1.0"])).validate(root)


def test_bad_arguments_are_refused(tmp_path):
    for kwargs in ({"flavour": "hyperv"}, {"ovf_version": "1.1"}, {"manifest": "md5"}, {"firmware": "efi"}):
        with pytest.raises(ValueError):
            ova.build_ova(tmp_path / "bad.ova", **kwargs)
    assert os.listdir(tmp_path) == []     # scratch directory removed, no partial OVA


# ---------------------------------------------------------------- hostile archives
def _ovf(path):
    return member_data(path, "hostile.ovf")


def _check_member(name, kind=tarfile.REGTYPE, linkname=None):
    def check(path):
        with tarfile.open(path) as tar:
            member = tar.getmember(name)
        assert member.type == kind and (linkname is None or member.linkname == linkname)
    return check


def _check_doctype(*needles):
    def check(path):
        data = _ovf(path)
        assert data.split(b"\n")[1].startswith(b"<!DOCTYPE Envelope")   # right after the XML declaration
        for needle in needles:
            assert needle.encode() in data
    return check


def _check_href(href):
    def check(path):
        root = parse(_ovf(path))
        assert root.find(".//{%s}File" % ova.NS["ovf1"]).get("{%s}href" % ova.NS["ovf1"]) == href
        assert "hostile-disk1.vmdk" in names(path)
    return check


def _backing(fmt):
    def check(path, tmp_path):
        name = next(n for n in names(path) if n.startswith("hostile-disk1"))
        disk = tmp_path / "probe"
        disk.write_bytes(member_data(path, name))
        info = ova.image_info(str(disk))       # qemu-img info does not open backing files
        assert info["format"] == fmt and info["backing-filename"] == "/etc/hostname"
    return check


def _data_file(path, tmp_path):
    disk = tmp_path / "probe"
    disk.write_bytes(member_data(path, "hostile-disk1.qcow2"))
    info = ova.image_info(str(disk))
    assert info["format-specific"]["data"]["data-file"] == "/etc/hostname"


def _check_gzip_bomb(path):
    assert os.path.getsize(path) < 8 << 20
    data = member_data(path, "hostile-disk1.vmdk.gz")
    block = gzip.compress(bytes(16 << 20), compresslevel=9, mtime=0)
    count = ova.GZIP_BOMB_EXPANDS // (16 << 20)
    assert data.endswith(block * count)
    assert gzip.decompress(data[:len(data) - len(block) * count])[:4] == b"KDMV"
    assert ova.GZIP_BOMB_EXPANDS >= 4 << 30


def _check_manifest(path):
    entries = manifest_entries(member_data(path, "hostile.mf"), "generic")
    listed = names(path)
    assert entries["hostile.ovf"][1] == hashlib.sha256(_ovf(path)).hexdigest()
    wrong = [n for n, (_algorithm, d) in entries.items()
             if n not in listed or hashlib.sha256(member_data(path, n)).hexdigest() != d]
    assert len(wrong) == 1
    return wrong[0]


def _check_truncated(path):
    with tarfile.open(path) as tar, pytest.raises(tarfile.ReadError):
        for member in tar:
            tar.extractfile(member).read()
    assert members_prefix(path) == ["hostile.ovf", "hostile.mf", "hostile-disk1.vmdk"]


def members_prefix(path):
    """Names of the headers before the archive ends (a streaming read)."""
    names = []
    with tarfile.open(path, "r|") as tar:
        try:
            for member in tar:
                names.append(member.name)
        except tarfile.ReadError:
            pass
    return names


CHECKS = {
    "member-dotdot": _check_member("../hostile-disk1.vmdk"),
    "member-dotdot-inner": _check_member("sub/../../hostile-disk1.vmdk"),
    "member-absolute": _check_member("/tmp/hostile-disk1.vmdk"),
    "member-symlink": _check_member("hostile-disk1.vmdk", tarfile.SYMTYPE, "/etc/hostname"),
    "member-hardlink": _check_member("hostile-disk1.vmdk", tarfile.LNKTYPE, "etc/hostname"),
    "member-device": _check_member("hostile-disk1.vmdk", tarfile.CHRTYPE),
    "member-fifo": _check_member("hostile-disk1.vmdk", tarfile.FIFOTYPE),
    "member-duplicate": lambda p: names(p).count("hostile-disk1.vmdk") == 2 or pytest.fail(),
    "ovf-doctype": _check_doctype(),
    "ovf-billion-laughs": _check_doctype('<!ENTITY lol9 "&lol8;&lol8;', "<Name>&lol9;</Name>"),
    "ovf-xxe": _check_doctype('SYSTEM "file:///etc/hostname"', "<Name>&xxe;</Name>"),
    "ovf-external-dtd": _check_doctype('SYSTEM "http://198.18.0.1/x.dtd"'),
    "href-parent": _check_href("../hostile-disk1.vmdk"),
    "href-absolute": _check_href("/etc/hostname"),
    "href-url": _check_href("http://198.18.0.1/hostile-disk1.vmdk"),
    "href-file-url": _check_href("file:///etc/hostname"),
    "vmdk-flat-extent": lambda p: (member_data(p, "hostile-disk1.vmdk").startswith(b"# Disk DescriptorFile")
                                   and b'FLAT "/etc/hostname"' in member_data(p, "hostile-disk1.vmdk")) or pytest.fail(),
    "vmdk-backing": _backing("vmdk"),
    "qcow2-backing": _backing("qcow2"),
    "qcow2-data-file": _data_file,
    "capacity-petabyte": lambda p: b'ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^50"' in _ovf(p) or pytest.fail(),
    "gzip-bomb": _check_gzip_bomb,
    "manifest-mismatch": lambda p: _check_manifest(p) == "hostile-disk1.vmdk" or pytest.fail(),
    "manifest-missing-file": lambda p: _check_manifest(p) == "hostile-disk2.vmdk" or pytest.fail(),
    "tar-truncated": _check_truncated,
    "not-ovf": lambda p: parse(_ovf(p)).tag == "{http://www.w3.org/1999/xhtml}html" or pytest.fail(),
    "two-ovf": lambda p: [n for n in names(p) if n.endswith(".ovf")] == ["hostile.ovf", "second.ovf"] or pytest.fail(),
}


def test_every_hostile_case_has_a_check_and_an_expectation():
    assert sorted(CHECKS) == sorted(ova.HOSTILE_IDS) and len(set(ova.HOSTILE_IDS)) == len(ova.HOSTILE_IDS)
    assert all(case.expect and case.stage in ("archive", "ovf", "manifest", "disk", "capacity")
               for case in ova.HOSTILE_CASES)
    with pytest.raises(ValueError):
        ova.hostile_ova("/nonexistent/x.ova", "no-such-case")


@pytest.mark.parametrize("case", ova.HOSTILE_CASES, ids=ova.HOSTILE_IDS)
def test_hostile_case(tmp_path, case):
    where = tmp_path / "out"
    where.mkdir()
    dest = where / (case.id + ".ova")
    assert ova.hostile_ova(dest, case.id) == case
    assert os.listdir(where) == [dest.name]          # nothing else written, scratch removed
    check = CHECKS[case.id]
    if check.__code__.co_argcount == 2:
        check(str(dest), tmp_path)
    else:
        check(str(dest))
    if case.stage not in ("archive",):               # the archive itself is sound: only its content is hostile
        assert members_prefix(str(dest))[0] == "hostile.ovf"


@pytest.mark.parametrize("case", [c for c in ova.HOSTILE_CASES if c.stage != "capacity"],
                         ids=[c.id for c in ova.HOSTILE_CASES if c.stage != "capacity"])
def test_hostile_case_expectation_matches_the_collection(tmp_path, case):
    """Each case's `expect` is what the collection's own checks say today: the archive reader, the
    OVF parser, the manifest and the image probe (storage.qemu_img) refuse it naming src. (The
    capacity cases belong to ova_import's space checks.)"""
    path = str(tmp_path / "package.ova")  # a neutral name: the message carries the path
    ova.hostile_ova(path, case)
    with pytest.raises(InputError) as refused:
        source = archive.Source.open(path)
        ovf.parse(source.descriptor)
        member = source.member(source.manifest_name)
        with open(member.path, "rb") as handle:
            handle.seek(member.offset)
            entries = manifest.parse(handle.read(member.size).decode())
        for name, (algorithm, digest) in entries.items():
            if manifest.hash_member(source.member(name), algorithm) != digest:
                raise InputError("src", "%s does not match the manifest" % name)
        disk = next(m for m in source.members() if m.name.startswith("hostile-disk1"))
        probe = tmp_path / disk.name
        with open(disk.path, "rb") as handle:
            handle.seek(disk.offset)
            probe.write_bytes(handle.read(disk.size))
        qemu_img.source_info(str(probe), "src")
    assert refused.value.option == "src"
    assert case.expect.lower() in str(refused.value).lower(), str(refused.value)


# ---------------------------------------------------------------- benchmark fixture
def test_big_ova_helper_small(tmp_path):
    size = 8 << 20
    info = ova.big_ova(tmp_path / "big.ova", size=size)
    assert os.path.exists(info["path"]) and info["members"] == ["vct-bench.ovf", "vct-bench.mf", "vct-bench-disk1.vmdk"]
    assert info["disks"][0]["capacity"] == size
    disk = tmp_path / "disk.vmdk"
    disk.write_bytes(member_data(info["path"], "vct-bench-disk1.vmdk"))
    raw = tmp_path / "disk.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(disk), str(raw)], check=True)
    data = raw.read_bytes()
    seed = hashlib.sha256(b"virtcloud-bench").digest()
    assert len(data) == size
    assert data[:1 << 20] == ova._prng_block(seed, 0) and data[1 << 20:2 << 20] == bytes(1 << 20)
    assert data[2 << 20:3 << 20] == ova._prng_block(seed, 2) and data[4 << 20:] == bytes(4 << 20)
    again = ova.big_ova(size=size)
    assert json.dumps(again["digests"]) == json.dumps(info["digests"])   # cached, not rebuilt


# ---------------------------------------------------------------- it boots
def test_generic_ova_disk_boots(libvirt_daemon, tmp_path, unique):
    """Extract the generic OVA's disk, convert it to qcow2 and boot it (BIOS, IDE, TCG)."""
    info = ova.build_ova(tmp_path / "tiny.ova")
    os.chmod(tmp_path, 0o755)
    vmdk = tmp_path / "disk.vmdk"
    vmdk.write_bytes(member_data(info["path"], info["disks"][0]["href"]))
    qcow2 = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "vmdk", "-O", "qcow2", str(vmdk), str(qcow2)], check=True)
    console = ova.boot_and_wait(str(qcow2), unique, str(tmp_path), timeout=60)
    assert GUEST_MARKER in console
    assert subprocess.run(["virsh", "-c", "qemu:///system", "dominfo", unique], capture_output=True,
                          check=False).returncode != 0     # removed afterwards
