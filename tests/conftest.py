"""Shared test harness for virtcloud.core.

- `run_module(name, check=False, diff=False, **args)` runs a module of the work tree the way Ansible
  does on a managed host (its own Python process, arguments on stdin) and returns the result dict.
- `playbook(path, **extra_vars)` runs ansible-playbook with the repository's ansible.cfg.
- `sh(*argv)` runs an independent verification command (docker, virsh, ip, ovs-vsctl ...).
- The `*_daemon` fixtures make sure the real daemon answers, starting it through
  scripts/host.sh when it does not; they fail (never skip) when it cannot be had.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import shutil
import subprocess
import sys
import uuid

import pytest

from lib import reliability

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".collections")
VENV_BIN = os.path.dirname(sys.executable)


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = COLLECTIONS + os.pathsep + env.get("PYTHONPATH", "")
    env["ANSIBLE_CONFIG"] = os.path.join(ROOT, "ansible.cfg")
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    return env


def sh(*argv, check=True, input=None, timeout=300):
    """Run a command; return CompletedProcess (text). Raises with its output when check fails."""
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, input=input,
                          env=_env(), timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%s):\n%s\n%s"
                             % (" ".join(map(str, argv)), proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


def _module_argv(module):
    return [sys.executable, "-m", "ansible_collections.virtcloud.core.plugins.modules." + module]


def run_module(module, /, check=False, diff=False, **args):
    """Run virtcloud.core.<module> with `args` (which may include `name`); return its result
    (a failure is a result too)."""
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    proc = subprocess.run(
        _module_argv(module), input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True,
        env=_env(), cwd="/", timeout=600, check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module %s printed no JSON (rc %s):\nstdout: %s\nstderr: %s"
                             % (module, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))


def start_module(module, /, **args):
    """Start virtcloud.core.<module> with `args` and return its Popen at once (its arguments
    already written): for tests that run modules side by side or kill one midway. `result(proc)`
    waits for it and reads its result."""
    proc = subprocess.Popen(_module_argv(module), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd="/")
    proc.stdin.write(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc.stdin.close()
    proc.stdin = None  # written: communicate() only reads
    return proc


def result(proc, timeout=600):
    """The result of a module started by `start_module`."""
    out, err = proc.communicate(timeout=timeout)
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError("module printed no JSON (rc %s):\nstdout: %s\nstderr: %s"
                             % (proc.returncode, out[-3000:], err[-3000:]))


def prediction_gaps(predicted, real, path="after"):
    """Where a check-mode `after` differs from what the real run read back: every value it states
    must be the real one. None stands for a value that cannot be known before the object is made
    (an ID, a MAC the backend generates); a key it leaves out, likewise."""
    if predicted is None:
        return []
    if isinstance(predicted, dict) and isinstance(real, dict):
        return [gap for key, value in predicted.items()
                for gap in prediction_gaps(value, real.get(key), "%s.%s" % (path, key))]
    if isinstance(predicted, list) and isinstance(real, list) and len(predicted) == len(real):
        return [gap for index, (p, r) in enumerate(zip(predicted, real))
                for gap in prediction_gaps(p, r, "%s[%d]" % (path, index))]
    return [] if predicted == real else ["%s: predicted %r, got %r" % (path, predicted, real)]


def converge(module, /, **args):
    """The contract every module test runs: a check-mode run predicts a change (and its actions),
    the real run does exactly that and reads back what was predicted (`prediction_gaps`), a rerun
    and a check-mode rerun change nothing.
    Returns the applied result (with its diff); the prediction is under "predicted"."""
    predicted = run_module(module, check=True, diff=True, **args)
    assert predicted.get("failed") is not True, predicted
    assert predicted.get("changed") is True, predicted
    applied = run_module(module, diff=True, **args)
    assert applied.get("failed") is not True, applied
    assert applied.get("changed") is True, applied
    assert applied["actions"] == predicted["actions"]
    if isinstance(predicted.get("diff"), dict):  # batches give one diff per changed item: a list
        gaps = prediction_gaps(predicted["diff"]["after"], applied["diff"]["after"])
        assert not gaps, "check mode predicted otherwise:\n" + "\n".join(gaps)
    rerun = run_module(module, **args)
    assert rerun.get("changed") is False and rerun["actions"] == [], rerun
    check_rerun = run_module(module, check=True, **args)
    assert check_rerun.get("changed") is False, check_rerun
    return dict(applied, predicted=predicted)


def playbook(path, check=True, extra_args=(), **extra_vars):
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventory", "localhost.yml"),
            path, "-e", json.dumps(extra_vars)] + list(extra_args)
    proc = subprocess.run(argv, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=1800, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("ansible-playbook %s failed (rc %s):\n%s\n%s"
                             % (path, proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
    return proc


@pytest.fixture
def unique():
    """A short unique suffix, so that tests never collide with each other or with real objects."""
    return "vct" + uuid.uuid4().hex[:8]


# ---------------------------------------------------------------- daemons
def _ensure(daemon):
    status = sh("bash", os.path.join(ROOT, "scripts", "host.sh"), "status", check=False).stdout
    if "%s: up" % daemon not in status:
        proc = sh("bash", os.path.join(ROOT, "scripts", "host.sh"), "up", check=False, timeout=600)
        status = sh("bash", os.path.join(ROOT, "scripts", "host.sh"), "status", check=False).stdout
        if "%s: up" % daemon not in status:
            pytest.fail("%s daemon is not available and scripts/host.sh up could not start it:\n%s\n%s"
                        % (daemon, proc.stdout[-2000:], proc.stderr[-2000:]))


@pytest.fixture(scope="session")
def docker_daemon():
    _ensure("docker")
    if shutil.which("docker") is None:
        pytest.fail("docker CLI missing: it is the independent verification path")


@pytest.fixture(scope="session")
def libvirt_daemon():
    _ensure("libvirt")
    if shutil.which("virsh") is None:
        pytest.fail("virsh missing: it is the independent verification path")


@pytest.fixture(scope="module")
def test_driver():
    """libvirt's in-process test:///default driver, for unit tests of API logic. It keeps its
    objects only while a connection to it stays open, so the fixture holds one."""
    libvirt = pytest.importorskip("libvirt")
    conn = libvirt.open("test:///default")
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def lxd_daemon():
    _ensure("lxd")
    if shutil.which("lxc") is None:
        pytest.fail("lxc (the LXD CLI) missing: it is the independent verification path")


@pytest.fixture(scope="session")
def lxd_busybox(lxd_daemon, tmp_path_factory):
    """A busybox image in LXD, built offline: {'alias', 'fingerprint', 'meta', 'rootfs'}; removed after
    the session (with the instances still using it, none should be left)."""
    from lib.lxd import build_busybox_image, image_fingerprint, lxc

    alias = "vct-busybox-" + uuid.uuid4().hex[:6]
    meta, rootfs = build_busybox_image(str(tmp_path_factory.mktemp("lxd-busybox")))
    lxc("image", "import", meta, rootfs, "--alias", alias)
    yield {"alias": alias, "fingerprint": image_fingerprint(alias), "meta": meta, "rootfs": rootfs}
    lxc("image", "delete", alias, check=False)


@pytest.fixture(scope="module")
def lxd_remote(lxd_daemon, tmp_path_factory):
    """This LXD reached over https on 127.0.0.1 as a remote one (tests/lib/lxd.py Remote): its url and
    server_cert, client certificates, trust password and join tokens. Afterwards core.https_address and
    core.trust_password are unset again (when this fixture set them) and the certificates and tokens
    it added are removed, also when the test failed."""
    from lib.lxd import Remote

    remote = Remote(str(tmp_path_factory.mktemp("lxd-remote")), "vct" + uuid.uuid4().hex[:6] + "-")
    try:
        remote.open()
        yield remote
    finally:
        remote.close()


@pytest.fixture(scope="session")
def ovs_daemon():
    _ensure("ovs")


@pytest.fixture(scope="module")
def netbed(tmp_path_factory):
    """Three "hosts" h1..h3 reached over real SSH: network namespaces behind one bridge, each with its
    own sshd (tests/lib/netbed.py), on a 198.18.x.0/24 no other address here uses (198.18.1.0/24 unless
    taken); `netbed.inventory` has them in group netbed. Taken down after the module, also on failure."""
    from lib.netbed import NetBed

    with NetBed(str(tmp_path_factory.mktemp("netbed"))) as bed:
        yield bed


def pytest_ignore_collect(collection_path, config):
    """tests/bench runs only when named (make bench), never as part of `pytest tests` (make test)."""
    if collection_path.name == "bench" and collection_path.parent == pathlib.Path(ROOT, "tests"):
        return not any("bench" in str(arg) for arg in config.args)
    return None


@pytest.fixture(scope="session")
def bench_venv():
    """For tests/bench: a venv of its own with the `ansible` package, which carries the peers
    (community.docker, community.libvirt), so the project's venv stays plain ansible-core."""
    venv = os.environ.get("VIRTCLOUD_BENCH_VENV", os.path.join(ROOT, ".venv-bench"))
    python = os.path.join(venv, "bin", "python")
    probe = [python, "-c", "import docker, ansible_collections.community.docker, ansible_collections.community.libvirt"]
    if not os.path.exists(python) or subprocess.run(probe, capture_output=True, check=False).returncode:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "ansible", "docker>=7"], check=True)
    return venv


