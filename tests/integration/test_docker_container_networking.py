"""docker_container: command and networks that settle in one run, network_mode, IPv6 addresses;
each checked in check mode, applied, rerun (no change) and verified through the docker CLI."""

from __future__ import annotations

import zlib

import pytest

from conftest import converge, run_module, sh  # noqa: E402
from dockertest import (  # noqa: E402,F401 pylint: disable=unused-import
    assert_failed_cleanly,
    assert_settles,
    container,
    docker_inspect,
    httpd_image,
)


def test_empty_command_is_the_images_default_and_settles(httpd_image, container):
    """Issue 19: `command: []` replaced the container on every run."""
    applied = assert_settles(dict(name=container, image=httpd_image, command=[]))
    info = docker_inspect("container", container)
    assert info["Config"]["Cmd"] == docker_inspect("image", httpd_image)["Config"]["Cmd"]
    assert applied["container"]["command"] == []
    # a command set earlier goes back to the image's default with []
    converge("docker_container", name=container, image=httpd_image, command=["sleep", "300"])
    converge("docker_container", name=container, image=httpd_image, command=[])
    assert docker_inspect("container", container)["Config"]["Cmd"] == info["Config"]["Cmd"]


def test_empty_networks_means_no_network_from_the_first_run(httpd_image, container):
    """Issue 19: `networks: []` was ignored at create (the container joined `bridge`), and the
    identical second run disconnected it."""
    spec = dict(name=container, image=httpd_image, networks=[])
    predicted = run_module("docker_container", check=True, diff=True, **spec)
    assert predicted["diff"]["after"]["networks"] == []
    applied = assert_settles(spec)
    assert applied["container"]["networks"] == []
    info = docker_inspect("container", container)
    assert info["NetworkSettings"]["Networks"] == {} and info["State"]["Running"] is True


@pytest.mark.parametrize("mode", ["host", "none"])
def test_network_mode_shared_stacks(httpd_image, container, mode):
    spec = dict(name=container, image=httpd_image, command=["sleep", "300"], network_mode=mode)
    applied = assert_settles(spec)
    info = docker_inspect("container", container)
    assert info["HostConfig"]["NetworkMode"] == mode
    assert list(info["NetworkSettings"]["Networks"]) == [mode]
    assert applied["container"]["network_mode"] == mode
    # back to the default bridge: a new container
    converge("docker_container", name=container, image=httpd_image, command=["sleep", "300"], network_mode="bridge")
    info2 = docker_inspect("container", container)
    assert info2["Id"] != info["Id"] and list(info2["NetworkSettings"]["Networks"]) == ["bridge"]


def test_network_mode_of_another_container(httpd_image, container, unique):
    other = unique + "-netns"
    try:
        converge("docker_container", name=other, image=httpd_image, command=["sleep", "300"])
        spec = dict(name=container, image=httpd_image, command=["sleep", "300"], network_mode="container:" + other)
        applied = assert_settles(spec)
        assert applied["container"]["network_mode"] == "container:" + other
        info = docker_inspect("container", container)
        assert info["HostConfig"]["NetworkMode"] == "container:" + docker_inspect("container", other)["Id"]
    finally:
        sh("docker", "rm", "-f", container, other, check=False)


def test_network_mode_and_networks_that_contradict(httpd_image, container):
    assert_failed_cleanly("docker_container", "networks: a container with network_mode=host has no networks",
                          name=container, image=httpd_image, network_mode="host", networks=[{"name": "bridge"}])
    assert docker_inspect("container", container) is None


@pytest.fixture
def dual_stack(docker_daemon, unique):
    """An internal network with an IPv4 (198.19.x) and an IPv6 (ULA) pool."""
    name, n = unique + "-v6", zlib.crc32(unique.encode()) % 200
    sh("docker", "network", "create", "--internal", "--ipv6", "--subnet", "198.19.%d.0/28" % (20 + n),
       "--subnet", "fd00:198:18:%x::/64" % n, name)
    yield name, n
    sh("docker", "rm", "-f", unique, check=False)  # the `container` fixture's container, still attached
    sh("docker", "network", "rm", name)


def test_fixed_ipv6_address_on_a_network(httpd_image, container, dual_stack):
    net, n = dual_stack
    address = "fd00:198:18:%x::10" % n
    spec = dict(name=container, image=httpd_image, network_mode=net,
                networks=[{"name": net, "ipv6_address": address, "aliases": ["web"]}])
    applied = assert_settles(spec)
    endpoint = docker_inspect("container", container)["NetworkSettings"]["Networks"][net]
    assert endpoint["IPAMConfig"]["IPv6Address"] == address
    assert endpoint["GlobalIPv6Address"] == address
    assert applied["container"]["networks"] == [{"name": net, "aliases": ["web"], "ipv4_address": None,
                                                 "ipv6_address": address}]
    # the same address written in another form is the same address
    long_form = "fd00:0198:0018:%04x:0000:0000:0000:0010" % n
    assert run_module("docker_container", **{**spec, "networks": [
        {"name": net, "ipv6_address": long_form, "aliases": ["web"]}]})["changed"] is False
    assert_failed_cleanly("docker_container", "networks.ipv6_address:",
                          **{**spec, "networks": [{"name": net, "ipv6_address": "198.19.0.1"}]})
