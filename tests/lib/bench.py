"""What the side-by-side benchmarks share: one ansible-playbook run, timed."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def play(venv, tmp_path, label, tasks, specs):
    """Run a play on localhost whose `tasks` (YAML under `tasks:`, "" for none) read the variable
    `specs`, with the ansible-playbook and Python of `venv`; return (seconds, changed)."""
    path = tmp_path / ("play-%s.yml" % label)
    path.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:%s\n" % (tasks or " []"))
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps({"specs": specs}))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    argv = [os.path.join(venv, "bin", "ansible-playbook"), "-i", os.path.join(ROOT, "inventory", "localhost.yml"),
            str(path), "-e", "@%s" % varfile, "-e", "ansible_python_interpreter=%s" % os.path.join(venv, "bin", "python")]
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode:
        raise AssertionError("%s failed:\n%s\n%s" % (label, proc.stdout[-4000:], proc.stderr[-2000:]))
    recap = re.search(r"changed=(\d+)", proc.stdout)  # a play with no task prints no recap
    return elapsed, int(recap.group(1)) if recap else 0


def peer_collection(venv, fqcn, ansible_release):
    """Make the peer collection `fqcn` (e.g. "openvswitch.openvswitch") available to the bench's
    playbooks when the `ansible` package in `venv` no longer carries it: unpack it from the wheel
    of the `ansible` release that last did (pip download, nothing installed) into the work tree's
    .collections, beside the link to this collection. Returns its directory."""
    namespace, name = fqcn.split(".")
    dest = os.path.join(ROOT, ".collections", "ansible_collections", namespace, name)
    if os.path.exists(os.path.join(dest, "MANIFEST.json")):
        return dest
    prefix = "ansible_collections/%s/%s/" % (namespace, name)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "-d", tmp, "ansible==%s" % ansible_release], check=True)
        with zipfile.ZipFile(glob.glob(os.path.join(tmp, "ansible-*.whl"))[0]) as wheel:
            members = [member for member in wheel.namelist() if member.startswith(prefix)]
            if not members:
                raise AssertionError("ansible %s does not carry %s" % (ansible_release, fqcn))
            shutil.rmtree(dest, ignore_errors=True)
            wheel.extractall(os.path.join(tmp, "x"), members)
        shutil.move(os.path.join(tmp, "x", prefix), dest)
    return dest
