"""libvirt storage: pool and volume XML (storage_xml: round trips, escaping, normalisation, libvirt's
RNG schema), volume input validation, the overcommit guard and planning on the test:///default driver."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import execute
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage import (
    SOURCE,
    StorageInfoService,
    StoragePoolService,
    VolumeService,
)
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage_xml import (
    PERMISSION_KEYS,
    SOURCE_KEYS,
    parse_pool,
    render_pool,
    volume_xml,
)
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import from_string

POOLS = {
    "dir": dict(path="/var/lib/vct/images"),
    "logical": dict(source={"name": "vg_vct", "devices": ["/dev/vdb", "/dev/vdc"]}),
    "netfs": dict(path="/mnt/vct", source={"host": "nfs.example.com", "dir": "/export/vct", "format": "nfs"}),
    "iscsi": dict(source={"host": "san.example.com", "port": 3260, "iqn": "iqn.2013-06.com.example:vct",
                          "initiator": "iqn.2013-06.com.example:host1"}),
}


def complete(kind, **kw):
    """desired() plus what plan() adds when the pool is created."""
    desired = StoragePoolService(pool_params(kind, **kw)).desired()
    StoragePoolService.complete(desired, kind, creating=True)
    return desired


def pool_params(kind, **kw):
    base = {key: None for key in StoragePoolService.argument_spec()}
    base.update(uri="test:///default", name="vct" + kind, state="present", type=kind, build=False,
                active=True, refresh=False, delete_data=False)
    base.update(POOLS[kind])
    base.update(kw)
    return base


def volume_params(**kw):
    base = {key: None for key in VolumeService.argument_spec()}
    base.update(uri="test:///default", pool="default-pool", state="present", preallocation="none",
                allow_shrink=False, wipe=False)
    base.update(kw)
    return base


@pytest.mark.parametrize("kind", sorted(POOLS))
def test_pool_xml_roundtrip(kind):
    desired = complete(kind)
    state = dict(desired, uuid=None)
    parsed = parse_pool(render_pool(state))
    assert parsed["type"] == kind and parsed["path"] == desired["path"]
    assert parsed["source"] == desired["source"]


def test_pool_source_fields_are_the_options():
    assert SOURCE_KEYS == tuple(SOURCE)


@pytest.mark.parametrize("kind", sorted(POOLS))
def test_pool_parse_render_roundtrip(kind):
    state = parse_pool(render_pool(dict(complete(kind), uuid="dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566")))
    assert parse_pool(render_pool(state)) == state
    assert list(state["source"] or {}) == [key for key in SOURCE_KEYS if key in (state["source"] or {})]


def test_pool_parse_normalises():
    """A logical pool named after its volume group is lvm2 when libvirt leaves the format out; the
    first device of an iSCSI pool is its IQN; empty sources are no source."""
    logical = parse_pool("<pool type='logical'><name>p</name><source><name>vg</name></source>"
                         "<target><path>/dev/vg</path></target></pool>")
    assert logical["source"] == {"name": "vg", "format": "lvm2"} and logical["uuid"] is None
    iscsi = parse_pool("""<pool type='iscsi'>
      <name>san</name>
      <source>
        <host name='san.example.com'/>
        <device path='iqn.2013-06.com.example:vct'/>
      </source>
      <target><path>/dev/disk/by-path</path></target>
    </pool>""")
    assert iscsi["source"] == {"host": "san.example.com", "iqn": "iqn.2013-06.com.example:vct"}
    assert parse_pool("<pool type='dir'><name>d</name><source/><target><path>/d</path></target></pool>")["source"] is None


@pytest.mark.parametrize("odd", ["a&b", "<x>", "it's \"q\"", "]]>", "caf\u00e9 \u2603", " spaced "])
def test_pool_odd_values_are_escaped(odd):
    state = {"name": "p" + odd, "uuid": None, "type": "netfs", "path": "/srv/" + odd,
             "source": {"host": "nfs.example.com", "dir": "/export/" + odd, "format": "nfs"},
             **dict.fromkeys(PERMISSION_KEYS)}
    assert parse_pool(render_pool(state)) == state


@pytest.mark.parametrize("name", ["disk.qcow2", "a&b <c> 'd' \"e\".img", "]]>", "caf\u00e9 \u2603", " x "])
def test_volume_xml(name):
    root = from_string(volume_xml(name, 10 << 30, "qcow2", 0))
    assert root.findtext("name") == name
    assert (root.findtext("capacity"), root.find("capacity").get("unit")) == (str(10 << 30), "bytes")
    assert (root.findtext("allocation"), root.find("target/format").get("type")) == ("0", "qcow2")
    assert from_string(volume_xml(name, 512, "raw")).find("allocation") is None


@pytest.mark.skipif(shutil.which("virt-xml-validate") is None, reason="virt-xml-validate (libvirt-clients) missing")
@pytest.mark.parametrize("fmt, allocation", [("qcow2", None), ("raw", 1 << 20)])
def test_volume_xml_passes_libvirt_schema(tmp_path, fmt, allocation):
    path = tmp_path / "vol.xml"
    path.write_text(volume_xml("a&b.img", 1 << 30, fmt, allocation))
    proc = subprocess.run(["virt-xml-validate", str(path), "storagevol"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr + path.read_text()


@pytest.mark.skipif(shutil.which("virt-xml-validate") is None, reason="virt-xml-validate (libvirt-clients) missing")
@pytest.mark.parametrize("kind", sorted(POOLS))
def test_pool_xml_passes_libvirt_schema(tmp_path, kind):
    desired = complete(kind)
    path = tmp_path / "pool.xml"
    path.write_text(render_pool(dict(desired, uuid="dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566")))
    proc = subprocess.run(["virt-xml-validate", str(path), "storagepool"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr + path.read_text()


def test_pool_defaults():
    assert complete("logical")["path"] == "/dev/vg_vct"
    assert complete("logical")["source"]["format"] == "lvm2"
    assert complete("iscsi")["path"] == "/dev/disk/by-path"
    assert complete("netfs")["source"]["format"] == "nfs"


@pytest.mark.parametrize("kind, kw, option", [
    ("dir", {"path": None}, "path"),
    ("dir", {"path": "relative/dir"}, "path"),
    ("dir", {"source": {"host": "x"}}, "source"),
    ("netfs", {"source": {"host": "nfs.example.com"}}, "source"),
    ("iscsi", {"source": {"host": "san"}}, "source"),
    ("logical", {"source": {"format": "lvm2"}}, "source"),
])
def test_bad_pool_input(kind, kw, option):
    with pytest.raises(InputError) as err:
        complete(kind, **kw)
    assert err.value.option == option


@pytest.mark.parametrize("kw, option", [
    ({"capacity": "10 parsecs"}, "capacity"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": "1G", "format": "raw", "preallocation": "metadata"}, "preallocation"),
    ({"capacity": "1G", "format": "qcow2", "preallocation": "full"}, "preallocation"),
    ({"capacity": "1G", "max_overcommit": 0.0}, "max_overcommit"),
    ({"upload": "/nonexistent/image.qcow2"}, "upload"),
])
def test_bad_volume_input(kw, option):
    with pytest.raises(InputError) as err:
        VolumeService(volume_params(name="v", **kw)).desired()
    assert err.value.option == option


def test_capacity_rounded_to_sectors():
    assert VolumeService(volume_params(name="v", capacity="1.5GB")).desired()["capacity"] == 1500000256


def _vol(check=False, **kw):
    return execute(VolumeService(volume_params(**kw)), check_mode=check)


def test_volume_plans_on_the_test_driver(test_driver):
    """The test driver's pool has 100 GiB: create, grow, shrink guard and overcommit guard."""
    assert _vol(check=True, name="vcta", capacity="10GiB")["changed"]
    created = _vol(name="vcta", capacity="10GiB", format="raw")
    assert created["actions"] == ["create volume default-pool/vcta (10 GiB, none)"]
    assert created["volume"]["capacity"] == 10 << 30
    assert not _vol(name="vcta", capacity="10GiB")["changed"]

    with pytest.raises(InputError) as err:
        _vol(name="vcta", capacity="5GiB")
    assert err.value.option == "capacity" and "allow_shrink" in err.value.msg

    with pytest.raises(InputError) as err:
        _vol(name="vctb", capacity="100GiB", max_overcommit=1.0)
    assert err.value.option == "max_overcommit" and "1.1" in err.value.msg
    assert not any(v.name() == "vctb" for v in test_driver.storagePoolLookupByName("default-pool").listAllVolumes())
    assert _vol(name="vctb", capacity="90GiB", max_overcommit=1.0)["changed"]

    info = execute(StorageInfoService({"uri": "test:///default", "name": "default-pool", "refresh": False}))
    pool = info["pools"][0]
    assert pool["virtual_size"] == 100 << 30 and pool["overcommit"] == 1.0
    assert {v["name"] for v in pool["volumes"]} == {"vcta", "vctb"}

    with pytest.raises(InputError) as err:
        _vol(name="vcta", capacity="20GiB", max_overcommit=1.0)
    assert err.value.option == "max_overcommit"

    for name in ("vcta", "vctb"):
        assert _vol(name=name, state="absent")["actions"] == ["delete volume default-pool/%s" % name]
    with pytest.raises(InputError) as err:
        _vol(name="x", pool="vctnosuchpool", capacity="1G")
    assert err.value.option == "pool"
