"""lxd_instance and lxd_instances against the real LXD, verified through the `lxc` CLI (JSON output),
the instance's cgroup and its file system: each step is check -> apply -> rerun (changed=false) ->
check-mode rerun, and check mode's prediction equals what is read back, key by key."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from conftest import converge, result, run_module, start_module
from lib.lxd import lxc, lxc_json, wait_gone


def show(name):
    """The instance as `lxc list NAME` shows it (None when it does not exist)."""
    found = [i for i in lxc_json("list", "^%s$" % name) if i["name"] == name]
    return found[0] if found else None


def config_show(name):
    return yaml.safe_load(lxc("config", "show", name).stdout)


def memory_limit(name):
    """The memory limit of the running instance's cgroup, read on the host (cgroup v1 or v2)."""
    pid = show(name)["state"]["pid"]
    with open("/proc/%d/cgroup" % pid) as handle:
        lines = [line.strip().split(":", 2) for line in handle]
    v1 = [fields[2] for fields in lines if "memory" in fields[1].split(",")]
    if v1:
        with open("/sys/fs/cgroup/memory%s/memory.limit_in_bytes" % v1[0]) as handle:
            return int(handle.read())
    with open("/sys/fs/cgroup%s/memory.max" % lines[0][2]) as handle:
        return int(handle.read())


def converged(module, **args):
    """converge(), and the prediction of check mode equal to what the real run read back."""
    out = converge(module, **args)
    predicted, applied = out["predicted"]["diff"], out["diff"]
    if isinstance(applied, list):  # a batch: one before/after per changed item
        assert [d["after"] for d in predicted] == [d["after"] for d in applied]
    else:
        for key in set(predicted["after"]) | set(applied["after"]):
            assert predicted["after"].get(key) == applied["after"].get(key), key
    return out


@pytest.fixture
def instance(lxd_busybox, unique):
    yield unique
    lxc("delete", "--force", unique, check=False)


@pytest.fixture
def profiles(lxd_daemon, unique):
    names = [unique + "-p1", unique + "-p2"]
    for name in names:
        lxc("profile", "create", name)
        lxc("profile", "set", name, "user.from", name)
    yield names
    for name in names:  # the instances still using a profile go first (LXD refuses to delete it)
        shown = yaml.safe_load(lxc("profile", "show", name, check=False).stdout or "{}") or {}
        for user in shown.get("used_by") or []:
            lxc("delete", "--force", user.split("?")[0].rsplit("/", 1)[-1], check=False)
        lxc("profile", "delete", name, check=False)


def test_instance_lifecycle(lxd_busybox, instance, tmp_path):
    name = instance
    spec = {"name": name, "image": lxd_busybox["alias"], "state": "started",
            "config": {"limits.memory": "64MiB", "user.role": "web", "security.nesting": True, "user.count": 3},
            "devices": {"marker": {"type": "none"}}}
    out = converged("lxd_instance", **spec)
    assert out["actions"] == ["create instance %s from image %s" % (name, lxd_busybox["alias"]),
                              "start instance %s" % name]
    seen = show(name)
    assert seen["status"] == "Running"
    assert {k: seen["config"].get(k) for k in spec["config"]} == {
        "limits.memory": "64MiB", "user.role": "web", "security.nesting": "true", "user.count": "3"}
    assert seen["devices"] == {"marker": {"type": "none"}} and seen["profiles"] == ["default"]
    assert memory_limit(name) == 64 << 20
    mac, pid = seen["config"]["volatile.eth0.hwaddr"], seen["state"]["pid"]

    # live: a new limit, a key removed, a disk device added; the other device and key are kept
    share = tmp_path / "share"
    share.mkdir()
    (share / "seen").write_text("from the host\n")
    live = {"name": name, "config": {"limits.memory": "96MiB", "user.count": None},
            "devices": {"share": {"type": "disk", "source": str(share), "path": "/mnt/share"}}}
    out = converged("lxd_instance", **live)
    assert out["actions"] == ["update instance %s (config.limits.memory, config.user.count, devices.share)" % name]
    assert "restart_required" not in out
    shown = config_show(name)
    assert shown["config"]["limits.memory"] == "96MiB" and "user.count" not in shown["config"]
    assert shown["config"]["user.role"] == "web" and set(shown["devices"]) == {"marker", "share"}
    assert shown["config"]["volatile.eth0.hwaddr"] == mac  # generated values kept
    assert memory_limit(name) == 96 << 20 and show(name)["state"]["pid"] == pid  # applied live
    assert lxc("exec", name, "--", "cat", "/mnt/share/seen").stdout == "from the host\n"

    # devices_exclusive: the devices named, and no other of the instance's own
    out = converged("lxd_instance", name=name, devices={"share": live["devices"]["share"]}, devices_exclusive=True)
    assert set(config_show(name)["devices"]) == {"share"}

    # a key LXD applies on restart: stored, reported, applied by state=restarted
    out = converged("lxd_instance", name=name, config={"security.privileged": True})
    assert out["restart_required"] is True and "security.privileged" in json.dumps(out["warnings"])
    assert lxc("exec", name, "--", "cat", "/proc/self/uid_map").stdout.split()[1] != "0"  # not applied yet
    predicted = run_module("lxd_instance", check=True, name=name, state="restarted")
    restarted = run_module("lxd_instance", name=name, state="restarted")
    assert predicted["actions"] == restarted["actions"] == ["restart instance %s" % name] and restarted["changed"]
    assert show(name)["state"]["pid"] != pid
    assert lxc("exec", name, "--", "cat", "/proc/self/uid_map").stdout.split()[1] == "0"  # privileged now

    # run states, each verified through lxc
    for state, status in (("frozen", "Frozen"), ("stopped", "Stopped"), ("frozen", "Frozen"),
                          ("started", "Running"), ("stopped", "Stopped"), ("present", "Stopped")):
        if state == "present":  # an existing instance: present leaves its run state alone
            assert run_module("lxd_instance", name=name, state=state)["changed"] is False
        else:
            assert converged("lxd_instance", name=name, state=state)["instance"]["state"] == state
        assert show(name)["status"] == status, state
    assert show(name)["config"]["volatile.eth0.hwaddr"] == mac

    out = converged("lxd_instance", name=name, state="absent")
    assert out["instance"] == {} and show(name) is None


