"""`make docs` (scripts/docs.sh): the HTML site has a page for every module, inventory plugin and role of
the checkout, each role page lists every option of its meta/argument_specs.yml, and links into the Ansible
documentation point at docs.ansible.com. The build runs sphinx-build -W, so any warning (a broken
reference, bad markup in a DOCUMENTATION block or an argument spec) fails it."""

from __future__ import annotations

import os

import pytest
import yaml

from conftest import ROOT, sh  # noqa: E402


def names(folder, suffix=".py"):
    path = os.path.join(ROOT, folder)
    return sorted(f[:-len(suffix)] for f in os.listdir(path) if f.endswith(suffix) and not f.startswith("_"))


ROLES = sorted(r for r in os.listdir(os.path.join(ROOT, "roles"))
               if os.path.exists(os.path.join(ROOT, "roles", r, "meta", "argument_specs.yml")))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    proc = sh("bash", os.path.join(ROOT, "scripts", "docs.sh"), str(out), check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return os.path.join(str(out), "html", "collections", "virtcloud", "core")


def page(site, name):
    with open(os.path.join(site, name + ".html"), encoding="utf-8") as f:
        return f.read()


def test_every_module_and_plugin_has_a_page(site):
    for module in names("plugins/modules"):
        assert "virtcloud.core." + module in page(site, module + "_module"), module
    for plugin in names("plugins/inventory"):
        assert "virtcloud.core." + plugin in page(site, plugin + "_inventory"), plugin
    # links into the Ansible docs resolve (offline, through scripts/docs_inventory.py) to the real site
    assert ('href="https://docs.ansible.com/projects/ansible/devel/reference_appendices/common_return_values.html"'
            in page(site, "docker_container_module"))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_page_with_its_options(site, role):
    html = page(site, role + "_role")
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as f:
        specs = yaml.safe_load(f)["argument_specs"]
    for entry in specs.values():
        for option in entry.get("options", {}):
            assert option in html, (role, option)
