"""Every module runs through the collection's action (plugins/plugin_utils/module_action.py):
Ansible's `normal` action with the worker's inherited heap frozen first."""

from __future__ import annotations

import importlib
import os

from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.virtcloud.core.plugins.plugin_utils import module_action

PLUGINS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "plugins")


def _names(kind):
    return {name[:-3] for name in os.listdir(os.path.join(PLUGINS, kind))
            if name.endswith(".py") and not name.startswith("_")}


def test_every_module_has_the_shared_action_and_nothing_else_does():
    assert _names("modules") == _names("action")
    for name in _names("action"):
        action = importlib.import_module("ansible_collections.virtcloud.core.plugins.action." + name)
        assert action.ActionModule is module_action.ActionModule, name


def test_the_action_is_normal_with_the_heap_frozen_before_the_module_is_built(monkeypatch):
    assert issubclass(module_action.ActionModule, NormalAction)
    calls = []
    monkeypatch.setattr(module_action.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(NormalAction, "run", lambda self, tmp=None, task_vars=None: calls.append("run") or {"ok": 1})
    action = module_action.ActionModule.__new__(module_action.ActionModule)
    assert action.run(task_vars={}) == {"ok": 1}
    assert calls == ["freeze", "run"]
