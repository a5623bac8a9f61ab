"""The OVF descriptor parser over real descriptors (tests/data/ovf-samples, copied from the project's shared data; SOURCES.tsv there names each file's origin):
every value asserted here was read from the files by hand."""

from __future__ import annotations

import os

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.ova import ovf

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "ovf-samples")
GiB, MiB = 1 << 30, 1 << 20
ALL = sorted(f for f in os.listdir(SAMPLES) if f.endswith(".ovf")) if os.path.isdir(SAMPLES) else []


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        return ovf.parse(f.read())


def test_the_sample_set_is_there():
    assert len(ALL) == 11, ALL


@pytest.mark.parametrize("name", ALL)
def test_every_sample_parses_into_the_contract(name):
    facts = sample(name)
    assert facts["version"] in ("1.0", "2.0")
    assert facts["cpus"] >= 1 and facts["memory"] >= 64 * MiB
    assert facts["firmware"] in ("bios", "efi")
    assert facts["disks"] and all(d["capacity"] > 0 for d in facts["disks"])
    for disk in facts["disks"]:
        assert disk["file_id"] is None or disk["file_id"] in facts["files"]
    assert {n["network"] for n in facts["nics"]} <= {n["name"] for n in facts["networks"]}
    assert facts["systems"][0]["name"] == facts["name"]


def test_vmware_xp_multinic():
    facts = sample("vmware-xp-multinic.ovf")
    assert (facts["cpus"], facts["memory"], facts["system_type"]) == (2, 512 * MiB, "vmx-07")
    assert [(d["id"], d["capacity"], d["bus"], d["controller_model"], d["unit"]) for d in facts["disks"]] == [
        ("vmdisk1", 1536 * MiB, "scsi", "lsilogic", 0), ("vmdisk2", 2 * GiB, "scsi", "lsilogic", 1)]
    assert [d["populated_size"] for d in facts["disks"]] == [758382592, 0]
    assert [(n["network"], n["model"]) for n in facts["nics"]] == [("VM Network", "pcnet"), ("dvportgroup-30", "pcnet")]
    assert [n["name"] for n in facts["networks"]] == ["VM Network", "dvportgroup-30"]
    assert facts["os"] == {"id": 67, "type": "winXPProGuest", "description": "Microsoft Windows XP Professional (32-bit)"}
    assert [c["bus"] for c in facts["cdroms"]] == ["ide"]
    assert facts["files"]["file2"] == {"href": "xp-multinic-disk2.vmdk", "size": 68608, "compression": None,
                                       "chunk_size": None}


def test_vmware_efi_nvram_cores_and_sata():
    facts = sample("vmware-efi-nvram.ovf")
    assert facts["firmware"] == "efi"
    assert (facts["cpus"], facts["cores_per_socket"], facts["memory"]) == (1, 1, GiB)
    assert facts["name"] == "efi-nvram" and facts["virtual_system_id"] == "efi.boot vm"
    assert facts["os"]["type"] == "windows7Server64Guest" and facts["os"]["id"] == 103
    [disk] = facts["disks"]
    assert (disk["capacity"], disk["bus"], disk["controller_model"], disk["format"]) == (
        4 * GiB, "scsi", "lsilogicsas", "streamOptimized")
    assert [(c["bus"], c["controller_model"]) for c in facts["cdroms"]] == [("sata", "ahci")]
    assert facts["nics"] == [{"network": "VM Network", "model": "e1000", "mac": None, "connected": True}]
    assert facts["files"]["file2"]["href"] == "efi-nvram-file1.nvram"


def test_vmware_photon_product_eula_pvscsi_vmxnet3():
    facts = sample("vmware-photon5.ovf")
    assert facts["firmware"] == "efi"
    assert (facts["cpus"], facts["memory"]) == (1, 2 * GiB)
    assert facts["product"]["product"] == "Photon OS" and facts["product"]["vendor"] == "VMware Inc."
    assert facts["product"]["version"] == "5.0"
    assert len(facts["eula"]) == 1 and facts["eula"][0].startswith("VMWARE GENERAL TERMS")
    assert [(d["capacity"], d["controller_model"], d["populated_size"]) for d in facts["disks"]] == [
        (16 * GiB, "pvscsi", 858521600)]
    assert [n["model"] for n in facts["nics"]] == ["vmxnet3"]
    assert facts["description"].startswith("This OVA provides a minimal installed profile of PhotonOS.")


