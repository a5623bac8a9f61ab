"""Every example the collection shows runs as written: each module's EXAMPLES and README.md's playbooks,
against the real daemons on localhost (inventory/localhost.yml), in order.

An example is a sequence: it creates what it uses (a pool in a directory, a network, an image built from a
tiny local context) and removes it at the end, so a run leaves nothing behind. Because of that, rerunning
the whole sequence would re-create what its last tasks removed; the rerun check is therefore made task by
task: every task that manages state is run a second time right after itself ("... (again)") and that
second run must report no change. Skipped: tasks tagged `registry` (a pull or push needs a registry) and
the repeat of tasks that only read or run a command (debug, *_info, docker_container_exec) or that change
on every run by design (recreate: always, restart: true, force: true, refresh: true, state rebooted,
restarted or reverted).

One expected failure: host_vlan's "VLAN 20 on eth0" needs the kernel's 8021q module. On a kernel without it
(this one) the task must fail naming 8021q, before touching anything; with 8021q it must run like the rest.
"""

from __future__ import annotations

import ast
import copy
import glob
import os
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT, VENV_BIN, _env, sh  # noqa: E402

MODULES = sorted(os.path.splitext(os.path.basename(p))[0]
                 for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")) if not p.endswith("__init__.py"))
README = os.path.join(ROOT, "README.md")
PREFIX = "example-"
READ_ONLY = ("ansible.builtin.debug", "debug", "ansible.builtin.assert", "ansible.builtin.command", "ansible.builtin.shell",
             "ansible.builtin.stat", "ansible.builtin.slurp", "virtcloud.core.docker_container_exec")
CHANGES_BY_DESIGN = {"recreate": "always", "restart": True, "force": True, "refresh": True}
KEYWORDS = {"name", "register", "vars", "when", "loop", "tags", "changed_when", "failed_when", "ignore_errors", "block",
            "module_defaults", "notify", "environment", "become", "delegate_to", "no_log", "loop_control", "until",
            "retries", "delay", "check_mode", "diff", "args"}
# (source, task name) -> text the failure must contain, while the condition holds
NO_VLAN_FILTERING = ("CONFIG_BRIDGE_VLAN_FILTERING", lambda: not glob.glob("/sys/class/net/*/bridge/vlan_filtering"))
EXPECTED_FAILURES = {
    ("host_vlan", "VLAN 20 on eth0"): ("8021q", lambda: not os.path.isdir("/sys/module/8021q")),
    ("host_vlan", "A VLAN-aware Linux bridge"): NO_VLAN_FILTERING,
    ("host_vlan", "The tunnel as a trunk port of the bridge, VLANs 40 to 49 tagged, untagged frames in VLAN 30"):
        NO_VLAN_FILTERING,
}


def module_examples(module):
    tree = ast.parse(open(os.path.join(ROOT, "plugins", "modules", module + ".py")).read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXAMPLES":
            return yaml.safe_load(node.value.value)
    raise AssertionError("%s has no EXAMPLES" % module)


def readme_playbooks():
    text = open(README).read()
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def task_module(task):
    keys = [k for k in task if k not in KEYWORDS]
    return keys[0] if keys else None


def repeats(task):
    """Whether a task manages state, so that running it again right away must change nothing."""
    module = task_module(task)
    if module is None or module in READ_ONLY or module.endswith("_info") or "changed_when" in task:
        return False
    args = task[module] if isinstance(task[module], dict) else {}
    if args.get("state") in ("rebooted", "restarted", "reverted"):
        return False
    return not any(args.get(k) == v for k, v in CHANGES_BY_DESIGN.items())


def with_repeats(tasks, source):
    out = []
    for task in tasks:
        task = copy.deepcopy(task)
        expected = EXPECTED_FAILURES.get((source, task.get("name")))
        if expected and expected[1]():
            task["ignore_errors"] = True
            out.append(task)
            continue
        if "block" in task:
            task["block"] = with_repeats(task["block"], source)
            out.append(task)
            continue
        out.append(task)
        if repeats(task):
            again = copy.deepcopy(task)
            again["name"] = "%s (again)" % task.get("name", task_module(task))
            out.append(again)
    return out


def task_results(stdout):
    """{task name: [status, ...]} from the default callback's output (one status per host or item)."""
    results, current = {}, None
    for line in stdout.splitlines():
        match = re.match(r"^TASK \[(.*)\] \*+$", line)
        if match:
            current = match.group(1)
            results.setdefault(current, [])
            continue
        match = re.match(r"^(ok|changed|skipping|fatal|failed): \[", line)
        if match and current is not None:
            results[current].append(match.group(1))
    return results


def leftovers():
    """Names starting with the examples' prefix that exist on this host, whatever kind of object."""
    listings = [
        ["docker", "ps", "-a", "--format", "{{.Names}}"], ["docker", "network", "ls", "--format", "{{.Name}}"],
        ["docker", "volume", "ls", "--format", "{{.Name}}"],
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        ["virsh", "-c", "qemu:///system", "list", "--all", "--name"],
        ["virsh", "-c", "qemu:///system", "net-list", "--all", "--name"],
        ["virsh", "-c", "qemu:///system", "pool-list", "--all", "--name"],
        ["lxc", "list", "-c", "n", "-f", "csv"], ["lxc", "network", "list", "-f", "csv"],
        ["lxc", "profile", "list", "-f", "csv"], ["lxc", "image", "alias", "list", "-f", "csv"],
        ["lxc-ls", "-1"], ["ip", "-o", "link", "show"], ["ovs-vsctl", "list-br"],
    ]
    found = []
    for argv in listings:
        if shutil.which(argv[0]) is None:
            continue
        out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60).stdout
        found += ["%s: %s" % (argv[0], line.strip()) for line in out.splitlines() if PREFIX in line]
    found += glob.glob("/var/tmp/%s*" % PREFIX) + glob.glob("/var/lib/virtcloud/%s*" % PREFIX)
    return found


def remove_leftovers():
    """Best effort, after a failed run: remove what carries the examples' prefix, so the next case starts clean."""
    virsh = ["virsh", "-c", "qemu:///system"]
    steps = [
        (["docker", "ps", "-aq", "--filter", "name=" + PREFIX], ["docker", "rm", "-f"]),
        (["docker", "network", "ls", "-q", "--filter", "name=" + PREFIX], ["docker", "network", "rm"]),
        (["docker", "volume", "ls", "-q", "--filter", "name=" + PREFIX], ["docker", "volume", "rm", "-f"]),
        (virsh + ["list", "--all", "--name"], virsh + ["destroy"]),
        (virsh + ["list", "--all", "--name"], virsh + ["undefine", "--nvram", "--remove-all-storage"]),
        (virsh + ["net-list", "--all", "--name"], virsh + ["net-destroy"]),
        (virsh + ["net-list", "--all", "--name"], virsh + ["net-undefine"]),
        (virsh + ["pool-list", "--all", "--name"], virsh + ["pool-destroy"]),
        (virsh + ["pool-list", "--all", "--name"], virsh + ["pool-undefine"]),
        (["lxc", "list", "-c", "n", "-f", "csv"], ["lxc", "delete", "-f"]),
        (["lxc", "profile", "list", "-f", "csv"], ["lxc", "profile", "delete"]),
        (["lxc", "network", "list", "-f", "csv"], ["lxc", "network", "delete"]),
        (["lxc", "image", "alias", "list", "-f", "csv"], ["lxc", "image", "delete"]),
        (["lxc-ls", "-1"], ["lxc-destroy", "-f", "-n"]),
        (["ovs-vsctl", "list-br"], ["ovs-vsctl", "del-br"]),
        (["ip", "-o", "link", "show"], ["ip", "link", "del"]),
    ]
    for listing, remove in steps:
        if shutil.which(listing[0]) is None:
            continue
        out = subprocess.run(listing, capture_output=True, text=True, check=False, timeout=60).stdout
        for line in out.splitlines():
            words = [w for w in re.split(r"[\s,:@]+", line) if w.startswith(PREFIX)]
            if words or (line.strip() and "--filter" in listing):
                subprocess.run(remove + [words[0] if words else line.strip()], capture_output=True, check=False,
                               timeout=120)
    for path in glob.glob("/var/tmp/%s*" % PREFIX) + glob.glob("/var/lib/virtcloud/%s*" % PREFIX):
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    for image in subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                                text=True, check=False).stdout.split():
        if image.startswith(PREFIX):
            subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)


