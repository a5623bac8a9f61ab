"""ova_import over the hostile corpus of tests/lib/ova.py (issue 22): every case fails with a clear
message naming an option, in check mode and in a real run, and leaves nothing behind -- no volume,
no guest, no file in the pool's directory, no temporary file beside the OVA."""

from __future__ import annotations

import os
import re

import pytest

from conftest import proves, run_module
from lib.ova import HOSTILE_CASES, hostile_ova
# place: the fixture (pool + network) of test_ova_import, used by name
from test_ova_import import place, spec, virsh  # noqa: F401 pylint: disable=unused-import

# the option first; in a real run a check made while copying fails its step, which the engine names
# first ("copy disk ... failed: src: ...") and whose volume it rolls back
NAMED = re.compile(r"^(?:(?:copy|create|define) [^:]* failed: )?(src|name|pool|network_map\[[^]]*\]):")


def listing(folder):
    """Every file under folder (relative), with its size."""
    out = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = os.path.getsize(path)
    return out


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=[c.id for c in HOSTILE_CASES])
@proves("hostile archives", "ova_import: {case.id}")
def test_hostile_ova_is_refused_and_leaves_nothing(place, unique, case):  # noqa: F811
    folder = os.path.join(place["dir"], "ova")
    os.makedirs(folder)
    ova = os.path.join(folder, "hostile.ova")
    hostile_ova(ova, case)
    before = listing(place["dir"])
    name = unique + "g"
    # the hostile descriptor's network is "LAN"; map it so that only the hostile part can fail
    args = {**spec(place, ova, name), "network_map": {"LAN": place["network"]}}
    for check in (True, False):
        result = run_module("ova_import", check=check, **args)
        assert result.get("failed"), result
        msg = result["msg"]
        match = NAMED.match(msg)
        assert match and (check is False or not msg.startswith(("copy", "create", "define"))), msg
        assert case.expect.lower() in msg.lower(), (case.expect, msg)
        assert listing(place["dir"]) == before  # nothing written near the OVA or in the pool
        assert os.listdir(place["target"]) == []
        assert virsh("vol-list", place["pool"]).stdout.count(name) == 0
        assert virsh("dominfo", name, check=False).returncode != 0
