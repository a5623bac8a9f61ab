"""Classic LXC as data (plugins/module_utils/lxc/model.py) and the message for a host without the binding."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendUnavailable, InputError
from ansible_collections.virtcloud.core.plugins.module_utils.lxc import client, model
from ansible_collections.virtcloud.core.plugins.module_utils.lxc.container import ContainerService

PROC_CGROUPS_V1 = """#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t26\t1
cpu\t1\t26\t1
memory\t4\t310\t1
freezer\t6\t16\t1
hugetlb\t0\t26\t1
pids\t8\t10\t0
"""
PROC_CGROUPS_V2 = """#subsys_name\thierarchy\tnum_cgroups\tenabled
cpu\t0\t80\t1
memory\t0\t80\t1
"""


@pytest.mark.parametrize("name", ["web", "web-1", "a.b_c", "0", "x" * 64])
def test_names_lxc_takes(name):
    assert model.name(name, "name") == name


@pytest.mark.parametrize("name", ["", "bad/name", "a b", "-x", ".hidden", "..", "x" * 65, "gäst", None, ["a"]])
def test_names_lxc_refuses_name_the_option(name):
    with pytest.raises(InputError) as err:
        model.name(name, "source")
    assert err.value.msg.startswith("source: ")


def test_config_values_become_lines():
    assert model.config_keys({"lxc.start.auto": True, "lxc.cgroup.cpu.shares": 512, "lxc.tty.max": " 2 ",
                              "lxc.mount.entry": ["/a a none bind 0 0", "/b b none bind 0 0"],
                              "lxc.apparmor.profile": None}) == {
        "lxc.start.auto": ["1"], "lxc.cgroup.cpu.shares": ["512"], "lxc.tty.max": ["2"],
        "lxc.mount.entry": ["/a a none bind 0 0", "/b b none bind 0 0"], "lxc.apparmor.profile": None}
    assert model.config_keys(None) == {}


@pytest.mark.parametrize("config, option", [
    ({"start.auto": "1"}, "config"),
    ({" lxc.start.auto": "1"}, "config"),
    ({"lxc.start.auto": {"a": 1}}, "config.lxc.start.auto"),
    ({"lxc.mount.entry": ["ok 0 0", ["nested"]]}, "config.lxc.mount.entry"),
    ({"lxc.uts.name": "two\nlines"}, "config.lxc.uts.name"),
])
def test_bad_config_names_the_option(config, option):
    with pytest.raises(InputError) as err:
        model.config_keys(config)
    assert err.value.msg.startswith(option + ": ")


def test_network_veth_and_none():
    assert model.network({"link": "br0", "ipv4": "198.18.5.10/24", "gateway": "198.18.5.1", "mtu": "1400",
                          "hwaddr": "52:54:00:AA:bb:01"}) == {
        "type": "veth", "link": "br0", "flags": "up", "name": "eth0", "ipv4.address": "198.18.5.10/24",
        "ipv4.gateway": "198.18.5.1", "hwaddr": "52:54:00:aa:bb:01", "mtu": "1400"}
    assert model.network({"type": "veth", "link": "br0", "name": "lan0", "ipv4": "198.18.5.10/24",
                          "gateway": "auto"})["ipv4.gateway"] == "auto"
    assert model.network("none") == model.network({"type": "none"}) == {"type": "empty"}
    assert model.network(None) is None


@pytest.mark.parametrize("value, option", [
    ("bridge", "network"),
    ({"link": "br0", "bogus": 1}, "network"),
    ({"type": "macvlan", "link": "eth0"}, "network.type"),
    ({"type": "none", "link": "br0"}, "network.type"),
    ({"type": "veth"}, "network.link"),
    ({"link": "br0", "ipv4": "198.18.5.10"}, "network.ipv4"),
    ({"link": "br0", "ipv4": "2001:db8::1/64"}, "network.ipv4"),
    ({"link": "br0", "gateway": "198.18.5.1"}, "network.gateway"),
    ({"link": "br0", "ipv4": "198.18.5.10/24", "gateway": "nope"}, "network.gateway"),
    ({"link": "br0", "hwaddr": "01:00:5e:00:00:01"}, "network.hwaddr"),
    ({"link": "br0", "mtu": 10}, "network.mtu"),
    ({"link": "a/b"}, "network.link"),
])
def test_bad_network_names_the_field(value, option):
    with pytest.raises(InputError) as err:
        model.network(value)
    assert err.value.msg.startswith(option + ": ")


def test_network_facts():
    assert model.network_facts({}) is None
    assert model.network_facts({"type": "empty", "link": ""}) == {"type": "none"}
    assert model.network_facts({"type": "veth", "link": "br0", "flags": "up", "name": "eth0", "ipv4.address":
                                "198.18.5.10/24", "ipv4.gateway": "", "hwaddr": "", "mtu": ""}) == {
        "type": "veth", "link": "br0", "name": "eth0", "ipv4": "198.18.5.10/24", "gateway": None, "hwaddr": None,
        "mtu": None}


def test_cgroup_layout_and_what_applies_live():
    hybrid = model.cgroup_layout(PROC_CGROUPS_V1, "hugetlb\n")
    assert hybrid == {1: {"cpuset", "cpu", "memory", "freezer"}, 2: {"hugetlb"}}
    assert model.live_cgroup("lxc.cgroup.memory.limit_in_bytes", hybrid) is True
    assert model.live_cgroup("lxc.cgroup2.memory.max", hybrid) is False
    assert model.live_cgroup("lxc.cgroup.pids.max", hybrid) is False  # disabled controller
    assert model.live_cgroup("lxc.start.auto", hybrid) is None
    unified = model.cgroup_layout(PROC_CGROUPS_V2, "cpuset cpu io memory pids\n")
    assert model.live_cgroup("lxc.cgroup2.memory.max", unified) is True
    assert model.live_cgroup("lxc.cgroup.memory.limit_in_bytes", unified) is False
    assert model.cgroup_key("lxc.cgroup2.cpu.max") == (2, "cpu.max")
    assert model.cgroup_key("lxc.cgroup.") is None


def test_single():
    assert model.single("") == [] and model.single(False) == [] and model.single(None) == []
    assert model.single("1") == ["1"] and model.single(["a", "b"]) == ["a", "b"]


def test_without_the_binding_the_message_names_it_and_how_to_install(monkeypatch):
    monkeypatch.setattr(client, "LXC_IMPORT_ERROR", ImportError("No module named 'lxc'"))
    with pytest.raises(BackendUnavailable) as err:
        ContainerService({"name": "web"}).check_requirements()
    assert "Python binding of liblxc ('lxc')" in err.value.msg
    assert "pip install 'lxc>=3.0.4'" in err.value.msg and "lxc-dev" in err.value.msg
    assert "No module named 'lxc'" in err.value.msg


def test_liblxc_error_lines_are_quoted_without_their_prefixes(tmp_path):
    log = tmp_path / "log"
    log.write_text('lxc web 20261127110701.454 ERROR    start - ../src/lxc/start.c:__lxc_start:2107 - Failed to '
                   'spawn container "web"\nlxc web 20261127110701.455 ERROR    network - network.c:x:1 - Failed to '
                   'attach "vethX" to bridge "br9"\n')
    out = tmp_path / "out"
    out.write_text("template says hello\n")
    assert client.why(str(log), str(out), str(tmp_path / "missing")) == (
        'Failed to spawn container "web"; Failed to attach "vethX" to bridge "br9"; template says hello')
    assert client.why(str(tmp_path / "missing")) == "LXC logged no reason"
