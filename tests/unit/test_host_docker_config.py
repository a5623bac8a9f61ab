"""scripts/host.sh and the container_host role agree on dockerd's address pools: host.sh writes the very
daemon.json the role writes by default (so the role converges a host.sh machine without a change, and
without a restart), keeps a daemon.json the machine already has, and passes a --bip or
--default-address-pool flag only for a key that file does not carry (dockerd refuses to start when a flag
repeats a key of its config file). Run with stubs (tests/unit/test_host_fresh_machine.py's): no daemon
is started, no file outside tmp_path is written."""

from __future__ import annotations

import os
import subprocess

import yaml
from ansible.plugins.filter.core import to_nice_json

from conftest import ROOT
from test_host_fresh_machine import log, run, stub  # noqa: F401 pylint: disable=unused-import

HOST_SH = os.path.join(ROOT, "scripts", "host.sh")
DEFAULTS = os.path.join(ROOT, "roles", "container_host", "defaults", "main.yml")


def role_daemon_json():
    """What the role writes with its defaults (tasks/main.yml: the config | to_nice_json, a newline)."""
    defaults = yaml.safe_load(open(DEFAULTS))
    config = dict(defaults["container_host_docker_options"], bip=defaults["container_host_docker_bip"])
    config["default-address-pools"] = defaults["container_host_docker_address_pools"]
    return to_nice_json(config) + "\n"


def up_docker(stub, daemon_json):  # noqa: F811
    """host.sh's up_docker alone (sourced), without systemd, with a dockerd that answers once started."""
    script = 'source "$1"; mkdir -p "$STATE" "$LOGS"; up_docker'
    env = dict(os.environ, STUB=str(stub), VIRTCLOUD_STATE=str(stub / "state"),
               VIRTCLOUD_DOCKER_DAEMON_JSON=str(daemon_json), PATH=str(stub / "bin") + os.pathsep + os.environ["PATH"])
    (stub / "bin" / "setsid").write_text('#!/bin/bash\necho "setsid $*" >>"$STUB/log"; touch "$STUB/started-docker"\n')
    return subprocess.run(["bash", "-c", script, "host.sh", HOST_SH], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_host_sh_writes_the_role_s_daemon_json(stub):  # noqa: F811
    (stub / "pid1").write_text("systemd\n")
    proc = run(stub, "up")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (stub / "docker" / "daemon.json").read_text() == role_daemon_json()


def test_without_systemd_the_pools_come_from_the_file_not_from_flags(stub, tmp_path):  # noqa: F811
    daemon_json = tmp_path / "etc" / "daemon.json"
    proc = up_docker(stub, daemon_json)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert daemon_json.read_text() == role_daemon_json()
    [call] = [line for line in log(stub) if line.startswith("setsid")]
    assert "--config-file %s" % daemon_json in call
    assert "--bip" not in call and "--default-address-pool" not in call


def test_a_machine_s_own_daemon_json_is_kept_and_completed_by_flags(stub, tmp_path):  # noqa: F811
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text('{"log-level": "warn"}\n')
    proc = up_docker(stub, daemon_json)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert daemon_json.read_text() == '{"log-level": "warn"}\n'
    [call] = [line for line in log(stub) if line.startswith("setsid")]
    assert "--bip 198.18.0.1/24" in call and "--default-address-pool base=198.18.64.0/18,size=24" in call


def test_a_running_dockerd_is_left_alone(stub, tmp_path):  # noqa: F811
    (stub / "started-docker").touch()
    daemon_json = tmp_path / "daemon.json"
    proc = up_docker(stub, daemon_json)
    assert proc.returncode == 0 and "docker: running" in proc.stdout
    assert not daemon_json.exists() and not [line for line in log(stub) if line.startswith("setsid")]
