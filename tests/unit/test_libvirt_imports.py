"""libvirt module_utils import each other without a cycle, and domain_ops stays lazy."""

from __future__ import annotations

import os
import subprocess
import sys

COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".collections")
PKG = "ansible_collections.virtcloud.core.plugins.module_utils.libvirt."


def _loaded_after(module):
    """The libvirt module_utils a fresh interpreter holds after importing `module`."""
    code = ("import importlib, sys; importlib.import_module(%r); "
            "print(' '.join(sorted(m[%d:] for m in sys.modules if m.startswith(%r))))" % (PKG + module, len(PKG), PKG))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return set(proc.stdout.split())


def test_domain_ops_does_not_import_domain():
    assert "domain" not in _loaded_after("domain_ops")


def test_domain_imports_domain_ops_only_when_a_plan_needs_it():
    assert "domain_ops" not in _loaded_after("domain")
