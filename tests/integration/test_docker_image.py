"""docker_image: tags, push, registry errors against the real dockerd (no registry is reachable)."""

from __future__ import annotations

from conftest import converge, sh  # noqa: E402
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
