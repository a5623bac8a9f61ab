"""The collection tarball as a user gets it: built from a *used* work tree (venvs, caches, test
output, bytecode, an earlier build), it holds exactly what galaxy.yml says a user needs, and once
installed into a collections path of its own, its modules run from there.

What ships (galaxy.yml's build_ignore says why): plugins/, meta/, docs/, changelogs/, README.md,
LICENSE, requirements.txt, bindep.txt, tests/sanity/ignore-*.txt, roles/ and playbooks/ (other
than the checkout's demo). Everything else is the development checkout's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile

import pytest

from conftest import ROOT, VENV_BIN, sh  # noqa: E402

ALLOWED = [re.compile(p) for p in (
    r"MANIFEST\.json", r"FILES\.json",
    r"README\.md", r"LICENSE", r"requirements\.txt", r"bindep\.txt",
    r"meta/[\w-]+\.yml",
    r"plugins/[a-z_]+/([a-z0-9_]+/)*[a-z0-9_]+\.py",
    r"docs/[\w.-]+\.(md|png|svg)",
    r"changelogs/(changelog|config)\.yaml", r"changelogs/fragments/[\w.-]+\.ya?ml",
    r"tests/sanity/ignore-\d+\.\d+\.txt",
    r"roles/.+",
    r"playbooks/(?!demo\.yml$|files/httpd/).+",
)]
REQUIRED = ["README.md", "LICENSE", "requirements.txt", "bindep.txt", "meta/runtime.yml",
            "meta/execution-environment.yml", "plugins/modules/ovf_info.py", "changelogs/changelog.yaml"]


def _allowed(name):
    return any(p.fullmatch(name) for p in ALLOWED)


def _git_files():
    out = sh("git", "-C", ROOT, "ls-files", "-co", "--exclude-standard").stdout.splitlines()
    return sorted(f for f in out if os.path.isfile(os.path.join(ROOT, f)))


def _used_tree(dest):
    """A copy of the work tree as git lists it, plus what development leaves behind."""
    files = _git_files()
    for rel in files:
        os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), os.path.join(dest, rel))
    litter = [
        ".venv/bin/python", ".venv-bench/lib/python3.11/site-packages/ansible/__init__.py",
        ".venv-2.17/pyvenv.cfg", ".pytest_cache/v/cache/lastfailed", ".ansible/tmp/x",
        ".mypy_cache/3.11/x.json", ".tox/py/x", "tests/output/junit/python3.11-modules.xml",
        "tests/output/.tmp/sanity/x", "plugins/modules/__pycache__/ovf_info.cpython-311.pyc",
        "plugins/module_utils/common/__pycache__/engine.cpython-311.pyc", "plugins/modules/ovf_info.pyc",
        "tests/unit/__pycache__/test_engine.cpython-311-pytest-9.2.0.pyc", "build/lib/x.py",
        "changelogs/.plugin-cache.yaml", "virtcloud-core-0.0.9.tar.gz", "playbooks/demo.retry",
    ]
    for rel in litter:
        path = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("litter\n")
    # the work tree's own collections link (a loop back to the root), as scripts/host.sh makes it
    os.makedirs(os.path.join(dest, ".collections", "ansible_collections", "virtcloud"))
    os.symlink("../../..", os.path.join(dest, ".collections", "ansible_collections", "virtcloud", "core"))
    return files


def _isolated_env(tmp_path, collections):
    """ansible sees only `collections`: no ansible.cfg of the checkout, no PYTHONPATH to it."""
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\ncollections_path = %s\n" % collections)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    env.update(ANSIBLE_CONFIG=str(cfg), ANSIBLE_COLLECTIONS_PATH=str(collections),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), HOME=str(tmp_path),
               PATH=VENV_BIN + os.pathsep + env.get("PATH", ""))
    return env


def _run(argv, env, cwd, check=True):
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    if check and proc.returncode:
        raise AssertionError("%s failed (rc %s):\n%s\n%s" % (" ".join(argv), proc.returncode,
                                                             proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    """(path, member names, the files the tree had) of a tarball built from a used tree."""
    base = tmp_path_factory.mktemp("tarball")
    src = base / "src"
    files = _used_tree(str(src))
    env = _isolated_env(base, base / "none")
    _run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(base / "out"),
          str(src)], env, str(base))
    [name] = os.listdir(base / "out")
    path = base / "out" / name
    with tarfile.open(path) as tar:
        members = tar.getmembers()
    return str(path), members, files


def test_tarball_holds_what_a_user_needs_and_nothing_else(tarball):
    path, members, files = tarball
    assert os.path.basename(path) == "virtcloud-core-%s.tar.gz" % re.search(
        r"^version: (\S+)", open(os.path.join(ROOT, "galaxy.yml")).read(), re.M).group(1)
    shipped = sorted(m.name for m in members if m.isfile())
    assert not [m.name for m in members if not (m.isfile() or m.isdir())], "links or devices in the tarball"
    assert [n for n in shipped if not _allowed(n)] == [], "files no collection user needs"
    # every directory is on the way to a shipped file (no empty leftovers of an ignored tree)
    dirs = [m.name for m in members if m.isdir()]
    assert [d for d in dirs if not any(n.startswith(d + "/") for n in shipped)] == []
    # and nothing the tree has that the allow-list names is left out
    assert sorted(set(shipped) - {"MANIFEST.json", "FILES.json"}) == [f for f in files if _allowed(f)]
    assert set(REQUIRED) <= set(shipped)
    assert {f for f in files if f.startswith("plugins/modules/")} <= set(shipped)


def test_installed_tarball_runs_a_module_from_its_own_path(tarball, tmp_path):
    path = tarball[0]
    collections = tmp_path / "collections"
    collections.mkdir()
    env = _isolated_env(tmp_path, collections)
    doc = [os.path.join(VENV_BIN, "ansible-doc"), "virtcloud.core.ovf_info"]
    # before the install, nothing in reach has the collection: the checkout is not what runs below
    before = _run(doc, env, str(tmp_path), check=False)
    assert before.returncode != 0 or "virtcloud.core.ovf_info" not in before.stdout, before.stdout
    _run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", path, "-p", str(collections)],
         env, str(tmp_path))
    installed = collections / "ansible_collections" / "virtcloud" / "core"
    assert (installed / "MANIFEST.json").is_file() and not (installed / "scripts").exists()
    shown = _run(doc, env, str(tmp_path)).stdout
    assert str(installed / "plugins" / "modules" / "ovf_info.py") in shown, shown[:500]
    listed = _run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "list", "virtcloud.core"],
                  env, str(tmp_path)).stdout
    assert str(collections / "ansible_collections") in listed and ROOT not in listed, listed

    # a play through the collection's routed action, with an action group of its meta/runtime.yml
    sample = os.path.join(ROOT, "tests", "data", "ovf-samples", "vmware-photon5.ovf")
    play = tmp_path / "play.yml"
    play.write_text("""
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/virtcloud.core.ova: {}
  tasks:
    - virtcloud.core.ovf_info:
        src: %s
      register: facts
    - ansible.builtin.assert:
        that:
          - facts is not changed
          - facts.format == 'ovf'
          - facts.disks | length > 0
          - facts.cpus > 0
""" % sample)
    proc = _run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                 "-e", "ansible_python_interpreter=" + os.path.join(VENV_BIN, "python"), str(play)],
                env, str(tmp_path))
    assert re.search(r"localhost\s*:\s*ok=2\s+changed=0\s+unreachable=0\s+failed=0", proc.stdout), proc.stdout
