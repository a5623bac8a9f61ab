"""docker_containers (batch) against the real dockerd, verified through the docker CLI."""

from __future__ import annotations

import pytest

from conftest import converge, run_module, sh  # noqa: E402
from dockertest import assert_check_mode_changes_nothing, assert_failed_cleanly, docker_inspect, httpd_image  # noqa: E402,F401 pylint: disable=unused-import


@pytest.fixture
def names(docker_daemon, unique):
    names = ["%s-%d" % (unique, i) for i in range(4)]
    yield names
    sh("docker", "rm", "-f", *names, unique + "-foreign", unique + "-single", check=False)


def test_batch_states(httpd_image, names, unique):
    specs = [{"name": n, "image": httpd_image, "env": {"N": str(i)}, "stop_timeout": 1} for i, n in enumerate(names[:3])]
    specs[0]["published_ports"] = ["127.0.0.1:18110:80"]
    applied = converge("docker_containers", containers=specs)
    assert len(applied["actions"]) == 6 and [r["container"]["name"] for r in applied["results"]] == names[:3]
    for i, name in enumerate(names[:3]):
        info = docker_inspect("container", name)
        assert info["State"]["Running"] and "N=%d" % i in info["Config"]["Env"]

    # the single module and the batch agree: a container made by one is a no-op for the other
    assert run_module("docker_container", **specs[1])["changed"] is False
    single = {"name": unique + "-single", "image": httpd_image, "restart_policy": "always", "memory": "32m"}
    assert run_module("docker_container", **single)["changed"] is True
    assert run_module("docker_containers", containers=specs + [single])["changed"] is False

    # merged: omitted options are not compared (item 0 keeps its env); replaced resets them
    merged = [dict(specs[0], env=None)] + specs[1:]
    assert run_module("docker_containers", containers=merged)["changed"] is False
    replaced = [{"name": names[0], "image": httpd_image, "stop_timeout": 1}] + specs[1:]
    assert_check_mode_changes_nothing("docker_containers", "container", names[0], containers=replaced, state="replaced")
    applied = converge("docker_containers", containers=replaced, state="replaced")
    assert applied["actions"][0] == "create replacement %s__virtcloud_new for container %s" % (names[0], names[0])
    info = docker_inspect("container", names[0])
    assert "N=0" not in info["Config"]["Env"] and info["HostConfig"]["PortBindings"] in ({}, None)

    # overridden removes the containers this owner created that are not listed: never one that
    # docker_container made (issue 19: the demo's container went too), nor a foreign one
    sh("docker", "create", "--name", unique + "-foreign", httpd_image)
    predicted = run_module("docker_containers", check=True, containers=replaced[:2], state="overridden")
    assert predicted["results"][0]["actions"] == ["remove container %s" % names[2]], predicted["results"]
    assert len(predicted["results"]) == 3, predicted["results"]  # exactly that one goes
    assert docker_inspect("container", names[2]) is not None
    applied = converge("docker_containers", containers=replaced[:2], state="overridden", stop_timeout=1)
    assert applied["results"][0]["actions"] == ["remove container %s" % names[2]]
    assert len(applied["results"]) == 3  # the removal first, an item of its own, then the listed ones
    assert [r["container"]["name"] for r in applied["results"][-2:]] == names[:2]
    assert docker_inspect("container", names[2]) is None
    assert docker_inspect("container", unique + "-single") is not None
    assert docker_inspect("container", unique + "-foreign") is not None

    converge("docker_containers", containers=[{"name": n} for n in names[:2]], state="deleted")
    assert all(docker_inspect("container", n) is None for n in names[:2])


def test_failed_start_rolls_back_that_container(httpd_image, names):
    """Two containers want one host port, and they are started side by side: one start fails,
    that container is removed again (its item's create is rolled back) and the error names it;
    the other one runs. The rerun fails the same way and changes nothing."""
    specs = [{"name": n, "image": httpd_image, "published_ports": ["127.0.0.1:18111:80"], "stop_timeout": 1}
             for n in names[:2]]
    result = run_module("docker_containers", containers=specs)
    assert result.get("failed") is True, result
    failed = [n for i, n in enumerate(names[:2]) if result["msg"].startswith("containers[%d]: " % i)]
    assert len(failed) == 1, result["msg"]
    assert "start container %s failed" % failed[0] in result["msg"]
    assert "(rolled back: removed the new container %s)" % failed[0] in result["msg"], result["msg"]
    assert docker_inspect("container", failed[0]) is None
    other = [n for n in names[:2] if n != failed[0]][0]
    assert docker_inspect("container", other)["State"]["Running"]
    again = run_module("docker_containers", containers=specs)
    assert again.get("failed") is True and docker_inspect("container", failed[0]) is None


