"""A replacement never costs the running container: the old one is only stopped until its
replacement has started, and runs again when the replacement cannot be created, started or made
healthy. Verified through the docker CLI."""

from __future__ import annotations

import zlib

import pytest

from conftest import converge, run_module, sh  # noqa: E402
from dockertest import container, docker_inspect, httpd_image  # noqa: E402,F401 pylint: disable=unused-import


def _port(unique, offset=0):
    return 18200 + zlib.crc32(unique.encode()) % 700 + offset


@pytest.fixture
def running(httpd_image, container, unique):
    """A running container publishing a port; yields (spec, its inspection)."""
    spec = dict(name=container, image=httpd_image, published_ports=["127.0.0.1:%d:80" % _port(unique)],
                env={"V": "1"})
    converge("docker_container", **spec)
    yield spec, docker_inspect("container", container)


def _still_running(spec, before):
    after = docker_inspect("container", spec["name"])
    assert after["Id"] == before["Id"], "the old container was replaced"
    assert after["State"]["Running"] is True
    assert docker_inspect("container", spec["name"] + "__virtcloud_new") is None
    names = sh("docker", "ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert [n for n in names if n.startswith(spec["name"] + "_")] == [], names  # no replacement left


def test_replacement_docker_cannot_start_keeps_the_old_container(running):
    """Issue 19: a log driver whose endpoint is missing failed at start after the old container
    was removed; the service was down and a 'Created' container held the name."""
    spec, before = running
    result = run_module("docker_container", **{**spec, "log_driver": "syslog",
                                               "log_options": {"syslog-address": "tcp://127.0.0.1:1"}})
    assert result.get("failed") is True, result
    msg = result["msg"]
    assert msg.startswith("start replacement %s__virtcloud_new failed" % spec["name"]), msg
    assert "started the old container %s again" % spec["name"] in msg, msg
    assert "removed the replacement" in msg
    _still_running(spec, before)
    # nothing was left to confuse the rerun: the same task still plans a replacement
    assert run_module("docker_container", check=True, **spec)["changed"] is False


def test_replacement_whose_port_another_container_holds_is_refused_first(running, httpd_image, unique):
    spec, before = running
    other = unique + "-other"
    try:
        converge("docker_container", name=other, image=httpd_image,
                 published_ports=["127.0.0.1:%d:80" % _port(unique, 1)])
        result = run_module("docker_container", **{**spec, "published_ports": ["127.0.0.1:%d:80" % _port(unique, 1)]})
        assert result.get("failed") is True, result
        assert "published_ports: host port 127.0.0.1:%d:80/tcp is already published by container %s" % (
            _port(unique, 1), other) in result["msg"], result["msg"]
        assert result["actions"] == [], result  # nothing was stopped
        _still_running(spec, before)
    finally:
        sh("docker", "rm", "-f", other, check=False)


def test_unhealthy_replacement_is_removed_before_the_old_one_restarts(running):
    """The replacement runs but never becomes healthy: it holds the published port, so it must go
    before the old container can start again."""
    spec, before = running
    result = run_module("docker_container", **dict(
        spec, env={"V": "2"}, healthcheck={"test": "exit 1", "interval": "1s", "retries": 1},
        wait_healthy=True, wait_healthy_timeout=30))
    assert result.get("failed") is True, result
    assert "unhealthy" in result["msg"] and "started the old container" in result["msg"], result["msg"]
    assert "rollback problems" not in result["msg"], result["msg"]
    _still_running(spec, before)


def test_successful_replacement_starts_before_the_old_is_removed(running):
    spec, before = running
    result = converge("docker_container", **{**spec, "env": {"V": "2"}})
    name = spec["name"]
    assert result["actions"] == [
        "create replacement %s__virtcloud_new for container %s" % (name, name),
        "stop old container %s" % name, "start replacement %s__virtcloud_new" % name,
        "remove old container %s" % name, "rename replacement %s__virtcloud_new to %s" % (name, name)]
    after = docker_inspect("container", name)
    assert after["Id"] != before["Id"] and after["State"]["Running"] is True
    assert "V=2" in after["Config"]["Env"]


@pytest.mark.parametrize("state", ["started", "stopped"])
def test_check_mode_diff_of_a_recreate_predicts_what_the_run_reads_back(httpd_image, container, state):
    """The predicted after side used to say log_driver and status null for a recreate; now only what a
    new container gets from docker itself (its ID, and the hostname made of it) is unknown beforehand."""
    spec = dict(name=container, image=httpd_image, command=["sleep", "600"], state=state)
    assert run_module("docker_container", **spec).get("failed") is not True
    changed = {**spec, "env": {"VCT_RECREATE": "1"}}
    predicted = run_module("docker_container", check=True, diff=True, **changed)["diff"]["after"]
    applied = run_module("docker_container", diff=True, **changed)["diff"]["after"]
    differing = sorted(k for k in applied if predicted.get(k) != applied[k])
    assert differing == ["hostname", "id"], [(k, predicted.get(k), applied[k]) for k in differing]
    assert predicted["hostname"] is None and predicted["id"] is None
