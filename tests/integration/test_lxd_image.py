"""lxd_image against the real LXD, verified through the lxc CLI: a split image imported from the
offline busybox tarballs (its fingerprint the sha256 of both files), an instance launched from it,
published as a template with an alias and a property, a second instance launched from the
template, aliases changed, a snapshot republished over the template, everything removed."""

from __future__ import annotations

import hashlib
import os
import tarfile

import pytest

from conftest import converge, run_module, start_module
from conftest import result as module_result
from lib.lxd import build_busybox_image, lxc, lxc_json


@pytest.fixture
def made(lxd_daemon, unique):
    """What the test makes: instances and aliases carry `unique`; images it saw are listed in
    made["images"]. All removed afterwards, also on failure."""
    record = {"unique": unique, "images": set()}
    yield record
    for instance in lxc_json("list"):
        if unique in instance["name"]:
            lxc("delete", "--force", instance["name"], check=False)
    for image in lxc_json("image", "list"):
        if image["fingerprint"] in record["images"] or any(unique in a["name"] for a in image.get("aliases") or []):
            lxc("image", "delete", image["fingerprint"], check=False)


def image_of(alias=None, fingerprint=None):
    """The image (lxc image list --format json) by alias or fingerprint, or None."""
    for image in lxc_json("image", "list"):
        if image["fingerprint"] == fingerprint or any(a["name"] == alias for a in image.get("aliases") or []):
            return image
    return None


def aliases_of(image):
    return sorted(a["name"] for a in image.get("aliases") or [])


def status(name):
    return [i["status"] for i in lxc_json("list") if i["name"] == name]


def failed_cleanly(option, fragment, **args):
    """Refused naming the option, in check mode and for real, with no change."""
    runs = [start_module("lxd_image", _ansible_check_mode=check, **args) for check in (True, False)]  # side by side
    for proc in runs:
        result = module_result(proc)
        assert result.get("failed") is True, result
        assert result["msg"].startswith(option + ":") and fragment in result["msg"], result["msg"]
        assert result.get("changed") is False and not result.get("actions"), result


def test_import_publish_launch_alias_refresh_remove(made, tmp_path):
    unique = made["unique"]
    meta, rootfs = build_busybox_image(str(tmp_path), description="vct image " + unique)
    with open(meta, "rb") as one, open(rootfs, "rb") as two:
        fingerprint = hashlib.sha256(one.read() + two.read()).hexdigest()
    made["images"].add(fingerprint)
    base, template, other = unique + "-bb", unique + "-tmpl", unique + "-web"
    files = {"metadata": meta, "rootfs": rootfs}

    # import: the fingerprint is the sha256 of the metadata tarball's bytes followed by the rootfs's
    spec = {"aliases": [base], "source": files, "properties": {"vct.test": unique}}
    applied = converge("lxd_image", **spec)
    short = fingerprint[:12]
    assert applied["actions"] == ["import image %s from meta.tar.gz + rootfs.tar.gz" % short, "create alias %s" % base,
                                  "update image %s: properties" % short]
    assert applied["predicted"]["image"] == applied["image"] == applied["diff"]["after"]
    image = image_of(fingerprint=fingerprint)
    assert image is not None and aliases_of(image) == [base]
    assert image["properties"] == {"description": "vct image " + unique, "os": "busybox", "release": "test",
                                   "vct.test": unique}
    assert image["size"] == os.path.getsize(meta) + os.path.getsize(rootfs) == applied["image"]["size"]
    assert image["public"] is False and image["type"] == "container"

    # publish: a running instance is refused before anything is made; a stopped one becomes a template
    builder, clone = unique + "-c1", unique + "-c2"
    lxc("launch", base, builder)
    publish = {"aliases": [template], "source": {"instance": builder}, "properties": {"role": "template"}}
    failed_cleanly("source.instance", "is running", **publish)
    failed_cleanly("source.snapshot", "has no snapshot nosuch",
                   **{**publish, "source": {"instance": builder, "snapshot": "nosuch"}})
    assert image_of(alias=template) is None
    lxc("stop", builder)
    applied = converge("lxd_image", **publish)
    assert applied["actions"] == ["publish instance %s as an image" % builder, "create alias %s" % template]
    tmpl = image_of(alias=template)
    made["images"].add(tmpl["fingerprint"])
    unknown = {"fingerprint": None, "size": None}  # known only once published
    assert applied["predicted"]["image"] == {**applied["image"], **unknown}
    assert applied["image"]["fingerprint"] == tmpl["fingerprint"] != fingerprint
    assert tmpl["properties"] == {"description": "vct image " + unique, "os": "busybox", "release": "test",
                                  "role": "template"}

    # a second instance from the template runs
    lxc("launch", template, clone)
    assert status(clone) == ["Running"]

    # aliases: one more, and public, in place; then the first one dropped (the image found by the other)
    applied = converge("lxd_image", aliases=[template, other], public=True)
    assert applied["actions"] == ["create alias %s" % other, "update image %s: public" % tmpl["fingerprint"][:12]]
    assert aliases_of(image_of(alias=template)) == sorted([other, template]) and image_of(alias=other)["public"] is True
    applied = converge("lxd_image", aliases=[other])
    assert applied["actions"] == ["remove alias %s" % template]
    assert image_of(alias=template) is None and aliases_of(image_of(alias=other)) == [other]

    # a snapshot republished under the alias replaces the template: check mode predicts it, every run does it
    lxc("snapshot", builder, "s0")
    refresh = {"aliases": [other], "source": {"instance": builder, "snapshot": "s0"}, "refresh": True}
    old = tmpl["fingerprint"]
    steps = ["publish snapshot %s/s0 as an image" % builder, "move alias %s from image %s" % (other, old[:12]),
             "delete image %s (its last alias moved)" % old[:12]]
    predicted = run_module("lxd_image", check=True, **refresh)
    assert predicted["changed"] is True and predicted["actions"] == steps, predicted
    assert image_of(fingerprint=old) is not None
    result = run_module("lxd_image", **refresh)
    assert result["changed"] is True and result["actions"] == steps, result
    new = image_of(alias=other)
    made["images"].add(new["fingerprint"])
    assert image_of(fingerprint=old) is None and new["fingerprint"] not in (old, fingerprint)
    assert status(clone) == ["Running"]  # an instance made from the old template is not touched

    # removal, by alias and by the source files (their fingerprint)
    applied = converge("lxd_image", aliases=[other], state="absent")
    assert applied["actions"] == ["delete image %s" % new["fingerprint"][:12]]
    applied = converge("lxd_image", source=files, state="absent")
    assert applied["actions"] == ["delete image %s" % short]
    assert image_of(fingerprint=new["fingerprint"]) is None and image_of(fingerprint=fingerprint) is None


