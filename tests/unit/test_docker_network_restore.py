"""docker_network: a replacement that Docker refuses restores the old network, and when even that
fails the error says what is left where. The engine on a fake dockerd."""

from __future__ import annotations

import copy

import pytest
from docker.errors import APIError, NotFound

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import execute
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError
from ansible_collections.virtcloud.core.plugins.module_utils.docker.network import NetworkService

OLD = {"Name": "vct-net", "Id": "old", "Driver": "bridge", "EnableIPv6": False, "Internal": True, "Attachable": False,
       "IPAM": {"Driver": "default", "Options": None, "Config": [{"Subnet": "198.19.212.0/28"}]},
       "Options": {"com.docker.network.driver.mtu": "1400"}, "Labels": {"app": "vct"},
       "Containers": {"c1id": {"Name": "web"}}}


class FakeDocker:
    """Networks and one container; create_network fails `refuse` times."""

    def __init__(self, refuse):
        self.networks_ = {"vct-net": copy.deepcopy(OLD)}
        self.endpoint = {"Aliases": ["www", "c1id00000000"], "IPAMConfig": {"IPv4Address": "198.19.212.5"}}
        self.refuse = refuse
        self.created = []

    def _net(self, ident):
        for net in self.networks_.values():
            if ident in (net["Name"], net["Id"]):
                return net
        raise NotFound("network %s not found" % ident)

    def inspect_network(self, ident):
        return copy.deepcopy(self._net(ident))

    def inspect_container(self, name):
        nets = {n["Name"]: self.endpoint for n in self.networks_.values() if "c1id" in n["Containers"]}
        return {"Id": "c1id00000000aaaa", "Config": {"Hostname": "c1id00000000"}, "NetworkSettings": {"Networks": nets}}

    def networks(self):
        return [copy.deepcopy(n) for n in self.networks_.values()]

    def info(self):
        return {"Plugins": {"Network": ["bridge"]}, "ServerVersion": "20.10.24", "DefaultAddressPools": []}

    def disconnect_container_from_network(self, container, net, force=False):
        self._net(net)["Containers"].pop("c1id")

    def connect_container_to_network(self, container, net, aliases=None, ipv4_address=None, ipv6_address=None):
        self._net(net)["Containers"]["c1id"] = {"Name": container}
        self.endpoint = {"Aliases": aliases, "IPAMConfig": {"IPv4Address": ipv4_address}}

    def remove_network(self, ident):
        del self.networks_[self._net(ident)["Name"]]

    def create_network(self, name, driver=None, options=None, ipam=None, internal=False, labels=None,
                       enable_ipv6=False, attachable=None, check_duplicate=None):
        if self.refuse:
            self.refuse -= 1
            raise APIError("refused", explanation="failed to parse com.docker.network.driver.mtu value: abc")
        self.created.append(name)
        self.networks_[name] = {"Name": name, "Id": "new%d" % len(self.created), "Driver": driver, "EnableIPv6": enable_ipv6,
                                "Internal": internal, "Attachable": bool(attachable), "Options": options or {},
                                "Labels": labels, "Containers": {},
                                "IPAM": {"Driver": ipam["Driver"], "Options": ipam.get("Options"),
                                         "Config": [{k: v for k, v in p.items() if v} for p in ipam["Config"]]}}


def run(fake):
    class Service(NetworkService):
        def connect(self):
            self.api = fake

    params = {k: None for k in NetworkService.argument_spec()}
    params.update(name="vct-net", driver="bridge", state="present", internal=True, attachable=False, appends=False,
                  docker_host="unix:///var/run/docker.sock", subnet="198.19.212.0/28",
                  driver_options={"com.docker.network.driver.mtu": "abc"})
    with pytest.raises(BackendError) as info:
        execute(Service(params))
    return info.value.msg


def test_refused_creation_restores_the_old_network():
    fake = FakeDocker(refuse=1)
    msg = run(fake)
    assert msg.startswith("create network vct-net failed: Docker refused the request: failed to parse")
    assert "(rolled back: disconnect container web from network vct-net (recreate), " \
           "remove network vct-net (recreate))" in msg
    restored = fake.inspect_network("vct-net")
    assert {k: restored[k] for k in ("Driver", "Internal", "Options", "Labels", "EnableIPv6")} == \
        {k: OLD[k] for k in ("Driver", "Internal", "Options", "Labels", "EnableIPv6")}
    assert restored["IPAM"]["Config"] == OLD["IPAM"]["Config"] and restored["Containers"] == {"c1id": {"Name": "web"}}
    assert fake.endpoint == {"Aliases": ["www"], "IPAMConfig": {"IPv4Address": "198.19.212.5"}}


def test_failed_restore_says_what_is_left_where():
    msg = run(FakeDocker(refuse=2))
    assert "rollback problems: remove network vct-net (recreate): network vct-net is gone, creating it again " \
           "failed: Docker refused the request" in msg
    assert "container web is left disconnected from network vct-net:" in msg
