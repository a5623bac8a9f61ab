"""The integration targets under tests/integration/targets (docs/development.md "Integration targets"):
their layout follows ansible-test's conventions, each runs through ansible-playbook as a role (as
ansible-test runs it), and one runs through `ansible-test integration` itself."""

from __future__ import annotations

import os
import re

import pytest

from conftest import COLLECTIONS, ROOT, VENV_BIN, playbook, sh  # noqa: E402

TARGETS_DIR = os.path.join(ROOT, "tests", "integration", "targets")
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py"))
ALL = sorted(t for t in os.listdir(TARGETS_DIR) if os.path.isdir(os.path.join(TARGETS_DIR, t)))
SETUP = [t for t in ALL if t.startswith("setup_")]
TARGETS = [t for t in ALL if t not in SETUP]
# every test target carries these (see the aliases files' header)
REQUIRED = ("unsupported", "destructive", "needs/root", "context/target")
# the daemon a target needs follows from the module it is named after
DAEMONS = ("docker", "libvirt", "lxd")
# the smallest target, run once more through ansible-test itself
ANSIBLE_TEST_TARGET = "docker_container"


def aliases(target, targets_dir=TARGETS_DIR):
    with open(os.path.join(targets_dir, target, "aliases")) as handle:
        return [line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#")]


def convention_errors(target, targets_dir=TARGETS_DIR):
    """What keeps `target` from following the convention (an empty list when it does)."""
    errors = []
    words = aliases(target, targets_dir)
    if target not in MODULES:
        errors.append("not named after a module")
    errors += ["aliases lack %s" % word for word in REQUIRED if word not in words]
    for word in words:
        if word.startswith("needs/target/") and word.split("/", 2)[2] not in SETUP:
            errors.append("%s: no such setup_* target" % word)
        elif "/" not in word and word not in REQUIRED and word not in MODULES:
            errors.append("alias %s is neither a keyword nor a module" % word)
    for dirpath, _dirs, files in os.walk(os.path.join(targets_dir, target)):
        for name in files:
            with open(os.path.join(dirpath, name)) as handle:
                text = handle.read()
            used = set(re.findall(r"\bname:\s*(setup_\w+)", text))
            errors += ["%s uses %s without needs/target/%s" % (name, setup, setup)
                       for setup in used if "needs/target/" + setup not in words]
            if re.search(r"playbook_dir|\.\./", text):
                errors.append("%s reaches outside the target" % name)
    return errors


@pytest.mark.parametrize("target", TARGETS)
def test_target_follows_the_convention(target):
    assert convention_errors(target) == []


def test_convention_check_catches_a_stray_target(tmp_path):
    """The check above can fail: a target named after no module, with bare aliases and a path out."""
    stray = tmp_path / "docker_backend"
    (stray / "tasks").mkdir(parents=True)
    (stray / "aliases").write_text("docker\n")
    (stray / "tasks" / "main.yml").write_text(
        "- ansible.builtin.include_role: {name: setup_docker_httpd}\n"
        "- ansible.builtin.copy: {src: '{{ playbook_dir }}/../../x', dest: /tmp/x}\n")
    assert convention_errors("docker_backend", str(tmp_path)) == [
        "not named after a module", "aliases lack unsupported", "aliases lack destructive",
        "aliases lack needs/root", "aliases lack context/target", "alias docker is neither a keyword nor a module",
        "main.yml uses setup_docker_httpd without needs/target/setup_docker_httpd", "main.yml reaches outside the target"]


def _daemon(target, request):
    prefix = target.split("_", 1)[0]
    if prefix in DAEMONS:
        request.getfixturevalue(prefix + "_daemon")


@pytest.mark.parametrize("target", TARGETS)
def test_target(target, request, monkeypatch):
    _daemon(target, request)
    monkeypatch.setenv("ANSIBLE_ROLES_PATH", TARGETS_DIR)
    proc = playbook(os.path.join(ROOT, "tests", "integration", "run_target.yml"), target=target)
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=\d+\s+unreachable=0\s+failed=0", proc.stdout)
    assert recap and int(recap.group(1)) > 0, proc.stdout[-3000:]


def test_ansible_test_runs_a_target(request):
    """`ansible-test integration` from the installed-collection layout (.collections/...) runs a target."""
    _daemon(ANSIBLE_TEST_TARGET, request)
    content = os.path.join(COLLECTIONS, "ansible_collections", "virtcloud", "core")
    proc = sh("env", "ANSIBLE_TEST_CONTENT_ROOT=" + content, os.path.join(VENV_BIN, "ansible-test"), "integration",
              "--local", "--allow-unsupported", "--allow-destructive", "--color", "no", ANSIBLE_TEST_TARGET,
              check=False, timeout=900)
    recap = re.search(r"testhost\s*:\s*ok=(\d+)\s+changed=\d+\s+unreachable=0\s+failed=0", proc.stdout)
    assert proc.returncode == 0 and recap and "Running %s integration test role" % ANSIBLE_TEST_TARGET in proc.stdout, \
        proc.stdout[-4000:] + proc.stderr[-3000:]


def test_the_setup_target_serves_the_demo_image():
    """A target cannot reach outside itself, so setup_docker_httpd has its own copy of the demo's httpd
    build context (playbooks/files/httpd); the two must not drift apart."""
    ours = os.path.join(TARGETS_DIR, "setup_docker_httpd", "files")
    demo = os.path.join(ROOT, "playbooks", "files", "httpd")
    assert sorted(os.listdir(ours)) == sorted(os.listdir(demo))
    for name in os.listdir(ours):
        with open(os.path.join(ours, name), "rb") as a, open(os.path.join(demo, name), "rb") as b:
            assert a.read() == b.read(), name
