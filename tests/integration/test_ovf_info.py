"""virtcloud.core.ovf_info on OVAs built here: a descriptor, a streamOptimized VMDK made by qemu-img and a
SHA256 manifest, tarred; checked against tar's own listing, qemu-img and hashlib."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile

import pytest

from conftest import run_module, sh

MIB = 1 << 20
DESCRIPTOR = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
 xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
 xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="{name}-disk1.vmdk" ovf:id="file1" ovf:size="{vmdk_size}"/></References>
  <DiskSection><Info>Virtual disks</Info>
    <Disk ovf:capacity="{capacity_mib}" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1"
     ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection><Info>Networks</Info><Network ovf:name="lan"><Description>the LAN</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="{name}">
    <Info>A virtual machine</Info>
    <Name>{name}</Name>
    <OperatingSystemSection ovf:id="101" vmw:osType="otherLinux64Guest"><Info>OS</Info></OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType></System>
      <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>2</rasd:VirtualQuantity><vmw:CoresPerSocket ovf:required="false">2</vmw:CoresPerSocket></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>768</rasd:VirtualQuantity></Item>
      <Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>vmware.sata.ahci</rasd:ResourceSubType>
        <rasd:ResourceType>20</rasd:ResourceType><rasd:Address>0</rasd:Address></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>lan</rasd:Connection>
        <rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType></Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""


@pytest.fixture
def package(tmp_path, unique):
    """A directory with NAME.ovf, NAME-disk1.vmdk (streamOptimized, 24 MiB) and NAME.mf, and the
    NAME.ova tar of the three."""
    raw = tmp_path / "disk.raw"
    with open(raw, "wb") as f:
        f.write(b"virtcloud-ova" * 40000)
        f.truncate(24 * MIB)
    folder = tmp_path / "pkg"
    folder.mkdir()
    vmdk = folder / ("%s-disk1.vmdk" % unique)
    sh("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk)
    ovf = folder / ("%s.ovf" % unique)
    ovf.write_text(DESCRIPTOR.format(name=unique, vmdk_size=vmdk.stat().st_size, capacity_mib=24))
    (folder / ("%s.mf" % unique)).write_text("".join(
        "SHA256(%s)= %s\n" % (p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in (ovf, vmdk)))
    ova = tmp_path / ("%s.ova" % unique)
    sh("tar", "-C", folder, "-cf", ova, ovf.name, vmdk.name, "%s.mf" % unique)
    return {"name": unique, "ova": str(ova), "ovf": str(ovf), "vmdk": str(vmdk)}


def test_facts_of_an_ova(package):
    name = package["name"]
    result = run_module("ovf_info", src=package["ova"])
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["actions"] == []
    assert (result["format"], result["descriptor"], result["name"]) == ("ova", name + ".ovf", name)
    assert (result["cpus"], result["cores_per_socket"], result["memory"], result["firmware"]) == (2, 2, 768 * MIB, "efi")
    assert result["os"]["type"] == "otherLinux64Guest" and result["system_type"] == "vmx-14"
    [disk] = result["disks"]
    virtual_size = json.loads(sh("qemu-img", "info", "--output=json", package["vmdk"]).stdout)["virtual-size"]
    assert disk["capacity"] == virtual_size == 24 * MIB
    assert (disk["format"], disk["bus"], disk["controller_model"], disk["unit"]) == ("streamOptimized", "sata", "ahci", 0)
    assert result["nics"] == [{"network": "lan", "model": "vmxnet3", "mac": None, "connected": True}]
    listing = sh("tar", "-tvf", package["ova"]).stdout.splitlines()
    assert [m["name"] for m in result["members"]] == [line.split()[-1] for line in listing]
    assert [m["size"] for m in result["members"]] == [int(line.split()[2]) for line in listing]
    assert result["manifest"] == {"present": True, "name": name + ".mf", "algorithm": "sha256", "unlisted": [],
                                  "missing": [], "mismatched": [], "verified": None}
    assert result["certificate"] == {"present": False, "name": None}
    assert result["missing_files"] == [] and result["foreign"] == [] and not result.get("warnings")


def test_manifest_verification_and_tampering(package):
    name = package["name"]
    checked = run_module("ovf_info", check=True, src=package["ova"], verify_manifest=True)
    assert checked.get("failed") is not True, checked
    assert checked["manifest"]["verified"] is True and checked["changed"] is False

    # flip one byte inside the disk member of the .ova (its offset found by tarfile, independently)
    with tarfile.open(package["ova"]) as tar:
        offset = tar.getmember(name + "-disk1.vmdk").offset_data + 4096
    with open(package["ova"], "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
    tampered = run_module("ovf_info", src=package["ova"], verify_manifest=True)
    assert tampered.get("failed") is not True, tampered
    assert tampered["manifest"]["verified"] is False
    assert tampered["manifest"]["mismatched"] == [name + "-disk1.vmdk"]
    assert any("do not match" in str(w) for w in tampered["warnings"]), tampered


def test_directory_form_ovf(package):
    result = run_module("ovf_info", src=package["ovf"], verify_manifest=True)
    assert result.get("failed") is not True, result
    assert result["format"] == "ovf" and result["manifest"]["verified"] is True
    assert sorted(m["name"] for m in result["members"]) == sorted(os.listdir(os.path.dirname(package["ovf"])))
    os.remove(package["vmdk"])
    missing = run_module("ovf_info", src=package["ovf"])
    assert missing["missing_files"] == [os.path.basename(package["vmdk"])]
    assert missing["manifest"]["missing"] == [os.path.basename(package["vmdk"])]


def test_hostile_ova_is_refused_naming_src(package, tmp_path):
    evil = tmp_path / "evil.ova"
    with tarfile.open(evil, "w") as tar:
        tar.add(package["ovf"], arcname=os.path.basename(package["ovf"]))
        link = tarfile.TarInfo(os.path.basename(package["vmdk"]))
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
        tar.addfile(link)
    before = sorted(os.listdir(tmp_path))
    result = run_module("ovf_info", src=str(evil))
    assert result["failed"] is True and result["option"] == "src"
    assert result["msg"].startswith("src: ") and "is a symbolic link" in result["msg"]
    assert sorted(os.listdir(tmp_path)) == before