def test_vmware_nostalgia_chunked_file():
    facts = sample("vmware-nostalgia-chunkdisk.ovf")
    assert facts["files"]["file1"] == {"href": "Nostalgia-disk1.vmdk", "size": 6872576, "compression": None,
                                       "chunk_size": 7516192768}
    [disk] = facts["disks"]
    assert (disk["capacity"], disk["populated_size"], disk["controller_model"]) == (107373568, 11141120, "buslogic")
    assert facts["memory"] == 64 * MiB and facts["system_type"] == "vmx-04"
    assert facts["description"].startswith("Nostalgia contains a great collection of ancient DOS Games")


def test_vmware_gzip_compressed_file():
    facts = sample("vmware-test-i-ova-gz.ovf")
    assert facts["files"]["file1"] == {"href": "disk1.vmdk.gz", "size": 7804077568, "compression": "gzip",
                                       "chunk_size": None}
    assert [(d["capacity"], d["populated_size"]) for d in facts["disks"]] == [(50 * GiB, 18975752192)]
    assert (facts["cpus"], facts["memory"], facts["system_type"]) == (1, GiB, "vmx-10")
    assert [n["network"] for n in facts["nics"]] == ["PG-VLAN60"]


def test_vmware_test_i_ova():
    facts = sample("vmware-test-i-ova.ovf")
    assert (facts["cpus"], facts["memory"]) == (1, 2 * GiB)
    assert [(d["capacity"], d["controller_model"]) for d in facts["disks"]] == [(32 * GiB, "lsilogicsas")]
    assert [(c["bus"], c["controller"]) for c in facts["cdroms"]] == [("ide", 1)]
    assert facts["files"]["file1"]["compression"] is None


def test_studio_collection_eulas_products_properties():
    facts = sample("vmware-StudioVappEulaVmEulaOvf.ovf")
    assert [s["virtual_system_id"] for s in facts["systems"]] == ["ubuntu8.04", "ubuntu8.04 1"]
    assert any("VirtualSystemCollection of 2" in w for w in facts["warnings"])
    assert facts["eula"] == ["vAppEULA1 is this.", "vAppEULA2 is this.", "EULA 1", "EULA 2"]
    assert facts["product"] == {"product": "ubuntu8.04", "vendor": "Independent Software Vendor, Inc.",
                                "version": "1.0.0.0", "full_version": "1.0.0.0 alpha", "url": None}
    props = {p["key"]: p for p in facts["properties"]}
    assert props["vami.timezone"]["value"] == "Etc/UTC" and props["vami.timezone"]["user_configurable"] is True
    assert props["vami.timezone"]["label"] == "Timezone setting"
    assert props["vami.ip0.ubuntu8.04"]["label"] == "ubuntu8.04 Network 1 IP Address"
    assert props["vm.vmname"]["value"] == "ubuntu8.04"
    assert facts["foreign"] == ["vmw:IpAssignmentSection"]
    assert [d["id"] for d in facts["disks"]] == ["ubuntu8.04_system"]
    assert [d["id"] for d in facts["systems"][1]["disks"]] == ["ubuntu8.04_1_system"]
    assert facts["systems"][1]["nics"][0]["network"] == "ubuntu8.04 1 Network 1"
    assert (facts["cpus"], facts["memory"]) == (1, 256 * MiB)


def test_vcloud_collection():
    facts = sample("vcloud-vCD_vApp_OVF.ovf")
    first, second = facts["systems"]
    assert (first["name"], first["cpus"], first["memory"]) == ("s-xp", 2, 512 * MiB)
    assert [(d["capacity"], d["unit"]) for d in first["disks"]] == [(1536 * MiB, 0), (2 * GiB, 1)]
    assert [n["network"] for n in first["nics"]] == ["vc1-direct", "test"]
    assert (second["name"], second["cpus"], second["memory"]) == ("vCD_scratch_vm", 1, 64 * MiB)
    assert [(d["capacity"], d["controller_model"]) for d in second["disks"]] == [(2 * GiB, "buslogic")]
    assert second["os"]["type"] == "win2000ProGuest"


