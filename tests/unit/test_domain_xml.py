"""The domain XML model: build, semantic merge / compare, normalisation, facts, schema validity."""

from __future__ import annotations

import copy
import shutil
import subprocess

import pytest
from lxml import etree

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import validate_items
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_xml as dx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import from_string
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import DomainService

MIB = 2 ** 20


def spec(**kw):
    """A normalised spec the way DomainService.desired() makes it."""
    params = dict({"name": "vctx", "virt_type": "qemu"}, **kw)
    params = dict(validate_items(DomainService, [params], "spec")[0], uri="test:///default")
    service = DomainService(params)
    desired = service.desired()
    return desired, desired["xml"]


def built(**kw):
    desired, extra = spec(**kw)
    return dx.normalise(dx.build(desired, extra, new=True))


def same(a, b):
    return dx.canonical(dx.normalise(a)) == dx.canonical(dx.normalise(b))


# What libvirt gives back for a domain we defined: generated values and defaults added.
DEFINED = """
<domain type='qemu'>
  <name>vctx</name>
  <uuid>0c3a6a6c-0f1c-4a55-9d55-0b4a4c1f9e01</uuid>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
  <clock offset='utc'/>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/srv/a.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <controller type='usb' index='0' model='piix3-uhci'/>
    <controller type='pci' index='0' model='pci-root'/>
    <interface type='network'>
      <mac address='52:54:00:4B:1C:07'/>
      <source network='vctnet'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <memballoon model='virtio'/>
  </devices>
</domain>
"""


def defined():
    return dx.normalise(from_string(DEFINED))


BASE = dict(memory="256MiB", vcpus=1, disks=[{"path": "/srv/a.qcow2"}], nics=[{"network": "vctnet"}])


def merged(**kw):
    return dx.normalise(dx.merge(defined(), built(**dict(BASE, **kw))))


def test_defined_guest_matches_its_spec_despite_generated_values():
    assert same(merged(), defined())


def test_memory_units_are_data_not_text():
    assert same(merged(memory="0.25 GiB"), defined())
    assert same(merged(memory=256), defined())
    assert not same(merged(memory="512MiB"), defined())


def test_nic_keeps_generated_mac_and_address():
    result = merged(nics=[{"network": "vctnet", "model": "e1000"}])
    nic = result.find("devices/interface")
    assert nic.find("mac").get("address") == "52:54:00:4b:1c:07"
    assert nic.find("model").get("type") == "e1000" and nic.find("address") is not None


def test_owned_lists_drop_what_the_spec_no_longer_lists():
    result = merged(disks=[], nics=[])
    assert result.find("devices/disk") is None and result.find("devices/interface") is None
    assert result.find("devices/controller") is not None  # libvirt's own additions stay


def test_new_disk_gets_next_target_and_is_added():
    result = merged(disks=[{"path": "/srv/a.qcow2"}, {"path": "/srv/b.img"}, {"device": "cdrom"}])
    disks = result.findall("devices/disk")
    assert [d.find("target").get("dev") for d in disks] == ["vda", "vdb", "sda"]
    assert disks[1].find("driver").get("type") == "raw" and disks[2].find("readonly") is not None


def test_disk_moving_to_a_volume_is_replaced_not_mixed():
    result = merged(disks=[{"pool": "p", "volume": "v", "format": "qcow2"}])
    disk = result.find("devices/disk")
    assert disk.get("type") == "volume" and dict(disk.find("source").attrib) == {"pool": "p", "volume": "v"}
    assert disk.find("address") is not None  # the guest keeps its PCI slot


def test_cpu_mode_replaces_the_cpu_element_once():
    result = merged(cpu_mode="host-model")
    assert dict(result.find("cpu").attrib) == {"mode": "host-model"} and result.find("cpu/model") is None
    libvirt_says = from_string(dx.tostring(result))
    libvirt_says.find("cpu").set("check", "partial")
    again = dx.normalise(dx.merge(dx.normalise(libvirt_says), built(**dict(BASE, cpu_mode="host-model"))))
    assert same(again, libvirt_says)


