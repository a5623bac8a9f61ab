"""Helpers shared by the Docker integration tests (imported, so fixtures stay explicit)."""

from __future__ import annotations

import json
import os
import shutil
import uuid

import pytest

from conftest import ROOT, converge, run_module, sh  # noqa: E402

BUSYBOX = "/bin/busybox"


def docker_inspect(kind, name):
    proc = sh("docker", kind, "inspect", name, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def assert_failed_cleanly(module, fragment, **args):
    result = run_module(module, **args)
    assert result.get("failed") is True, result
    assert fragment in result["msg"], result["msg"]
    assert "Traceback" not in result["msg"]
    return result


@pytest.fixture(scope="module")
def httpd_image(docker_daemon, tmp_path_factory):
    """An httpd-capable image built offline from the demo's context (static busybox)."""
    ctx = tmp_path_factory.mktemp("httpd-ctx")
    for name in ("Dockerfile", "index.html"):
        shutil.copy(os.path.join(ROOT, "playbooks", "files", "httpd", name), ctx / name)
    shutil.copy(BUSYBOX, ctx / "busybox")
    name = "local/vct-httpd:%s" % uuid.uuid4().hex[:8]  # unique: concurrent runs must not collide
    result = run_module("docker_image", name=name, build={"path": str(ctx)})
    assert "failed" not in result, result
    yield name
    sh("docker", "rmi", "-f", name, check=False)


@pytest.fixture
def container(docker_daemon, unique):
    yield unique
    sh("docker", "rm", "-f", unique, check=False)
    sh("docker", "rm", "-f", unique + "__virtcloud_new", check=False)


def assert_check_mode_changes_nothing(module, kind, ident, /, **args):
    """A check-mode run predicts a change and leaves the object as it was (here: still absent or
    identical in `docker inspect`)."""
    before = _settled(docker_inspect(kind, ident))
    predicted = run_module(module, check=True, **args)
    assert predicted.get("changed") is True and not predicted.get("failed"), predicted
    after = _settled(docker_inspect(kind, ident))
    assert after == before, [k for k in set(before or {}) | set(after or {})
                             if (before or {}).get(k) != (after or {}).get(k)]
    return predicted


def assert_settles(spec, module="docker_container", kind="container"):
    """The idempotence contract on one spec: check mode predicts a change and touches nothing,
    the real run applies it, and a rerun and a check-mode rerun report no change. Returns the
    result of the real run."""
    assert_check_mode_changes_nothing(module, kind, spec["name"], **spec)
    applied = converge(module, **spec)
    assert run_module(module, **spec)["changed"] is False
    assert run_module(module, check=True, **spec)["changed"] is False
    return applied


def _settled(info):
    """An inspection without what moves by itself: the health-check log and the exec sessions
    each health check opens, and the order of the runtime mount list (docker builds it from a map)."""
    if info and "Health" in (info.get("State") or {}):
        info["State"].pop("Health")
    if info:
        info.pop("ExecIDs", None)
    if info and info.get("Mounts"):
        info["Mounts"].sort(key=lambda m: m.get("Destination") or "")
    return info
