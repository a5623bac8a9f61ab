"""docker_image + docker_container against the real dockerd, verified through the docker CLI."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request

import pytest

from conftest import ROOT, converge, run_module, sh  # noqa: E402
from dockertest import BUSYBOX, container, docker_inspect, httpd_image  # noqa: E402,F401 pylint: disable=unused-import


def test_container_lifecycle(httpd_image, container):
    spec = dict(name=container, image=httpd_image, published_ports=["127.0.0.1:18088:80"],
                env={"GREETING": "hello"}, labels={"tier": "web"}, restart_policy="no")
    applied = converge("docker_container", **spec)
    assert applied["actions"] == ["create container %s" % container, "start container %s" % container]
    assert applied["predicted"]["diff"]["before"] == {} and applied["diff"]["before"] == {}
    # independent check through the docker CLI
    info = docker_inspect("container", container)
    assert info["State"]["Running"] is True
    assert info["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18088"}]}
    assert "GREETING=hello" in info["Config"]["Env"]
    assert info["Config"]["Labels"]["tier"] == "web"
    assert info["Config"]["Labels"]["io.virtcloud.managed-by"] == "virtcloud.core"
    page = urllib.request.urlopen("http://127.0.0.1:18088/", timeout=10).read().decode()
    assert "It works!" in page
    facts = applied["container"]
    assert facts["id"] == info["Id"] and facts["running"] is True
    assert facts["published_ports"] == ["127.0.0.1:18088:80/tcp"]
    # the image's own env (PATH) is not reported as the container's own
    assert facts["env"] == {"GREETING": "hello"}

    # a live change: restart policy is updated in place, the container keeps its ID
    converge("docker_container", **{**spec, "restart_policy": "unless-stopped"})
    after = docker_inspect("container", container)
    assert after["Id"] == info["Id"]
    assert after["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"

    # a change docker cannot apply in place: the container is replaced, under the same name
    replaced = converge("docker_container", **{**spec, "env": {"GREETING": "bye"}})
    assert replaced["actions"][0] == "create replacement %s__virtcloud_new for container %s" % (container, container)
    after = docker_inspect("container", container)
    assert after["Id"] != info["Id"] and "GREETING=bye" in after["Config"]["Env"]
    assert after["State"]["Running"] is True
    assert docker_inspect("container", container + "__virtcloud_new") is None

    # stopped, then absent
    converge("docker_container", name=container, state="stopped")
    assert docker_inspect("container", container)["State"]["Running"] is False
    converge("docker_container", name=container, state="absent")
    assert docker_inspect("container", container) is None


def test_present_creates_without_starting(httpd_image, container):
    applied = converge("docker_container", name=container, image=httpd_image, state="present")
    assert applied["container"]["running"] is False
    assert docker_inspect("container", container)["State"]["Status"] == "created"


def test_image_defaults_never_cause_a_recreate(httpd_image, container):
    """Naming the image's own command and a variable with the image's value is still a no-op."""
    image_cmd = docker_inspect("image", httpd_image)["Config"]["Cmd"]
    spec = dict(name=container, image=httpd_image, command=image_cmd, env={"PATH": "/bin"})
    converge("docker_container", **spec)
    assert run_module("docker_container", **{**spec, "command": " ".join(image_cmd)})["changed"] is False


def test_string_command_is_split_like_a_shell(httpd_image, container):
    converge("docker_container", name=container, image=httpd_image,
             command="sh -c 'sleep 300'")
    assert docker_inspect("container", container)["Config"]["Cmd"] == ["sh", "-c", "sleep 300"]


def test_rebuilt_image_recreates_the_container(docker_daemon, container, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    shutil.copy(BUSYBOX, ctx / "busybox")
    (ctx / "Dockerfile").write_text('FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "sleep", "300"]\n')
    name = "local/vct-rebuild:%s" % container
    try:
        converge("docker_image", name=name, build={"path": str(ctx)})
        first_image = docker_inspect("image", name)["Id"]
        converge("docker_container", name=container, image=name)
        (ctx / "marker").write_text("v2")  # any change of the context means a new image
        converge("docker_image", name=name, build={"path": str(ctx)})
        assert docker_inspect("image", name)["Id"] != first_image
        applied = converge("docker_container", name=container, image=name)
        assert docker_inspect("container", container)["Image"] == docker_inspect("image", name)["Id"]
        assert "remove old container %s" % container in applied["actions"]
    finally:
        sh("docker", "rm", "-f", container, check=False)
        sh("docker", "rmi", "-f", name, check=False)


def test_import_and_remove_image(docker_daemon, tmp_path, unique):
    import tarfile
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        tar.add(BUSYBOX, arcname="bin/busybox")
    name = "local/%s:1" % unique
    try:
        applied = converge("docker_image", name=name, import_from=str(rootfs),
                           changes=['CMD ["/bin/busybox", "true"]'])
        info = docker_inspect("image", name)
        assert info["Config"]["Cmd"] == ["/bin/busybox", "true"]
        assert applied["image"]["id"] == info["Id"]
        converge("docker_image", name=name, state="absent")
        assert docker_inspect("image", name) is None
    finally:
        sh("docker", "rmi", "-f", name, check=False)


def test_load_saved_archive(httpd_image, tmp_path, unique):
    archive = tmp_path / "saved.tar"
    sh("docker", "save", "-o", archive, httpd_image)
    sh("docker", "rmi", httpd_image)
    try:
        applied = converge("docker_image", name=httpd_image, load_from=str(archive))
        assert docker_inspect("image", httpd_image)["Id"] == applied["image"]["id"]
    finally:
        if docker_inspect("image", httpd_image) is None:  # keep the module fixture usable
            sh("docker", "load", "-i", archive)


# ---------------------------------------------------------------- bad input: nothing changes
@pytest.mark.parametrize("args, option", [
    ({"state": "running"}, "state"),
    ({"published_ports": ["80:80:80:80"]}, "published_ports"),
    ({"published_ports": ["99999:80"]}, "published_ports"),
    ({"env": {"DEBUG": True}}, "env"),
    ({"image": "local/vct-does-not-exist:1"}, "image"),
])
def test_bad_input_fails_naming_the_option_and_changes_nothing(httpd_image, container, args, option):
    spec = dict({"name": container, "image": httpd_image}, **args)
    result = run_module("docker_container", **spec)
    assert result.get("failed") is True, result
    assert option in result["msg"], result["msg"]
    assert "Traceback" not in result["msg"]
    assert docker_inspect("container", container) is None


def test_unreachable_daemon_is_one_clear_message(container):
    result = run_module("docker_container", name=container, image="x", docker_host="unix:///nonexistent.sock")
    assert result.get("failed") is True
    assert result["msg"].startswith("cannot connect to the Docker daemon at unix:///nonexistent.sock (docker_host)")


def test_failed_start_rolls_back_the_new_container(httpd_image, container):
    """A host port a process outside Docker holds: the start fails, and the container this run
    created is removed."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = run_module("docker_container", name=container, image=httpd_image,
                            published_ports=["127.0.0.1:%d:80" % port])
    assert result.get("failed") is True, result
    assert "start container %s failed" % container in result["msg"]
    assert "rolled back: removed the new container %s" % container in result["msg"]
    assert docker_inspect("container", container) is None


