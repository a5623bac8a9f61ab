"""docker_image without dockerd: saved archives, platforms, tag references, and the service on a fake
API (what `changed` says after a forced rebuild, how archive_path is written)."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import execute
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import NotFound
from ansible_collections.virtcloud.core.plugins.module_utils.docker.image import (
    ImageService,
    archive_images,
    archived_id,
    parse_platform,
    platform_matches,
    saved_image,
)

A, B = "a" * 64, "b" * 64


def write_tar(path, files):
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            data = data if isinstance(data, bytes) else json.dumps(data).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


# ------------------------------------------------------------ saved archives
def test_saved_image_comes_from_the_manifest(tmp_path):
    archive = write_tar(tmp_path / "img.tar", {"manifest.json": [
        {"Config": A + ".json", "RepoTags": ["other:1"]},
        {"Config": "blobs/sha256/" + B, "RepoTags": ["local/app:1", "local/app:2"]}]})
    assert saved_image(archive, "local/app:1") == ("sha256:" + B, ["local/app:1", "local/app:2"])
    with pytest.raises(InputError, match="^load_from: .* holds 2 images and none is tagged missing:1"):
        saved_image(archive, "missing:1")


def test_the_only_image_of_an_archive_is_taken_whatever_its_tags(tmp_path):
    archive = write_tar(tmp_path / "img.tar", {"manifest.json": [{"Config": A + ".json", "RepoTags": None}]})
    assert saved_image(archive, "local/app:1") == ("sha256:" + A, [])


@pytest.mark.parametrize("files, problem", [
    ({}, "it has no manifest.json"),
    ({"manifest.json": b"{not json"}, "its manifest.json is not valid JSON"),
    ({"manifest.json": {"Config": A}}, "its manifest.json is not a list of images"),
    ({"manifest.json": []}, "holds no image"),
    ({"manifest.json": [{"Config": "../../etc/passwd"}]}, "names '../../etc/passwd' as an image's config"),
    ({"manifest.json": [{"Config": "/etc/passwd"}]}, "names '/etc/passwd' as an image's config"),
    ({"manifest.json": [{"Config": "blobs/sha256/../../../" + A}]}, "as an image's config"),
    ({"manifest.json": [{"Config": None}]}, "names None as an image's config"),
    ({"manifest.json": [{"Config": A + ".json", "RepoTags": "x:1"}]}, "RepoTags"),
])
def test_a_bad_archive_is_refused_naming_load_from(tmp_path, files, problem):
    archive = write_tar(tmp_path / "img.tar", files)
    with pytest.raises(InputError) as info:
        saved_image(archive, "x:1")
    assert info.value.msg.startswith("load_from: ")
    assert problem in info.value.msg


@pytest.mark.parametrize("content", [b"just some text\n", b"", b"\x1f\x8b\x08garbage"])
def test_a_file_that_is_no_tar_is_refused_naming_load_from(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        saved_image(str(path), "x:1")
    assert info.value.msg.startswith("load_from: %s is not a 'docker save' archive" % path)


def test_archived_id_tells_what_an_existing_archive_holds(tmp_path):
    archive = write_tar(tmp_path / "img.tar", {"manifest.json": [{"Config": A + ".json", "RepoTags": ["app:1"]}]})
    assert archived_id(archive, "app:1", "sha256:" + A) == "sha256:" + A
    assert archived_id(archive, "app:2", "sha256:" + A) is None
    assert archived_id(archive, None, "sha256:" + A) == "sha256:" + A  # a digest reference: by ID
    assert archived_id(str(tmp_path / "missing.tar"), "app:1", "sha256:" + A) is None
    (tmp_path / "text").write_text("no archive")
    assert archived_id(str(tmp_path / "text"), "app:1", "sha256:" + A) is None
    assert [i for i, tags in archive_images(archive, "archive_path")] == ["sha256:" + A]


# ------------------------------------------------------------ platform and tag references
@pytest.mark.parametrize("value, normal", [
    ("linux", "linux"), ("linux/amd64", "linux/amd64"), ("Linux/X86_64", "linux/amd64"),
    ("linux/aarch64", "linux/arm64"), ("linux/arm/v7", "linux/arm/v7"), (" linux/386 ", "linux/386"),
])
def test_platforms_normalise(value, normal):
    assert parse_platform(value, "platform") == normal


@pytest.mark.parametrize("bad", ["", "/amd64", "linux/", "linux//v7", "linux/arm/v7/x", "linux amd64", "linux/amd64;rm"])
def test_bad_platform_names_the_option(bad):
    with pytest.raises(InputError, match="^platform: .* is not a platform: use os"):
        parse_platform(bad, "platform")


def test_platform_match_allows_leaving_out_arch_and_variant():
    assert platform_matches(None, "linux/amd64")
    assert platform_matches("linux", "linux/amd64")
    assert platform_matches("linux/arm64", "linux/arm64/v8")
    assert not platform_matches("linux/arm64", "linux/amd64")
    assert not platform_matches("linux/arm/v7", "linux/arm/v6")


def params(**kw):
    out = {name: opt.default for name, opt in dict(ImageService.connection, **ImageService.options).items()}
    out.update(kw)
    return out


def test_repository_takes_the_tag_of_name_unless_it_has_its_own():
    assert ImageService(params(name="app:1.2", repository="reg.local/team/app")).desired()["tags"] == \
        [("reg.local/team/app", "1.2")]
    assert ImageService(params(name="app", repository="reg.local/app:2", tags=["x"])).desired()["tags"] == \
        [("x", "latest"), ("reg.local/app", "2")]


@pytest.mark.parametrize("option, value", [("repository", "Bad/Name"), ("repository", "app@sha256:" + A),
                                           ("tags", ["app@sha256:" + A]), ("tags", ["a b"])])
def test_bad_tag_references_name_the_option(option, value):
    with pytest.raises(InputError) as info:
        ImageService(params(name="app:1", **{option: value})).desired()
    assert info.value.msg.startswith(option + ": ")


def test_archive_path_must_be_a_file_in_an_existing_directory(tmp_path):
    with pytest.raises(InputError, match="^archive_path: .* is a directory"):
        ImageService(params(name="app:1", archive_path=str(tmp_path))).desired()
    with pytest.raises(InputError, match="^archive_path: the directory .* does not exist"):
        ImageService(params(name="app:1", archive_path=str(tmp_path / "no" / "a.tar"))).desired()
    with pytest.raises(InputError, match="^archive_path: .* needs state=present"):
        ImageService(params(name="app:1", state="absent", archive_path=str(tmp_path / "a.tar"))).desired()


# ------------------------------------------------------------ the service on a fake API
class FakeAPI:
    """Images by reference; a build makes the image `next_id` (the same ID again: a cached build)."""

    def __init__(self, images=None, next_id="sha256:" + A):
        self.images = dict(images or {})
        self.next_id = next_id
        self.calls = []

    def inspect_image(self, ref):
        for info in self.images.values():
            if ref == info["Id"] or ref in info["RepoTags"]:
                return json.loads(json.dumps(info))
        raise NotFound("no such image: %s" % ref)

    def build(self, **kw):
        self.calls.append(("build", kw.get("platform")))
        info = self.images.setdefault(self.next_id, {"Id": self.next_id, "RepoTags": [], "Os": "linux",
                                                     "Architecture": "amd64", "Config": {"Labels": {}}})
        for other in self.images.values():
            other["RepoTags"] = [t for t in other["RepoTags"] if t != kw["tag"]]
        info["RepoTags"].append(kw["tag"])
        info["Config"]["Labels"] = dict(kw["labels"])
        return iter([{"stream": "Successfully built\n"}])

    def get_image(self, ref):
        self.calls.append(("save", ref))
        info = self.inspect_image(ref)
        manifest = json.dumps([{"Config": info["Id"].split(":")[1] + ".json", "RepoTags": [ref]}]).encode()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            entry = tarfile.TarInfo("manifest.json")
            entry.size = len(manifest)
            tar.addfile(entry, io.BytesIO(manifest))
        data = buf.getvalue()
        yield data[:512]
        if getattr(self, "fail_save", False):
            raise OSError("connection reset while saving")
        yield data[512:]


class FakeImageService(ImageService):
    api = None

    def connect(self):
        self.api = FakeImageService.api


@pytest.fixture
def context(tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (ctx / "a").write_text("one")
    return str(ctx)


def build_opts(context):  # the build suboptions as AnsibleModule fills them in
    return {"path": context, "dockerfile": "Dockerfile", "args": None, "target": None}


def run(check=False, **kw):
    return execute(FakeImageService(params(**kw)), check_mode=check, diff=True)


def test_a_forced_rebuild_that_gives_the_same_image_changes_nothing(context):
    FakeImageService.api = FakeAPI()
    assert run(name="app:1", build=build_opts(context))["changed"] is True
    again = run(name="app:1", build=build_opts(context), force=True)
    assert again["actions"] == ["build image app:1 from %s" % context]  # it did rebuild
    assert again["changed"] is False, again
    # check mode cannot know the ID a build will give: it predicts a change
    assert run(check=True, name="app:1", build=build_opts(context), force=True)["changed"]


def test_a_forced_rebuild_that_gives_another_image_is_a_change(context):
    FakeImageService.api = FakeAPI()
    run(name="app:1", build=build_opts(context))
    FakeImageService.api.next_id = "sha256:" + B
    result = run(name="app:1", build=build_opts(context), force=True)
    assert result["changed"] is True and result["image"]["id"] == "sha256:" + B


def test_build_gets_the_platform(context):
    FakeImageService.api = FakeAPI()
    run(name="app:1", build=build_opts(context), platform="Linux/x86_64")
    assert ("build", "linux/amd64") in FakeImageService.api.calls


def test_archive_is_written_whole_or_not_at_all(context, tmp_path):
    FakeImageService.api = FakeAPI()
    archive = tmp_path / "app.tar"
    archive.write_text("previous content")
    FakeImageService.api.fail_save = True
    failed = None
    try:
        run(name="app:1", build=build_opts(context), archive_path=str(archive))
    except Exception as exc:  # the engine's error, naming the step
        failed = str(exc)
    assert failed and "save image app:1 to %s failed" % archive in failed
    assert archive.read_text() == "previous content"
    assert sorted(os.listdir(tmp_path)) == ["app.tar", "ctx"]  # no temporary file left
    FakeImageService.api.fail_save = False
    result = run(name="app:1", build=build_opts(context), archive_path=str(archive))
    assert result["changed"] is True and result["actions"] == ["save image app:1 to %s" % archive]
    assert result["image"]["archive"] == {"path": str(archive), "id": "sha256:" + A}
    assert sorted(os.listdir(tmp_path)) == ["app.tar", "ctx"]
    assert run(name="app:1", build=build_opts(context), archive_path=str(archive),
               force=True)["changed"] is False
    assert [c for c in FakeImageService.api.calls if c[0] == "save"] == [("save", "app:1")] * 2
