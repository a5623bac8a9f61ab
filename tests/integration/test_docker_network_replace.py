"""docker_network: replacements Docker refuses leave the service connected; labels, attachable,
appends, IPv6 and several address pools. Against the real dockerd, verified through the docker CLI."""

from __future__ import annotations

import pytest

from conftest import converge, run_module, sh  # noqa: E402
from dockertest import (  # noqa: E402,F401 pylint: disable=unused-import
    assert_check_mode_changes_nothing,
    assert_failed_cleanly,
    container,
    docker_inspect,
    httpd_image,
)


@pytest.fixture
def networks(docker_daemon, unique):
    """Names for up to three networks of one test, removed afterwards (containers first)."""
    names = [unique + "-n%d" % i for i in range(3)]
    yield names
    for name in names:
        info = docker_inspect("network", name)
        for endpoint in ((info or {}).get("Containers") or {}).values():
            sh("docker", "network", "disconnect", "-f", name, endpoint["Name"], check=False)
        sh("docker", "network", "rm", name, check=False)


def attached(network):
    return sorted(c["Name"] for c in (docker_inspect("network", network)["Containers"] or {}).values())


def endpoint(container_name, network):
    return docker_inspect("container", container_name)["NetworkSettings"]["Networks"].get(network)


def started(httpd_image, name, **networks):
    """A running container on the default bridge and on `networks` (name -> endpoint options)."""
    nets = [{"name": "bridge"}] + [dict(options, name=net) for net, options in networks.items()]
    result = run_module("docker_container", name=name, image=httpd_image, networks=nets)
    assert result.get("changed") is True, result
    return name


def test_refused_subnet_keeps_the_old_network_and_its_containers(httpd_image, networks, container):
    net, other = networks[:2]
    converge("docker_network", name=other, subnet="198.19.212.16/28", internal=True)
    spec = dict(name=net, subnet="198.19.212.0/28", internal=True)
    converge("docker_network", **spec)
    started(httpd_image, container, **{net: {"aliases": ["www"], "ipv4_address": "198.19.212.5"}})
    before = docker_inspect("network", net)["Id"]
    for check in (False, True):
        failed = assert_failed_cleanly("docker_network", "subnet: 198.19.212.16/28 overlaps", check=check,
                                       **{**spec, "subnet": "198.19.212.16/28"})
        assert other in failed["msg"], failed["msg"]
        info = docker_inspect("network", net)
        assert info["Id"] == before and info["IPAM"]["Config"] == [{"Subnet": "198.19.212.0/28"}]
        assert attached(net) == [container]
        assert endpoint(container, net)["IPAddress"] == "198.19.212.5"


def test_failed_replacement_restores_the_old_network(httpd_image, networks, container):
    """Docker refuses the new network for a reason no check can see beforehand (a driver option
    it cannot parse): the old network comes back as it was, with its containers, aliases and addresses."""
    net = networks[0]
    spec = dict(name=net, ipam_config=[{"subnet": "198.19.212.32/28", "iprange": "198.19.212.40/29",
                                        "aux_addresses": {"router": "198.19.212.34"}}],
                internal=True, labels={"app": "vct"}, driver_options={"com.docker.network.driver.mtu": "1400"})
    converge("docker_network", **spec)
    started(httpd_image, container, **{net: {"aliases": ["www"], "ipv4_address": "198.19.212.36"}})
    before = docker_inspect("network", net)
    bad = {**spec, "driver_options": {"com.docker.network.driver.mtu": "abc"}}
    failed = assert_failed_cleanly("docker_network", "create network %s failed" % net, **bad)
    assert "com.docker.network.driver.mtu" in failed["msg"]
    assert "rolled back: disconnect container %s" % container in failed["msg"]
    assert "remove network %s (recreate)" % net in failed["msg"]
    after = docker_inspect("network", net)
    for key in ("Driver", "IPAM", "Internal", "Attachable", "EnableIPv6", "Options", "Labels"):
        assert after[key] == before[key], key
    assert attached(net) == [container]
    restored = endpoint(container, net)
    assert restored["IPAddress"] == "198.19.212.36" and "www" in restored["Aliases"]
    # and the task as it was changes nothing
    assert run_module("docker_network", **spec)["changed"] is False


@pytest.mark.parametrize("args, fragment", [
    ({"driver": "vctnosuchdriver"}, "driver: Docker has no network driver 'vctnosuchdriver'"),
    ({"driver": "macvlan", "parent": "vctnosuch0"}, "parent: host interface vctnosuch0 does not exist"),
    ({"driver": "macvlan", "parent": "vctnosuch0.20"}, "parent: host interface vctnosuch0 does not exist"),
    ({"enable_ipv6": True}, "enable_ipv6: this dockerd has no IPv6 address pool"),
    ({"enable_ipv6": False, "ipam_config": [{"subnet": "fd00:198:18:d0::/64"}]}, "enable_ipv6: is false"),
    ({"ipam_config": [{"subnet": "198.19.212.48/28"}, {"subnet": "198.19.212.48/29"}]}, "ipam_config[1]: subnet"),
    ({"ipam_config": [{"subnet": "fd00:198:18:d0::/64", "gateway": "fd00:198:18:d1::1"}]},
     "ipam_config[0].gateway: fd00:198:18:d1::1 is outside"),
    ({"ipam_config": [{"subnet": "198.19.212.48/28", "aux_addresses": {"r": "198.19.212.1"}}]},
     "ipam_config[0].aux_addresses: 198.19.212.1 (r) is outside"),
    ({"ipam_config": [{"subnet": "198.19.212.48/28"}], "subnet": "198.19.212.48/28"}, "mutually exclusive"),
])
def test_refused_before_anything_is_touched(docker_daemon, networks, args, fragment):
    for check in (True, False):
        assert_failed_cleanly("docker_network", fragment, check=check, name=networks[0], **args)
        assert docker_inspect("network", networks[0]) is None


