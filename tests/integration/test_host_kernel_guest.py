"""host_vlan and host_bridge on a kernel that has what this host's lacks (802.1Q, bridge VLAN filtering):
Debian's cloud kernel booted once for this file under QEMU (tests/lib/netlab.py, no network device),
the modules run inside it from this checkout, every outcome verified there with iproute2's
`ip -j -d` and `bridge -j`."""

from __future__ import annotations

import pytest

from conftest import prediction_gaps
from lib.netlab import Guest


@pytest.fixture(scope="module")
def kernel_guest():
    with Guest() as guest:
        yield guest


def link(guest, name):
    """`ip -j -d addr show dev NAME` in the guest, or None."""
    rc, out, err = guest.sh("ip -j -d addr show dev %s" % name)
    if rc != 0:
        assert "does not exist" in err, err
        return None
    return guest.json("ip -j -d addr show dev %s" % name)[0]


def addrs(entry):
    return sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in entry["addr_info"] if a["scope"] == "global")


def converge(guest, module, **args):
    """conftest.converge in the guest: check mode predicts the change, the real run does it and
    reads back the prediction, a rerun and a check-mode rerun change nothing."""
    predicted = guest.module(module, args, check=True, diff=True)
    assert predicted.get("failed") is not True and predicted.get("changed") is True, predicted
    applied = guest.module(module, args, diff=True)
    assert applied.get("failed") is not True and applied.get("changed") is True, applied
    assert applied["actions"] == predicted["actions"]
    gaps = prediction_gaps(predicted["diff"]["after"], applied["diff"]["after"])
    assert not gaps, "check mode predicted otherwise:\n" + "\n".join(gaps)
    rerun = guest.module(module, args)
    assert rerun.get("changed") is False and rerun["actions"] == [], rerun
    check_rerun = guest.module(module, args, check=True)
    assert check_rerun.get("changed") is False, check_rerun
    return {**applied, "predicted": predicted}


@pytest.fixture
def veth(kernel_guest):
    """A veth pair vcg0/vcg1 in the guest, both up (vcg0 is the parent to use; the kernel does not bring up
    a VLAN on a parent that is down); deleted afterwards with what hangs on it."""
    rc, out, err = kernel_guest.sh("ip link add vcg0 type veth peer name vcg1 && ip link set vcg1 up && ip link set vcg0 up")
    assert rc == 0, (out, err)
    yield "vcg0"
    kernel_guest.sh("ip link del vcg0.100; ip link del vcg0.200; ip link del vcg0")


def test_vlan_subinterface_in_guest(kernel_guest, veth):
    guest, name = kernel_guest, "vcg0.100"
    args = {"name": name, "type": "linux", "parent": veth, "vlan_id": 100, "addresses": ["198.18.100.1/24"], "mtu": 1400}
    out = converge(guest, "host_vlan", **args)
    assert out["predicted"]["actions"] and any(name in a for a in out["actions"]), out
    entry = link(guest, name)
    info = entry["linkinfo"]
    assert info["info_kind"] == "vlan" and info["info_data"]["id"] == 100, info
    assert entry["link"] == veth and entry["mtu"] == 1400, entry
    assert addrs(entry) == ["198.18.100.1/24"]

    facts = guest.module("host_network_info", {})
    assert not facts.get("failed"), facts
    listed = [v for v in facts["vlans"] if v["name"] == name]
    assert len(listed) == 1 and (listed[0]["parent"], listed[0]["vlan_id"]) == (veth, 100), facts["vlans"]
    assert any(i["name"] == name and i["kind"] == "vlan" for i in facts["interfaces"]), facts["interfaces"]

    # the VLAN ID is fixed at creation: a new one recreates the sub-interface
    converge(guest, "host_vlan", **{**args, "vlan_id": 200})
    before, entry = entry, link(guest, name)
    assert entry["ifindex"] != before["ifindex"], "not recreated"
    assert entry["linkinfo"]["info_data"]["id"] == 200 and entry["link"] == veth, entry
    assert entry["mtu"] == 1400 and addrs(entry) == ["198.18.100.1/24"], entry

    converge(guest, "host_vlan", name=name, state="absent")
    assert link(guest, name) is None