def test_xml_option_is_merged_semantically():
    extra = ("<domain><memory unit='MiB'>256</memory><devices><controller type='usb' index='0' "
             "model='piix3-uhci'/><interface type='network'><mac address='52:54:00:4b:1c:07'/>"
             "</interface><watchdog model='i6300esb' action='reset'/></devices></domain>")
    result = dx.normalise(dx.merge(defined(), built(xml=extra)))
    assert result.find("devices/watchdog").get("model") == "i6300esb"
    assert len(result.findall("devices/controller")) == 2 and len(result.findall("devices/interface")) == 1
    assert same(dx.merge(result, built(xml=extra)), result)


def test_boot_order_is_owned():
    result = merged(boot=["network", "hd"])
    assert [b.get("dev") for b in result.findall("os/boot")] == ["network", "hd"]


def test_graphics_password_never_in_facts():
    root = built(graphics={"type": "vnc", "listen": "127.0.0.1", "port": -1, "password": "pw"})
    assert root.find("devices/graphics").get("passwd") == "pw"
    facts = dx.facts(root)
    assert facts["graphics"] == [{"type": "vnc", "listen": "127.0.0.1", "port": -1, "password_set": True}]
    assert "pw" not in repr(facts).replace("password_set", "")


def test_facts_of_defined_guest():
    facts = dx.facts(defined())
    assert facts["memory"] == 256 * MIB and facts["vcpus"] == 1 and facts["machine"] == "pc-i440fx-7.2"
    assert facts["disks"][0]["path"] == "/srv/a.qcow2" and facts["disks"][0]["format"] == "qcow2"
    assert facts["nics"][0] == {"type": "network", "mac": "52:54:00:4b:1c:07", "network": "vctnet",
                                "bridge": None, "source": "vctnet", "vlan": None, "model": "virtio"}


def test_ovs_nic_with_vlan():
    root = built(nics=[{"ovs_bridge": "vctovs", "vlan": 20}])
    nic = root.find("devices/interface")
    assert nic.find("virtualport").get("type") == "openvswitch" and nic.find("vlan/tag").get("id") == "20"
    assert dx.facts(root)["nics"][0]["type"] == "ovs_bridge"


def test_disk_targets_follow_libvirt_naming():
    assert [dx.disk_target("virtio", i) for i in (0, 1, 25, 26)] == ["vda", "vdb", "vdz", "vdaa"]
    assert dx.disk_target("sata", 0) == "sda" and dx.disk_target("xen", 1) == "xvdb"


def test_private_marks_never_reach_libvirt():
    text = dx.tostring(built(**BASE))
    assert "virtcloud" not in text and "mode=\"replace\"" not in text


# ---------------------------------------------------------------- schema validity (Xen, no Xen host)
def validate(root, tmp_path):
    path = tmp_path / "domain.xml"
    path.write_text(dx.tostring(root))
    return subprocess.run(["virt-xml-validate", str(path), "domain"], capture_output=True, text=True, check=False)


XEN = dict(virt_type="xen", memory="512MiB", vcpus=2, disks=[{"path": "/srv/xen/g.img", "bus": "xen"}],
           nics=[{"bridge": "xenbr0", "mac": "00:16:3e:00:00:01", "model": ""}])  # no model element: "", since
# ansible-core 2.17 refuses None for a suboption that has a default (2.19 turns it into "")