@pytest.mark.parametrize("item, fragment", [
    ({"published_ports": ["80:80:80:80"]}, "containers[1].published_ports:"),
    ({"nosuchoption": 1}, "containers[1]:"),
    ({"docker_host": "unix:///x"}, "containers[1]: docker_host: set connection options once"),
    ({"networks": [{"name": "vct-no-such-net"}]}, "network 'vct-no-such-net' does not exist"),
])
def test_bad_item_changes_nothing(httpd_image, names, item, fragment):
    specs = [{"name": names[0], "image": httpd_image}, dict({"name": names[1], "image": httpd_image}, **item)]
    assert_failed_cleanly("docker_containers", fragment, containers=specs)
    assert docker_inspect("container", names[0]) is None


def test_listing_fast_path_skips_inspect():
    """Unit-level: a container whose listing entry proves it matches is not inspected, and the
    image it names is inspected once for the whole batch."""
    from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import validate_items
    from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import spec_digest, ContainerService

    params = validate_items(ContainerService, [{"name": "vct-a", "image": "img"}, {"name": "vct-b", "image": "img"}],
                            "containers")
    services = [ContainerService(dict(p, docker_host="unix:///x", timeout=5)) for p in params]
    desireds = [service.desired() for service in services]
    calls = []

    class API:
        def containers(self, all=False):  # pylint: disable=redefined-builtin
            calls.append("containers")
            return [{"Id": "c" + d["name"], "Names": ["/" + d["name"]], "Image": "img", "ImageID": "sha256:1",
                     "State": "running", "Labels": {"io.virtcloud.spec-digest": spec_digest(ContainerService.options, d)}}
                    for d in desireds]

        def inspect_image(self, ident):
            calls.append("inspect_image")
            return {"Id": "sha256:1", "Config": {}}

        def inspect_container(self, ident):
            raise AssertionError("inspected")

    for service in services:
        service.api = API()
    batch = ContainerService.read_batch(services[0], desireds)
    for service, desired in zip(services, desireds):
        observed = service.observe(desired, batch)
        assert not service.plan(service.resolve(desired, observed, batch), observed).steps
    assert calls == ["containers", "inspect_image"]


def test_overridden_touches_only_its_own_owner(httpd_image, names):
    first = [{"name": n, "image": httpd_image, "command": ["sleep", "300"], "stop_timeout": 1} for n in names[:2]]
    second = [{"name": n, "image": httpd_image, "command": ["sleep", "300"], "stop_timeout": 1} for n in names[2:]]
    converge("docker_containers", containers=first, owner="team-a")
    converge("docker_containers", containers=second, owner="team-b")
    assert docker_inspect("container", names[0])["Config"]["Labels"]["io.virtcloud.owner"] == "team-a"
    # team-b drops one of its own: team-a's containers stay
    applied = converge("docker_containers", containers=second[:1], owner="team-b", state="overridden")
    assert [r["actions"] for r in applied["results"]][0] == ["remove container %s" % names[3]]
    assert docker_inspect("container", names[3]) is None
    assert all(docker_inspect("container", n) is not None for n in names[:3])
    assert_failed_cleanly("docker_containers", "owner: ", containers=second, owner="no/such owner")


def test_batch_items_take_the_newer_options(httpd_image, names, unique):
    """docker_containers validates items with docker_container's own spec: the options added
    for issue 19 work item by item, and the rerun changes nothing."""
    volume = unique + "-bvol"
    specs = [
        {"name": names[0], "image": httpd_image, "command": [], "networks": [], "state": "paused",
         "volumes": ["%s:/data:ro" % volume], "stop_timeout": 1},
        {"name": names[1], "image": httpd_image, "command": ["sleep", "300"], "network_mode": "none",
         "comparisons": {"labels": "ignore"}, "labels": {"a": "1"}, "force_kill": True},
    ]
    try:
        assert_check_mode_changes_nothing("docker_containers", "container", names[0], containers=specs)
        converge("docker_containers", containers=specs)
        assert run_module("docker_containers", containers=specs)["changed"] is False
        first, second = docker_inspect("container", names[0]), docker_inspect("container", names[1])
        assert first["State"]["Paused"] is True and first["NetworkSettings"]["Networks"] == {}
        assert [m["Name"] for m in first["Mounts"]] == [volume]
        assert second["HostConfig"]["NetworkMode"] == "none"
        relabelled = [specs[0], dict(specs[1], labels={"a": "2"})]
        assert run_module("docker_containers", containers=relabelled)["changed"] is False
    finally:
        sh("docker", "rm", "-f", *names[:2], check=False)
        sh("docker", "volume", "rm", volume, check=False)