def test_virtualbox_ovf1():
    facts = sample("virtualbox-vbox5.ovf")
    assert (facts["cpus"], facts["memory"], facts["system_type"]) == (1, 384 * MiB, "virtualbox-2.2")
    assert [(d["capacity"], d["bus"], d["controller_model"], d["format"]) for d in facts["disks"]] == [
        (4194304, "ide", None, "monolithicSparse"), (10 * GiB, "sata", "ahci", "monolithicSparse")]
    assert [n["model"] for n in facts["nics"]] == ["pcnet"]


def test_virtualbox_ovf2_with_machine():
    facts = sample("virtualbox-ubuntu.2.0.ovf")
    assert facts["version"] == "2.0"
    assert facts["foreign"] == ["vbox:Machine"]
    assert (facts["cpus"], facts["memory"], facts["firmware"]) == (1, 512 * MiB, "bios")
    assert facts["os"] == {"id": 94, "type": "Ubuntu_64", "description": "Ubuntu_64"}
    assert [(d["capacity"], d["bus"], d["unit"]) for d in facts["disks"]] == [(8 * GiB, "sata", 0)]
    assert facts["files"]["file1"]["size"] is None
    assert [(c["bus"], c["controller"]) for c in facts["cdroms"]] == [("ide", 1)]
    assert facts["nics"][0]["model"] == "e1000" and facts["nics"][0]["network"] == "NAT"


def test_ovf2_spec_example_with_a_broken_namespace_is_read_with_a_warning():
    facts = sample("ovf2-virtualsystemcollection.ovf")
    assert facts["version"] == "2.0"
    assert any("is not a valid URI" in w for w in facts["warnings"])
    assert [n["mac"] for n in facts["nics"]] == ["00:16:8b:db:00:5e"]
    assert facts["systems"][1]["nics"][0]["mac"] == "00:16:8b:db:00:5f"
    assert facts["memory"] == GiB and facts["eula"] == ["Insert your favorite license here"]
    assert facts["product"]["full_version"] == "13.00-b5"
    assert {p["key"]: p["value"] for p in facts["properties"]} == {"adminemail": None, "app_ip": "192.168.0.10"}
    # its only disk is attached to no system: listed, without a bus, and said so
    assert [(d["id"], d["capacity"], d["bus"]) for d in facts["disks"]] == [("vmdisk1", 4294967296, None)]
    assert any("attached to no virtual system" in w for w in facts["warnings"])


# ---------------------------------------------------------------------------------- built descriptors
ENVELOPE = """<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
 xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
 xmlns:vmw="http://www.vmware.com/schema/ovf">
 <References>{files}</References>
 <DiskSection><Info>d</Info>{disks}</DiskSection>
 {extra}
 <VirtualSystem ovf:id="vm"><Info>x</Info>{system}
  <VirtualHardwareSection><Info>h</Info>{items}</VirtualHardwareSection>
 </VirtualSystem>
</Envelope>"""


def envelope(files='<File ovf:id="f1" ovf:href="d1.vmdk"/>',
             disks='<Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30"/>',
             items="", extra="", system=""):
    return ENVELOPE.format(files=files, disks=disks, items=items, extra=extra, system=system).encode()


def item(kind, iid, **fields):
    body = "".join("<rasd:%s>%s</rasd:%s>" % (k, v, k) for k, v in fields.items())
    return "<Item><rasd:InstanceID>%s</rasd:InstanceID><rasd:ResourceType>%d</rasd:ResourceType>%s</Item>" % (
        iid, kind, body)


@pytest.mark.parametrize("units, quantity, expected", [
    ("byte * 2^20", 512, 512 * MiB), ("byte*2^30", 2, 2 * GiB), ("MegaBytes", 384, 384 * MiB),
    ("byte * 10^3", 5, 5000), ("KB", 4, 4096), ("byte", 4096, 4096), ("GigaBytes", 1, GiB),
])
def test_memory_allocation_units(units, quantity, expected):
    facts = ovf.parse(envelope(items=item(4, 1, AllocationUnits=units, VirtualQuantity=quantity)))
    assert facts["memory"] == expected