def test_unified_tarball_and_fingerprint_prefix(made, tmp_path):
    """A unified tarball (metadata.yaml and rootfs/ in one file) imports too; its fingerprint is the
    file's sha256, and the image is found again by a prefix of it."""
    unique = made["unique"]
    meta, rootfs = build_busybox_image(str(tmp_path), description="vct unified " + unique)
    tarball = str(tmp_path / "unified.tar")
    with tarfile.open(tarball, "w") as out:
        with tarfile.open(meta) as tar:
            for member in tar:
                out.addfile(member, tar.extractfile(member))
        with tarfile.open(rootfs) as tar:
            for member in tar:
                member.name = "rootfs/" + member.name
                out.addfile(member, tar.extractfile(member) if member.isfile() else None)
    with open(tarball, "rb") as handle:
        fingerprint = hashlib.sha256(handle.read()).hexdigest()
    made["images"].add(fingerprint)
    spec = {"aliases": [unique + "-uni"], "source": {"tarball": tarball}}
    applied = converge("lxd_image", **spec)
    assert applied["image"]["fingerprint"] == fingerprint and applied["predicted"]["image"] == applied["image"]
    assert aliases_of(image_of(fingerprint=fingerprint)) == [unique + "-uni"]
    by_prefix = run_module("lxd_image", fingerprint=fingerprint[:16], aliases=[unique + "-uni"])
    assert by_prefix["changed"] is False and by_prefix["image"]["fingerprint"] == fingerprint, by_prefix
    converge("lxd_image", fingerprint=fingerprint[:16], state="absent")
    assert image_of(fingerprint=fingerprint) is None


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    return build_busybox_image(str(tmp_path_factory.mktemp("lxd-bad")), description="vct bad input")


@pytest.mark.parametrize("option, fragment, args", [
    ("source.metadata", "no such readable file", {"source": {"metadata": "/nonexistent/m.tar.gz", "rootfs": "{rootfs}"}}),
    ("source.rootfs", "give source.metadata and source.rootfs", {"source": {"metadata": "{meta}"}}),
    ("source.metadata", "has no metadata.yaml", {"source": {"metadata": "{rootfs}", "rootfs": "{rootfs}"}}),
    ("source.tarball", "holds no rootfs/", {"source": {"tarball": "{meta}"}}),
    ("source.instance", "LXD has no instance vct-no-such", {"source": {"instance": "vct-no-such"}}),
    ("source.snapshot", "give the instance too", {"source": {"snapshot": "s0"}}),
    ("fingerprint", "does not match the source files", {"fingerprint": "abc", "source": {"metadata": "{meta}", "rootfs": "{rootfs}"}}),
    ("fingerprint", "LXD has no image", {"fingerprint": "0123456789ab", "aliases": None, "source": None}),
    ("aliases", "is not an alias LXD and the lxc CLI can use", {"aliases": ["remote:name"]}),
    ("aliases", "give the alias of the published image", {"aliases": None, "source": {"instance": "x"}}),
    ("refresh", "give source.instance", {"refresh": True}),
])
def test_bad_input_is_refused_before_anything_is_touched(lxd_daemon, unique, bad_files, option, fragment, args):
    meta, rootfs = bad_files
    args = {"aliases": [unique + "-bad"], "source": {"metadata": meta, "rootfs": rootfs}, **args}
    args = {k: v for k, v in args.items() if v is not None}
    if "source" in args:
        args["source"] = {k: v.format(meta=meta, rootfs=rootfs) for k, v in args["source"].items()}
    failed_cleanly(option, fragment, **args)
    assert image_of(alias=unique + "-bad") is None
