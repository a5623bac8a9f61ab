"""libvirt_domain's cloud_init seed (files, ISO image, input checks) and wait_for's probes that need no
daemon (the serial log marker, the timeout message); the real guest is tests/integration/test_libvirt_cloud_init.py."""

from __future__ import annotations

import json

import pycdlib
import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import validate_items
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError, MissingDependency
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import cloud_init, guest_wait
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import DomainService
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import from_string

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB vct@unit"


def test_a_user_data_dict_is_cloud_config_with_the_keys_merged_once():
    files, instance_id = cloud_init.files({"user_data": {"packages": ["nginx"], "ssh_authorized_keys": [KEY]},
                                           "ssh_keys": [KEY, "ssh-rsa AAAAB3 other"],
                                           "meta_data": {"hostname": "web1"}}, "g1")
    head, body = files["user-data"].decode().split("\n", 1)
    assert head == "#cloud-config"
    assert json.loads(body) == {"packages": ["nginx"], "ssh_authorized_keys": [KEY, "ssh-rsa AAAAB3 other"]}
    assert json.loads(files["meta-data"]) == {"instance-id": instance_id, "local-hostname": "web1"}
    assert "network-config" not in files and instance_id.startswith("g1-")


def test_text_user_data_and_network_config_are_written_as_given():
    network = {"version": 2, "ethernets": {"eth0": {"dhcp4": True}}}
    files, _id = cloud_init.files({"user_data": "#!/bin/sh\necho hi\n", "network_config": network}, "g1")
    assert files["user-data"] == b"#!/bin/sh\necho hi\n"
    assert json.loads(files["network-config"]) == network


def test_the_instance_id_follows_the_content_unless_given():
    first = cloud_init.files({"user_data": {"a": 1}}, "g1")
    assert cloud_init.files({"user_data": {"a": 1}}, "g1") == first  # deterministic: a rerun compares equal
    assert cloud_init.files({"user_data": {"a": 2}}, "g1")[1] != first[1]
    assert cloud_init.files({"user_data": {"a": 1}, "meta_data": {"hostname": "h"}}, "g1")[1] != first[1]
    assert cloud_init.files({"user_data": {"a": 2}, "meta_data": {"instance_id": "fixed"}}, "g1")[1] == "fixed"


def test_the_iso_is_labelled_cidata_and_reads_back(tmp_path):
    files, instance_id = cloud_init.files({"user_data": {"a": 1}, "network_config": {"version": 2}}, "g1")
    image = cloud_init.build_iso(files)
    assert image[32808:32814] == b"cidata"  # the ISO 9660 volume label, where the test guest looks for it
    assert cloud_init.read_iso(image) == files and cloud_init.instance_id(files) == instance_id
    path = tmp_path / "seed.iso"  # and pycdlib's own reader finds the Rock Ridge names cloud-init opens
    path.write_bytes(image)
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    names = sorted(child.rock_ridge.name().decode() for child in iso.list_children(rr_path="/")
                   if child.is_file())
    iso.close()
    assert names == ["meta-data", "network-config", "user-data"]
    assert cloud_init.read_iso(b"not an iso" * 10000) == {}


@pytest.mark.parametrize("value, option", [
    ({"user_data": 3}, "cloud_init.user_data"),
    ({"user_data": "#!/bin/sh\n", "ssh_keys": [KEY]}, "cloud_init.ssh_keys"),
    ({"network_config": {"ethernets": {}}}, "cloud_init.network_config"),
    ({"meta_data": {"hostname": "a b"}}, "cloud_init.meta_data.hostname"),
    ({"ssh_keys": ["onlyonefield"]}, "cloud_init.ssh_keys[0]"),
])
def test_bad_input_names_the_option(value, option):
    with pytest.raises(InputError) as err:
        cloud_init.parse(dict(value, pool="p"))
    assert err.value.msg.startswith(option), err.value.msg


def service(**kw):
    return DomainService(dict(validate_items(DomainService, [dict(name="g1", memory=128, **kw)], "spec")[0],
                              uri="test:///default"))


def test_without_pycdlib_only_a_task_with_cloud_init_fails_and_names_it(monkeypatch):
    monkeypatch.setattr(cloud_init, "PYCDLIB_IMPORT_ERROR", ImportError("No module named 'pycdlib'"))
    assert service(disks=[]).desired()["name"] == "g1"
    with pytest.raises(MissingDependency) as err:
        service(disks=[], cloud_init={"pool": "p"}).desired()
    assert "'pycdlib'" in err.value.msg and "pip install 'pycdlib" in err.value.msg


def test_the_marker_counts_from_where_this_boot_begins(tmp_path):
    log = tmp_path / "console.log"
    log.write_bytes(b"boot 1\nVCT-MARKER up\n")
    old = len(log.read_bytes())
    root = from_string("<domain><devices><serial type='file'><source path='%s' append='on'/></serial></devices>"
                       "</domain>" % log)
    assert guest_wait.serial_log(root) == str(log) and guest_wait.log_start(root) == old
    assert guest_wait.log_start(from_string(guest_wait_xml(log))) == 0  # truncated by QEMU at start
    with open(log, "ab") as handle:
        handle.write(b"boot 2\n")
    line, answers = guest_wait.probe_marker(str(log), "VCT-MARKER", old)
    assert line is None and "no line with 'VCT-MARKER'" in answers[0]
    with open(log, "ab") as handle:
        handle.write(b"VCT-MARKER again\n")
    assert guest_wait.probe_marker(str(log), "VCT-MARKER", old)[0] == "VCT-MARKER again"
    log.write_bytes(b"VCT-MARKER short\n")  # truncated since: read from the start
    assert guest_wait.probe_marker(str(log), "VCT-MARKER", old)[0] == "VCT-MARKER short"


def guest_wait_xml(log):
    return ("<domain><devices><serial type='file'><source path='%s'/></serial><interface type='network'>"
            "<mac address='52:54:00:aa:bb:cc'/><source network='lab'/></interface></devices></domain>" % log)


class FakeGuest:
    """A running guest that never gets an address."""

    def __init__(self, xml):
        self.xml = xml

    def name(self):
        return "g1"

    def isActive(self):  # noqa: N802 (libvirt's name)
        return True

    def XMLDesc(self, flags):  # noqa: N802
        return self.xml

    def interfaceAddresses(self, source, flags):  # noqa: N802
        return {}


def test_a_timeout_says_what_every_source_answered(tmp_path):
    with pytest.raises(BackendError) as err:
        guest_wait.wait(FakeGuest(guest_wait_xml(tmp_path / "console.log")), "ip", 0)
    assert err.value.details["tried"] == ["lease: none on network lab", "agent: no address reported",
                                          "arp: no entry for 52:54:00:aa:bb:cc"]
    assert "wait_for ip: guest g1 gave nothing in 0 s" in err.value.msg
    with pytest.raises(BackendError) as err:
        guest_wait.wait(FakeGuest(guest_wait_xml(tmp_path / "console.log")), "marker", 0, marker="UP")
    assert "No such file" in err.value.msg
