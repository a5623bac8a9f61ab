"""docker_container: comparisons, ignore_image, the volumes short syntax, volumes_from, state
paused, force_kill; each checked in check mode, applied, rerun (no change) and verified through
the docker CLI."""

from __future__ import annotations

import pytest

from conftest import converge, run_module, sh  # noqa: E402
from dockertest import (  # noqa: E402,F401 pylint: disable=unused-import
    assert_failed_cleanly,
    assert_settles,
    container,
    docker_inspect,
    httpd_image,
)

SLEEP = ["sleep", "300"]


def test_comparisons_per_option(httpd_image, container):
    base = dict(name=container, image=httpd_image, command=SLEEP, env={"A": "1", "B": "2"}, labels={"x": "1"})
    converge("docker_container", **base)
    first = docker_inspect("container", container)["Id"]
    fewer = {**base, "env": {"A": "1"}}
    # allow_more_present: B may stay; ignore: labels are not compared
    relaxed = {**fewer, "labels": {"x": "2"}, "comparisons": {"env": "allow_more_present", "labels": "ignore"}}
    assert run_module("docker_container", **relaxed)["changed"] is False
    assert run_module("docker_container", check=True, **relaxed)["changed"] is False
    # a value that differs is still a difference under allow_more_present
    assert run_module("docker_container", check=True, **{**relaxed, "env": {"A": "9"}})["changed"] is True
    # '*': ignore covers every option not named
    assert run_module("docker_container", **{**fewer, "comparisons": {"*": "ignore"}})["changed"] is False
    assert docker_inspect("container", first)["Id"] == first
    # strict, the default: an entry left out recreates the container
    converge("docker_container", **fewer)
    info = docker_inspect("container", container)
    assert info["Id"] != first and "B=2" not in info["Config"]["Env"]


@pytest.mark.parametrize("comparisons, fragment", [
    ({"env": "loose"}, "comparisons: env: 'loose' is not one of strict"),
    ({"no_such": "ignore"}, "comparisons: 'no_such' is not an option this module compares"),
    ({"user": "allow_more_present"}, "comparisons: user: allow_more_present applies to list and dict"),
    ({"*": "allow_more_present"}, "comparisons: '*' takes strict or ignore"),
])
def test_bad_comparisons_are_refused_first(httpd_image, container, comparisons, fragment):
    assert_failed_cleanly("docker_container", fragment, name=container, image=httpd_image, comparisons=comparisons)
    assert docker_inspect("container", container) is None


def test_networks_allow_more_present_keeps_other_networks(httpd_image, container, unique):
    net = unique + "-extra"
    sh("docker", "network", "create", "--internal", net)
    try:
        converge("docker_container", name=container, image=httpd_image, command=SLEEP,
                 networks=[{"name": "bridge"}, {"name": net}])
        spec = dict(name=container, image=httpd_image, command=SLEEP, networks=[{"name": net}],
                    comparisons={"networks": "allow_more_present"})
        assert run_module("docker_container", **spec)["changed"] is False
        assert sorted(docker_inspect("container", container)["NetworkSettings"]["Networks"]) == sorted(["bridge", net])
    finally:
        sh("docker", "rm", "-f", container, check=False)
        sh("docker", "network", "rm", net, check=False)


def test_ignore_image_keeps_a_container_on_an_older_image(httpd_image, container, unique):
    converge("docker_container", name=container, image=httpd_image, command=SLEEP, env={"A": "1"})
    first = docker_inspect("container", container)["Id"]
    newer = "local/%s-newer:1" % unique
    # the newer image sets another PATH: a value the running container inherited from the old one
    sh("docker", "commit", "--change", "ENV PATH=/usr/bin:/bin", container, newer)
    try:
        spec = dict(name=container, image=newer, command=SLEEP, env={"A": "1"})
        current = {**spec, "ignore_image": True, "image_comparison": "current-image"}
        assert run_module("docker_container", **current)["changed"] is False
        by_comparisons = {**current, "ignore_image": False, "comparisons": {"image": "ignore"}}
        assert run_module("docker_container", **by_comparisons)["changed"] is False
        # desired-image (the default): the old PATH is the container's own value now, and env is strict
        desired = run_module("docker_container", check=True, **{**spec, "ignore_image": True}, diff=True)
        assert desired["changed"] is True
        assert desired["diff"]["before"]["env"]["PATH"] != "/usr/bin:/bin"
        assert run_module("docker_container", check=True, **spec)["changed"] is True
        assert docker_inspect("container", container)["Id"] == first
        converge("docker_container", **spec)
        assert docker_inspect("container", container)["Id"] != first
    finally:
        sh("docker", "rm", "-f", container, check=False)
        sh("docker", "rmi", newer, check=False)


