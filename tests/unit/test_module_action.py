"""Every module runs through the collection's one action, plugins/action/module_action.py (Ansible's
`normal` action with the worker's inherited heap frozen first), routed to it by meta/runtime.yml
`plugin_routing: modules: <module>: action_plugin:`. A module added without its entry fails here."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import yaml
from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.virtcloud.core.plugins.action import module_action

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACTION = "virtcloud.core.module_action"


def _names(kind):
    return {name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", kind))
            if name.endswith(".py") and not name.startswith("_")}


def _routing():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        return (yaml.safe_load(handle).get("plugin_routing") or {}).get("modules") or {}


def test_every_module_is_routed_to_the_one_action():
    routing = _routing()
    own = _names("action") & _names("modules")  # modules that do work on the controller
    missing = sorted(name for name in _names("modules") - own
                     if (routing.get(name) or {}).get("action_plugin") != ACTION)
    lines = "\n".join("    %s: {action_plugin: %s}" % (name, ACTION) for name in missing)
    assert not missing, ("meta/runtime.yml routes no action for %s; add under plugin_routing: modules:\n%s"
                         % (", ".join(missing), lines))
    assert set(routing) <= _names("modules"), "routing for modules that do not exist: %s" % (set(routing) - _names("modules"))
    shadowed = sorted(name for name in own if name in routing)
    assert not shadowed, "a routed action_plugin hides the module's own plugins/action file: %s" % shadowed


def test_plugins_action_holds_the_one_action_and_only_actions_of_modules_that_work_on_the_controller():
    assert "module_action" in _names("action")
    strays = _names("action") - _names("modules") - {"module_action"}
    assert not strays, "action plugins without a module of their name: %s" % sorted(strays)
    for name in _names("action") - {"module_action"}:  # their own work, on top of the frozen heap
        own = importlib.import_module("ansible_collections.virtcloud.core.plugins.action." + name)
        assert issubclass(own.ActionModule, module_action.ActionModule), name


def test_ansible_resolves_every_module_to_the_one_action():
    """Through ansible-core's own plugin loader, in a process of its own (the loader installs its
    collection finder for good)."""
    script = """
import json, sys
from ansible.plugins.loader import action_loader, init_plugin_loader, module_loader
init_plugin_loader([sys.argv[1]])
out = {}
for name in json.loads(sys.argv[2]):
    found = module_loader.find_plugin_with_context("virtcloud.core." + name)
    out[name] = found.resolved and found.action_plugin
cls = action_loader.get(%r, class_only=True)
print(json.dumps({"modules": out, "action": cls.__module__ + "." + cls.__name__}))
""" % ACTION
    modules = sorted(_names("modules"))
    proc = subprocess.run([sys.executable, "-c", script, os.path.join(ROOT, ".collections"), json.dumps(modules)],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.splitlines()[-1])
    assert found["modules"] == dict.fromkeys(modules, ACTION)
    assert found["action"].endswith(".plugins.action.module_action.ActionModule")


def test_the_action_is_normal_with_the_heap_frozen_before_the_module_is_built(monkeypatch):
    assert issubclass(module_action.ActionModule, NormalAction)
    calls = []
    monkeypatch.setattr(module_action.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(NormalAction, "run", lambda self, tmp=None, task_vars=None: calls.append("run") or {"ok": 1})
    action = module_action.ActionModule.__new__(module_action.ActionModule)
    assert action.run(task_vars={}) == {"ok": 1}
    assert calls == ["freeze", "run"]