def test_vlan_parent_missing_in_guest(kernel_guest):
    for check in (True, False):
        result = kernel_guest.module("host_vlan", {"name": "vcgx.7", "parent": "vcgx", "vlan_id": 7}, check=check)
        assert result.get("failed") is True and result.get("changed") is False, result
        assert result["msg"].startswith("parent:") and "vcgx" in result["msg"], result["msg"]
    assert link(kernel_guest, "vcgx.7") is None
    # a parent that is down: the kernel would refuse to bring the VLAN up, so it is refused before
    rc, _out, err = kernel_guest.sh("ip link add vcgd0 type veth peer name vcgd1")
    assert rc == 0, err
    try:
        for check in (True, False):
            result = kernel_guest.module("host_vlan", {"name": "vcgd0.7", "parent": "vcgd0", "vlan_id": 7}, check=check)
            assert result.get("failed") is True and "vcgd0 is down" in result["msg"], result
        assert link(kernel_guest, "vcgd0.7") is None
        apply(kernel_guest, "host_vlan", name="vcgd0.7", parent="vcgd0", vlan_id=7, enabled=False)
        assert link(kernel_guest, "vcgd0.7")["linkinfo"]["info_data"]["id"] == 7
    finally:
        kernel_guest.sh("ip link del vcgd0")


# ---------------------------------------------------------------- host_vlan type=bridge (Linux bridge VLAN filtering)
def port_vlans(guest, port):
    """{vid: sorted flags} of a bridge port, as `bridge -j vlan show` reads them."""
    shown = guest.json("bridge -j vlan show dev %s" % port)
    entries = [e for e in shown if e["ifname"] == port]
    return {v["vlan"]: sorted(v.get("flags", [])) for e in entries for v in e["vlans"]} if entries else {}


def master(guest, port):
    return guest.json("ip -j link show dev %s" % port)[0].get("master")


@pytest.fixture
def vlan_bridge(kernel_guest):
    """A VLAN-filtering bridge vcvbr (made by host_bridge, checked by ip -d) and three veth pairs
    vcp{a,b,c}0 / vcp{a,b,c}1 whose ...1 ends sit in the guest's namespaces a, b, c with
    198.18.110.{1,2,3}/24; everything is deleted afterwards."""
    guest = kernel_guest
    setup = ["mkdir -p /run/netns"] + ["ip link add vcp%s0 type veth peer name vcp%s1" % (x, x) for x in "abc"]
    for i, x in enumerate("abc", 1):
        setup += ["ip netns add %s" % x, "ip link set vcp%s1 netns %s" % (x, x),
                  "ip -n %s addr add 198.18.110.%d/24 dev vcp%s1" % (x, i, x), "ip -n %s link set vcp%s1 up" % (x, x),
                  "ip link set vcp%s0 up" % x]
    rc, out, err = guest.sh(" && ".join(setup))
    assert rc == 0, (out, err)
    out = converge(guest, "host_bridge", name="vcvbr", vlan_filtering=True)
    assert link(guest, "vcvbr")["linkinfo"]["info_data"]["vlan_filtering"] == 1
    yield "vcvbr"
    guest.sh("; ".join(["ip link del vcvbr"] + ["ip link del vcp%s0; ip netns del %s" % (x, x) for x in "abc"]))


def apply(guest, module, **args):
    """One real run that changes something, and a rerun that changes nothing (converge's short form)."""
    out = guest.module(module, args)
    assert out.get("failed") is not True and out.get("changed") is True, out
    rerun = guest.module(module, args)
    assert rerun.get("changed") is False and rerun["actions"] == [], rerun
    return out


def reaches(guest, ns, address):
    rc, _out, _err = guest.sh("ip netns exec %s ping -c 1 -W 2 %s" % (ns, address))
    return rc == 0


