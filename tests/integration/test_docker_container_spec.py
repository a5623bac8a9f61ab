"""docker_container's wider spec (mounts, networks, limits, healthcheck, ...) against real dockerd."""

from __future__ import annotations

import pytest

from conftest import converge, run_module, sh  # noqa: E402
from dockertest import assert_check_mode_changes_nothing, assert_failed_cleanly, container, docker_inspect, httpd_image  # noqa: E402,F401 pylint: disable=unused-import


@pytest.fixture
def network(docker_daemon, unique):
    name = unique + "-net"
    sh("docker", "network", "create", "--subnet", "198.18.250.0/24", name)
    yield name
    sh("docker", "network", "rm", name, check=False)


def test_full_spec_then_live_limits(httpd_image, container, network, tmp_path):
    envfile = tmp_path / "app.env"
    envfile.write_text("# comment\nFROM_FILE=1\nBOTH=file\n")
    data = tmp_path / "data"
    data.mkdir()
    volume = container + "-vol"
    spec = dict(
        name=container, image=httpd_image, env_file=str(envfile), env={"BOTH": "task"},
        published_ports=["127.0.0.1:18101-18102:80-81", "127.0.0.1:18103:53/udp"],
        mounts=[{"type": "bind", "source": str(data), "target": "/data", "read_only": True},
                {"source": volume, "target": "/vol"},
                {"type": "tmpfs", "target": "/tmp", "tmpfs_size": "8m"}],
        networks=[{"name": network, "aliases": ["web"], "ipv4_address": "198.18.250.10"}],
        user="0:0", working_dir="/www", hostname="vcthost", cap_add=["net_admin"], cap_drop=["MKNOD"],
        read_only=True, log_driver="json-file", log_options={"max-size": "1m"},
        healthcheck={"test": "wget -q -O /dev/null http://127.0.0.1/ || exit 1", "interval": "1s", "retries": 30},
        wait_healthy=True, memory="64m", cpus=0.5, pids_limit=64, restart_policy="on-failure",
        labels={"tier": "web"})
    try:
        applied = converge("docker_container", **spec)
        info = docker_inspect("container", container)
        assert info["State"]["Health"]["Status"] == "healthy"
        assert {"FROM_FILE=1", "BOTH=task"} <= set(info["Config"]["Env"])
        host = info["HostConfig"]
        assert host["PortBindings"]["81/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "18102"}]
        assert host["PortBindings"]["53/udp"] == [{"HostIp": "127.0.0.1", "HostPort": "18103"}]
        assert {m["Type"] for m in host["Mounts"]} == {"bind", "volume", "tmpfs"}
        assert list(info["NetworkSettings"]["Networks"]) == [network]  # replaces the default bridge
        endpoint = info["NetworkSettings"]["Networks"][network]
        assert endpoint["IPAddress"] == "198.18.250.10" and "web" in endpoint["Aliases"]
        assert host["CapAdd"] == ["CAP_NET_ADMIN"] and host["ReadonlyRootfs"] is True
        assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
        assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (64 << 20, 500000000, 64)
        assert (info["Config"]["User"], info["Config"]["WorkingDir"], info["Config"]["Hostname"]) == \
            ("0:0", "/www", "vcthost")
        assert applied["container"]["mounts"][0]["type"] in ("bind", "volume", "tmpfs")

        # limits and restart policy change in place: same container ID
        live = {**spec, "memory": "128m", "cpus": 1.0, "pids_limit": 128, "restart_policy": "always"}
        assert_check_mode_changes_nothing("docker_container", "container", container, **live)
        actions = converge("docker_container", **live)["actions"]
        assert actions == ["update container %s (memory, cpus, pids_limit, restart_policy)" % container]
        after = docker_inspect("container", container)
        assert after["Id"] == info["Id"]
        assert (after["HostConfig"]["Memory"], after["HostConfig"]["NanoCpus"], after["HostConfig"]["PidsLimit"]) \
            == (128 << 20, 10 ** 9, 128)

        # network membership changes live too: back on the default bridge
        moved = {**live, "networks": [{"name": "bridge"}]}
        converge("docker_container", **moved)
        after = docker_inspect("container", container)
        assert after["Id"] == info["Id"] and list(after["NetworkSettings"]["Networks"]) == ["bridge"]

        # restarted always acts
        restarted = run_module("docker_container", **{**moved, "state": "restarted"})
        assert restarted["actions"] == ["restart container %s" % container]
    finally:
        sh("docker", "rm", "-f", container, check=False)
        sh("docker", "volume", "rm", volume, check=False)


@pytest.mark.parametrize("args, fragment", [
    ({"networks": [{"name": "vct-no-such-net"}]}, "networks: network 'vct-no-such-net' does not exist"),
    ({"memory": "lots"}, "memory:"),
    ({"mounts": [{"type": "bind", "source": "/nonexistent/vct", "target": "/x"}]}, "mounts.source:"),
    ({"healthcheck": {"test": "true", "interval": "soon"}}, "healthcheck.interval:"),
])
def test_bad_spec_fails_before_anything_changes(httpd_image, container, args, fragment):
    assert_failed_cleanly("docker_container", fragment, name=container, image=httpd_image, **args)
    assert docker_inspect("container", container) is None


def test_unhealthy_container_fails_wait(httpd_image, container):
    result = run_module("docker_container", name=container, image=httpd_image, wait_healthy=True,
                        wait_healthy_timeout=30, healthcheck={"test": "exit 1", "interval": "1s", "retries": 1})
    assert result.get("failed") is True and "unhealthy" in result["msg"], result