@pytest.mark.skipif(shutil.which("virt-xml-validate") is None, reason="needs libvirt-clients")
@pytest.mark.parametrize("kind, extra", [
    ("pv", dict(os_type="xen", kernel="/boot/vmlinuz-xen", initrd="/boot/initrd-xen",
                cmdline="root=/dev/xvda1 console=hvc0")),
    ("hvm", dict(os_type="hvm", boot=["hd", "cdrom"],
                 graphics={"type": "vnc", "listen": "127.0.0.1", "port": -1, "password": None})),
])
def test_xen_guests_are_valid_libvirt_xml(kind, extra, tmp_path):
    root = built(**dict(XEN, **extra))
    assert root.get("type") == "xen" and root.findtext("os/type") == ("xen" if kind == "pv" else "hvm")
    assert (root.find("features") is None) == (kind == "pv")
    proc = validate(root, tmp_path)
    assert proc.returncode == 0, proc.stderr + dx.tostring(root)


@pytest.mark.skipif(shutil.which("virt-xml-validate") is None, reason="needs libvirt-clients")
def test_qemu_guest_with_everything_is_valid_libvirt_xml(tmp_path):
    root = built(memory="1GiB", current_memory="512MiB", vcpus=2, cpu_mode="maximum", arch="x86_64",
                 machine="q35", firmware="uefi", boot=["hd"], kernel="/k", initrd="/i", cmdline="x",
                 title="t", description="d", guest_agent=True,
                 disks=[{"path": "/srv/a.qcow2", "cache": "none"}, {"pool": "p", "volume": "v", "format": "raw"},
                        {"device": "cdrom", "path": "/srv/x.iso"}],
                 nics=[{"network": "n"}, {"bridge": "br0"}, {"ovs_bridge": "ovs0", "vlan": 5},
                       {"direct": "eth0", "direct_mode": "vepa"}],
                 graphics={"type": "spice", "listen": "127.0.0.1", "port": 5930, "password": "x"},
                 serial={"type": "file", "path": "/tmp/c.log"})
    proc = validate(root, tmp_path)
    assert proc.returncode == 0, proc.stderr + etree.tostring(root, pretty_print=True).decode()


def test_canonical_form_ignores_representation_and_sees_data():
    a = from_string("<domain type='qemu'><name>g</name><devices><disk type='file' device='disk'>"
                    "<target dev='vda' bus='virtio'/></disk><!-- x --><interface type='network'>"
                    "<mac address='52:54:00:AA:bb:cc'/></interface></devices></domain>")
    b = from_string("<domain type='qemu'>\n  <name> g </name>\n  <devices>\n    <interface type='network'>"
                    "<mac address='52:54:00:aa:bb:cc'/></interface>\n    <disk device='disk' type='file'>"
                    "<target bus='virtio' dev='vda'/></disk>\n  </devices>\n</domain>")
    assert same(a, b)  # attribute order, whitespace, comments, MAC case, device order
    marked = copy.deepcopy(b)
    dx.own(marked.find("devices"), "disk")
    dx.replaceable(marked.find("devices/disk"))
    assert same(a, marked)  # build()'s marks are no part of the data
    assert marked.find("devices/disk").get(dx.MODE) == "replace"  # and canonical() left them alone
    for path, attr, value in (("name", None, "h"), ("devices/disk/target", "dev", "vdb"), (".", "type", "kvm")):
        changed = copy.deepcopy(b)
        el = changed.find(path)
        if attr:
            el.set(attr, value)
        else:
            el.text = value
        assert not same(a, changed), (path, attr)
    nested = from_string("<disk type='file'><target dev='vda'/></disk>")
    assert dx.canonical(nested) == dx.canonical(copy.deepcopy(nested))