def test_volumes_short_syntax(httpd_image, container, unique, tmp_path):
    volume = unique + "-data"
    try:
        spec = dict(name=container, image=httpd_image, command=SLEEP,
                    volumes=["%s:/data" % volume, "%s:/host:ro" % tmp_path, "/scratch"])
        applied = assert_settles(spec)
        mounts = {m["Destination"]: m for m in docker_inspect("container", container)["Mounts"]}
        assert mounts["/data"]["Type"] == "volume" and mounts["/data"]["Name"] == volume and mounts["/data"]["RW"]
        assert mounts["/host"]["Type"] == "bind" and mounts["/host"]["Source"] == str(tmp_path)
        assert mounts["/host"]["RW"] is False
        assert mounts["/scratch"]["Type"] == "volume" and len(mounts["/scratch"]["Name"]) == 64  # anonymous
        assert sorted(m["target"] for m in applied["container"]["mounts"]) == ["/data", "/host", "/scratch"]
        # the same mounts written as `mounts` are the same container
        as_mounts = dict(name=container, image=httpd_image, command=SLEEP, mounts=[
            {"source": volume, "target": "/data"}, {"type": "bind", "source": str(tmp_path), "target": "/host",
                                                    "read_only": True}], volumes=["/scratch"])
        assert run_module("docker_container", **as_mounts)["changed"] is False
        for bad, fragment in ((["/data:/x:z"], "the mode must be ro or rw"), (["relative"], "absolute path"),
                              (["../x:/x"], "not a valid volume name"), (["/nonexistent-vct:/x"], "existing absolute path"),
                              (["/scratch"] * 2, "more than one mount on /scratch")):
            result = assert_failed_cleanly("docker_container", "volumes: ", **{**spec, "volumes": bad})
            assert fragment in result["msg"], result["msg"]
    finally:
        sh("docker", "rm", "-fv", container, check=False)
        sh("docker", "volume", "rm", volume, check=False)


def test_volumes_from(httpd_image, container, unique):
    donor = unique + "-donor"
    try:
        converge("docker_container", name=donor, image=httpd_image, command=SLEEP, volumes=["/shared"])
        spec = dict(name=container, image=httpd_image, command=SLEEP, volumes_from=[donor + ":ro"])
        assert_settles(spec)
        info = docker_inspect("container", container)
        assert info["HostConfig"]["VolumesFrom"] == [donor + ":ro"]
        assert [m["RW"] for m in info["Mounts"] if m["Destination"] == "/shared"] == [False]
    finally:
        sh("docker", "rm", "-fv", container, donor, check=False)


def test_paused_then_started_then_stopped(httpd_image, container):
    spec = dict(name=container, image=httpd_image, command=SLEEP, state="paused")
    applied = assert_settles(spec)
    assert applied["container"]["paused"] is True
    state = docker_inspect("container", container)["State"]
    assert state["Paused"] is True and state["Running"] is True
    result = converge("docker_container", **{**spec, "state": "started"})
    assert result["actions"] == ["unpause container %s" % container]
    assert docker_inspect("container", container)["State"]["Paused"] is False
    converge("docker_container", **{**spec, "state": "paused"})
    converge("docker_container", **{**spec, "state": "stopped"})
    state = docker_inspect("container", container)["State"]
    assert state["Running"] is False and state["Paused"] is False


def test_force_kill_stops_at_once_with_the_signal(httpd_image, container):
    # `sleep` as PID 1 ignores SIGTERM: a graceful stop would wait the whole stop_timeout
    spec = dict(name=container, image=httpd_image, command=SLEEP, stop_timeout=60)
    converge("docker_container", **spec)
    converge("docker_container", **{**spec, "state": "stopped", "force_kill": True})
    state = docker_inspect("container", container)["State"]
    assert state["Running"] is False and state["ExitCode"] == 137  # 128 + SIGKILL
    converge("docker_container", **spec)
    result = run_module("docker_container", **{**spec, "state": "stopped", "force_kill": True,
                                               "kill_signal": "SIGTERM", "stop_timeout": 3})
    assert result.get("failed") is True and "to exit on SIGTERM (kill_signal)" in result["msg"], result
    assert_failed_cleanly("docker_container", "kill_signal: 'sig term' is not a signal",
                          **{**spec, "kill_signal": "sig term"})


def test_float_label_is_refused(httpd_image, container):
    """Issue 19: labels: {foo: 1.10} became '1.1' silently."""
    assert_failed_cleanly("docker_container", "labels: value of 'foo' is the YAML float 1.1",
                          name=container, image=httpd_image, labels={"foo": 1.10})
    assert docker_inspect("container", container) is None