def test_bridge_port_vlans_in_guest(kernel_guest, vlan_bridge):
    guest, br = kernel_guest, vlan_bridge
    # access ports: a and b in VLAN 10, c in VLAN 20; the bridge's default VLAN 1 goes
    for port, vid in (("vcpa0", 10), ("vcpb0", 10), ("vcpc0", 20)):
        out = converge(guest, "host_vlan", name=port, type="bridge", bridge=br, vlan_id=vid) if port == "vcpa0" \
            else apply(guest, "host_vlan", name=port, type="bridge", bridge=br, vlan_id=vid)
        assert out["actions"] == ["attach %s to %s" % (port, br), "set VLANs of %s on %s to %d (PVID, untagged)"
                                  % (port, br, vid)], out["actions"]
        assert {k: out["vlan"][k] for k in ("bridge", "vlan_id", "trunks", "mode")} == \
            {"bridge": br, "vlan_id": vid, "trunks": [], "mode": "access"}, out["vlan"]
        assert master(guest, port) == br
        assert port_vlans(guest, port) == {vid: ["Egress Untagged", "PVID"]}
    # same VLAN reaches, across VLANs does not (the bridge forwards by VLAN)
    assert reaches(guest, "a", "198.18.110.2")
    assert not reaches(guest, "a", "198.18.110.3")

    # native-untagged: VLAN 10 untagged (PVID) + 20, 30-32 tagged, changed in place
    out = converge(guest, "host_vlan", name="vcpb0", type="bridge", bridge=br, vlan_id=10, trunks=[20, "30-32"])
    assert out["actions"] == ["set VLANs of vcpb0 on %s to 10 (PVID, untagged), 20, 30, 31, 32" % br]
    assert port_vlans(guest, "vcpb0") == {10: ["Egress Untagged", "PVID"], 20: [], 30: [], 31: [], 32: []}
    assert out["vlan"]["mode"] == "native-untagged" and out["vlan"]["trunks"] == [20, 30, 31, 32]
    # trunk: tagged only, no PVID
    apply(guest, "host_vlan", name="vcpb0", type="bridge", bridge=br, trunks=[20], mode="trunk")
    assert port_vlans(guest, "vcpb0") == {20: []}
    assert not reaches(guest, "b", "198.18.110.1")  # untagged frames of b are dropped now
    # native-tagged: the PVID leaves tagged
    apply(guest, "host_vlan", name="vcpb0", type="bridge", bridge=br, vlan_id=10, trunks=[20], mode="native-tagged")
    assert port_vlans(guest, "vcpb0") == {10: ["PVID"], 20: []}

    facts = guest.module("host_network_info", {})
    bridge = next(b for b in facts["bridges"] if b["name"] == br)
    assert bridge["vlan_filtering"] is True
    assert bridge["port_vlans"]["vcpb0"] == {"vlan_id": 10, "trunks": [20], "mode": "native-tagged"}
    assert bridge["port_vlans"]["vcpc0"] == {"vlan_id": 20, "trunks": [], "mode": "access"}

    # absent takes the port out of the bridge; again: nothing to do
    out = guest.module("host_vlan", {"name": "vcpc0", "type": "bridge", "state": "absent"}, check=True)
    assert out["changed"] and out["actions"] == ["detach vcpc0 from %s" % br], out
    assert master(guest, "vcpc0") == br
    out = guest.module("host_vlan", {"name": "vcpc0", "type": "bridge", "state": "absent"})
    assert out["changed"] and master(guest, "vcpc0") is None
    out = guest.module("host_vlan", {"name": "vcpc0", "type": "bridge", "state": "absent"})
    assert out["changed"] is False, out


def test_bridge_port_vlans_bad_input_in_guest(kernel_guest, vlan_bridge):
    guest, br = kernel_guest, vlan_bridge
    rc, out, err = guest.sh("ip link add vcplain type bridge && ip link set vcplain up")
    assert rc == 0, err
    try:
        cases = [
            ({"name": "vcpa0", "bridge": "vcplain", "vlan_id": 10}, "bridge", "does not filter VLANs"),
            ({"name": br, "bridge": br, "vlan_id": 10}, "name", "is a bridge itself"),
            ({"name": "vcpa0", "bridge": br, "vlan_id": 10, "mode": "trunk", "trunks": [20]}, "vlan_id", "trunk"),
            ({"name": "vcpa0", "bridge": br, "trunks": [20], "mode": "access", "vlan_id": 5}, "trunks", "access port"),
            ({"name": "vcnone", "bridge": br, "vlan_id": 10}, "name", "does not exist"),
            ({"name": "vcpa0", "vlan_id": 10}, "bridge", "required"),
        ]
        for args, option, fragment in cases:
            out = guest.module("host_vlan", {"type": "bridge", **args})
            assert out.get("failed") and option in out["msg"] and fragment in out["msg"], (args, out)
        # nothing was touched: the port is in no bridge, its VLANs none
        assert master(guest, "vcpa0") is None
        # VLAN filtering is switched on in place (the bridge is not made anew)
        out = apply(guest, "host_bridge", name="vcplain", vlan_filtering=True)
        assert out["actions"] == ["set vlan_filtering of vcplain to True"], out["actions"]
        assert link(guest, "vcplain")["linkinfo"]["info_data"]["vlan_filtering"] == 1
    finally:
        guest.sh("ip link del vcplain")
