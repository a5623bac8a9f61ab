"""The seed workflow, step by step, each step idempotent and verified through the docker CLI:
image present -> web container on a 127.0.0.1 port saying "It works!" -> exec inside -> stopped ->
absent -> image absent."""

from __future__ import annotations

import os
import shutil
import urllib.request

from conftest import ROOT, converge, sh  # noqa: E402
from dockertest import BUSYBOX, assert_check_mode_changes_nothing, docker_inspect  # noqa: E402


def test_seed_workflow(docker_daemon, unique, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    for name in ("Dockerfile", "index.html"):
        shutil.copy(os.path.join(ROOT, "playbooks", "files", "httpd", name), ctx / name)
    shutil.copy(BUSYBOX, ctx / "busybox")
    image = "local/%s-httpd:seed" % unique
    name = unique + "-apache"
    try:
        converge("docker_image", name=image, build={"path": str(ctx)})
        assert docker_inspect("image", image) is not None

        web = dict(name=name, image=image, published_ports=["127.0.0.1:18120:80"], stop_timeout=1)
        assert_check_mode_changes_nothing("docker_container", "container", name, **web)
        converge("docker_container", **web)
        assert docker_inspect("container", name)["State"]["Running"] is True
        assert "It works!" in urllib.request.urlopen("http://127.0.0.1:18120/", timeout=10).read().decode()

        exec_args = dict(container=name, command="sh -c 'cat /www/index.html > /www/copy.html'",
                         creates="/www/copy.html")
        converge("docker_container_exec", **exec_args)
        assert "It works!" in urllib.request.urlopen("http://127.0.0.1:18120/copy.html", timeout=10).read().decode()

        assert_check_mode_changes_nothing("docker_container", "container", name, **dict(web, state="stopped"))
        converge("docker_container", **dict(web, state="stopped"))
        assert docker_inspect("container", name)["State"]["Running"] is False

        converge("docker_container", name=name, state="absent", stop_timeout=1)
        assert docker_inspect("container", name) is None

        converge("docker_image", name=image, state="absent")
        assert docker_inspect("image", image) is None
    finally:
        sh("docker", "rm", "-f", name, check=False)
        sh("docker", "rmi", "-f", image, check=False)