def test_unknown_allocation_unit_names_the_item():
    with pytest.raises(InputError, match="unknown allocation unit 'furlongs'"):
        ovf.parse(envelope(items=item(4, 1, AllocationUnits="furlongs", VirtualQuantity=1)))


def test_nvme_and_usb_controllers_and_a_disk_capacity_from_a_property():
    items = (item(20, 1, ResourceSubType="vmware.nvme.controller") + item(23, 2)
             + item(17, 3, Parent=1, AddressOnParent=0, HostResource="ovf:/disk/d1")
             + item(17, 4, Parent=2, AddressOnParent=0, HostResource="ovf:/disk/d2"))
    system = ('<ProductSection><Info>p</Info><Property ovf:key="size" ovf:type="int" ovf:value="3"/>'
              '</ProductSection>')
    facts = ovf.parse(envelope(
        files='<File ovf:id="f1" ovf:href="d1.vmdk"/>',
        disks=('<Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30"/>'
               '<Disk ovf:diskId="d2" ovf:capacity="${size}" ovf:capacityAllocationUnits="byte * 2^30"/>'),
        items=items, system=system))
    assert [(d["id"], d["bus"], d["file_id"], d["capacity"]) for d in facts["disks"]] == [
        ("d1", "nvme", "f1", GiB), ("d2", "usb", None, 3 * GiB)]


def test_deployment_options_keep_the_default_configuration():
    extra = ('<DeploymentOptionSection><Info>c</Info>'
             '<Configuration ovf:id="small"><Label>S</Label><Description>s</Description></Configuration>'
             '<Configuration ovf:id="large" ovf:default="true"><Label>L</Label><Description>l</Description>'
             '</Configuration></DeploymentOptionSection>')
    items = (item(3, 1, VirtualQuantity=2).replace("<Item>", '<Item ovf:configuration="small">')
             + item(3, 2, VirtualQuantity=8).replace("<Item>", '<Item ovf:configuration="large">')
             + item(4, 3, VirtualQuantity=1024))
    facts = ovf.parse(envelope(items=items, extra=extra))
    assert facts["cpus"] == 8 and facts["memory"] == GiB


def test_foreign_sections_are_listed_never_fatal():
    extra = '<vmw:BootOrderSection ovf:required="false"><Info>b</Info></vmw:BootOrderSection>'
    system = '<StartupSection><Info>s</Info></StartupSection><other:Thing xmlns:other="urn:x"/>'
    facts = ovf.parse(envelope(extra=extra, system=system, items=item(3, 1, VirtualQuantity=1)))
    assert facts["foreign"] == ["vmw:BootOrderSection", "ovf:StartupSection", "other:Thing"]


@pytest.mark.parametrize("href, problem", [
    ("../etc/passwd", "points outside the package"),
    ("/etc/passwd", "is an absolute path"),
    ("http://evil.example/disk.vmdk", "is a URL"),
    ("file:///etc/shadow", "is a URL"),
    ("sub/disk.vmdk", "sub-directory"),
])
def test_hrefs_must_be_plain_member_names(href, problem):
    with pytest.raises(InputError) as err:
        ovf.parse(envelope(files='<File ovf:id="f1" ovf:href="%s"/>' % href))
    assert err.value.option == "src"
    assert "File f1" in err.value.msg and problem in err.value.msg


def test_a_disk_naming_an_undeclared_file_is_refused():
    with pytest.raises(InputError, match="disk d1 refers to file nope"):
        ovf.parse(envelope(disks='<Disk ovf:diskId="d1" ovf:fileRef="nope" ovf:capacity="1"/>'))


def test_unsupported_compression_is_refused():
    with pytest.raises(InputError, match="compression 'bzip2' is not supported"):
        ovf.parse(envelope(files='<File ovf:id="f1" ovf:href="d1.vmdk" ovf:compression="bzip2"/>'))
