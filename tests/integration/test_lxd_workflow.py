"""Issue 23's LXD story end to end, with the collection's modules only: an image imported from a
busybox rootfs, an instance launched from it and configured live, published as a template image,
a second instance and then a batch of ten launched from the template and rerun, everything removed.
Each step converges (check -> apply -> rerun unchanged -> check rerun, check mode predicting what is
read back) and is verified through the `lxc` CLI."""

from __future__ import annotations

import pytest

from conftest import converge, run_module
from lib.lxd import build_busybox_image, image_fingerprint, lxc, lxc_json

pytestmark = pytest.mark.usefixtures("lxd_daemon")


def running(name):
    found = [i for i in lxc_json("list", "^%s$" % name) if i["name"] == name]
    return bool(found) and found[0]["status"] == "Running"


@pytest.fixture
def story(unique, tmp_path):
    names = {"base": unique + "-base", "template": unique + "-tmpl", "build": unique + "-build",
             "web": unique + "-web", "nodes": ["%s-n%d" % (unique, i) for i in range(10)]}
    yield names, tmp_path
    for name in [names["build"], names["web"]] + names["nodes"]:
        lxc("delete", "--force", name, check=False)
    for alias in (names["base"], names["template"]):
        lxc("image", "delete", alias, check=False)


def test_image_instance_template_batch_and_back(story):
    names, tmp_path = story
    meta, rootfs = build_busybox_image(str(tmp_path / "image"))

    imported = converge("lxd_image", aliases=[names["base"]], source={"metadata": meta, "rootfs": rootfs})
    assert image_fingerprint(names["base"]) == imported["image"]["fingerprint"]

    build = {"name": names["build"], "image": names["base"], "state": "started"}
    converge("lxd_instance", **build)
    assert running(names["build"])
    live = converge("lxd_instance", **build, config={"limits.memory": "96MiB", "user.role": "template"})
    assert "restart_required" not in live
    shown = lxc_json("list", "^%s$" % names["build"])[0]
    assert shown["config"]["limits.memory"] == "96MiB" and shown["config"]["user.role"] == "template"

    lxc("exec", names["build"], "--", "sh", "-c", "echo made-in-build > /root/marker")
    converge("lxd_instance", **{**build, "state": "stopped"})
    template = converge("lxd_image", aliases=[names["template"]], source={"instance": names["build"]},
                        properties={"description": "virtcloud web template"})
    listed = [i for i in lxc_json("image", "list") if i["fingerprint"] == template["image"]["fingerprint"]]
    assert listed and listed[0]["properties"]["description"] == "virtcloud web template"

    converge("lxd_instance", name=names["web"], image=names["template"], state="started")
    assert running(names["web"])
    # the template carries the build instance's file system (not its instance config)
    assert lxc("exec", names["web"], "--", "cat", "/root/marker").stdout.strip() == "made-in-build"
    assert "user.role" not in lxc_json("list", "^%s$" % names["web"])[0]["config"]

    nodes = [{"name": n, "image": names["template"], "state": "started", "config": {"user.node": n}}
             for n in names["nodes"]]
    batch = converge("lxd_instances", instances=nodes)
    assert len(batch["results"]) == 10 and all(running(n) for n in names["nodes"])

    gone = [dict(node, state="absent") for node in nodes] + [
        {"name": names["web"], "state": "absent"}, {"name": names["build"], "state": "absent"}]
    converge("lxd_instances", instances=gone)
    for alias in (names["template"], names["base"]):
        converge("lxd_image", aliases=[alias], state="absent")
    left = {i["name"] for i in lxc_json("list")}
    assert not left & set([names["build"], names["web"]] + names["nodes"])
    assert image_fingerprint(names["template"]) is None and image_fingerprint(names["base"]) is None
    assert run_module("lxd_info", names={"instances": [names["web"]]})["instances"] == []
