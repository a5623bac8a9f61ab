"""The `xml` option of virtcloud.core.libvirt_network / libvirt_pool / libvirt_volume against the real
libvirtd (qemu:///system): a user's own definition managed as it is, merged onto the stored one and
compared semantically, verified with virsh *-dumpxml. Addresses in 198.18.0.0/15, names from `unique`."""

from __future__ import annotations

import os

import pytest
from lxml import etree

from conftest import converge, run_module, sh
from test_libvirt_storage import drop_pool

pytestmark = pytest.mark.usefixtures("libvirt_daemon")

NETWORK = """<network>
  <name>{name}</name>
  <forward mode='nat'/>
  <bridge name='{bridge}'/>
  <dns>
    <forwarder addr='198.18.0.53'/>
    <host ip='198.18.{n}.5'><hostname>five</hostname></host>
  </dns>
  <ip address='198.18.{n}.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='198.18.{n}.100' end='198.18.{n}.150'/>
      <host mac='52:54:00:AA:{n:02x}:01' name='one' ip='198.18.{n}.11'/>
    </dhcp>
  </ip>
</network>"""


@pytest.fixture
def network(unique):
    name = unique
    yield name
    sh("virsh", "-q", "net-destroy", name, check=False)
    sh("virsh", "-q", "net-undefine", name, check=False)


def dump(*argv):
    return etree.fromstring(sh("virsh", *argv).stdout.encode())


def test_network_xml_defined_rerun_and_changed(network, unique):
    n = 64 + int(unique[-2:], 16) % 64  # 198.18.64.0 - 198.18.127.0
    xml = NETWORK.format(name=network, bridge="br" + unique[-8:], n=n)
    created = converge("libvirt_network", name=network, xml=xml)
    assert created["actions"] == ["define network %s" % network, "start network %s" % network]
    live = dump("net-dumpxml", network)
    assert live.find("forward").get("mode") == "nat" and live.find("bridge").get("name") == "br" + unique[-8:]
    assert live.find("dns/forwarder").get("addr") == "198.18.0.53"
    assert live.find("ip/dhcp/host").get("ip") == "198.18.%d.11" % n
    assert created["network"]["address"] == "198.18.%d.1/24" % n

    # a changed DHCP host goes in live, like the option's entries
    moved = xml.replace("198.18.%d.11" % n, "198.18.%d.12" % n)
    changed = converge("libvirt_network", name=network, xml=moved)
    assert changed["actions"] == ["remove dhcp_hosts entry one from network %s" % network,
                                  "add dhcp_hosts entry one to network %s" % network]
    assert "restart_required" not in changed
    for argv in (("net-dumpxml", network), ("net-dumpxml", "--inactive", network)):
        assert dump(*argv).find("ip/dhcp/host").get("ip") == "198.18.%d.12" % n

    # anything else redefines; the running network waits for a restart
    forwarder = moved.replace("198.18.0.53", "198.18.0.54")
    redefined = converge("libvirt_network", name=network, xml=forwarder)
    assert redefined["actions"] == ["redefine network %s (xml)" % network] and redefined["restart_required"]
    assert dump("net-dumpxml", "--inactive", network).find("dns/forwarder").get("addr") == "198.18.0.54"
    assert dump("net-dumpxml", network).find("dns/forwarder").get("addr") == "198.18.0.53"
    # and says so on the next run too, until it restarts (a change only the XML can make counts)
    assert run_module("libvirt_network", name=network, xml=forwarder)["network"]["restart_pending"] is True

    # an option set as well wins over the XML
    mtu = converge("libvirt_network", name=network, xml=forwarder, mtu=1400, restart=True)
    assert mtu["actions"] == ["redefine network %s (xml)" % network, "restart network %s" % network]
    assert dump("net-dumpxml", network).find("mtu").get("size") == "1400"

    # a DNS host the XML no longer lists goes (the XML owns its entry lists)
    fewer = forwarder.replace("<host ip='198.18.%d.5'><hostname>five</hostname></host>" % n, "")
    dropped = converge("libvirt_network", name=network, xml=fewer, mtu=1400)
    assert dropped["actions"] == ["remove dns_hosts entry 198.18.%d.5 from network %s" % (n, network)]
    assert dump("net-dumpxml", "--inactive", network).find("dns/host") is None


