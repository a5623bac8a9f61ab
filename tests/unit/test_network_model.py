"""libvirt networks: XML model (network_xml: build/parse round trips, escaping, normalisation),
input validation, planning (test:///default)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import execute
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.network import NetworkInfoService, NetworkService
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.network_xml import entry_xml, parse, render
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import from_string

NAT_XML = """<network>
  <name>lab</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
  <bridge name='virbr7' stp='on' delay='0'/>
  <mac address='52:54:00:aa:bb:cc'/>
  <domain name='lab.example'/>
  <dns><forwarder addr='198.18.0.53'/><host ip='198.18.7.10'><hostname>db</hostname><hostname>a</hostname></host></dns>
  <ip address='198.18.7.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='198.18.7.100' end='198.18.7.200'/>
      <host mac='52:54:00:00:00:0A' name='db' ip='198.18.7.10'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='2001:db8::1' prefix='64'/>
</network>"""


def params(**kw):
    base = {key: None for key in NetworkService.argument_spec()}
    base.update(uri="test:///default", state="present", active=True, restart=False)
    base.update(kw)
    return base


def test_parse_normalises():
    state = parse(NAT_XML)
    assert state == {
        "name": "lab", "uuid": "11111111-2222-3333-4444-555555555555", "forward": "nat",
        "bridge": "virbr7", "openvswitch": False, "address": "198.18.7.1/24",
        "dhcp_ranges": [{"start": "198.18.7.100", "end": "198.18.7.200"}],
        "dhcp_hosts": [{"mac": "52:54:00:00:00:0a", "ip": "198.18.7.10", "name": "db"}],
        "dns_hosts": [{"ip": "198.18.7.10", "hostnames": ["a", "db"]}],
        "portgroups": [], "mtu": None, "mac": "52:54:00:aa:bb:cc",
    }


def test_render_keeps_what_is_not_managed():
    state = dict(parse(NAT_XML), mtu=9000, dhcp_hosts=[], dns_hosts=[])
    xml = render(state, NAT_XML)
    assert "lab.example" in xml and "2001:db8::1" in xml and "198.18.0.53" in xml
    again = parse(xml)
    assert again["mtu"] == 9000 and again["dhcp_hosts"] == [] and again["dns_hosts"] == []
    assert again["uuid"] == state["uuid"] and again["mac"] == state["mac"] and again["bridge"] == "virbr7"


def test_render_isolated_and_portgroups_roundtrip():
    state = {"name": "ovs", "forward": "bridge", "bridge": "ovsbr0", "openvswitch": True,
             "portgroups": [{"name": "a", "vlan": 10, "trunk": None, "default": True},
                            {"name": "t", "vlan": 5, "trunk": [20, 30], "default": False}]}
    assert parse(render(state))["portgroups"] == state["portgroups"]
    iso = parse(render({"name": "iso", "forward": "isolated", "address": "198.18.9.1/24"}))
    assert iso["forward"] == "isolated" and iso["address"] == "198.18.9.1/24"


def test_parse_normalises_representations():
    """Netmask or prefix, MAC case, entry and hostname order, whitespace: the same network."""
    xml = """<network><name>lab</name><forward/>
      <ip address='198.18.7.1' prefix='24'><dhcp>
        <host name='b' ip='198.18.7.11'/>
        <host mac='52:54:00:00:00:0A' ip='198.18.7.10'/>
      </dhcp></ip>
      <dns><host ip='198.18.7.10'><hostname>db</hostname><hostname>a</hostname></host></dns>
      <portgroup name='t'><vlan trunk='yes'><tag id='30'/><tag id='5' nativeMode='untagged'/><tag id='20'/></vlan></portgroup>
      <portgroup name='single'><vlan><tag id='7'/></vlan></portgroup>
    </network>"""
    state = parse(xml)
    assert state["forward"] == "nat" and state["address"] == "198.18.7.1/24"
    assert state["dhcp_hosts"] == [{"mac": "52:54:00:00:00:0a", "ip": "198.18.7.10", "name": None},
                                   {"mac": None, "ip": "198.18.7.11", "name": "b"}]
    assert state["dns_hosts"] == [{"ip": "198.18.7.10", "hostnames": ["a", "db"]}]
    assert state["portgroups"] == [{"name": "single", "vlan": 7, "trunk": None, "default": False},
                                   {"name": "t", "vlan": 5, "trunk": [20, 30], "default": False}]
    assert parse(render(state)) == dict(state, uuid=None)
    assert parse(xml.replace("prefix='24'", "netmask='255.255.255.0'"))["address"] == "198.18.7.1/24"
    assert parse("<network><name>x</name></network>")["forward"] == "isolated"


def test_parse_ignores_ipv6_and_keeps_generated_facts():
    state = parse(NAT_XML.replace("<ip family='ipv6' address='2001:db8::1' prefix='64'/>", "")
                  .replace("<ip address='198.18.7.1'", "<ip family='ipv6' address='2001:db8::1' prefix='64'/>"
                           "<ip address='198.18.7.1'"))
    assert state["address"] == "198.18.7.1/24" and state["mac"] == "52:54:00:aa:bb:cc" and state["bridge"] == "virbr7"


FULL = {"name": "lab", "uuid": None, "forward": "nat", "bridge": None, "openvswitch": False, "address": "198.18.7.1/24",
        "dhcp_ranges": [{"start": "198.18.7.100", "end": "198.18.7.200"}],
        "dhcp_hosts": [{"mac": "52:54:00:00:00:01", "ip": "198.18.7.5", "name": "h-1"},
                       {"mac": None, "ip": "198.18.7.6", "name": "x_y.example."}],
        "dns_hosts": [{"ip": "198.18.7.5", "hostnames": ["a", "h-1.example"]}],
        "portgroups": [{"name": "p", "vlan": None, "trunk": None, "default": True}], "mtu": 9000, "mac": None}


@pytest.mark.parametrize("forward", ["nat", "route", "open", "isolated"])
def test_build_parse_roundtrip(forward):
    state = dict(FULL, forward=forward)
    assert parse(render(state)) == state
    # rendering the parsed state into its own XML changes nothing
    xml = render(state)
    assert render(parse(xml), xml) == xml


def test_render_edits_the_base():
    """A changed forward mode replaces <forward> (its NAT ports go); the same mode keeps it; a host
    bridge network loses what only a libvirt-made bridge has."""
    kept = from_string(render(dict(parse(NAT_XML)), NAT_XML))
    assert kept.find("forward/nat/port") is not None
    routed = from_string(render(dict(parse(NAT_XML), forward="route"), NAT_XML))
    assert routed.find("forward").get("mode") == "route" and routed.find("forward/nat") is None
    assert [el.tag for el in routed][:3] == ["name", "uuid", "forward"]  # in the place of the old one
    isolated = from_string(render(dict(parse(NAT_XML), forward="isolated"), NAT_XML))
    assert isolated.find("forward") is None
    bridged = from_string(render(dict(parse(NAT_XML), forward="bridge", bridge="br0"), NAT_XML))
    assert bridged.find("bridge").attrib == {"name": "br0"}
    assert bridged.find("mac") is None and bridged.find("ip") is None and bridged.find("dns") is None
    emptied = from_string(render(dict(parse(NAT_XML), dhcp_ranges=[], dhcp_hosts=[], dns_hosts=[]), NAT_XML))
    assert emptied.find("ip/dhcp") is None
    assert emptied.find("dns/forwarder") is not None and emptied.find("dns/host") is None


@pytest.mark.parametrize("option, item, xml", [
    ("dhcp_ranges", {"start": "198.18.7.10", "end": "198.18.7.20"}, '<range start="198.18.7.10" end="198.18.7.20"/>'),
    ("dhcp_hosts", {"mac": "52:54:00:00:00:01", "ip": "198.18.7.5", "name": "h"},
     '<host mac="52:54:00:00:00:01" name="h" ip="198.18.7.5"/>'),
    ("dhcp_hosts", {"mac": None, "ip": "198.18.7.5", "name": "h"}, '<host name="h" ip="198.18.7.5"/>'),
    ("dns_hosts", {"ip": "198.18.7.5", "hostnames": ["a", "b"]},
     '<host ip="198.18.7.5"><hostname>a</hostname><hostname>b</hostname></host>'),
    ("portgroups", {"name": "p", "vlan": None, "trunk": None, "default": False}, '<portgroup name="p"/>'),
    ("portgroups", {"name": "p", "vlan": 10, "trunk": None, "default": True},
     '<portgroup name="p" default="yes"><vlan><tag id="10"/></vlan></portgroup>'),
    ("portgroups", {"name": "p", "vlan": 5, "trunk": [5, 20], "default": False},
     '<portgroup name="p"><vlan trunk="yes"><tag id="5" nativeMode="untagged"/><tag id="20"/></vlan></portgroup>'),
    ("portgroups", {"name": "p", "vlan": None, "trunk": [0, 20], "default": False},
     '<portgroup name="p"><vlan trunk="yes"><tag id="0"/><tag id="20"/></vlan></portgroup>'),
])
def test_live_update_entries(option, item, xml):
    """The snippets virNetworkUpdate gets, and they read back as the entry they came from."""
    assert entry_xml(option, item) == xml
    state = parse(render(dict(FULL, **{option: [item]})))
    expected = dict(item, trunk=[t for t in item["trunk"] if t != item["vlan"]]) if item.get("trunk") else item
    assert state[option] == [expected]


@pytest.mark.parametrize("name", ["a&b", "<lab>", "it's \"quoted\"", "]]>", "caf\u00e9 \u2603", "  spaced  "])
def test_odd_names_are_escaped(name):
    """Names libvirt accepts (no '/', no newline) go in as text, whatever characters they hold."""
    xml = render(dict(FULL, name=name, bridge="br&<0>"))
    from_string(xml)  # well-formed
    assert parse(xml)["name"] == name and parse(xml)["bridge"] == "br&<0>"
    assert parse(render(parse(xml), xml))["name"] == name


@pytest.mark.skipif(shutil.which("virt-xml-validate") is None, reason="virt-xml-validate (libvirt-clients) missing")
@pytest.mark.parametrize("state", [
    {"name": "n", "forward": "nat", "address": "198.18.7.1/24", "mtu": 1400,
     "dhcp_ranges": [{"start": "198.18.7.10", "end": "198.18.7.20"}],
     "dhcp_hosts": [{"mac": "52:54:00:00:00:01", "ip": "198.18.7.5", "name": "h"}],
     "dns_hosts": [{"ip": "198.18.7.5", "hostnames": ["h"]}]},
    {"name": "r", "forward": "route", "address": "198.18.8.1/24"},
    {"name": "o", "forward": "open", "address": "198.18.8.1/24"},
    {"name": "i", "forward": "isolated", "address": "198.18.8.1/24"},
    {"name": "b", "forward": "bridge", "bridge": "br0"},
    {"name": "s", "forward": "bridge", "bridge": "ovsbr0", "openvswitch": True,
     "portgroups": [{"name": "v", "vlan": 10, "trunk": None, "default": True},
                    {"name": "t", "vlan": None, "trunk": [10, 20], "default": False}]},
])
def test_rendered_xml_passes_libvirt_schema(tmp_path, state):
    path = tmp_path / "net.xml"
    path.write_text(render(state))
    proc = subprocess.run(["virt-xml-validate", str(path), "network"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr + path.read_text()


@pytest.mark.parametrize("kw, option", [
    ({"address": "198.18.7.1"}, "address"),
    ({"address": "198.18.7.0/24"}, "address"),
    ({"address": "not-an-ip/24"}, "address"),
    ({"address": "198.18.7.1/24", "dhcp_ranges": [{"start": "198.18.8.1", "end": "198.18.8.9"}]}, "dhcp_ranges"),
    ({"address": "198.18.7.1/24", "dhcp_ranges": [{"start": "198.18.7.9", "end": "198.18.7.1"}]}, "dhcp_ranges"),
    ({"address": "198.18.7.1/24", "dhcp_hosts": [{"mac": "zz", "ip": "198.18.7.9", "name": None}]}, "dhcp_hosts"),
    ({"address": "198.18.7.1/24", "dhcp_hosts": [{"mac": None, "ip": "198.18.7.9", "name": None}]}, "dhcp_hosts"),
    ({"dhcp_ranges": [{"start": "198.18.7.2", "end": "198.18.7.9"}]}, "address"),
    ({"forward": "bridge"}, "bridge"),
    ({"forward": "bridge", "bridge": "br0", "address": "198.18.7.1/24"}, "address"),
    ({"forward": "nat", "openvswitch": True}, "openvswitch"),
    ({"portgroups": [{"name": "p", "vlan": 10, "trunk": None, "default": False}]}, "portgroups"),
    ({"forward": "bridge", "bridge": "b", "openvswitch": True,
      "portgroups": [{"name": "p", "vlan": 5000, "trunk": None, "default": False}]}, "portgroups"),
    ({"mtu": 10}, "mtu"),
])
def test_bad_input_names_the_option(kw, option):
    with pytest.raises(InputError) as err:
        NetworkService(params(name="vctx", **kw)).desired()
    assert err.value.option == option


def _run(check=False, **kw):
    return execute(NetworkService(params(**kw)), check_mode=check)


def test_plan_on_the_test_driver(test_driver):
    """Create, live update, redefine and remove on libvirt's in-process test driver."""
    spec = dict(name="vctunit", forward="nat", address="198.18.77.1/24",
                dhcp_ranges=[{"start": "198.18.77.100", "end": "198.18.77.120"}])
    assert _run(check=True, **spec)["changed"]
    created = _run(**spec)
    assert created["actions"] == ["define network vctunit", "start network vctunit"]
    assert created["network"]["uuid"] and created["network"]["active"]
    assert not _run(**spec)["changed"]

    hosts = [{"mac": "52:54:00:77:00:01", "ip": "198.18.77.5", "name": "h1"}]
    live = _run(dhcp_hosts=hosts, **spec)
    assert live["actions"] == ["add dhcp_hosts entry h1 to network vctunit"]
    assert "restart_required" not in live
    assert live["network"]["dhcp_hosts"] == hosts

    redefined = _run(mtu=1400, dhcp_hosts=hosts, **spec)
    assert redefined["actions"] == ["redefine network vctunit (mtu)"]
    # the pending state after a redefine needs persistent definitions, which the test driver
    # lacks; tests/integration/test_network.py covers it on qemu:///system
    assert redefined["restart_required"]

    with pytest.raises(InputError) as err:
        _run(name="vctunit2", address="198.18.77.129/25")
    assert err.value.option == "address" and "vctunit" in err.value.msg

    info = execute(NetworkInfoService({"uri": "test:///default", "name": "vctunit"}))
    assert info["networks"][0]["dhcp_hosts"] == hosts and info["networks"][0]["leases"] is None
    assert _run(name="vctunit", state="absent")["actions"] == ["stop network vctunit", "undefine network vctunit"]
    assert not _run(name="vctunit", state="absent")["changed"]