# ---------------------------------------------------------------- reliability figures (issue 21)
RELIABILITY_DOC = os.path.join(ROOT, "docs", "reliability.md")

# what each category of tests/lib/reliability.py records proves; a category without an entry is listed too
CATEGORIES = {
    "bad input": "Wrong types, out-of-range values, hostile names and conflicting options, generated for every "
                 "module from its option table (tests/integration/test_bad_input.py). Handled: refused before any "
                 "write with a message naming the option, or (names the backend takes) created exactly as named "
                 "with a rerun that changes nothing.",
    "daemon down": "Every module of each backend against an unreachable socket or URI: one clear message naming "
                   "it and how to start the daemon, nothing changed.",
    "disk full": "Volumes and images written to a small size-limited filesystem: the run fails naming the lack "
                 "of space and leaves nothing partial behind; the rerun on free space completes.",
    "hostile archives": "OVA archives built to attack the importer (path traversal, links, oversized or lying "
                        "members, external references): refused, nothing written outside the cache.",
    "killed midway": "Batches and uploads killed with SIGKILL partway: the rerun completes and leaves no orphan "
                     "volumes, guests, containers or temporary files.",
    "preconditions": "Removals and pool definitions whose preconditions do not hold (volumes still in the "
                     "pool, no NFS client, a mount that fails): refused before the first step, or every "
                     "step taken back.",
    "secrets": "Every secret option searched for in the -vvv transcript, results, diffs and leftover files: "
               "a case is handled when there are zero hits.",
    "side by side": "The same batch run twice at the same time: both converge, without a spurious failure.",
    "validation before the first write": "Batches whose later item is invalid: refused before the first item "
                                         "is written, in check mode too.",
}