def test_port_another_container_publishes_is_refused_before_create(httpd_image, container, unique):
    blocker = unique + "-blocker"
    try:
        converge("docker_container", name=blocker, image=httpd_image, published_ports=["127.0.0.1:18089:80"])
        result = run_module("docker_container", name=container, image=httpd_image,
                            published_ports=["18089:80"])
        assert result.get("failed") is True, result
        assert ("create container %s failed: published_ports: host port 18089:80/tcp is already published by "
                "container %s" % (container, blocker)) in result["msg"], result["msg"]
        assert docker_inspect("container", container) is None
    finally:
        sh("docker", "rm", "-f", blocker, check=False)


def test_missing_build_context_names_the_option(docker_daemon, unique):
    result = run_module("docker_image", name="local/%s:1" % unique, build={"path": "/nonexistent/ctx"})
    assert result.get("failed") is True and result["msg"].startswith("build.path:")


def test_missing_docker_sdk_is_one_clear_message(tmp_path, unique):
    """The managed host's Python lacks the docker SDK: a message naming it, no traceback."""
    (tmp_path / "docker.py").write_text("raise ImportError(\"No module named 'docker'\")\n")
    env = dict(os.environ, PYTHONPATH="%s:%s" % (tmp_path, os.path.join(ROOT, ".collections")))
    proc = subprocess.run(
        [sys.executable, "-m", "ansible_collections.virtcloud.core.plugins.modules.docker_container"],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": {"name": unique, "image": "x"}}),
        capture_output=True, text=True, env=env, cwd="/", check=False)
    result = json.loads(proc.stdout)
    assert result["failed"] is True
    assert result["msg"].startswith("Python library 'docker' is required on the managed host")
    assert "pip install 'docker>=7.0'" in result["msg"] and "Traceback" not in proc.stdout
