"""lxd_profile and lxd_network against the real LXD, verified through the lxc CLI (and `ip` for the
bridge on the host): created, changed in place key by key, refused removal while an instance uses
them (naming it), removed."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import converge, sh, start_module
from conftest import result as module_result
from lib.lxd import lxc


def show(kind, name):
    """`lxc profile show` / `lxc network show` parsed, or None when it does not exist."""
    proc = lxc(kind, "show", name, check=False)
    return yaml.safe_load(proc.stdout) if proc.returncode == 0 else None


def refused(module, option, fragment, **args):
    """Refused naming the option, in check mode and for real, with no change."""
    runs = [start_module(module, _ansible_check_mode=check, **args) for check in (True, False)]  # side by side
    for proc in runs:
        result = module_result(proc)
        assert result.get("failed") is True, result
        assert result["msg"].startswith(option + ":") and fragment in result["msg"], result["msg"]
        assert result.get("changed") is False and not result.get("actions"), result


@pytest.fixture
def instance(lxd_busybox, unique):
    yield unique + "-i"
    lxc("delete", "--force", unique + "-i", check=False)


@pytest.fixture
def profile(lxd_daemon, unique):
    yield unique + "-prof"
    lxc("profile", "delete", unique + "-prof", check=False)


@pytest.fixture
def network(lxd_daemon, unique):
    """A network name (at most 15 characters) and a /24 of its own in 198.18.200-250."""
    yield unique, "198.18.%d" % (200 + int(unique[3:7], 16) % 51)
    for name in (unique, unique + "x"):
        lxc("network", "delete", name, check=False)


def test_profile_created_changed_in_place_refused_while_used_removed(lxd_busybox, profile, instance, tmp_path):
    spec = {"name": profile, "description": "vct profile", "config": {"limits.cpu": 1, "security.nesting": True},
            "devices": {"eth0": {"type": "nic", "network": "lxdbr0", "name": "eth0"}}}
    applied = converge("lxd_profile", **spec)
    assert applied["actions"] == ["create profile %s" % profile]
    assert applied["predicted"]["profile"] == applied["profile"] == applied["diff"]["after"]
    shown = show("profile", profile)
    assert shown["config"] == {"limits.cpu": "1", "security.nesting": "true"} and shown["description"] == "vct profile"
    assert shown["devices"] == {"eth0": {"type": "nic", "network": "lxdbr0", "name": "eth0"}}

    # only what the task names changes: a key removed (null), one set, a device replaced by another
    change = {"name": profile, "config": {"limits.cpu": None, "user.vct": "b"},
              "devices": {"eth0": None, "data": {"type": "disk", "source": str(tmp_path), "path": "/mnt"}}}
    applied = converge("lxd_profile", **change)
    assert applied["actions"] == ["update profile %s: config limits.cpu, user.vct; devices data, eth0" % profile]
    assert applied["predicted"]["profile"] == applied["profile"]
    shown = show("profile", profile)
    assert shown["config"] == {"security.nesting": "true", "user.vct": "b"} and shown["description"] == "vct profile"
    assert shown["devices"] == {"data": {"type": "disk", "source": str(tmp_path), "path": "/mnt"}}

    # in use: removal refused naming the instance, before anything is touched
    lxc("launch", lxd_busybox["alias"], instance, "--profile", "default", "--profile", profile)
    (tmp_path / "marker").write_text("from the host")
    tmp_path.chmod(0o755)  # the unprivileged container reads it as others do
    assert lxc("exec", instance, "--", "cat", "/mnt/marker").stdout == "from the host"  # the profile's device
    refused("lxd_profile", "state", "in use by instance %s" % instance, name=profile, state="absent")
    assert show("profile", profile)["used_by"] == ["/1.0/instances/%s" % instance]
    refused("lxd_profile", "name", "cannot be removed", name="default", state="absent")
    lxc("delete", "--force", instance)
    applied = converge("lxd_profile", name=profile, state="absent")
    assert applied["actions"] == ["remove profile %s" % profile]
    assert show("profile", profile) is None


def test_bridge_network_addresses_nat_refused_while_used_removed(lxd_busybox, network, instance):
    name, net = network
    spec = {"name": name, "description": "vct network", "config": {"ipv4.address": net + ".1/24", "ipv4.nat": True}}
    applied = converge("lxd_network", **spec)
    assert applied["actions"] == ["create network %s" % name]
    assert applied["predicted"]["network"] == applied["network"] == applied["diff"]["after"]
    # no address LXD picks: IPv6 none, since the task gave none
    assert show("network", name)["config"] == {"ipv4.address": net + ".1/24", "ipv4.nat": "true", "ipv6.address": "none"}
    addresses = json.loads(sh("ip", "-j", "addr", "show", "dev", name).stdout)[0]["addr_info"]
    assert [(a["local"], a["prefixlen"]) for a in addresses if a["family"] == "inet"] == [(net + ".1", 24)]
    assert not [a for a in addresses if a["family"] == "inet6" and a.get("scope") == "global"]
    refused("lxd_network", "config.ipv4.address", "overlaps %s.0/24 of LXD network %s" % (net, name),
            name=name + "x", config={"ipv4.address": net + ".2/25"})

    change = {"name": name, "config": {"ipv4.nat": False, "ipv4.dhcp.ranges": "%s.100-%s.120" % (net, net)}}
    applied = converge("lxd_network", **change)
    assert applied["actions"] == ["update network %s: config ipv4.dhcp.ranges, ipv4.nat" % name]
    assert applied["predicted"]["network"] == applied["network"]
    assert show("network", name)["config"] == {"ipv4.address": net + ".1/24", "ipv4.nat": "false", "ipv6.address": "none",
                                               "ipv4.dhcp.ranges": "%s.100-%s.120" % (net, net)}
    assert show("network", name)["description"] == "vct network"

    # an instance on the network leases an address from its range; the network cannot go while it is there
    lxc("launch", lxd_busybox["alias"], instance, "--network", name)
    lease = lxc("exec", instance, "--", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "10")
    leases = [entry["address"] for entry in json.loads(lxc("network", "list-leases", name, "--format", "json").stdout)
              if entry["hostname"] == instance]
    assert len(leases) == 1 and leases[0].startswith(net + ".") and 100 <= int(leases[0].rsplit(".", 1)[1]) <= 120
    assert "lease of %s obtained" % leases[0] in lease.stderr + lease.stdout
    refused("lxd_network", "state", "in use by instance %s" % instance, name=name, state="absent")
    lxc("delete", "--force", instance)
    applied = converge("lxd_network", name=name, state="absent")
    assert applied["actions"] == ["remove network %s" % name]
    assert show("network", name) is None
    assert sh("ip", "link", "show", name, check=False).returncode != 0


@pytest.mark.parametrize("args, option, fragment", [
    ({"config": {"ipv4.address": "auto"}}, "config.ipv4.address", "auto lets LXD pick"),
    ({"config": {"ipv6.address": "auto"}}, "config.ipv6.address", "auto lets LXD pick"),
    ({"config": {"ipv4.address": "198.18.250.1"}}, "config.ipv4.address", "prefix length"),
    ({"config": {"ipv4.address": "198.18.250.300/24"}}, "config.ipv4.address", "is not an IPv4"),
    ({"config": {"ipv4.address": "2001:db8::1/64"}}, "config.ipv4.address", "is not an IPv4"),
    ({"config": {"ipv4.address": None}}, "config.ipv4.address", "give none"),
    ({"config": {"bridge.mtu": 1.5}}, "config", "quote it"),
    ({"name": "eth0"}, "name", "host interface"),
    ({"name": "a-name-too-long-for-linux"}, "name", "2 to 15"),
])
def test_bad_network_input(network, args, option, fragment):
    name = network[0]
    refused("lxd_network", option, fragment, **{"name": name, **args})
    assert show("network", name) is None


@pytest.mark.parametrize("args, option, fragment", [
    ({"devices": {"eth0": {"network": "lxdbr0"}}}, "devices.eth0", "has a type"),
    ({"devices": {"eth0": "nic"}}, "devices.eth0", "as a map"),
    ({"config": {"limits.cpu": 1.5}}, "config", "quote it"),
    ({"name": "a/b"}, "name", "no '/'"),
])
def test_bad_profile_input(profile, args, option, fragment):
    refused("lxd_profile", option, fragment, **{"name": profile, **args})
    assert show("profile", profile) is None
