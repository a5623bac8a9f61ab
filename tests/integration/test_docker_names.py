"""Docker object names and image references are checked before anything is sent to dockerd: a
name that would address another object through the API path ('../volumes/victim') is refused,
naming the option, and the other object is untouched."""

from __future__ import annotations

import pytest

from conftest import sh  # noqa: E402
from dockertest import (  # noqa: E402,F401 pylint: disable=unused-import
    assert_failed_cleanly,
    docker_inspect,
    httpd_image,
)


@pytest.fixture
def victims(docker_daemon, httpd_image, unique):
    """A running container, a volume and a network that an escaping name would reach."""
    name = unique + "-victim"
    sh("docker", "volume", "create", name)
    sh("docker", "network", "create", "--internal", "--subnet", "198.19.250.0/28", name)
    sh("docker", "run", "-d", "--name", name, httpd_image)
    yield name
    sh("docker", "rm", "-f", name, check=False)
    sh("docker", "volume", "rm", "-f", name, check=False)
    sh("docker", "network", "rm", name, check=False)


def _intact(name, image):
    assert docker_inspect("container", name)["State"]["Running"] is True
    assert docker_inspect("volume", name) is not None
    assert docker_inspect("network", name) is not None
    assert docker_inspect("image", image) is not None


@pytest.mark.parametrize("module,args,option", [
    ("docker_volume", {"name": "../volumes/{v}", "state": "absent"}, "name"),
    ("docker_container", {"name": "../containers/{v}", "state": "absent"}, "name"),
    ("docker_container", {"name": "../containers/{v}/stop?x=", "image": "{i}", "state": "stopped"}, "name"),
    ("docker_network", {"name": "../networks/{v}", "state": "absent"}, "name"),
    ("docker_network", {"name": "vct-x", "connected": ["../containers/{v}"]}, "connected"),
    ("docker_container_exec", {"container": "../containers/{v}", "command": "true"}, "container"),
    ("docker_image", {"name": "../images/{i}", "state": "absent"}, "name"),
    ("docker_image", {"name": "{i}", "tags": ["../x"]}, "tags"),
    ("docker_container", {"name": "{v}-2", "image": "../images/{i}"}, "image"),
    ("docker_container", {"name": "{v}-2", "image": "{i}", "mounts": [{"source": "../volumes/{v}",
                                                                      "target": "/data"}]}, "mounts.source"),
    ("docker_container", {"name": "{v}-2", "image": "{i}", "networks": [{"name": "../networks/{v}"}]},
     "networks.name"),
    ("docker_containers", {"containers": [{"name": "../containers/{v}", "state": "absent"}]},
     "containers[0].name"),
    ("docker_containers", {"containers": [{"name": "../containers/{v}"}], "state": "deleted"},
     "containers[0].name"),
])
def test_escaping_names_are_refused(victims, httpd_image, module, args, option):
    def fill(value):
        if isinstance(value, str):
            return value.format(v=victims, i=httpd_image)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value
    result = assert_failed_cleanly(module, option + ":", **fill(args))
    assert "not a valid" in result["msg"] or "not an image reference" in result["msg"], result["msg"]
    assert "actions" not in result or result["actions"] == [], result
    _intact(victims, httpd_image)


@pytest.mark.parametrize("module,args,option", [
    ("docker_volume", {"name": ""}, "name"),
    ("docker_container", {"name": "", "image": "busybox"}, "name"),
    ("docker_network", {"name": ""}, "name"),
    ("docker_container_exec", {"container": "", "command": "true"}, "container"),
    ("docker_image", {"name": ""}, "name"),
])
def test_empty_names_are_refused(docker_daemon, module, args, option):
    volumes = sh("docker", "volume", "ls", "-q").stdout
    result = assert_failed_cleanly(module, option + ": is empty", **args)
    assert "connect" not in result["msg"]
    assert sh("docker", "volume", "ls", "-q").stdout == volumes  # no anonymous volume either
