"""docker_volume and docker_network against the real dockerd, verified through the docker CLI."""

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
def volume(docker_daemon, unique):
    yield unique + "-vol"
    sh("docker", "volume", "rm", "-f", unique + "-vol", check=False)


@pytest.fixture
def network(docker_daemon, unique):
    yield unique + "-net"
    sh("docker", "network", "rm", unique + "-net", check=False)


@pytest.fixture
def veth(unique):
    """A veth pair standing in for a host NIC: the macvlan parent."""
    parent, peer = "vct%sa" % unique[3:9], "vct%sb" % unique[3:9]
    sh("ip", "link", "add", parent, "type", "veth", "peer", "name", peer)
    sh("ip", "link", "set", parent, "up")
    yield parent
    sh("ip", "link", "del", parent, check=False)


def test_volume_persists_until_asked(httpd_image, volume, container):  # volume torn down last
    spec = dict(name=volume, labels={"app": "vct"})
    assert_check_mode_changes_nothing("docker_volume", "volume", volume, **spec)
    converge("docker_volume", **spec)
    info = docker_inspect("volume", volume)
    assert info["Labels"] == {"app": "vct", "io.virtcloud.managed-by": "virtcloud.core"}
    # data written through a container survives the container
    spec_c = dict(name=container, image=httpd_image, mounts=[{"source": volume, "target": "/data"}])
    assert run_module("docker_container", **spec_c)["changed"] is True
    sh("docker", "exec", container, "sh", "-c", "echo kept > /data/file")
    assert run_module("docker_container", name=container, state="absent")["changed"] is True
    assert docker_inspect("volume", volume) is not None
    assert run_module("docker_container", **spec_c)["changed"] is True
    assert sh("docker", "exec", container, "cat", "/data/file").stdout == "kept\n"
    sh("docker", "rm", "-f", container)
    # a change docker cannot make in place is refused, naming the option, unless recreate is allowed
    changed = {**spec, "driver_options": {"type": "tmpfs", "device": "tmpfs", "o": "size=8m"}}
    assert_failed_cleanly("docker_volume", "driver_options: volume %s has" % volume, **changed)
    assert docker_inspect("volume", volume)["Options"] is None
    converge("docker_volume", recreate=True, **changed)
    assert docker_inspect("volume", volume)["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=8m"}
    converge("docker_volume", name=volume, state="absent")
    assert docker_inspect("volume", volume) is None


def test_volume_recreate_modes(httpd_image, volume):
    def write_marker():
        sh("docker", "run", "--rm", "-v", "%s:/data" % volume, httpd_image, "sh", "-c", "echo x > /data/marker")

    def has_marker():
        return sh("docker", "run", "--rm", "-v", "%s:/data" % volume, httpd_image,
                  "test", "-e", "/data/marker", check=False).returncode == 0

    spec = dict(name=volume, labels={"app": "vct", "tier": "db"}, recreate="options-changed")
    converge("docker_volume", **spec)
    write_marker()
    # labels the task does not name are no difference, under every mode
    for mode in ("never", "options-changed", False, True):
        result = run_module("docker_volume", name=volume, labels={"app": "vct"}, recreate=mode)
        assert result["changed"] is False and result["volume"]["labels"] == {"app": "vct", "tier": "db"}, result
    assert has_marker()
    # options-changed: a label with another value replaces the volume; labels not named stay
    applied = converge("docker_volume", name=volume, labels={"app": "v2"}, recreate="options-changed")
    assert applied["actions"] == ["remove volume %s (recreate)" % volume, "create volume %s" % volume]
    assert applied["predicted"]["volume"] == applied["volume"]
    assert docker_inspect("volume", volume)["Labels"] == {"app": "v2", "tier": "db",
                                                          "io.virtcloud.managed-by": "virtcloud.core"}
    assert not has_marker()
    # always: replaced on every run, check mode says so and changes nothing
    write_marker()
    always = dict(name=volume, recreate="always")
    predicted = run_module("docker_volume", check=True, **always)
    assert predicted["changed"] is True and predicted["actions"] == applied["actions"]
    assert has_marker()
    for run in (1, 2):
        result = run_module("docker_volume", **always)
        assert result["changed"] is True and result["actions"] == applied["actions"], (run, result)
        assert not has_marker()
        write_marker()
    assert docker_inspect("volume", volume)["Labels"]["tier"] == "db"  # kept across replacements
    assert_failed_cleanly("docker_volume", "recreate: 'sometimes' is not one of never, options-changed, always",
                          name=volume, recreate="sometimes")
    assert has_marker()


def test_bridge_network_connect_recreate(httpd_image, network, container):  # network torn down last
    assert run_module("docker_container", name=container, image=httpd_image)["changed"] is True
    spec = dict(name=network, subnet="198.18.240.0/24", gateway="198.18.240.1", labels={"app": "vct"},
                connected=[container])
    assert_check_mode_changes_nothing("docker_network", "network", network, **spec)
    assert network not in docker_inspect("container", container)["NetworkSettings"]["Networks"]
    applied = converge("docker_network", **spec)
    assert applied["actions"] == ["create network %s" % network,
                                  "connect container %s to network %s" % (container, network)]
    info = docker_inspect("network", network)
    assert info["IPAM"]["Config"] == [{"Subnet": "198.18.240.0/24", "Gateway": "198.18.240.1"}]
    assert info["Internal"] is False
    assert network in docker_inspect("container", container)["NetworkSettings"]["Networks"]
    # disconnect in place
    converge("docker_network", **{**spec, "connected": []})
    assert network not in docker_inspect("container", container)["NetworkSettings"]["Networks"]
    # a fixed address and an alias given through docker_container survive a network replacement
    run_module("docker_container", name=container, image=httpd_image,
               networks=[{"name": "bridge"}, {"name": network, "aliases": ["www"], "ipv4_address": "198.18.240.20"}])
    internal = {**spec, "internal": True}
    del internal["connected"]
    assert_check_mode_changes_nothing("docker_network", "network", network, **internal)
    applied = converge("docker_network", **internal)
    assert "remove network %s (recreate)" % network in applied["actions"]
    info = docker_inspect("network", network)
    assert info["Internal"] is True and info["Id"] != applied["diff"]["before"]["id"]
    endpoint = docker_inspect("container", container)["NetworkSettings"]["Networks"][network]
    assert endpoint["IPAddress"] == "198.18.240.20" and "www" in endpoint["Aliases"]
    converge("docker_network", name=network, state="absent")
    assert docker_inspect("network", network) is None


def test_macvlan_on_a_host_interface(docker_daemon, network, veth):
    spec = dict(name=network, driver="macvlan", parent=veth, subnet="198.18.241.0/24", gateway="198.18.241.1")
    converge("docker_network", **spec)
    info = docker_inspect("network", network)
    assert info["Driver"] == "macvlan" and info["Options"]["parent"] == veth


@pytest.mark.parametrize("args, fragment", [
    ({"subnet": "198.18.240.1/24"}, "subnet:"),
    ({"subnet": "198.18.240.0/24", "gateway": "198.18.1.1"}, "gateway: 198.18.1.1 is outside"),
    ({"connected": ["vct-no-such-container"]}, "connected: container 'vct-no-such-container' does not exist"),
    ({"driver": "bridge", "parent": "eth0"}, "parent:"),
])
def test_bad_network_input(docker_daemon, network, args, fragment):
    assert_failed_cleanly("docker_network", fragment, name=network, **args)
    assert docker_inspect("network", network) is None
