"""lxd_instance's pure parts: instance names, config keys and values normalised to LXD's strings,
devices, and the plan of an existing instance (what is compared, what needs a restart)."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.lxd import instance_config
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.instance import (
    InstanceService,
    instance_name,
    state_of,
)


@pytest.mark.parametrize("name", ["web", "web-1", "a", "W2", "a" * 63])
def test_names_lxd_takes(name):
    assert instance_name(name, "name") == name


@pytest.mark.parametrize("name", ["", "1web", "-web", "web-", "web_1", "web.lab", "a" * 64, "gäst", "a b", None, 5])
def test_names_lxd_refuses(name):
    with pytest.raises(InputError) as err:
        instance_name(name, "name")
    assert err.value.option == "name"


def test_config_values_become_lxd_strings():
    assert instance_config.config({"limits.memory": "512MiB", "security.nesting": True, "boot.autostart": "Yes",
                                   "limits.processes": 100, "user.flag": False, "user.ratio": 1.5,
                                   "environment.HOME": "/root", "user.gone": None}) == {
        "limits.memory": "512MiB", "security.nesting": "true", "boot.autostart": "true", "limits.processes": "100",
        "user.flag": "false", "user.ratio": "1.5", "environment.HOME": "/root", "user.gone": None}


@pytest.mark.parametrize("key, value, where", [
    ("limits.memroy", "1GiB", "config.limits.memroy"),
    ("limits.memory", "lots", "config.limits.memory"),
    ("limits.memory", "1.5GiB", "config.limits.memory"),  # LXD 5.0 refuses fractions
    ("limits.memory", True, "config.limits.memory"),
    ("limits.processes", "many", "config.limits.processes"),
    ("limits.cpu", "two", "config.limits.cpu"),
    ("security.nesting", "maybe", "config.security.nesting"),
    ("volatile.eth0.hwaddr", "00:16:3e:00:00:01", "config.volatile.eth0.hwaddr"),
    ("image.os", "busybox", "config.image.os"),
    ("user.", "x", "config.user."),
    ("user.list", ["a"], "config.user.list"),
])
def test_bad_config_names_the_key(key, value, where):
    with pytest.raises(InputError) as err:
        instance_config.config({key: value})
    assert err.value.option == where


def test_vm_keys_on_a_container():
    instance_config.for_type({"security.secureboot": "false"}, "virtual-machine")
    with pytest.raises(InputError) as err:
        instance_config.for_type({"security.secureboot": "false"}, "container")
    assert err.value.option == "config.security.secureboot"


def test_restart_keys():
    assert instance_config.applies("limits.memory") == instance_config.LIVE
    assert instance_config.applies("security.privileged") == instance_config.RESTART
    assert instance_config.applies("limits.kernel.nofile") == instance_config.RESTART
    assert instance_config.applies("user.anything") == instance_config.LIVE


def test_devices():
    assert instance_config.devices({"data": {"type": "disk", "readonly": True, "size": 10}, "old": None}) == {
        "data": {"type": "disk", "readonly": "true", "size": "10"}, "old": None}
    for bad, where in (({"x": {"path": "/x"}}, "devices.x"), ({"x": "disk"}, "devices.x"),
                       ({"x": {"type": "disk", "opts": ["a"]}}, "devices.x.opts")):
        with pytest.raises(InputError) as err:
            instance_config.devices(bad)
        assert err.value.option == where


RAW = {"name": "web", "type": "container", "status": "Running", "architecture": "x86_64", "ephemeral": False,
       "description": "", "profiles": ["default"],
       "config": {"limits.memory": "64MiB", "user.a": "1", "image.os": "busybox", "volatile.eth0.hwaddr": "00:16:3e:aa"},
       "devices": {"d1": {"type": "none"}, "d2": {"type": "none"}}}


def service(**params):
    spec = {name: opt.default for name, opt in {**InstanceService.connection, **InstanceService.options}.items()}
    return InstanceService({**spec, "name": "web", **params})


def test_observed_state_leaves_out_what_lxd_generates():
    state = state_of(RAW)
    assert state["config"] == {"limits.memory": "64MiB", "user.a": "1"} and state["state"] == "started"


def test_only_what_the_task_names_is_compared():
    svc = service(config={"user.a": 1}, devices={"d1": {"type": "none"}})
    assert svc.plan(svc.desired(), state_of(RAW)).steps == []
    svc = service(config={"user.a": None, "user.b": "2"}, devices={"d1": None}, devices_exclusive=False)
    plan = svc.plan(svc.desired(), state_of(RAW))
    assert [c.option for c in plan.changes] == ["config.user.a", "config.user.b", "devices.d1"]
    assert plan.after["config"] == {"limits.memory": "64MiB", "user.b": "2"} and plan.after["devices"] == {
        "d2": {"type": "none"}}
    svc = service(devices={"d1": {"type": "none"}}, devices_exclusive=True)
    assert svc.plan(svc.desired(), state_of(RAW)).after["devices"] == {"d1": {"type": "none"}}


def test_restart_required_only_while_it_runs_on():
    svc = service(config={"security.privileged": True})
    plan = svc.plan(svc.desired(), state_of(RAW))
    assert plan.restart_required and "security.privileged" in plan.warnings[0]
    for state in ("restarted", "stopped"):
        svc = service(config={"security.privileged": True}, state=state)
        assert not svc.plan(svc.desired(), state_of(RAW)).restart_required
    svc = service(config={"security.privileged": True}, state="present")
    assert not svc.plan(svc.desired(), state_of(dict(RAW, status="Stopped"))).restart_required


@pytest.mark.parametrize("status, state, actions", [
    ("Stopped", "started", ["start"]), ("Frozen", "started", ["unfreeze"]), ("Running", "started", []),
    ("Stopped", "frozen", ["start", "freeze"]), ("Running", "frozen", ["freeze"]), ("Frozen", "frozen", []),
    ("Frozen", "stopped", ["stop"]), ("Stopped", "stopped", []), ("Stopped", "restarted", ["start"]),
    ("Frozen", "restarted", ["unfreeze", "restart"]), ("Running", "present", []), ("Stopped", "present", []),
])
def test_run_state_steps(status, state, actions):
    svc = service(state=state)
    plan = svc.plan(svc.desired(), state_of(dict(RAW, status=status)))
    assert [s.description.split()[0] for s in plan.steps] == actions
