"""lxc_container against the real LXC tools and liblxc, verified through lxc-info, lxc-ls, lxc-cgroup,
the container's config file and root file system on disk, and the host's bridge (ip -j)."""

from __future__ import annotations

import json
import os

import pytest

from conftest import converge, run_module, sh

LXCPATH = "/var/lib/lxc"


@pytest.fixture
def bridge(unique):
    """A host bridge with a 198.19.160.1/24 address, for the containers' veth ends."""
    name = "vctbr" + unique[3:9]
    sh("ip", "link", "add", name, "type", "bridge")
    sh("ip", "addr", "add", "198.19.160.1/24", "dev", name)
    sh("ip", "link", "set", name, "up")
    yield name
    sh("ip", "link", "del", name, check=False)


@pytest.fixture
def names(unique):
    """Container names for one test; every one of them is destroyed afterwards (with its snapshots),
    the last made first (a copy-on-write clone before its source), also when the test fails."""
    made = []

    def new(suffix):
        made.append("%s-%s" % (unique, suffix))
        return made[-1]
    yield new
    for name in reversed(made):
        sh("lxc-destroy", "-f", "-s", "-n", name, check=False)
    left = [name for name in made if os.path.exists(os.path.join(LXCPATH, name))]
    assert not left, "containers left behind: %s" % left


