"""lxd_info against the real LXD, verified through the `lxc` CLI (--format json): the objects this test
makes are reported field for field as lxc shows them, every listing holds what lxc lists (other tests may
add and remove objects meanwhile, so: at least what lxc listed before and after, at most what either
listed), and each kind costs one API call however many objects there are."""

from __future__ import annotations

import random

import pytest

from conftest import run_module
from lib.lxd import lxc, lxc_json

KINDS = ("instances", "images", "networks", "profiles", "storage_pools")
LXC = {"instances": ("list",), "images": ("image", "list"), "networks": ("network", "list"),
       "profiles": ("profile", "list"), "storage_pools": ("storage", "list")}


def key(kind, entry):
    return entry["fingerprint"] if kind == "images" else entry["name"]


def listed(kind, project=None):
    args = LXC[kind] + (("--project", project) if project else ())
    return {key(kind, entry): entry for entry in lxc_json(*args)}


@pytest.fixture
def objects(lxd_busybox, unique):
    """A running instance with an address and a snapshot, a stopped one, and a profile."""
    running, stopped, profile = unique + "-run", unique + "-stop", unique + "-prof"
    address = "198.18.10.%d" % random.randint(100, 250)
    try:
        lxc("profile", "create", profile)
        lxc("profile", "set", profile, "user.vct", "info")
        lxc("profile", "device", "add", profile, "scratch", "disk", "path=/scratch", "source=/tmp")
        lxc("launch", lxd_busybox["alias"], running, "-c", "user.role=web")
        lxc("exec", running, "--", "ip", "addr", "add", address + "/24", "dev", "eth0")
        lxc("snapshot", running, "snap0")
        lxc("init", lxd_busybox["alias"], stopped, "-p", "default", "-p", profile)
        yield {"running": running, "stopped": stopped, "profile": profile, "address": address, **lxd_busybox}
    finally:
        lxc("delete", "--force", running, check=False)
        lxc("delete", "--force", stopped, check=False)
        lxc("profile", "delete", profile, check=False)


def expected_instance(entry):
    """What lxd_info must say of an instance, from lxc's own JSON."""
    config = entry["config"]
    state = entry.get("state") or {}
    inet = sorted(a["address"] for nic in (state.get("network") or {}).values() if nic["type"] != "loopback"
                  for a in nic["addresses"] if a["family"] == "inet" and a["scope"] == "global")
    return {"name": entry["name"], "type": entry["type"], "status": entry["status"].lower(),
            "profiles": entry["profiles"], "devices": entry["devices"],
            "config": {k: v for k, v in config.items() if not k.startswith("volatile.")},
            "image": config["volatile.base_image"], "ipv4": inet, "pid": state.get("pid") or None,
            "snapshots": sorted(s["name"] for s in entry.get("snapshots") or []),
            "hwaddr": config.get("volatile.eth0.hwaddr")}


def test_reports_what_lxc_shows(objects):
    before = {kind: listed(kind) for kind in KINDS}
    predicted = run_module("lxd_info", check=True)
    result = run_module("lxd_info")
    after = {kind: listed(kind) for kind in KINDS}
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["actions"] == [] and predicted["changed"] is False
    assert predicted["instances"][0].keys() == result["instances"][0].keys()

    for kind in KINDS:
        got = {key(kind, entry): entry for entry in result[kind]}
        assert set(before[kind]) & set(after[kind]) <= set(got) <= set(before[kind]) | set(after[kind]), kind

    instances = {entry["name"]: entry for entry in result["instances"]}
    for name in (objects["running"], objects["stopped"]):
        want = expected_instance(after["instances"][name])
        have = instances[name]
        assert {k: have.get(k) for k in want if k != "hwaddr"} == {k: v for k, v in want.items() if k != "hwaddr"}
        assert have["volatile"]["volatile.eth0.hwaddr"] == want["hwaddr"]
    running, stopped = instances[objects["running"]], instances[objects["stopped"]]
    assert running["status"] == "running" and running["ipv4"] == [objects["address"]]
    assert running["network"]["eth0"]["hwaddr"] == running["volatile"]["volatile.eth0.hwaddr"]
    assert running["snapshots"] == ["snap0"] and running["config"]["user.role"] == "web"
    assert running["pid"] > 1 and running["processes"] >= 1 and running["memory_usage"] > 0
    assert stopped["status"] == "stopped" and stopped["pid"] is None and stopped["ipv4"] == []
    assert stopped["profiles"] == ["default", objects["profile"]]
    assert stopped["expanded_config"]["user.vct"] == "info" and "scratch" in stopped["expanded_devices"]
    assert running["image"] == stopped["image"] == objects["fingerprint"]

    image = next(i for i in result["images"] if i["fingerprint"] == objects["fingerprint"])
    shown = after["images"][objects["fingerprint"]]
    assert image["aliases"] == sorted(a["name"] for a in shown["aliases"]) and objects["alias"] in image["aliases"]
    assert (image["size"], image["architecture"], image["type"], image["properties"]) == \
        (shown["size"], shown["architecture"], shown["type"], shown["properties"])
    assert image["description"] == "virtcloud busybox"

    profile = next(p for p in result["profiles"] if p["name"] == objects["profile"])
    shown = after["profiles"][objects["profile"]]
    assert (profile["config"], profile["devices"]) == (shown["config"], shown["devices"])
    assert profile["used_by"] == ["/1.0/instances/" + objects["stopped"]]

    for kind in ("networks", "storage_pools"):  # the host's own: lxdbr0 and the default pool
        for entry in result[kind]:
            shown = after[kind].get(entry["name"])
            if shown is not None:
                assert (entry["config"], entry.get("type") or entry.get("driver")) == \
                    (shown["config"], shown.get("type") or shown.get("driver")), entry
    assert {"lxdbr0"} <= {n["name"] for n in result["networks"] if n["managed"]}
    assert result["server"]["server_version"] == lxc("version").stdout.split("Server version:")[1].strip()


