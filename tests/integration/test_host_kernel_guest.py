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


def test_bridge_vlan_filtering_in_guest(kernel_guest):
    guest, br = kernel_guest, "vcgbr0"
    try:
        converge(guest, "host_bridge", name=br, vlan_filtering=True)
        assert link(guest, br)["linkinfo"]["info_data"]["vlan_filtering"] == 1
        out = converge(guest, "host_bridge", name=br, vlan_filtering=False)
        assert link(guest, br)["linkinfo"]["info_data"]["vlan_filtering"] == 0
        assert not any(a.startswith("create") for a in out["actions"]), out["actions"]   # changed in place
        converge(guest, "host_bridge", name=br, state="absent")
        assert link(guest, br) is None
    finally:
        guest.sh("ip link del %s" % br)


# ---------------------------------------------------------------- host_vlan type=bridge (lead: add the cases here)
# Bridge VLAN filtering memberships (host_vlan type=bridge) go here, verified with
# guest.json("bridge -j vlan show dev PORT"); not written yet.
