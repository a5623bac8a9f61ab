"""scripts/host.sh under fresh-machine conditions, without a fresh machine.

The package tools (apt-get, dpkg-query) and, for `up`, the init system and the daemons' probes are
stubs on PATH that record what they were asked, so every case a first run can meet is reproduced
here: nothing / some / all packages installed, a policy-rc.d already present or not (and left
exactly as found, also when apt fails), systemd as PID 1 or not.
"""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from conftest import ROOT

HOST_SH = os.path.join(ROOT, "scripts", "host.sh")


def _packages():
    text = open(HOST_SH).read()
    block = text[text.index("PACKAGES=(") + len("PACKAGES=("):]
    return block[:block.index(")")].split()


PACKAGES = _packages()

STUBS = {
    # dpkg-query -W -f='${Status}' NAME: installed when NAME is a line of $STUB/installed
    "dpkg-query": r'''
pkg="${@: -1}"
grep -qx -- "$pkg" "$STUB/installed" 2>/dev/null || exit 1
printf 'install ok installed'
''',
    # apt-get: log the call and what policy-rc.d says at that moment; install adds the names
    "apt-get": r'''
echo "apt-get $*" >>"$STUB/log"
if [ -e "$VIRTCLOUD_POLICY_RC_D" ]; then
  "$VIRTCLOUD_POLICY_RC_D" docker start; echo "policy-rc.d exit $?" >>"$STUB/log"
else
  echo "policy-rc.d missing" >>"$STUB/log"
fi
rc=$(cat "$STUB/apt_rc" 2>/dev/null || echo 0)
if [ "$rc" = 0 ] && [ "$1" = install ]; then
  for a in "$@"; do case "$a" in -*|install) ;; *) echo "$a" >>"$STUB/installed" ;; esac; done
fi
exit "$rc"
''',
    # init system: PID 1 is whatever $STUB/pid1 says
    "ps": r'''cat "$STUB/pid1"''',
    "systemctl": r'''
echo "systemctl $*" >>"$STUB/log"
shift; for u in "$@"; do touch "$STUB/started-$u"; done
''',
    "setsid": r'''echo "setsid $*" >>"$STUB/log"''',
    # probes answer once the unit behind them was started
    "curl": r'''
case "$*" in
  *docker.sock*) [ -e "$STUB/started-docker" ] ;;
  *lxd*) [ -e "$STUB/started-lxd" ] ;;
  *) exit 2 ;;
esac
''',
    "virsh": r'''[ -e "$STUB/started-libvirtd" ]''',
    "ovs-vsctl": r'''[ -e "$STUB/started-openvswitch-switch" ]''',
    "lxc": r'''echo "lxc $*" >>"$STUB/log"''',
    "lxd": r'''echo "lxd $*" >>"$STUB/log"; cat >/dev/null''',
}


