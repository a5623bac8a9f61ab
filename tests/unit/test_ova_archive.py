"""OVA archives and directory-form OVF packages: members as byte ranges, manifests, and a hostile
corpus built here (tar tricks, links, devices, truncation, DOCTYPE/entity attacks, hrefs leaving the
package), each refused with an InputError naming `src` and nothing written."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.ova import manifest as mf
from ansible_collections.virtcloud.core.plugins.module_utils.ova import ovf
from ansible_collections.virtcloud.core.plugins.module_utils.ova.archive import MAX_MEMBERS, Source

DESCRIPTOR = b"""<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
 <References><File ovf:id="file1" ovf:href="%s"%s/></References>
 <DiskSection><Info>d</Info><Disk ovf:diskId="d1" ovf:fileRef="file1" ovf:capacity="1048576"/></DiskSection>
 <VirtualSystem ovf:id="vm"><Info>v</Info>
  <VirtualHardwareSection><Info>h</Info>
   <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType>
    <rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
   <Item><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType>
    <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:VirtualQuantity>256</rasd:VirtualQuantity></Item>
  </VirtualHardwareSection>
 </VirtualSystem>
</Envelope>
"""
DISK = b"KDMV" + bytes(range(256)) * 40


def descriptor(href="disk1.vmdk", attrs=""):
    return DESCRIPTOR % (href.encode(), attrs.encode())


def regular(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special(name, kind, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def write_ova(path, entries, fmt=tarfile.USTAR_FORMAT):
    with tarfile.open(path, "w", format=fmt) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return str(path)


def package(tmp_path, *extra, desc=None, fmt=tarfile.USTAR_FORMAT, name="pkg.ova"):
    entries = [regular("vm.ovf", desc if desc is not None else descriptor()), regular("disk1.vmdk", DISK)]
    return write_ova(tmp_path / name, entries + list(extra), fmt)


def snapshot(folder):
    return sorted((os.path.relpath(os.path.join(d, f), folder), os.lstat(os.path.join(d, f)).st_size,
                   os.lstat(os.path.join(d, f)).st_mtime_ns)
                  for d, dirs, files in os.walk(folder) for f in files + dirs)


def refused(path, match):
    """Open and read the package as an importer would; it must be refused naming src, writing nothing."""
    folder = os.path.dirname(path)
    before = snapshot(folder)
    with pytest.raises(InputError) as err:
        source = Source.open(path, "src")
        ovf.parse(source.descriptor, "src")
    assert err.value.option == "src"
    assert match in err.value.msg, err.value.msg
    assert snapshot(folder) == before
    assert not os.path.exists("/tmp/pwned"), "an archive member was extracted"
    return err.value.msg


# ------------------------------------------------------------------------------ good packages
@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_members_are_byte_ranges_of_the_ova(tmp_path, fmt):
    long_name = "a-very-long-disk-name-" + "x" * 120 + ".vmdk"  # GNU longname / pax path record
    entries = [regular("vm.ovf", descriptor()), regular("disk1.vmdk", DISK), regular("vm.mf", b""),
               regular("vm.cert", b"cert")]
    if fmt != tarfile.USTAR_FORMAT:
        entries.append(regular(long_name, b"long"))
    path = write_ova(tmp_path / "a.ova", entries, fmt)
    source = Source.open(path)
    assert source.kind == "ova" and source.descriptor_name == "vm.ovf" and source.descriptor == descriptor()
    assert (source.manifest_name, source.certificate_name, source.warnings) == ("vm.mf", "vm.cert", [])
    names = ["vm.ovf", "disk1.vmdk", "vm.mf", "vm.cert"] + ([long_name] if fmt != tarfile.USTAR_FORMAT else [])
    assert [m.name for m in source.members()] == names
    disk = source.member("disk1.vmdk")
    with open(path, "rb") as f:
        f.seek(disk.offset)
        assert f.read(disk.size) == DISK
    assert disk.size == len(DISK) and disk.path == path
    if fmt != tarfile.USTAR_FORMAT:
        assert source.member(long_name).read() == b"long"


def test_descriptor_not_first_is_a_warning(tmp_path):
    path = write_ova(tmp_path / "a.ova", [regular("disk1.vmdk", DISK), regular("vm.ovf", descriptor())])
    source = Source.open(path)
    assert source.descriptor_name == "vm.ovf"
    assert "not the archive's first member" in source.warnings[0]


def test_dot_slash_prefix_and_top_directory_entry_are_accepted(tmp_path):
    top = tarfile.TarInfo("./")
    top.type = tarfile.DIRTYPE
    path = write_ova(tmp_path / "a.ova", [(top, None), regular("./vm.ovf", descriptor()),
                                          regular("./disk1.vmdk", DISK)])
    assert [m.name for m in Source.open(path).members()] == ["vm.ovf", "disk1.vmdk"]


def test_chunked_file_members(tmp_path):
    chunks = [DISK[:4096], DISK[4096:8192], DISK[8192:]]
    entries = [regular("vm.ovf", descriptor("disk1.vmdk", ' ovf:chunkSize="4096"'))]
    entries += [regular("disk1.vmdk.%09d" % i, data) for i, data in enumerate(chunks)]
    source = Source.open(write_ova(tmp_path / "c.ova", entries))
    members = source.file_members("disk1.vmdk", 4096)
    assert [m.name for m in members] == ["disk1.vmdk.000000000", "disk1.vmdk.000000001", "disk1.vmdk.000000002"]
    assert b"".join(m.read() for m in members) == DISK
    with pytest.raises(InputError, match="not the chunk size 2048"):
        source.file_members("disk1.vmdk", 2048)


def test_directory_form_ovf(tmp_path):
    (tmp_path / "vm.ovf").write_bytes(descriptor())
    (tmp_path / "disk1.vmdk").write_bytes(DISK)
    (tmp_path / "vm.mf").write_text("SHA256(disk1.vmdk)= %s\n" % hashlib.sha256(DISK).hexdigest())
    (tmp_path / "unrelated.iso").write_bytes(b"not part of the package")
    source = Source.open(str(tmp_path / "vm.ovf"))
    assert source.kind == "ovf" and source.manifest_name == "vm.mf" and source.certificate_name is None
    assert [m.name for m in source.members()] == ["vm.ovf", "disk1.vmdk", "vm.mf"]
    assert source.member("disk1.vmdk").read() == DISK


# ------------------------------------------------------------------------------ hostile archives
@pytest.mark.parametrize("name, problem", [
    ("../evil.vmdk", "points outside the package"),
    ("../../tmp/pwned", "points outside the package"),
    ("/tmp/pwned", "is an absolute path"),
    ("sub/../../pwned", "points outside the package"),
    ("sub/disk.vmdk", "sub-directory"),
])
def test_member_names_leaving_the_archive(tmp_path, name, problem):
    msg = refused(package(tmp_path, regular(name, b"x")), problem)
    assert repr(name) in msg


@pytest.mark.parametrize("kind, linkname, problem", [
    (tarfile.SYMTYPE, "/etc/shadow", "a symbolic link"),
    (tarfile.LNKTYPE, "vm.ovf", "a hard link"),
    (tarfile.CHRTYPE, "", "a character device"),
    (tarfile.BLKTYPE, "", "a block device"),
    (tarfile.FIFOTYPE, "", "a fifo"),
])
def test_non_regular_members(tmp_path, kind, linkname, problem):
    msg = refused(package(tmp_path, special("extra.vmdk", kind, linkname)), problem)
    assert "'extra.vmdk' is %s; only regular files are accepted" % problem in msg


def test_a_symlinked_disk_under_the_referenced_name(tmp_path):
    path = write_ova(tmp_path / "a.ova", [regular("vm.ovf", descriptor()),
                                          special("disk1.vmdk", tarfile.SYMTYPE, "/dev/sda")])
    refused(path, "'disk1.vmdk' is a symbolic link")


def test_subdirectory_entry(tmp_path):
    folder = tarfile.TarInfo("disks")
    folder.type = tarfile.DIRTYPE
    refused(package(tmp_path, (folder, None)), "directory member 'disks'")


def test_duplicate_names(tmp_path):
    refused(package(tmp_path, regular("disk1.vmdk", b"second copy")), "member 'disk1.vmdk' appears twice")


def test_a_second_descriptor(tmp_path):
    refused(package(tmp_path, regular("other.ovf", descriptor())), "holds 2 descriptors (vm.ovf, other.ovf)")


def test_no_descriptor(tmp_path):
    refused(write_ova(tmp_path / "a.ova", [regular("disk1.vmdk", DISK)]), "holds no .ovf descriptor")


def test_truncated_archive(tmp_path):
    path = package(tmp_path)
    data = open(path, "rb").read()
    cut = data.index(DISK[:64]) + 100  # inside the disk's data
    with open(path, "wb") as f:
        f.write(data[:cut])
    refused(path, "is truncated (member 'disk1.vmdk' needs %d bytes" % len(DISK))


def test_not_a_tar(tmp_path):
    path = tmp_path / "junk.ova"
    path.write_bytes(b"\x89PNG" + b"\x00" * 2000)
    refused(str(path), "is not a usable OVA")


def test_too_many_members(tmp_path):
    path = package(tmp_path, *[regular("f%05d" % i, b"") for i in range(MAX_MEMBERS)])
    refused(path, "more than %d members" % MAX_MEMBERS)


def test_several_manifests_none_named_after_the_descriptor(tmp_path):
    refused(package(tmp_path, regular("a.mf", b""), regular("b.mf", b"")), "several .mf files (a.mf, b.mf)")


# ------------------------------------------------------------------------------ hostile descriptors
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><Info>&lol3;</Info></Envelope>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><Info>&xxe;</Info></Envelope>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!-- a comment first -->
<?pi before?>
<!DOCTYPE Envelope SYSTEM "http://198.18.0.1/evil.dtd">
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE, EXTERNAL_DTD, XXE.decode().encode("utf-16")],
                         ids=["billion-laughs", "xxe", "external-dtd", "xxe-utf16"])
def test_doctype_descriptors(tmp_path, data):
    refused(package(tmp_path, desc=data), "has a DOCTYPE")


def test_doctype_text_inside_the_document_is_only_text(tmp_path):
    eula = "<EulaSection><Info>e</Info><License><![CDATA[<!DOCTYPE html> is just text]]></License></EulaSection>"
    data = descriptor().replace(b"<Info>v</Info>", b"<Info>v</Info>" + eula.encode())
    facts = ovf.parse(Source.open(package(tmp_path, desc=data)).descriptor)
    assert facts["eula"] == ["<!DOCTYPE html> is just text"]


def test_undeclared_entity_is_not_resolved(tmp_path):
    data = descriptor().replace(b"<Info>v</Info>", b"<Info>&undeclared;</Info>")
    refused(package(tmp_path, desc=data), "is not well-formed XML")


def test_xml_that_is_not_ovf(tmp_path):
    refused(package(tmp_path, desc=b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>"),
            "not an OVF descriptor: its root element is {http://www.w3.org/2000/svg}svg")


def test_not_xml_at_all(tmp_path):
    refused(package(tmp_path, desc=b"\x00\x01binary"), "is not XML")


def test_descriptor_size_limit(tmp_path):
    refused(package(tmp_path, desc=descriptor() + b" " * (16 << 20)), "more than the 16777216 bytes")


@pytest.mark.parametrize("href, problem", [
    ("../../etc/passwd", "points outside the package"),
    ("/etc/passwd", "is an absolute path"),
    ("https://198.18.0.1/disk.vmdk", "is a URL"),
])
def test_hrefs_leaving_the_package(tmp_path, href, problem):
    msg = refused(package(tmp_path, desc=descriptor(href)), problem)
    assert "File file1: href %r" % href in msg


def test_directory_form_refuses_a_symlinked_disk(tmp_path):
    (tmp_path / "vm.ovf").write_bytes(descriptor())
    (tmp_path / "secret").write_bytes(b"secret")
    os.symlink(tmp_path / "secret", tmp_path / "disk1.vmdk")
    refused(str(tmp_path / "vm.ovf"), "disk1.vmdk, which is a symbolic link, not a regular file")


def test_directory_form_refuses_an_href_outside_the_directory(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "vm.ovf").write_bytes(descriptor("../disk1.vmdk"))
    (tmp_path / "disk1.vmdk").write_bytes(DISK)
    refused(str(tmp_path / "pkg" / "vm.ovf"), "points outside the package")


def test_src_that_is_missing_or_a_directory(tmp_path):
    refused(str(tmp_path / "nope.ova"), "cannot read")
    refused(str(tmp_path), "is not a regular file")


# ------------------------------------------------------------------------------ manifests
def test_manifest_lines_of_ovftool_and_virtualbox():
    text = ("SHA256(vm.ovf)= " + "a" * 64 + "\n"
            "SHA1 (disk1.vmdk) = " + "B" * 40 + "\r\n\n"
            "SHA512(disk2.vmdk)=" + "c" * 128 + "\n")
    assert mf.parse(text) == {"vm.ovf": ("sha256", "a" * 64), "disk1.vmdk": ("sha1", "b" * 40),
                              "disk2.vmdk": ("sha512", "c" * 128)}


@pytest.mark.parametrize("text, problem", [
    ("MD5(vm.ovf)= " + "a" * 32, "line 1 of the manifest is not 'SHA256(file)= digest'"),
    ("SHA256(vm.ovf)= " + "a" * 40, "a SHA256 digest has 64 hex digits, not 40"),
    ("SHA256(vm.ovf)= " + "a" * 64 + "\nSHA256(vm.ovf)= " + "b" * 64, "line 2 of the manifest: vm.ovf is listed twice"),
    ("SHA256(../x)= " + "a" * 64, "the manifest entry '../x' points outside the package"),
    ("garbage", "line 1 of the manifest"),
])
def test_malformed_manifests(text, problem):
    with pytest.raises(InputError) as err:
        mf.parse(text)
    assert problem in err.value.msg and err.value.option == "src"


def test_hash_member_reads_the_range_in_chunks(tmp_path):
    source = Source.open(package(tmp_path))
    disk = source.member("disk1.vmdk")
    for algorithm in ("sha1", "sha256", "sha512"):
        assert mf.hash_member(disk, algorithm, chunk=1000) == hashlib.new(algorithm, DISK).hexdigest()
    assert mf.hash_member(source.member("vm.ovf"), "sha256") == hashlib.sha256(descriptor()).hexdigest()