def test_labels_the_task_does_not_name_are_kept(httpd_image, networks, container):
    net = networks[0]
    spec = dict(name=net, subnet="198.19.212.64/28", internal=True, labels={"app": "vct", "tier": "web"})
    converge("docker_network", **spec)
    started(httpd_image, container, **{net: {}})
    ident = docker_inspect("network", net)["Id"]
    # a label dropped from the task is no difference: no replacement, the container stays
    for check in (True, False):
        result = run_module("docker_network", check=check, diff=True, name=net, subnet="198.19.212.64/28",
                            internal=True, labels={"app": "vct"})
        assert result["changed"] is False and result["actions"] == [], result
        assert result["network"]["labels"] == {"app": "vct", "tier": "web"}
    assert docker_inspect("network", net)["Id"] == ident and attached(net) == [container]
    # a new value replaces the network (Docker cannot change labels); unnamed labels stay
    applied = converge("docker_network", name=net, subnet="198.19.212.64/28", internal=True, labels={"app": "v2"})
    assert applied["network"]["labels"] == {"app": "v2", "tier": "web"} == applied["predicted"]["network"]["labels"]
    info = docker_inspect("network", net)
    assert info["Id"] != ident
    assert info["Labels"] == {"app": "v2", "tier": "web", "io.virtcloud.managed-by": "virtcloud.core"}
    assert attached(net) == [container]


def test_attachable_and_appends(httpd_image, networks, container):
    net = networks[0]
    first, second = started(httpd_image, container), started(httpd_image, container + "-b")
    try:
        spec = dict(name=net, subnet="198.19.212.80/28", internal=True, attachable=True, connected=[first])
        assert_check_mode_changes_nothing("docker_network", "network", net, **spec)
        converge("docker_network", **spec)
        assert docker_inspect("network", net)["Attachable"] is True and attached(net) == [first]
        # appends: the listed container joins, the other stays
        applied = converge("docker_network", **{**spec, "connected": [second], "appends": True})
        assert applied["actions"] == ["connect container %s to network %s" % (second, net)]
        assert applied["network"]["connected"] == sorted([first, second])
        assert attached(net) == sorted([first, second])
        # without appends the list is exact again
        converge("docker_network", **{**spec, "connected": [second]})
        assert attached(net) == [second]
        # attachable off: Docker cannot change it in place, the network is replaced, second reattached
        applied = converge("docker_network", **{**spec, "attachable": False, "connected": [second]})
        assert "remove network %s (recreate)" % net in applied["actions"]
        assert docker_inspect("network", net)["Attachable"] is False and attached(net) == [second]
    finally:
        sh("docker", "rm", "-f", second, check=False)


def test_ipv6_and_ipv4_pools(httpd_image, networks, container):
    net = networks[0]
    v4 = {"subnet": "198.19.212.96/28", "gateway": "198.19.212.97"}
    v6 = {"subnet": "fd00:198:18:d2::/64", "gateway": "fd00:198:18:d2::1", "iprange": "fd00:198:18:d2::/80"}
    spec = dict(name=net, internal=True, ipam_config=[v6, v4])
    assert_check_mode_changes_nothing("docker_network", "network", net, **spec)
    applied = converge("docker_network", **spec)
    assert applied["network"]["enable_ipv6"] is True
    assert applied["network"]["subnet"] == "198.19.212.96/28"  # the short form shows the IPv4 pool
    info = docker_inspect("network", net)
    assert info["EnableIPv6"] is True
    assert sorted(info["IPAM"]["Config"], key=lambda c: c["Subnet"]) == [
        {"Subnet": "198.19.212.96/28", "Gateway": "198.19.212.97"},
        {"Subnet": "fd00:198:18:d2::/64", "IPRange": "fd00:198:18:d2::/80", "Gateway": "fd00:198:18:d2::1"}]
    # order has no meaning; enable_ipv6 may be said
    for check in (True, False):
        again = run_module("docker_network", check=check, name=net, internal=True, enable_ipv6=True, ipam_config=[v4, v6])
        assert again["changed"] is False, again
    # a container gets addresses of both families; its fixed IPv6 address survives a replacement
    started(httpd_image, container)  # docker_container has no ipv6_address: attach through the CLI
    sh("docker", "network", "connect", "--ip6", "fd00:198:18:d2::20", net, container)
    ep = endpoint(container, net)
    assert ep["IPAddress"].startswith("198.19.212.") and ep["GlobalIPv6Address"] == "fd00:198:18:d2::20"
    applied = converge("docker_network", **{**spec, "labels": {"v": "2"}})
    assert "remove network %s (recreate)" % net in applied["actions"]
    assert endpoint(container, net)["GlobalIPv6Address"] == "fd00:198:18:d2::20"
    # dropping the IPv6 pool replaces the network with an IPv4-only one
    converge("docker_network", name=net, internal=True, ipam_config=[v4])
    info = docker_inspect("network", net)
    assert info["EnableIPv6"] is False and [c["Subnet"] for c in info["IPAM"]["Config"]] == ["198.19.212.96/28"]
    assert attached(net) == [container]
