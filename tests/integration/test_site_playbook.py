"""playbooks/site.yml sets hosts up by inventory group: each group's hosts get exactly their role's tasks, in
the playbook's order, a container platform is set up as a container host first, and a host in no group
gets nothing. (Each role's own scenario, tests/integration/test_role_*.py, proves what its tasks do on the
real daemons; this checks the composition, which --list-tasks reads without contacting any host.)"""

from __future__ import annotations

import os
import re

import yaml

from conftest import ROOT, VENV_BIN, sh  # noqa: E402

SITE = os.path.join(ROOT, "playbooks", "site.yml")
GROUPS = {"hypervisors": ["hv"], "container_hosts": ["ct"], "container_platforms": ["paas"],
          "fabric": ["hv", "ct"]}


def first_task(role):
    """The name of the first task of a role's tasks/main.yml."""
    with open(os.path.join(ROOT, "roles", role, "tasks", "main.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)[0]["name"]


def plays_of(tmp_path):
    inventory = {"all": {"hosts": {"idle": {}},
                         "children": {group: {"hosts": {h: {} for h in hosts}} for group, hosts in GROUPS.items()}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    out = sh(os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(path), SITE, "--list-tasks").stdout
    # "play #1 (hypervisors): Hypervisor hosts\tTAGS: []" followed by its task lines
    plays = re.split(r"\n\s*play #\d+ \(([^)]*)\): [^\n]*", out)[1:]
    return list(zip(plays[0::2], plays[1::2]))


def hosts_of(pattern, tmp_path):
    inventory = tmp_path / "inventory.yml"
    out = sh(os.path.join(VENV_BIN, "ansible"), "-i", str(inventory), pattern, "--list-hosts").stdout
    return sorted(line.strip() for line in out.splitlines()[1:] if line.strip())


def test_site_applies_each_role_to_its_group(tmp_path):
    plays = plays_of(tmp_path)
    roles = ["hypervisor_host", "container_host", "container_platform", "network_fabric"]
    assert [pattern for pattern, body in plays] == [
        "hypervisors", "container_hosts:container_platforms", "container_platforms", "fabric"]
    for (pattern, body), role in zip(plays, roles):
        assert "%s : %s" % (role, first_task(role)) in body, (role, body)
        # no other role's tasks in this play
        assert not [r for r in roles if r != role and "%s : " % r in body], (role, body)
    assert hosts_of("container_hosts:container_platforms", tmp_path) == ["ct", "paas"]
    assert hosts_of("fabric", tmp_path) == ["ct", "hv"]
    everyone = set().union(*[hosts_of(pattern, tmp_path) for pattern, body in plays])
    assert "idle" not in everyone


def test_site_passes_its_syntax_check_and_every_role_has_an_argument_spec():
    sh(os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", SITE, "--syntax-check")
    with open(SITE, encoding="utf-8") as f:
        for play in yaml.safe_load(f):
            for role in play["roles"]:
                name = role["role"].split(".")[-1]
                assert os.path.exists(os.path.join(ROOT, "roles", name, "meta", "argument_specs.yml")), name