def test_xml_errors_name_the_option(network):
    for xml, words in (("<pool/>", "root element must be <network>"),
                       ("<network><name>other</name></network>", "'other'"), ("<network", "well-formed")):
        failed = run_module("libvirt_network", name=network, xml=xml)
        assert failed.get("failed") and failed["option"] == "xml" and words in failed["msg"], failed
    failed = run_module("libvirt_volume", name="v", pool="nonexistent", xml="<network/>")
    assert failed.get("failed") and failed["option"] == "xml", failed
    assert sh("virsh", "net-info", network, check=False).returncode != 0


def test_pool_and_volume_xml(tmp_path, unique):
    pool, path = unique + "x", str(tmp_path / "pool")
    pool_xml = ("<pool type='dir'><name>%s</name><target><path>%s</path>"
                "<permissions><mode>0751</mode></permissions></target></pool>" % (pool, path))
    vol_xml = ("<volume><name>data.qcow2</name><capacity unit='M'>8</capacity>"
               "<target><format type='qcow2'/><permissions><mode>0640</mode></permissions>"
               "</target></volume>")
    try:
        made = converge("libvirt_pool", name=pool, xml=pool_xml)
        assert made["actions"] == ["define pool %s" % pool, "build pool %s" % pool, "start pool %s" % pool]
        assert dump("pool-dumpxml", pool).findtext("target/path") == path
        assert "%04o" % (os.stat(path).st_mode & 0o7777) == "0751"

        # the pool as libvirt dumps it (capacity, uuid and all) is managed as it is
        dumped = sh("virsh", "pool-dumpxml", pool).stdout
        assert not run_module("libvirt_pool", name=pool, xml=dumped)["changed"]

        vol = converge("libvirt_volume", pool=pool, name="data.qcow2", xml=vol_xml)
        assert vol["volume"]["capacity"] == 8 << 20 and vol["volume"]["mode"] == "0640"
        stored = dump("vol-dumpxml", "data.qcow2", "--pool", pool)
        assert stored.findtext("capacity") == str(8 << 20) and stored.find("target/format").get("type") == "qcow2"
        assert "%04o" % (os.stat(os.path.join(path, "data.qcow2")).st_mode & 0o7777) == "0640"
        dumped = sh("virsh", "vol-dumpxml", "data.qcow2", "--pool", pool).stdout
        assert not run_module("libvirt_volume", pool=pool, name="data.qcow2", xml=dumped)["changed"]

        # a larger capacity in the XML resizes; what libvirt cannot change is an error naming xml
        grown = converge("libvirt_volume", pool=pool, name="data.qcow2", xml=vol_xml.replace(">8<", ">16<"))
        assert grown["actions"] == ["grow volume %s/data.qcow2 to 16 MiB" % pool]
        assert dump("vol-dumpxml", "data.qcow2", "--pool", pool).findtext("capacity") == str(16 << 20)
        raw = run_module("libvirt_volume", pool=pool, name="data.qcow2",
                         xml=vol_xml.replace("qcow2'", "raw'").replace(">8<", ">16<"))
        assert raw.get("failed") and raw["option"] == "format", raw
        compat = run_module("libvirt_volume", pool=pool, name="data.qcow2",
                            xml=vol_xml.replace(">8<", ">16<").replace("</target>", "<compat>0.10</compat></target>"))
        assert compat.get("failed") and compat["option"] == "xml" and "<target/compat>" in compat["msg"], compat

        # a changed pool definition: redefined, applied when the pool restarts
        other = str(tmp_path / "other")
        moved = converge("libvirt_pool", name=pool, xml=pool_xml.replace(path, other))
        assert moved["actions"] == ["redefine pool %s (xml)" % pool] and moved["restart_required"]
        assert dump("pool-dumpxml", "--inactive", pool).findtext("target/path") == other
        mismatch = run_module("libvirt_pool", name=pool, xml=pool_xml.replace("'dir'", "'logical'"))
        assert mismatch.get("failed") and mismatch["option"] == "xml", mismatch
    finally:
        drop_pool(pool)