@pytest.fixture(autouse=True)
def clean_host():
    """Each case starts from a host without example objects, and a failed case does not leak into the next."""
    remove_leftovers()
    yield
    remove_leftovers()


def run_examples(plays, source, tmp_path):
    assert not leftovers(), "objects named %s* exist before the run: %s" % (PREFIX, leftovers())
    for play in plays:
        play["tasks"] = with_repeats(play.get("tasks", []), source)
    path = tmp_path / ("%s.yml" % source)
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventory", "localhost.yml"),
            str(path), "--skip-tags", "registry,host_wide,second_host"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600, check=False)
    report = "%s\n%s" % (proc.stdout[-8000:], proc.stderr[-2000:])
    results = task_results(proc.stdout)
    assert proc.returncode == 0, report
    assert results, report
    assert re.search(r"localhost\s*:\s*ok=[1-9]", proc.stdout), "no task ran on localhost:\n" + report
    for name, statuses in results.items():
        if name.endswith(" (again)"):
            assert "changed" not in statuses, "%s changed when run again:\n%s" % (name, report)
    for (where, name), (text, applies) in EXPECTED_FAILURES.items():
        if where == source and applies():
            assert results.get(name) == ["fatal"], report
            assert text in proc.stdout.split("TASK [%s]" % name)[1].split("TASK [")[0], report
    assert not leftovers(), "the examples left these behind: %s" % leftovers()
    return results