def state(name):
    proc = sh("lxc-info", "-n", name, "-s", "-H", check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def listed():
    return set(sh("lxc-ls", "-1").stdout.split())


def config_file(name):
    """The container's config file on disk: key -> list of values (LXC's key = value format)."""
    out = {}
    with open(os.path.join(LXCPATH, name, "config")) as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = (part.strip() for part in line.split("=", 1))
                out.setdefault(key, []).append(value)
    return out


def on_bridge(bridge):
    return [link["ifname"] for link in json.loads(sh("ip", "-j", "link", "show", "master", bridge).stdout or "[]")]


def step(**args):
    """converge (check mode predicts, apply, rerun and check-mode rerun change nothing), and the
    prediction of check mode is what the real run left."""
    result = converge("lxc_container", **args)
    assert result["predicted"]["container"] == result["container"], (result["predicted"]["container"], result["container"])
    assert result["diff"]["after"] == result["container"]
    return result


def test_lifecycle_create_limit_freeze_clone_snapshot_restore_remove(bridge, names):
    base, clone, copy = names("base"), names("clone"), names("copy")
    network = {"type": "veth", "link": bridge, "ipv4": "198.19.160.10/24", "gateway": "198.19.160.1"}
    mount = "tmpfs srv/scratch tmpfs defaults,create=dir 0 0"
    created = step(name=base, template="busybox", network=network, state="stopped", config={"lxc.start.auto": True})
    assert created["actions"] == ["create container %s from template busybox" % base,
                                  "configure container %s" % base]
    assert base in listed() and state(base) == "STOPPED"
    template_mounts = config_file(base)["lxc.mount.entry"]
    appended = step(name=base, config={"lxc.mount.entry": [mount]}, config_append=True, state="stopped")
    assert appended["actions"] == ["configure container %s: lxc.mount.entry" % base]
    on_disk = config_file(base)
    assert on_disk["lxc.start.auto"] == ["1"]
    assert on_disk["lxc.mount.entry"] == template_mounts + [mount]  # the template's entries stay
    assert on_disk["lxc.net.0.type"] == ["veth"] and on_disk["lxc.net.0.link"] == [bridge]
    assert on_disk["lxc.net.0.ipv4.address"] == ["198.19.160.10/24"]
    assert on_disk["lxc.net.0.ipv4.gateway"] == ["198.19.160.1"]

    started = step(name=base, state="started")
    assert started["actions"] == ["start container %s" % base] and state(base) == "RUNNING"
    assert len(on_bridge(bridge)) == 1  # its veth end is on our bridge

    # limits on the running container: written to the config and applied at once (cgroup v1 here)
    limits = {"lxc.cgroup.memory.limit_in_bytes": "96M", "lxc.cgroup.cpu.shares": 256}
    limited = step(name=base, config=limits)
    assert "restart_required" not in limited
    assert sh("lxc-cgroup", "-n", base, "memory.limit_in_bytes").stdout.strip() == str(96 * 1024 * 1024)
    assert sh("lxc-cgroup", "-n", base, "cpu.shares").stdout.strip() == "256"
    assert config_file(base)["lxc.cgroup.memory.limit_in_bytes"] == ["96M"]
    # a key that takes effect at the next start only: saved, and the run says so
    later = step(name=base, config={"lxc.tty.max": 2})
    assert later["restart_required"] is True and "lxc.tty.max" in json.dumps(later["warnings"])
    assert config_file(base)["lxc.tty.max"] == ["2"] and state(base) == "RUNNING"

    assert step(name=base, state="frozen")["actions"] == ["freeze container %s" % base]
    assert state(base) == "FROZEN"
    assert step(name=base, state="started")["actions"] == ["thaw container %s" % base]
    assert state(base) == "RUNNING"
    # busybox's init waits for udhcpc on a veth network and ignores the halt signal meanwhile: after
    # `timeout` seconds of clean shutdown LXC kills the container
    step(name=base, state="stopped", timeout=2)
    assert state(base) == "STOPPED"

    # the stopped container is the template of a copy-on-write clone, which starts on its own address
    cloned = step(name=clone, source=base, network=dict(network, ipv4="198.19.160.11/24"), state="started")
    assert cloned["actions"][0] == "clone container %s from %s (copy-on-write copy)" % (clone, base)
    rootfs = config_file(clone)["lxc.rootfs.path"][0]
    assert rootfs.startswith("overlay:%s/%s/rootfs:" % (LXCPATH, base)), rootfs
    assert config_file(clone)["lxc.net.0.ipv4.address"] == ["198.19.160.11/24"]
    assert state(clone) == "RUNNING" and state(base) == "STOPPED"

    snapped = step(name=clone, snapshot="before", state="stopped", timeout=2)
    assert snapped["actions"] == ["stop container %s" % clone, "snapshot container %s as before" % clone]
    assert snapped["container"]["snapshots"] == ["before"]
    with open(os.path.join(LXCPATH, clone, "snaps", "snap0", "comment")) as handle:
        assert handle.read().strip() == "before"

    # a change after the snapshot (a file and a key) is undone by the restore
    delta = os.path.join(LXCPATH, clone, "overlay", "delta")
    with open(os.path.join(delta, "after-snapshot"), "w") as handle:
        handle.write("x")
    step(name=clone, config={"lxc.start.auto": False}, state="stopped")
    assert config_file(clone)["lxc.start.auto"] == ["0"]
    restored = step(name=clone, restore_snapshot="before", config={"lxc.start.auto": True}, state="started")
    assert restored["actions"] == ["restore container %s from snapshot before" % clone, "start container %s" % clone]
    assert restored["container"]["restored_from"] == "before"
    assert not os.path.exists(os.path.join(delta, "after-snapshot"))
    assert config_file(clone)["lxc.start.auto"] == ["1"] and state(clone) == "RUNNING"

    # copy_on_write false: a full copy in a directory of its own, independent of the template
    copied = step(name=copy, source=base, copy_on_write=False, network="none", state="present")
    assert copied["actions"][0] == "clone container %s from %s (copy)" % (copy, base)
    assert config_file(copy)["lxc.rootfs.path"] == ["dir:%s/%s/rootfs" % (LXCPATH, copy)]
    assert os.path.exists(os.path.join(LXCPATH, copy, "rootfs", "bin", "busybox"))
    step(name=copy, state="absent")

    # LXC refuses to destroy the source of a copy-on-write clone: the clone goes first
    step(name=clone, state="absent")
    step(name=base, state="absent")
    assert not {base, clone} & listed()
    assert not os.path.exists(os.path.join(LXCPATH, base)) and not os.path.exists(os.path.join(LXCPATH, clone))
    assert on_bridge(bridge) == []


@pytest.mark.parametrize("case, option, args", [
    ("unknown template", "template", {"template": "vct-no-such-template"}),
    ("unknown config key", "config", {"template": "busybox", "config": {"lxc.no.such.key": "1"}}),
    ("value LXC refuses", "config", {"template": "busybox", "config": {"lxc.start.auto": "sometimes"}}),
    ("config key of the network option", "config",
     {"template": "busybox", "network": "none", "config": {"lxc.net.0.type": "empty"}}),
    ("bridge that does not exist", "network.link",
     {"template": "busybox", "network": {"link": "vctnobridge0"}, "state": "started"}),
    ("network address without prefix", "network.ipv4",
     {"template": "busybox", "network": {"link": "br0", "ipv4": "198.19.160.12"}}),
    ("clone of a container that does not exist", "source", {"source": "vct-no-such-container"}),
    ("nothing to create it from", "template", {}),
    ("restore of a new container", "restore_snapshot", {"template": "busybox", "restore_snapshot": "x"}),
])
def test_bad_input_fails_naming_the_option_and_creates_nothing(names, case, option, args):
    name = names("bad")
    for check in (True, False):
        result = run_module("lxc_container", check=check, name=name, **args)
        assert result.get("failed") is True and result.get("changed") is False, (case, result)
        assert result["msg"].startswith(option + ":"), (case, result["msg"])
        assert not os.path.exists(os.path.join(LXCPATH, name)) and name not in listed()


@pytest.mark.parametrize("name", ["bad/name", "a b", "-dash", "", "x" * 65])
def test_a_name_lxc_refuses_is_refused_before_anything(name):
    before = set(os.listdir(LXCPATH))
    result = run_module("lxc_container", name=name, template="busybox")
    assert result.get("failed") is True and result["msg"].startswith("name:"), result
    assert set(os.listdir(LXCPATH)) == before


def test_failure_after_create_destroys_the_new_container(names):
    """The start fails (a memory limit the kernel refuses): the container made by this run is destroyed."""
    name = names("rollback")
    result = run_module("lxc_container", name=name, template="busybox", network="none",
                        config={"lxc.cgroup.memory.limit_in_bytes": "not-a-size"}, state="started")
    assert result.get("failed") is True, result
    assert result["msg"].startswith("start container %s failed" % name), result["msg"]
    assert "rolled back: destroyed container %s" % name in result["msg"]
    assert result["changed"] is False and result["actions"][0] == "create container %s from template busybox" % name
    assert name not in listed() and not os.path.exists(os.path.join(LXCPATH, name))


def test_snapshot_of_a_running_container_says_how(names):
    name = names("running")
    step(name=name, template="busybox", network="none", state="started")
    result = run_module("lxc_container", name=name, snapshot="s1")
    assert result.get("failed") is True and result["msg"].startswith("snapshot: container %s is running" % name)
    snaps = os.path.join(LXCPATH, name, "snaps")
    assert not os.path.isdir(snaps) or os.listdir(snaps) == []
    assert state(name) == "RUNNING"
    # restarted: a new init every run
    pid = sh("lxc-info", "-n", name, "-p", "-H").stdout.strip()
    restarted = run_module("lxc_container", name=name, state="restarted")
    assert restarted["changed"] is True and restarted["actions"] == ["stop container %s (restart)" % name,
                                                                     "start container %s" % name], restarted
    assert state(name) == "RUNNING" and sh("lxc-info", "-n", name, "-p", "-H").stdout.strip() != pid
    # the same snapshot with state stopped is taken, once
    assert step(name=name, snapshot="s1", state="stopped")["container"]["snapshots"] == ["s1"]
    assert step(name=name, network={"type": "none"}, state="absent")["actions"] == ["destroy container %s" % name]


def test_a_new_container_without_network_is_predicted_from_lxc_defaults(names):
    """Without `network`, a new container has what lxc.default_config gives, and check mode says so."""
    name = names("default")
    made = step(name=name, template="busybox", state="present")
    default = sh("lxc-config", "lxc.default_config").stdout.strip()
    with open(default) as handle:
        net_type = [line.split("=", 1)[1].strip() for line in handle if line.split("=", 1)[0].strip() == "lxc.net.0.type"]
    assert (made["container"]["network"] or {}).get("type") == (net_type[0] if net_type else None)
    assert config_file(name).get("lxc.net.0.type", [None]) == (net_type or [None])
    # a second network through config; network none then leaves only the loopback
    step(name=name, config={"lxc.net.1.type": "veth", "lxc.net.1.link": "vctnobridge1"}, state="present")
    assert config_file(name)["lxc.net.1.link"] == ["vctnobridge1"]
    assert step(name=name, network="none", state="present")["container"]["network"] == {"type": "none"}
    assert [key for key in config_file(name) if key.startswith("lxc.net.")] == ["lxc.net.0.type"]
    assert config_file(name)["lxc.net.0.type"] == ["empty"]
    step(name=name, state="absent")
