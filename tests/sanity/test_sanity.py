"""Static checks of the collection, driven by pytest so that `make test` reports every layer:
ansible-test sanity (validate-modules, pylint, pep8, yamllint, import, ...), ansible-lint with the
production profile on playbooks, roles and targets, and ansible-doc rendering every module."""

from __future__ import annotations

import os

import pytest

from conftest import ROOT, VENV_BIN, sh  # noqa: E402

MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if f.endswith(".py") and not f.startswith("_"))


def test_ansible_test_sanity():
    proc = sh("bash", os.path.join(ROOT, "scripts", "sanity.sh"), check=False, timeout=1800)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith(("ERROR", "FATAL"))]
    assert proc.returncode == 0 and not errors, "\n".join(errors) or proc.stderr[-3000:]


def test_ansible_lint_production_profile():
    proc = sh(os.path.join(VENV_BIN, "ansible-lint"), "--offline", "--profile", "production", "--nocolor",
              check=False, timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders(module):
    proc = sh(os.path.join(VENV_BIN, "ansible-doc"), "virtcloud.core." + module)
    assert "virtcloud.core." + module in proc.stdout and "EXAMPLES" in proc.stdout
