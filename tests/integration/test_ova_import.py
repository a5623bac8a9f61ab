"""virtcloud.core.ova_import against qemu:///system: OVAs built here (a descriptor, a streamOptimized VMDK
made by qemu-img, a SHA256 manifest) become pool volumes and a guest; what libvirt stored is read with
virsh, the disk content compared with qemu-img compare, and a failed import must leave nothing behind."""

from __future__ import annotations

import hashlib
import os
import tarfile

import pytest
from lxml import etree

from conftest import converge, run_module, sh
from test_ovf_info import DESCRIPTOR

URI = "qemu:///system"
MIB = 1 << 20


def virsh(*argv, check=True):
    return sh("virsh", "-c", URI, *argv, check=check)


def build(folder, name, capacity_mib=24, content=b"virtcloud-ova", efi=False, manifest=True, declared_mib=None):
    """NAME.ova in folder from a raw disk of `content` (its OVF declaring `declared_mib`, by default the
    real capacity): returns (ova path, raw disk path)."""
    raw = os.path.join(folder, name + ".raw")
    with open(raw, "wb") as handle:
        handle.write(content * min(40000, capacity_mib * MIB // len(content) + 1))
        handle.truncate(capacity_mib * MIB)
    pkg = os.path.join(folder, name + "-pkg")
    os.makedirs(pkg)
    vmdk = os.path.join(pkg, name + "-disk1.vmdk")
    sh("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, vmdk)
    text = DESCRIPTOR.format(name=name, vmdk_size=os.path.getsize(vmdk), capacity_mib=declared_mib or capacity_mib)
    if not efi:
        text = text.replace('<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>', "")
    ovf = os.path.join(pkg, name + ".ovf")
    with open(ovf, "w") as handle:
        handle.write(text)
    members = [ovf]
    if manifest:
        mf = os.path.join(pkg, name + ".mf")
        with open(mf, "w") as handle:
            for path in (ovf, vmdk):
                with open(path, "rb") as data:
                    handle.write("SHA256(%s)= %s\n" % (os.path.basename(path), hashlib.sha256(data.read()).hexdigest()))
        members.append(mf)
    members.append(vmdk)
    ova = os.path.join(folder, name + ".ova")
    with tarfile.open(ova, "w", format=tarfile.USTAR_FORMAT) as tar:
        for path in members:
            tar.add(path, arcname=os.path.basename(path))
    return ova, raw


@pytest.fixture
def place(libvirt_daemon, unique, tmp_path):
    """A dir pool and an isolated network of our own (198.18.x), removed with every guest and volume
    the test leaves, also on failure."""
    os.chmod(tmp_path, 0o755)
    pool, net = unique + "p", unique + "n"
    target = tmp_path / "pool"
    target.mkdir()
    virsh("pool-create-as", pool, "dir", "--target", target)
    octet = 150 + int(unique[-2:], 16) % 40
    xml = tmp_path / "net.xml"
    xml.write_text("<network><name>%s</name><bridge name='vb%s'/><ip address='198.18.%d.1' netmask='255.255.255.0'/>"
                   "</network>" % (net, unique[3:11], octet))
    virsh("net-create", xml)
    guests = []
    try:
        yield {"pool": pool, "network": net, "dir": str(tmp_path), "target": str(target), "guests": guests}
    finally:
        for guest in guests:
            virsh("destroy", guest, check=False)
            virsh("undefine", guest, check=False)
        virsh("pool-destroy", pool, check=False)
        virsh("net-destroy", net, check=False)


def spec(place, ova, name, **extra):
    place["guests"].append(name)
    return dict(src=ova, name=name, uri=URI, pool=place["pool"], network_map={"lan": place["network"]},
                virt_type="qemu", **extra)


def volumes(place):
    return sorted(os.listdir(place["target"]))


def test_import_converges_and_maps_the_hardware(place, unique):
    ova, raw = build(place["dir"], unique)
    name = unique + "g"
    result = converge("ova_import", **spec(place, ova, name))
    assert result["actions"] == ["create volume %s-disk1.qcow2 in pool %s" % (name, place["pool"]),
                                 "copy disk vmdisk1 of the OVA into volume %s-disk1.qcow2" % name,
                                 "define guest %s" % name]
    root = etree.fromstring(virsh("dumpxml", "--inactive", name).stdout.encode())
    assert root.findtext("memory") == str(768 * 1024) and root.findtext("vcpu") == "2"
    assert root.find("devices/interface/source").get("network") == place["network"]
    assert root.find("devices/interface/model").get("type") == "vmxnet3"
    assert root.find("devices/disk/target").get("bus") == "sata"  # the OVF's AHCI controller
    record = root.find("metadata/{urn:virtcloud:core}ova")
    assert record is not None and record.get("identity") == result["domain"]["ova_identity"]
    # the disk holds exactly the appliance's data
    path = os.path.join(place["target"], name + "-disk1.qcow2")
    assert sh("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw, path).returncode == 0
    assert volumes(place) == [name + "-disk1.qcow2"]
    # started on request, which an already imported guest also gets
    started = run_module("ova_import", **spec(place, ova, name, start=True))
    assert started["changed"] and started["actions"] == ["start guest %s" % name], started
    assert virsh("domstate", name).stdout.strip() == "running"


def test_tampered_disk_fails_and_leaves_nothing(place, unique):
    ova = build(place["dir"], unique)[0]
    with tarfile.open(ova) as tar:
        member = [m for m in tar.getmembers() if m.name.endswith(".vmdk")][0]
    with open(ova, "r+b") as handle:  # one bit flipped in the middle of the disk's data
        handle.seek(member.offset_data + member.size // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 1]))
    name = unique + "g"
    result = run_module("ova_import", **spec(place, ova, name))
    assert result.get("failed") and "does not match the manifest" in result["msg"], result
    assert "rolled back" in result["msg"]
    assert volumes(place) == [] and virsh("dominfo", name, check=False).returncode != 0


def test_another_ova_under_the_same_name_needs_force(place, unique):
    first = build(place["dir"], unique)[0]
    name = unique + "g"
    assert run_module("ova_import", **spec(place, first, name))["changed"] is True
    other_dir = os.path.join(place["dir"], "other")
    os.makedirs(other_dir)
    second, raw = build(other_dir, unique, content=b"another appliance")
    refused = run_module("ova_import", **spec(place, second, name))
    assert refused.get("failed") and refused["msg"].startswith("force:"), refused
    replaced = run_module("ova_import", **spec(place, second, name, force=True))
    assert replaced["changed"] and replaced["actions"][0] == "remove guest %s and its imported volumes" % name
    path = os.path.join(place["target"], name + "-disk1.qcow2")
    assert sh("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw, path).returncode == 0
    assert run_module("ova_import", **spec(place, second, name, force=True))["changed"] is False


@pytest.mark.parametrize("change, option, words", [
    ({"network_map": {}}, "network_map", "'lan'"),
    ({"network_map": {"lan": "vct-no-such-net"}}, "network_map['lan']", "does not exist"),
    ({"pool": "vct-no-such-pool"}, "pool", "does not exist"),
    ({"preallocation": "metadata", "disk_format": "raw"}, "preallocation", "qcow2"),
    ({"require_manifest": True, "_no_manifest": True}, "require_manifest", "no manifest"),
    ({"_declared_mib": 1 << 30}, "src", "declare"),  # 1 PiB: more than the pool can ever hold
])
def test_bad_input_is_refused_before_anything_is_written(place, unique, change, option, words):
    change = dict(change)
    ova = build(place["dir"], unique, manifest=not change.pop("_no_manifest", False),
                declared_mib=change.pop("_declared_mib", None))[0]
    name = unique + "g"
    for check in (True, False):
        result = run_module("ova_import", check=check, **{**spec(place, ova, name), **change})
        assert result.get("failed") and result["msg"].startswith(option + ":") and words in result["msg"], result
    assert volumes(place) == [] and virsh("dominfo", name, check=False).returncode != 0


def test_domain_options_on_top_of_the_ovf(place, unique):
    ova = build(place["dir"], unique)[0]
    name = unique + "g"
    log = os.path.join(place["dir"], "console.log")
    result = run_module("ova_import", **spec(place, ova, name, domain={
        "memory": "256MiB", "serial": {"type": "file", "path": log}, "graphics": {"type": "vnc"}}))
    assert result["changed"], result
    root = etree.fromstring(virsh("dumpxml", "--inactive", name).stdout.encode())
    assert root.findtext("memory") == str(256 * 1024)
    assert root.find("devices/serial/source").get("path") == log
    assert root.find("devices/graphics").get("listen") == "127.0.0.1"
    refused = run_module("ova_import", **spec(place, ova, unique + "h", domain={"disks": []}))
    assert refused.get("failed") and refused["msg"].startswith("domain:") and "disks" in refused["msg"], refused


def test_src_url_is_fetched_once_into_the_cache(place, unique):
    """An OVA served over HTTP (on 127.0.0.1 by the test) is downloaded once, whole, then used from the cache."""
    import functools
    import http.server
    import threading

    ova = build(place["dir"], unique)[0]
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=place["dir"]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/%s" % (server.server_address[1], os.path.basename(ova))
        cache = os.path.join(place["dir"], "cache")
        name = unique + "g"
        result = converge("ova_import", **spec(place, url, name, cache_dir=cache))
        assert result["actions"][-1] == "define guest %s" % name
        cached = os.listdir(cache)
        assert len(cached) == 1 and cached[0].endswith(os.path.basename(ova)), cached
        with open(os.path.join(cache, cached[0]), "rb") as mine, open(ova, "rb") as theirs:
            assert mine.read() == theirs.read()
        assert len(requests) == 1, requests  # four runs, one download
        missing = run_module("ova_import", **spec(place, url + ".nope", unique + "h", cache_dir=cache))
        assert missing.get("failed") and missing["msg"].startswith("src: cannot fetch"), missing
        assert os.listdir(cache) == cached  # no partial download left
    finally:
        server.shutdown()
        server.server_close()


def test_what_a_killed_import_left_is_made_again(place, unique):
    """A run killed after it created a volume (its marker next to it) and before it defined the guest:
    the rerun deletes the incomplete volume and imports, where it used to refuse "already exists"."""
    ova, raw = build(place["dir"], unique)
    name = unique + "g"
    volume = name + "-disk1.qcow2"
    for leftover in (volume, volume + ".virtcloud-partial"):
        virsh("vol-create-as", place["pool"], leftover, "1M", "--format", "raw")
    rerun = run_module("ova_import", **spec(place, ova, name))
    assert rerun["actions"][:2] == ["delete incomplete volume %s in pool %s" % (volume, place["pool"]),
                                    "create volume %s in pool %s" % (volume, place["pool"])], rerun
    assert volumes(place) == [volume]  # the marker is gone once the guest is defined
    path = os.path.join(place["target"], volume)
    assert sh("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw, path).returncode == 0
    # a volume of that name without the marker is someone else's: refused, untouched
    other = unique + "o"
    virsh("vol-create-as", place["pool"], other + "-disk1.qcow2", "1M", "--format", "raw")
    refused = run_module("ova_import", **spec(place, ova, other))
    assert refused.get("failed") and refused["msg"].startswith("name:") and "already exists" in refused["msg"]