@pytest.fixture
def stub(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, body in STUBS.items():
        path = bindir / name
        path.write_text("#!/bin/bash\n" + body.lstrip("\n"))
        path.chmod(0o755)
    (tmp_path / "log").write_text("")
    (tmp_path / "pid1").write_text("init\n")
    return tmp_path


def run(stub, command, **env):
    env = dict(os.environ, STUB=str(stub), VIRTCLOUD_STATE=str(stub / "state"),
               VIRTCLOUD_POLICY_RC_D=str(stub / "policy-rc.d"),
               VIRTCLOUD_DOCKER_DAEMON_JSON=str(stub / "docker" / "daemon.json"), **env,
               PATH=str(stub / "bin") + os.pathsep + os.environ["PATH"])
    return subprocess.run(["bash", HOST_SH, command], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def log(stub):
    return (stub / "log").read_text().splitlines()


def installed_call(stub):
    calls = [line for line in log(stub) if line.startswith("apt-get ") and " install " in line]
    assert len(calls) == 1, log(stub)
    return [w for w in calls[0].split()[2:] if not w.startswith("-")]


def snapshot(path):
    st = os.lstat(path)
    return path.read_bytes(), stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_ino


@pytest.mark.parametrize("present", [False, True], ids=["no-policy-rc.d", "policy-rc.d-present"])
def test_nothing_installed_installs_everything_with_service_starts_refused(stub, present):
    policy = stub / "policy-rc.d"
    if present:
        policy.write_text("#!/bin/sh\n# the image's own\nexit 101\n")
        policy.chmod(0o750)
        os.utime(policy, ns=(1_000_000_000, 1_000_000_000))
        before = snapshot(policy)
    proc = run(stub, "packages")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed_call(stub) == PACKAGES
    assert "apt-get update -q" in log(stub)[0]
    # every apt call ran while a policy-rc.d refused service starts (exit 101)
    assert [line for line in log(stub) if line.startswith("policy-rc.d")] == ["policy-rc.d exit 101"] * 2
    if present:
        assert snapshot(policy) == before
    else:
        assert not policy.exists()
    assert not list(stub.glob("policy-rc.d.*")), "no saved copy is left behind"


def test_some_installed_installs_only_the_missing(stub):
    (stub / "installed").write_text("\n".join(PACKAGES[::2]) + "\n")
    proc = run(stub, "packages")
    assert proc.returncode == 0, proc.stderr
    assert installed_call(stub) == PACKAGES[1::2]


def test_all_installed_calls_no_package_tool(stub):
    (stub / "installed").write_text("\n".join(PACKAGES) + "\n")
    policy = stub / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 0\n")
    before = snapshot(policy)
    proc = run(stub, "packages")
    assert proc.returncode == 0, proc.stderr
    assert "all %d present" % len(PACKAGES) in proc.stdout
    assert log(stub) == []
    assert snapshot(policy) == before


@pytest.mark.parametrize("present", [False, True], ids=["no-policy-rc.d", "policy-rc.d-present"])
def test_failed_install_says_what_failed_and_restores_policy_rc_d(stub, present):
    (stub / "apt_rc").write_text("100")
    policy = stub / "policy-rc.d"
    if present:
        policy.write_text("#!/bin/sh\nexit 0\n")  # one that allows starts: ours stands in meanwhile
        before = snapshot(policy)
    proc = run(stub, "packages")
    assert proc.returncode == 100
    assert 'step "apt-get update" failed' in proc.stderr
    assert "what to do:" in proc.stderr and "sources.list" in proc.stderr
    if present:
        assert snapshot(policy) == before
    else:
        assert not policy.exists()
    assert not list(stub.glob("policy-rc.d.*"))


def test_install_failure_names_the_install_step(stub):
    (stub / "bin" / "apt-get").write_text(
        '#!/bin/bash\necho "apt-get $*" >>"$STUB/log"\n[ "$1" = update ] || exit 100\n')
    proc = run(stub, "packages")
    assert proc.returncode == 100
    assert 'step "apt-get install" failed' in proc.stderr and "rerun" in proc.stderr


def test_systemd_as_pid1_starts_units_and_records_no_pid(stub):
    (stub / "pid1").write_text("systemd\n")
    proc = run(stub, "up")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = log(stub)
    assert "systemctl start docker" in calls
    assert "systemctl start virtlogd libvirtd" in calls
    assert "systemctl start lxd" in calls
    assert "systemctl start openvswitch-switch" in calls
    assert not [c for c in calls if c.startswith("setsid")], calls
    assert not list((stub / "state").glob("*.pid"))
    # a later `down` stops nothing: systemd owns those daemons
    down = run(stub, "down")
    assert down.returncode == 0 and "stopping" not in down.stdout


def test_daemon_that_never_answers_is_named(stub):
    (stub / "pid1").write_text("systemd\n")
    (stub / "bin" / "systemctl").write_text("#!/bin/bash\nexit 0\n")  # starts nothing
    proc = run(stub, "up", VIRTCLOUD_READY_SECS="1")
    assert proc.returncode == 1
    assert "dockerd did not become ready within 1s" in proc.stderr
    assert "journalctl -u docker" in proc.stderr


# ---------------------------------------------------------------- venv-oldest
# A python3 stub: `-c` probes pass, `-m venv DIR` makes DIR/bin/python (this stub again), and
# `-m pip ...` is logged (and fails while $STUB/pip_rc says so).
PYTHON_STUB = r'''#!/bin/bash
case "$1" in
  -c) exit 0 ;;
  -m)
    case "$2" in
      venv) mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; echo "venv $3" >>"$STUB/log"; exit 0 ;;
      pip) shift 2; echo "pip $*" >>"$STUB/log"; exit "$(cat "$STUB/pip_rc" 2>/dev/null || echo 0)" ;;
    esac ;;
esac
exit 3
'''


@pytest.fixture
def checkout(tmp_path):
    """A checkout in a private directory with the files venv-oldest reads, and a stubbed python3."""
    root = tmp_path / "src"
    (root / "scripts").mkdir(parents=True)
    (root / "meta").mkdir()
    root.chmod(0o700)
    (root / "scripts" / "host.sh").write_text(open(HOST_SH).read())
    (root / "meta" / "runtime.yml").write_text('---\nrequires_ansible: ">=2.16.1"\naction_groups: {}\n')
    (root / "requirements.txt").write_text("docker>=7.0,<8\nlxml>=4.9\n")
    (root / "requirements-dev.txt").write_text(
        "ansible-core>=2.17  # newest\nansible-lint>=24.0\npytest>=8.0\npytest-timeout>=2.3   # per test\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").write_text(PYTHON_STUB)
    (bindir / "python3").chmod(0o755)
    (tmp_path / "log").write_text("")
    return root


def run_oldest(checkout, command="venv-oldest"):
    stub = checkout.parent
    env = dict(os.environ, STUB=str(stub), PYTHON=str(stub / "bin" / "python3"),
               PATH=str(stub / "bin") + os.pathsep + os.environ["PATH"])
    env.pop("VIRTCLOUD_OLDEST_VENV", None)
    return subprocess.run(["bash", str(checkout / "scripts" / "host.sh"), command], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_venv_oldest_follows_the_claim_and_reruns_instantly(checkout):
    assert run_oldest(checkout, "oldest-core").stdout == "2.16\n"  # what the Makefile names the venv after
    proc = run_oldest(checkout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    venv = checkout / ".venv-2.16"  # named after meta/runtime.yml's requires_ansible
    pips = [line for line in log(checkout.parent) if line.startswith("pip install")]
    assert log(checkout.parent)[0] == "venv %s" % venv
    assert pips[-1] == ("pip install -q ansible-core>=2.16,<2.17 pytest>=8.0 pytest-timeout>=2.3 -r %s"
                        % (checkout / "requirements.txt"))
    assert (venv / ".virtcloud-stamp").is_file()

    (checkout.parent / "log").write_text("")
    again = run_oldest(checkout)
    assert again.returncode == 0 and "up to date" in again.stdout
    assert log(checkout.parent) == []  # no venv, no pip: instant

    # a changed requirement or claim reinstalls into the same venv
    (checkout / "meta" / "runtime.yml").write_text("requires_ansible: '>=2.17.0'\n")
    third = run_oldest(checkout)
    assert third.returncode == 0, third.stderr
    assert (checkout / ".venv-2.17" / ".virtcloud-stamp").is_file()
    assert "ansible-core>=2.17,<2.18" in log(checkout.parent)[-1]


def test_venv_oldest_failed_install_says_so_and_retries(checkout):
    (checkout.parent / "pip_rc").write_text("1")
    proc = run_oldest(checkout)
    assert proc.returncode == 1
    assert 'step "pip install (oldest ansible-core)" failed' in proc.stderr and "PYTHON=python3.N" in proc.stderr
    assert not (checkout / ".venv-2.16" / ".virtcloud-stamp").exists()
    (checkout.parent / "pip_rc").write_text("0")
    (checkout.parent / "log").write_text("")
    assert run_oldest(checkout).returncode == 0
    assert any(line.startswith("pip install -q ansible-core") for line in log(checkout.parent))


def test_venv_oldest_without_a_claim_names_the_file(checkout):
    (checkout / "meta" / "runtime.yml").write_text("---\naction_groups: {}\n")
    proc = run_oldest(checkout)
    assert proc.returncode == 1 and "meta/runtime.yml has no requires_ansible" in proc.stderr
    assert log(checkout.parent) == []
