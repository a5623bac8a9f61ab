"""docker_container_exec against a real container, verified through the docker CLI."""

from __future__ import annotations

import pytest

from conftest import run_module, sh  # noqa: E402
from dockertest import assert_failed_cleanly, container, httpd_image  # noqa: E402,F401 pylint: disable=unused-import


@pytest.fixture
def running(httpd_image, container):
    result = run_module("docker_container", name=container, image=httpd_image)
    assert result.get("changed") is True, result
    return container


def test_exec_output_chdir_env(running):
    result = run_module("docker_container_exec", container=running, command="sh -c 'pwd; echo $GREETING; echo oops >&2'",
                        chdir="/www", env={"GREETING": "hi"})
    assert result["changed"] is True and result["rc"] == 0, result
    assert result["stdout_lines"] == ["/www", "hi"] and result["stderr"] == "oops\n"


def test_creates_guard_makes_it_idempotent(running):
    args = dict(container=running, command=["sh", "-c", "echo 1 >> /www/vct-marker"], creates="/www/vct-marker")
    predicted = run_module("docker_container_exec", check=True, **args)
    assert predicted["changed"] is True and "rc" not in predicted, predicted
    assert sh("docker", "exec", running, "test", "-e", "/www/vct-marker", check=False).returncode == 1
    assert run_module("docker_container_exec", **args)["changed"] is True
    rerun = run_module("docker_container_exec", **args)
    assert rerun["changed"] is False and rerun["actions"] == [] and "exists" in rerun["msg"]
    assert run_module("docker_container_exec", check=True, **args)["changed"] is False
    assert sh("docker", "exec", running, "cat", "/www/vct-marker").stdout == "1\n"


def test_failing_command_returns_rc(running):
    result = run_module("docker_container_exec", container=running, command="sh -c 'echo bad >&2; exit 3'")
    assert result["failed"] is True and result["rc"] == 3 and "rc 3" in result["msg"], result
    assert result["stderr"] == "bad\n"


def test_stopped_container_is_a_clear_error(running):
    sh("docker", "stop", "-t", "1", running)
    assert_failed_cleanly("docker_container_exec", "container: container %r is not running" % running,
                          container=running, command="true")


def test_missing_container(docker_daemon, unique):
    assert_failed_cleanly("docker_container_exec", "container: container %r does not exist" % unique,
                          container=unique, command="true")


def test_a_command_that_cannot_start_says_why(running):
    """The runtime's reason (a missing working directory) is on stdout, not stderr: the message has it."""
    result = run_module("docker_container_exec", container=running, command="true", chdir="/vct-missing")
    assert result["failed"] is True and result["rc"] == 126, result
    assert "/vct-missing" in result["msg"] and "rc 126" in result["msg"], result["msg"]
