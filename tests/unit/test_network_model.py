"""libvirt networks: XML model, normalisation, input validation, planning (test:///default)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import execute
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.network import (
    NetworkInfoService,
    NetworkService,
    parse,
    render,
)

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
