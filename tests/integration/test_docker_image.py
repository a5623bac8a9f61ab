"""docker_image against the real dockerd (no registry is reachable): tags, repository, push and registry
errors, force, load_from checks, archive_path, platform."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from conftest import converge, run_module, sh  # noqa: E402
from dockertest import assert_failed_cleanly, docker_inspect, httpd_image  # noqa: E402,F401 pylint: disable=unused-import

UNREACHABLE = "127.0.0.1:1"  # nothing listens there: connection refused at once


def test_additional_tags(httpd_image, unique):
    extra = "local/%s:extra" % unique
    try:
        converge("docker_image", name=httpd_image, tags=[extra])
        assert extra in docker_inspect("image", httpd_image)["RepoTags"]
    finally:
        sh("docker", "rmi", extra, check=False)


def test_unreachable_registry_names_the_cause(docker_daemon, unique):
    name = "%s/vct/%s:1" % (UNREACHABLE, unique)
    result = assert_failed_cleanly("docker_image", "pull image %s failed" % name, name=name,
                                   username="vct", password="s3cret-vct")
    assert "connection refused" in result["msg"]
    assert "s3cret-vct" not in str(result)
    assert docker_inspect("image", name) is None


def test_push_without_registry_fails_clearly(httpd_image, unique):
    ref = "%s/vct/%s:1" % (UNREACHABLE, unique)
    try:
        sh("docker", "tag", httpd_image, ref)
        result = assert_failed_cleanly("docker_image", "push: cannot reach the registry of %s" % ref, name=ref, push=True)
        assert "connection refused" in result["msg"]
    finally:
        sh("docker", "rmi", ref, check=False)


def test_missing_image_with_pull_never(docker_daemon, unique):
    assert_failed_cleanly("docker_image", "pull: image local/%s:1 is not present and pull=never" % unique,
                          name="local/%s:1" % unique, pull="never")


# ------------------------------------------------------------ helpers
def context(path, text="one"):
    """A tiny build context (no RUN: builds in a moment, for any platform)."""
    path.mkdir(exist_ok=True)
    (path / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (path / "a").write_text(text)
    return str(path)


def image_id(ref):
    info = docker_inspect("image", ref)
    return info and info["Id"]


def manifest(archive):
    return json.loads(sh("tar", "-xOf", archive, "manifest.json").stdout)


@pytest.fixture
def image(docker_daemon, unique):
    """A name for an image this test makes; removed afterwards with every tag the test gave it."""
    made = ["local/%s:1" % unique]
    yield made
    for ref in made:
        sh("docker", "rmi", "-f", ref, check=False)


# ------------------------------------------------------------ force: changed is what changed
def test_forced_rebuild_that_gives_the_same_image_is_no_change(image, tmp_path):
    build = {"path": context(tmp_path / "ctx")}
    converge("docker_image", name=image[0], build=build)
    before = image_id(image[0])
    # check mode cannot know which image a build will give: it predicts a change
    assert run_module("docker_image", check=True, name=image[0], build=build, force=True)["changed"] is True
    forced = run_module("docker_image", name=image[0], build=build, force=True)
    assert forced["actions"] == ["build image %s from %s" % (image[0], build["path"])], forced  # it did rebuild
    assert forced["changed"] is False, forced
    assert image_id(image[0]) == before == forced["image"]["id"]


def test_forced_reload_of_the_same_archive_is_no_change(image, tmp_path):
    sh("docker", "build", "-q", "-t", image[0], context(tmp_path / "ctx"))
    archive = str(tmp_path / "saved.tar")
    sh("docker", "save", "-o", archive, image[0])
    sh("docker", "rmi", image[0])
    converge("docker_image", name=image[0], load_from=archive)
    loaded = image_id(image[0])
    # the archive says which image a reload gives: check mode knows it changes nothing
    predicted = run_module("docker_image", check=True, name=image[0], load_from=archive, force=True)
    assert predicted["changed"] is False and predicted["actions"] == ["load image %s from %s" % (image[0], archive)]
    forced = run_module("docker_image", name=image[0], load_from=archive, force=True)
    assert forced["changed"] is False and forced["actions"] == predicted["actions"], forced
    assert image_id(image[0]) == loaded


def test_forced_reimport_gives_a_new_image(image, tmp_path):
    rootfs = str(tmp_path / "rootfs.tar")
    sh("tar", "-cf", rootfs, "-C", context(tmp_path / "ctx"), "a")
    converge("docker_image", name=image[0], import_from=rootfs)
    before = image_id(image[0])
    forced = run_module("docker_image", name=image[0], import_from=rootfs, force=True)
    assert forced["changed"] is True, forced  # an import gets a new creation time: a new image
    assert image_id(image[0]) == forced["image"]["id"] != before


# ------------------------------------------------------------ load_from that is no 'docker save' archive
def test_load_from_a_file_that_is_no_archive_names_the_option(image, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a tar\n")
    assert_failed_cleanly("docker_image", "load_from: %s is not a 'docker save' archive" % notes,
                          name=image[0], load_from=str(notes))
    assert image_id(image[0]) is None


@pytest.mark.parametrize("members, problem", [
    ({"a": b"x"}, "it has no manifest.json"),
    ({"manifest.json": b"[{"}, "its manifest.json is not valid JSON"),
    ({"manifest.json": b'[{"Config": "../../etc/passwd", "RepoTags": ["x:1"]}]'}, "'../../etc/passwd' as an image's config"),
    ({"manifest.json": b'[{"Config": "/etc/passwd"}]'}, "'/etc/passwd' as an image's config"),
])
def test_load_from_a_bad_archive_names_the_option(image, tmp_path, members, problem):
    archive = tmp_path / "bad.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    result = assert_failed_cleanly("docker_image", "load_from: %s is not a 'docker save' archive" % archive,
                                   name=image[0], load_from=str(archive))
    assert problem in result["msg"]
    assert image_id(image[0]) is None


# ------------------------------------------------------------ archive_path
def test_archive_path_saves_the_image(image, tmp_path):
    build = {"path": context(tmp_path / "ctx")}
    archive = tmp_path / "out" / "image.tar"
    archive.parent.mkdir()
    sh("docker", "build", "-q", "-t", image[0], build["path"])
    args = dict(name=image[0], archive_path=str(archive))
    predicted = run_module("docker_image", check=True, **args)
    assert predicted["changed"] is True and predicted["actions"] == ["save image %s to %s" % (image[0], archive)]
    assert not archive.exists()
    result = converge("docker_image", **args)
    entries = manifest(str(archive))
    assert [e["RepoTags"] for e in entries] == [[image[0]]]
    assert "sha256:" + os.path.basename(entries[0]["Config"]).replace(".json", "") == image_id(image[0])
    assert result["image"]["archive"] == {"path": str(archive), "id": image_id(image[0])}
    assert os.listdir(archive.parent) == ["image.tar"]  # written through a temporary file, renamed

    # a new image under the name: the archive is written again
    context(tmp_path / "ctx", text="two")
    rebuilt = converge("docker_image", build=build, **args)["image"]["id"]
    assert rebuilt != result["image"]["id"]
    entries = manifest(str(archive))
    assert "sha256:" + os.path.basename(entries[0]["Config"]).replace(".json", "") == image_id(image[0])
    assert os.listdir(archive.parent) == ["image.tar"]
    # what dockerd reads back is the image
    sh("docker", "rmi", image[0])
    sh("docker", "load", "-i", str(archive))
    assert image_id(image[0]) == rebuilt


def test_archive_path_in_a_missing_directory_names_the_option(httpd_image, tmp_path):
    assert_failed_cleanly("docker_image", "archive_path: the directory %s does not exist" % (tmp_path / "no"),
                          name=httpd_image, archive_path=str(tmp_path / "no" / "x.tar"))


# ------------------------------------------------------------ platform
def server_platform():
    return sh("docker", "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}").stdout.strip()


def test_bad_platform_names_the_option(httpd_image):
    assert_failed_cleanly("docker_image", "platform: 'linux//amd64' is not a platform: use os[/arch[/variant]]",
                          name=httpd_image, platform="linux//amd64")


def test_pull_for_another_platform_reaches_the_registry(httpd_image, unique):
    ref = "%s/vct/%s:1" % (UNREACHABLE, unique)
    other = "linux/arm64" if server_platform() != "linux/arm64" else "linux/amd64"
    try:
        sh("docker", "tag", httpd_image, ref)
        before = image_id(ref)
        same = run_module("docker_image", name=ref, platform=server_platform())
        assert same["changed"] is False and same["actions"] == [], same
        predicted = run_module("docker_image", check=True, name=ref, platform=other)
        assert predicted["changed"] is True and predicted["actions"] == ["pull image %s for %s" % (ref, other)]
        result = assert_failed_cleanly("docker_image", "pull image %s for %s failed" % (ref, other),
                                       name=ref, platform=other)
        assert "connection refused" in result["msg"]
        assert_failed_cleanly("docker_image", "pull: image %s is not present for platform %s and pull=never"
                              % (ref, other), name=ref, platform=other, pull="never")
        assert image_id(ref) == before
    finally:
        sh("docker", "rmi", ref, check=False)


def test_build_for_a_platform(image, tmp_path):
    build = {"path": context(tmp_path / "ctx")}
    converge("docker_image", name=image[0], build=build, platform=server_platform())
    info = docker_inspect("image", image[0])
    assert "%s/%s" % (info["Os"], info["Architecture"]) == server_platform()
    # dockerd itself reads the option: it refuses an OS it cannot run
    result = assert_failed_cleanly("docker_image", "build image %s from" % image[0],
                                   name=image[0], build=build, platform="windows/amd64")
    assert "operating system is not supported" in result["msg"]
    assert image_id(image[0]) == info["Id"]


# ------------------------------------------------------------ repository
def test_repository_tags_the_image_with_the_tag_of_name(httpd_image, image, unique):
    copy = "local/%s-copy" % unique
    tag = httpd_image.rsplit(":", 1)[1]
    image.append("%s:%s" % (copy, tag))
    result = converge("docker_image", name=httpd_image, repository=copy)
    assert result["actions"] == ["tag image %s as %s:%s" % (httpd_image, copy, tag)]
    assert image_id("%s:%s" % (copy, tag)) == image_id(httpd_image)
    image.append("%s:own" % copy)
    converge("docker_image", name=httpd_image, repository=copy + ":own")
    assert image_id(copy + ":own") == image_id(httpd_image)


@pytest.mark.parametrize("repository", ["Local/Upper", "local/app@sha256:" + "a" * 64, ""])
def test_bad_repository_names_the_option(httpd_image, repository):
    assert_failed_cleanly("docker_image", "repository: ", name=httpd_image, repository=repository)