@pytest.fixture
def daemons(docker_daemon, libvirt_daemon, lxd_daemon, ovs_daemon):
    """Every example runs against the real daemons."""


@pytest.mark.parametrize("module", MODULES)
def test_module_examples_run_as_written_and_change_nothing_when_repeated(module, daemons, tmp_path):
    tasks = module_examples(module)
    assert isinstance(tasks, list) and tasks, module
    results = run_examples([{"name": module, "hosts": "localhost", "gather_facts": False, "tasks": tasks}],
                           module, tmp_path)
    ran = [n for n, s in results.items() if not n.endswith(" (again)") and s and set(s) != {"skipping"}]
    assert ran, results


def test_readme_playbooks_run_as_written(daemons, tmp_path):
    plays = [play for playbook in readme_playbooks() for play in playbook]
    assert len(plays) >= 2
    groups = yaml.safe_load(open(os.path.join(ROOT, "inventory", "localhost.yml")))
    known = {"all", "localhost"} | set(groups["all"].get("children", {}))
    assert all(play["hosts"] in known for play in plays), [play["hosts"] for play in plays]
    run_examples(plays, "README", tmp_path)


def test_the_repeat_check_catches_a_task_that_is_not_idempotent(daemons, tmp_path):
    """The guard itself: a task that changes every time fails the run."""
    tasks = [{"name": "Always changes", "ansible.builtin.file": {"path": "/var/tmp/%sguard" % PREFIX, "state": "touch"}},
             {"name": "Clean up", "ansible.builtin.file": {"path": "/var/tmp/%sguard" % PREFIX, "state": "absent"}}]
    with pytest.raises(AssertionError, match="changed when run again"):
        run_examples([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], "guard", tmp_path)
    sh("rm", "-f", "/var/tmp/%sguard" % PREFIX)