def test_sizes_cpu_sets_uuids_and_dropped_defaults_are_normalised_everywhere():
    given = from_string(
        "<domain><uuid>6E59F82A-B8B1-4817-A402-8A701C2E450D</uuid><memtune><hard_limit unit='GiB'>1</hard_limit>"
        "<soft_limit unit='b'>1000</soft_limit></memtune><numa><cell id='0' cpus='1,0' memory='1' unit='MiB'/></numa>"
        "<cputune><vcpupin vcpu='0' cpuset='0-3,^2'/></cputune><devices><disk><driver cache='default'/>"
        "<address type='drive' controller='0x0' unit='0x1'/></disk></devices></domain>")
    stored = from_string(
        "<domain><uuid>6e59f82a-b8b1-4817-a402-8a701c2e450d</uuid><memtune><hard_limit unit='KiB'>1048576</hard_limit>"
        "<soft_limit unit='bytes'>1000</soft_limit></memtune><numa><cell id='0' cpus='0-1' memory='1024' unit='KiB'/>"
        "</numa><cputune><vcpupin vcpu='0' cpuset='0-1,3'/></cputune><devices><disk><driver/>"
        "<address type='drive' controller='0' unit='1'/></disk></devices></domain>")
    assert dx.canonical(dx.normalise(given)) == dx.canonical(dx.normalise(stored))


def test_description_text_is_kept_as_given():
    root = dx.normalise(from_string("<domain><description>\n  two\n  lines\n</description><name> a </name></domain>"))
    assert root.findtext("description") == "\n  two\n  lines\n" and root.findtext("name") == "a"


@pytest.mark.parametrize("device, count", [
    ("<input type='tablet'/>", 2), ("<serial type='pty'><target type='isa-serial'/></serial>", 1),
    ("<controller type='usb' model='qemu-xhci'/>", 2),  # replaces the defined USB controller's model
    ("<rng model='virtio'><backend model='random'>/dev/random</backend></rng>", 1),  # changed, not added
    ("<input type='mouse' bus='usb'/>", 3),  # a USB mouse is another device than the PS/2 one
])
def test_devices_pair_with_what_libvirt_filled_in(device, count):
    """`count`: how many devices of the kind the merged definition has."""
    stored = dx.normalise(from_string(
        "<domain><devices><input type='tablet' bus='usb'/><input type='mouse' bus='ps2'/>"
        "<serial type='pty'><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>"
        "<controller type='usb' index='0' model='piix3-uhci'/><controller type='pci' index='0' model='pci-root'/>"
        "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng></devices></domain>"))
    want = from_string("<domain><devices>%s</devices></domain>" % device)
    tag = want.find("devices")[0].tag
    merged = dx.merge(copy.deepcopy(stored), want)
    assert len(merged.findall("devices/" + tag)) == count
    assert dx.contains(merged, want)


def test_missing_names_what_libvirt_did_not_keep():
    stored = from_string("<domain type='qemu'><vcpu>1</vcpu><devices><disk><driver name='qemu'/>"
                         "<target dev='vda'/></disk></devices></domain>")
    sent = from_string("<domain type='qemu'><vcpu>2</vcpu><devices><disk><driver name='qemu' cache='none'/>"
                       "<target dev='vda'/></disk><tablet/></devices></domain>")
    assert dx.missing(stored, sent) == ["vcpu text '2'", "devices/disk[vda]/driver/@cache='none'", "devices/tablet"]
    assert dx.missing(stored, stored) == []


def test_canonical_form_of_a_guest_with_metadata_in_our_namespace():
    """ova_import records the OVA in <metadata> in the urn:virtcloud:core namespace: data, not a mark
    of build(), so canonical() keeps it (and does not recurse forever looking for marks to strip)."""
    xml = ("<domain type='qemu'><name>g</name><metadata><virtcloud:ova xmlns:virtcloud='%s' identity='%s'/>"
           "</metadata><devices><disk type='file' device='disk'><target dev='sda' bus='scsi'/></disk></devices>"
           "</domain>")
    a, b = from_string(xml % (dx.VCT, "1" * 64)), from_string(xml % (dx.VCT, "2" * 64))
    dx.replaceable(a.find("devices/disk"))
    assert dx.canonical(a) == dx.canonical(from_string(xml % (dx.VCT, "1" * 64)))
    assert dx.canonical(a) != dx.canonical(b)