def test_profiles_are_an_ordered_list(lxd_busybox, instance, profiles):
    spec = {"name": instance, "image": lxd_busybox["fingerprint"][:12], "state": "present",
            "profiles": ["default"] + profiles, "description": "ordered"}
    converged("lxd_instance", **spec)
    seen = show(instance)
    assert seen["profiles"] == ["default"] + profiles and seen["status"] == "Stopped"
    assert seen["expanded_config"]["user.from"] == profiles[1]  # the last profile wins
    out = converged("lxd_instance", name=instance, profiles=["default"] + profiles[::-1], state="present")
    assert out["actions"] == ["update instance %s (profiles)" % instance]
    seen = show(instance)
    assert seen["profiles"] == ["default"] + profiles[::-1] and seen["expanded_config"]["user.from"] == profiles[0]
    assert seen["description"] == "ordered"


def test_ephemeral_instance(lxd_busybox, instance):
    spec = {"name": instance, "image": lxd_busybox["alias"], "ephemeral": True}
    converged("lxd_instance", **spec)
    assert show(instance)["ephemeral"] is True and show(instance)["status"] == "Running"
    refused = run_module("lxd_instance", name=instance, state="stopped")
    assert refused.get("failed") and refused["msg"].startswith("state: ") and "ephemeral" in refused["msg"]
    assert show(instance)["status"] == "Running"
    converged("lxd_instance", name=instance, state="absent")
    assert wait_gone("config", instance)


def assert_refused(module, option, args, names):
    """Refused naming `option`, in check mode and for real, with nothing created."""
    for check in (True, False):
        out = run_module(module, check=check, **args)
        assert out.get("failed") is True and out.get("changed") is False, out
        assert option in out["msg"] and "Traceback" not in out["msg"], out["msg"]
        for name in names:
            assert show(name) is None, "%s was left behind: %s" % (name, out["msg"])
    return out


@pytest.mark.parametrize("case, option, extra", [
    ("unknown image", "image", {"image": "vct-no-such-image"}),
    ("unknown profile", "profiles", {"profiles": ["default", "vct-no-such-profile"]}),
    ("unknown key", "config.limits.memroy", {"config": {"limits.memroy": "64MiB"}}),
    ("bad value", "config.limits.memory", {"config": {"limits.memory": "lots"}}),
    ("bad bool", "config.security.nesting", {"config": {"security.nesting": "maybe"}}),
    ("generated key", "config.volatile.eth0.hwaddr", {"config": {"volatile.eth0.hwaddr": "00:16:3e:00:00:01"}}),
    ("vm key on a container", "config.security.secureboot", {"config": {"security.secureboot": False}}),
    ("device without type", "devices.data", {"devices": {"data": {"path": "/data"}}}),
    ("virtual machine on a host without qemu", "type", {"type": "virtual-machine"}),
])
def test_bad_input_is_refused_before_anything_is_made(lxd_busybox, instance, case, option, extra):
    args = {"name": instance, "image": lxd_busybox["alias"], **extra}
    if case.startswith("virtual machine") and "qemu" in lxc("info").stdout.split("driver:")[1].split("\n")[0]:
        pytest.skip("this LXD host runs virtual machines")
    out = assert_refused("lxd_instance", option, args, [instance])
    assert out["msg"].startswith(option), out["msg"]
    # the batch form: a later bad item refuses the whole list before the first one is made
    batch = {"instances": [{"name": instance + "-ok", "image": lxd_busybox["alias"]}, args]}
    out = assert_refused("lxd_instances", "instances[1].%s" % option, batch, [instance, instance + "-ok"])