def reliability_report(records):
    """docs/reliability.md from the records: stable text (sorted, no dates), so that a rerun with the same
    figures leaves the file unchanged."""
    by_category = {}
    for rec in records:
        by_category.setdefault(rec["category"], []).append(rec)
    lines = ["# Reliability figures", "",
             "<!-- regenerated by make test (tests/conftest.py, from the cases tests/lib/reliability.py records); "
             "do not edit -->", "",
             "What the test suite tries against the collection and how many of those cases the collection "
             "handled. A case that is not handled is also a failing test, or, where it is a known gap "
             "(KNOWN_GAPS in test_bad_input.py; none at present), an expected failure that turns into a "
             "failure once it is fixed.", "",
             "| Category | Cases tried | Handled | Not handled |", "|---|---:|---:|---:|"]
    total = [0, 0]
    for category in sorted(by_category):
        recs = by_category[category]
        handled = sum(1 for rec in recs if rec["handled"])
        total[0] += len(recs)
        total[1] += handled
        lines.append("| %s | %d | %d | %d |" % (category, len(recs), handled, len(recs) - handled))
    lines += ["| **all** | %d | %d | %d |" % (total[0], total[1], total[0] - total[1]), ""]
    for category in sorted(by_category):
        recs = sorted(by_category[category], key=lambda rec: (rec["case"], rec["handled"], rec.get("detail", "")))
        lines += ["## %s" % category, ""]
        if CATEGORIES.get(category):
            lines += [CATEGORIES[category], ""]
        for rec in recs:
            detail = " (%s)" % rec["detail"] if rec.get("detail") else ""
            lines.append("- %s %s%s" % ("handled:" if rec["handled"] else "**NOT handled:**", rec["case"], detail))
        lines.append("")
    return "\n".join(lines)


def proves(category, case):
    """Decorator of a reliability test: records `case` of `category` (formatted with the test's
    arguments, e.g. "{option}") as handled when the test passes, as not handled when it fails."""
    def wrap(test):
        @functools.wraps(test)
        def run(*args, **kwargs):
            label = case.format(**kwargs)
            try:
                test(*args, **kwargs)
            except (pytest.skip.Exception, KeyboardInterrupt):
                raise
            except BaseException as exc:  # an assertion or pytest.fail: the case was not handled
                reliability.record(category, label, False, detail="test failed: %s" % type(exc).__name__)
                raise
            reliability.record(category, label, True)
        return run
    return wrap


def _main_process(config):
    return not hasattr(config, "workerinput")  # pytest-xdist workers carry workerinput


def pytest_sessionstart(session):
    if _main_process(session.config):
        reliability.reset()


def pytest_sessionfinish(session):
    """Write docs/reliability.md when this session ran the whole integration suite (as make test does),
    so that `pytest tests/unit`, or a few integration files, never rewrite the figures with part of them."""
    if not _main_process(session.config):
        return
    integration = pathlib.Path(ROOT, "tests", "integration")
    ran = {pathlib.Path(str(item.path)) for item in session.items}
    if not set(integration.glob("test_*.py")) <= ran:
        return
    records = reliability.collected()
    if not records:
        return
    text = reliability_report(records)
    old = pathlib.Path(RELIABILITY_DOC).read_text() if os.path.exists(RELIABILITY_DOC) else None
    if text != old:
        pathlib.Path(RELIABILITY_DOC).write_text(text)
