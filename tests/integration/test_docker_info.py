"""docker_info lists what the docker CLI lists, with one API call per kind."""

from __future__ import annotations

import json

import pytest

from conftest import run_module, sh  # noqa: E402
from dockertest import assert_failed_cleanly, container, httpd_image  # noqa: E402,F401 pylint: disable=unused-import


def test_info_matches_the_cli(httpd_image, container):
    assert run_module("docker_container", name=container, image=httpd_image)["changed"] is True
    info = run_module("docker_info")
    assert info["changed"] is False and info["actions"] == [], info
    assert info["host"]["server_version"] == sh("docker", "version", "--format", "{{.Server.Version}}").stdout.strip()
    names = {c["name"] for c in info["containers"]}
    assert set(sh("docker", "ps", "-a", "--format", "{{.Names}}").stdout.split()) <= names | {""}
    assert container in names
    assert httpd_image in {t for i in info["images"] for t in i["tags"]}
    cli_networks = {json.loads(line)["Name"] for line in sh("docker", "network", "ls", "--format", "{{json .}}").stdout.splitlines()}
    assert cli_networks == {n["name"] for n in info["networks"]}
    assert "volumes" in info
    only_host = run_module("docker_info", images=False, containers=False, networks=False, volumes=False)
    assert set(only_host) >= {"host"} and "images" not in only_host
    assert run_module("docker_info", check=True)["changed"] is False


def test_one_call_per_kind(monkeypatch):
    """Unit-level: the service calls each listing endpoint once and never inspects."""
    from ansible_collections.virtcloud.core.plugins.module_utils.docker.info import DockerInfoService

    calls = []

    class API:
        def __getattr__(self, name):
            calls.append(name)
            return lambda *a, **k: {"Volumes": []} if name == "volumes" else ({} if name == "info" else [])

    service = DockerInfoService({"images": True, "containers": True, "networks": True, "volumes": True})
    service.api = API()
    service.observe(service.desired())
    assert sorted(calls) == ["containers", "images", "info", "networks", "volumes"]


def test_daemon_not_running(docker_daemon):
    assert_failed_cleanly("docker_info", "cannot connect to the Docker daemon at unix:///nonexistent-vct.sock (docker_host)",
                          docker_host="unix:///nonexistent-vct.sock")


@pytest.mark.parametrize("module, args", [
    ("docker_container_exec", {"container": "vct-x", "command": "true"}),
    ("docker_volume", {"name": "vct-x"}),
    ("docker_network", {"name": "vct-x"}),
    ("docker_containers", {"containers": [{"name": "vct-x", "image": "x"}]}),
    ("docker_image", {"name": "local/vct-x:1"}),
])
def test_every_module_names_an_unreachable_daemon(module, args):
    assert_failed_cleanly(module, "cannot connect to the Docker daemon at unix:///nonexistent-vct.sock (docker_host)",
                          docker_host="unix:///nonexistent-vct.sock", **args)