@pytest.mark.parametrize("name", ["2web", "-web", "web-", "web_1", "web.lab", "w" * 64, "gäst"])
def test_names_lxd_refuses_are_refused_first(lxd_busybox, name):
    out = run_module("lxd_instance", name=name, image=lxd_busybox["alias"])
    assert out.get("failed") and out["msg"].startswith("name: ") and not out.get("changed"), out
    assert not [i for i in lxc_json("list") if i["name"] == name]


def test_what_lxd_refuses_only_when_written_is_rolled_back(lxd_busybox, instance):
    """A raw.lxc line LXD refuses at creation, a memory limit the kernel refuses at start: the
    error names the option and no instance stays."""
    out = run_module("lxd_instance", name=instance, image=lxd_busybox["alias"], config={"raw.lxc": "bogus line"})
    assert out.get("failed") and "config: " in out["msg"] and show(instance) is None, out
    out = run_module("lxd_instance", name=instance, image=lxd_busybox["alias"], config={"limits.memory": "100"})
    assert out.get("failed") and "rolled back: removed instance %s again" % instance in out["msg"], out
    assert out["changed"] is False and show(instance) is None
    # an existing instance gets its previous config back when an update is refused
    converged("lxd_instance", name=instance, image=lxd_busybox["alias"], config={"user.a": "1"})
    out = run_module("lxd_instance", name=instance, config={"user.a": "2", "raw.lxc": "bogus line"})
    assert out.get("failed") and "config: " in out["msg"], out
    assert config_show(instance)["config"]["user.a"] == "1" and "raw.lxc" not in config_show(instance)["config"]


@pytest.fixture
def ten(lxd_busybox, unique):
    names = ["%s-%d" % (unique, i) for i in range(10)]
    yield names
    for name in names:
        lxc("delete", "--force", name, check=False)


def test_batch_of_ten(lxd_busybox, ten, monkeypatch):
    items = [{"name": name, "image": lxd_busybox["alias"], "config": {"user.index": i, "limits.memory": "64MiB"},
              "state": "started"} for i, name in enumerate(ten)]
    out = converged("lxd_instances", instances=items)
    assert len(out["actions"]) == 20 and all(r["changed"] for r in out["results"])
    listed = {i["name"]: i for i in lxc_json("list") if i["name"] in ten}
    assert sorted(listed) == sorted(ten)
    assert all(listed[n]["status"] == "Running" and listed[n]["config"]["user.index"] == str(i)
               for i, n in enumerate(ten))

    # the rerun reads every instance with a constant number of API calls, whatever their number
    assert rerun_requests(monkeypatch, items[:1]) == rerun_requests(monkeypatch, items) == 2  # GET /1.0, the listing

    changed = [dict(item, state="stopped") if i % 2 else item for i, item in enumerate(items)]
    out = converged("lxd_instances", instances=changed)
    assert out["actions"] == ["stop instance %s" % n for n in ten[1::2]]
    assert [i["status"] for i in lxc_json("list") if i["name"] in ten].count("Stopped") == 5

    out = converged("lxd_instances", instances=[{"name": n, "state": "absent"} for n in ten])
    assert not [i for i in lxc_json("list") if i["name"] in ten]


def rerun_requests(monkeypatch, items):
    """The API round trips of a batch run that changes nothing, counted in process (a test-only way)."""
    from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import Batch, execute_many
    from ansible_collections.virtcloud.core.plugins.module_utils.lxd import client
    from ansible_collections.virtcloud.core.plugins.module_utils.lxd.instance import InstanceService

    calls = []
    request = client.Lxd.request

    def counted(self, method, path, *args, **kwargs):
        calls.append((method, path))
        return request(self, method, path, *args, **kwargs)

    monkeypatch.setattr(client.Lxd, "request", counted)
    defaults = {name: opt.default for name, opt in {**InstanceService.connection, **InstanceService.options}.items()}
    out = execute_many(Batch(InstanceService, "instances"), [{**defaults, **item} for item in items])
    monkeypatch.undo()
    assert out["changed"] is False, out
    assert [c for c in calls if c[0] != "GET"] == []
    return len(calls)


def test_check_mode_changes_nothing(lxd_busybox, instance):
    out = run_module("lxd_instance", check=True, name=instance, image=lxd_busybox["alias"])
    assert out["changed"] is True and show(instance) is None
    assert not os.path.exists("/var/lib/lxd/containers/" + instance)


def test_side_by_side_runs_of_one_task_both_converge(lxd_busybox, instance):
    """Two runs create the same instance at once: the one LXD tells 'already exists' plans again from
    the instance the other made (and never removes it), and both end with it running."""
    spec = {"name": instance, "image": lxd_busybox["alias"], "config": {"user.side": "by-side"}}
    procs = [start_module("lxd_instance", **spec) for dummy in range(2)]
    outs = [result(proc) for proc in procs]
    assert not [o for o in outs if o.get("failed")], outs
    assert show(instance)["status"] == "Running" and show(instance)["config"]["user.side"] == "by-side"
    assert run_module("lxd_instance", **spec)["changed"] is False
