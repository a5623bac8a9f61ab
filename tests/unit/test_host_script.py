"""scripts/host.sh refuses clearly where it cannot work, before touching anything."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import ROOT, sh  # noqa: E402

HOST_SH = os.path.join(ROOT, "scripts", "host.sh")


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) missing")
@pytest.mark.parametrize("command", ["all", "packages", "up"])
def test_non_root_gets_a_clear_message(command):
    # The script comes on stdin, opened by root: a checkout in a private directory (mode 0700, like
    # /root or any mktemp -d) is not readable by the unprivileged user, and the check must not care.
    with open(HOST_SH) as script:
        proc = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                               "bash", "-s", "--", command], stdin=script, capture_output=True,
                              text=True, timeout=60, check=False, cwd="/")
    assert proc.returncode == 1
    assert "must run as root" in proc.stderr and "sudo make" in proc.stderr


def test_unknown_command_prints_usage():
    proc = sh("bash", HOST_SH, "frobnicate", check=False)
    assert proc.returncode == 1 and "usage:" in proc.stderr


def test_status_names_every_daemon():
    proc = sh("bash", HOST_SH, "status", check=False)
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == ["docker", "libvirt", "lxd", "ovs"]


def test_down_stops_exactly_the_recorded_pids(tmp_path):
    """`make stop` semantics: a process named in a pidfile is stopped, an identical one that is
    not recorded keeps running, and the pidfile is gone afterwards."""
    import subprocess
    import time

    ours = subprocess.Popen(["sleep", "300"])
    theirs = subprocess.Popen(["sleep", "300"])
    try:
        (tmp_path / "dockerd.pid").write_text(str(ours.pid))
        env = dict(os.environ, VIRTCLOUD_STATE=str(tmp_path))
        proc = subprocess.run(["bash", HOST_SH, "down"], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        assert ours.wait(timeout=10) is not None
        time.sleep(0.2)
        assert theirs.poll() is None
        assert not (tmp_path / "dockerd.pid").exists()
    finally:
        for p in (ours, theirs):
            if p.poll() is None:
                p.kill()
                p.wait()