def test_names_and_gather_choose_what_is_read(objects):
    result = run_module("lxd_info", gather=["instances", "images", "profiles"],
                        names={"instances": [objects["running"], "vct-none"], "images": objects["fingerprint"][:12],
                               "profiles": objects["profile"]})
    assert result.get("failed") is not True, result
    assert [i["name"] for i in result["instances"]] == [objects["running"]]
    assert [i["fingerprint"] for i in result["images"]] == [objects["fingerprint"]]
    assert [p["name"] for p in result["profiles"]] == [objects["profile"]]
    assert "networks" not in result and "storage_pools" not in result
    by_alias = run_module("lxd_info", kinds=["images"], names={"images": [objects["alias"]]})
    assert [i["fingerprint"] for i in by_alias["images"]] == [objects["fingerprint"]]
    bad = run_module("lxd_info", gather=["images"], names={"instances": "x"})
    assert bad.get("failed") and bad["msg"].startswith("names:"), bad
    bad = run_module("lxd_info", names={"containers": "x"})
    assert bad.get("failed") and bad["msg"].startswith("names:") and "instances" in bad["msg"], bad


def test_one_call_per_kind_however_many_objects(objects, lxd_busybox, unique):
    """Counted by the client itself (in this process, against the real daemon): GET /1.0 and one
    listing per kind, the same with three more instances and profiles."""
    from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import execute
    from ansible_collections.virtcloud.core.plugins.module_utils.lxd.info import LxdInfoService

    params = {name: spec.get("default") for name, spec in LxdInfoService.argument_spec().items()}

    def count():
        service = LxdInfoService(params)
        result = execute(service)
        return service.lxd.requests, sum(len(result[kind]) for kind in KINDS)

    first, objects_first = count()
    extra = ["%s-more%d" % (unique, n) for n in range(3)]
    try:
        for name in extra:
            lxc("init", lxd_busybox["alias"], name)
            lxc("profile", "create", name)
        second, objects_second = count()
    finally:
        for name in extra:
            lxc("delete", "--force", name, check=False)
            lxc("profile", "delete", name, check=False)
    assert objects_second >= objects_first + 6 - 2  # others may remove a few meanwhile
    assert first == second == 1 + len(KINDS), (first, second)


@pytest.fixture
def project(lxd_busybox, unique):
    """A project sharing the default project's images, profiles and networks, with one instance."""
    name, instance = unique + "-proj", unique + "-inproj"
    try:
        lxc("project", "create", name, "-c", "features.images=false", "-c", "features.profiles=false",
            "-c", "features.networks=false")
        lxc("init", lxd_busybox["alias"], instance, "--project", name)
        yield {"name": name, "instance": instance}
    finally:
        lxc("delete", "--force", instance, "--project", name, check=False)
        lxc("project", "delete", name, check=False)


def test_project_scopes_the_listings(project):
    result = run_module("lxd_info", project=project["name"], gather=["instances", "profiles"])
    assert result.get("failed") is not True, result
    assert [i["name"] for i in result["instances"]] == [project["instance"]] == list(listed("instances", project["name"]))
    assert result["instances"][0]["project"] == project["name"]
    assert project["instance"] not in [i["name"] for i in run_module("lxd_info", gather=["instances"])["instances"]]
    # LXD 5.0 lists no instances (and no error) for a project that does not exist: refused here
    missing = run_module("lxd_info", project=project["name"] + "-none", gather=["instances"])
    assert missing.get("failed") and missing["msg"].startswith("project:") and "lxc project create" in missing["msg"]
