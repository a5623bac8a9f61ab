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


# ---------------------------------------------------------------- objects asked for by name
def _same_but_status(named, listed):
    return {k: v for k, v in named.items() if k not in ("status", "exists")} == \
        {k: v for k, v in listed.items() if k != "status"}


@pytest.fixture
def volume(docker_daemon, unique):
    sh("docker", "volume", "create", "--label", "purpose=info", unique + "-v")
    yield unique + "-v"
    sh("docker", "volume", "rm", "-f", unique + "-v", check=False)


def test_objects_by_name_match_the_cli_and_the_listing(httpd_image, container, volume):  # noqa: F811 pylint: disable=redefined-outer-name
    made = run_module("docker_container", name=container, image=httpd_image, labels={"tier": "web"},
                      published_ports=["127.0.0.1::80"])
    assert made["changed"] is True, made
    missing = container + "-missing"
    named = run_module("docker_info", containers=[container, missing], images=[httpd_image, "local/vct-none:1"],
                       networks=["bridge"], volumes=[volume])
    assert named["changed"] is False and not named.get("failed"), named
    web, absent = named["containers"]
    assert absent == {"name": missing, "exists": False}
    assert web["exists"] is True and web["name"] == container
    cli = json.loads(sh("docker", "container", "inspect", container).stdout)[0]
    assert (web["id"], web["image_id"], web["state"], web["labels"]["tier"]) == \
        (cli["Id"], cli["Image"], cli["State"]["Status"], "web")
    host_port = cli["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
    assert web["ports"] == ["127.0.0.1:%s->80/tcp" % host_port]
    image, no_image = named["images"]
    assert no_image == {"name": "local/vct-none:1", "exists": False}
    assert image["id"] == sh("docker", "image", "inspect", "--format", "{{.Id}}", httpd_image).stdout.strip()
    assert image["name"] == httpd_image and httpd_image in image["tags"]
    assert named["networks"][0]["id"] == sh("docker", "network", "inspect", "--format", "{{.Id}}", "bridge").stdout.strip()
    assert named["volumes"] == [{**named["volumes"][0], "name": volume, "labels": {"purpose": "info"}, "exists": True}]
    # an object asked for by name has the facts the listing gives of it (the status is the state's)
    listed = run_module("docker_info")
    by_id = {kind: {(o.get("id") or o["name"]): o for o in listed[kind]} for kind in ("containers", "images", "networks")}
    assert _same_but_status(web, by_id["containers"][web["id"]])
    assert _same_but_status({k: v for k, v in image.items() if k != "name"}, by_id["images"][image["id"]])
    assert _same_but_status(named["networks"][0], by_id["networks"][named["networks"][0]["id"]])
    assert _same_but_status(named["volumes"][0], {v["name"]: v for v in listed["volumes"]}[volume])
    # the kinds not asked for are not read; one kind still listed on request
    assert "volumes" not in run_module("docker_info", containers=[container])
    mixed = run_module("docker_info", containers=container, volumes=True, images=False)
    assert [c["name"] for c in mixed["containers"]] == [container] and volume in {v["name"] for v in mixed["volumes"]}
    assert "images" not in mixed and "networks" not in mixed
    sh("docker", "stop", "-t", "1", container)
    stopped = run_module("docker_info", containers=[container], check=True)
    assert stopped["containers"][0]["status"] == "exited (%s)" % sh(
        "docker", "inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()


@pytest.mark.parametrize("args, option", [
    ({"containers": [True]}, "containers[0]"),
    ({"volumes": ["../x"]}, "volumes[0]"),
    ({"images": ["Not An Image"]}, "images[0]"),
    ({"networks": {"name": "bridge"}}, "networks"),
])
def test_bad_names_are_refused_naming_the_option(args, option):
    result = assert_failed_cleanly("docker_info", option + ":", **args)
    assert result["msg"].startswith(option + ":"), result["msg"]


def test_named_objects_cost_one_inspect_each_and_no_listing():
    """Unit-level: names given -> info, then one inspect per distinct name; nothing listed."""
    from docker.errors import NotFound

    from ansible_collections.virtcloud.core.plugins.module_utils.docker.info import DockerInfoService

    calls = []

    class API:
        def __getattr__(self, name):
            calls.append(name)

            def answer(*args, **kwargs):
                if name == "info":
                    return {}
                if args and args[0] == "gone":
                    raise NotFound("no such object")
                return {"Id": "1" * 64, "Name": args[0], "Config": {}, "State": {"Status": "running"}}
            return answer

    service = DockerInfoService({"images": None, "containers": ["web", "gone", "web"], "networks": None,
                                 "volumes": ["data"]})
    service.api = API()
    state = service.observe(service.desired())
    assert calls == ["info", "inspect_container", "inspect_container", "inspect_volume"]
    assert [c["exists"] for c in state["containers"]] == [True, False] and "images" not in state


def test_info_is_documented_as_read_only():
    """docker_info reads only: check mode as usual, no diff mode (the info attributes)."""
    import yaml

    from ansible_collections.virtcloud.core.plugins.modules import docker_info

    doc = yaml.safe_load(docker_info.DOCUMENTATION)
    assert "virtcloud.core.attributes.info" in doc["extends_documentation_fragment"]
    assert "virtcloud.core.attributes" not in doc["extends_documentation_fragment"]
