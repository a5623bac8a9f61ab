"""Every scenario under extensions/molecule/ is one molecule (the tool, requirements-dev.txt) accepts: its
molecule.yml passes molecule's schema and its playbooks pass the syntax check (`molecule syntax -s NAME`).
What the scenarios do on the real daemons is run by tests/integration/test_role_*.py, step by step as each
molecule.yml orders them; `molecule test -s NAME` runs the same steps (network_fabric needs `make netbed`)."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import ROOT, VENV_BIN, _env  # noqa: E402

SCENARIOS = sorted(os.listdir(os.path.join(ROOT, "extensions", "molecule")))


def test_every_role_has_a_scenario():
    roles = sorted(r for r in os.listdir(os.path.join(ROOT, "roles")) if not r.startswith("."))
    assert set(roles) <= set(SCENARIOS), sorted(set(roles) - set(SCENARIOS))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_accepts_the_scenario(scenario, tmp_path):
    # network_fabric's hosts are the three-host bed's; a stand-in inventory of the same hosts for the syntax check
    bed = tmp_path / "bed.yml"
    bed.write_text("all:\n  children:\n    netbed:\n      hosts: {h1: {}, h2: {}, h3: {}}\n")
    env = dict(_env(), PATH=VENV_BIN + os.pathsep + os.environ["PATH"], VIRTCLOUD_NETBED_INVENTORY=str(bed),
               MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "ephemeral"))
    proc = subprocess.run([os.path.join(VENV_BIN, "molecule"), "syntax", "-s", scenario], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
