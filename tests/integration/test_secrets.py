"""Secrets (issue 21): every secret option of every module (the no_log options, and the secrets that
ride in a free-form dict such as ova_import's `domain`) is set to a unique marker and run through
ansible-playbook with -vvv and --diff, against the real daemons. The marker must appear nowhere: not in
the transcript (stdout and stderr), not in the registered results, not in Ansible's log, not in any file
written meanwhile under ~/.ansible, the temporary directory or the daemons' logs. A run that fails (a
registry that refuses) is searched as well: the transcript of a failure must not leak either."""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import os
import random
import subprocess
import tempfile
import time

import pytest

from conftest import COLLECTIONS, ROOT, VENV_BIN, _env, sh
from lib.lxd import build_busybox_image, cert_fingerprint
from lib.reliability import record
from test_ova_import import build

URI = "qemu:///system"
# Where a run may leave files: only files written since the run started are read.
SEARCHED = [os.path.expanduser("~/.ansible"), tempfile.gettempdir(), "/var/log", "/run/virtcloud/log"]


def marker(length=24):
    """A string found nowhere by chance: letters that are no hex digit (VNC takes at most 8 characters)."""
    return "vS" + "".join(random.choice("ghjkmnpqrstuvwxyz") for position in range(length - 2))


def leaked_files(markers, since, skip):
    hits = []
    wanted = [m.encode() for m in markers]
    for top in SEARCHED:
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if os.path.join(folder, d) != skip]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                    if not os.path.isfile(path) or os.path.islink(path) or info.st_mtime < since \
                            or info.st_size > 64 << 20:
                        continue
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                hits.extend("%s (%s)" % (path, m.decode()) for m in wanted if m in data)
    return hits


def run_play(tmp_path, tasks, registered):
    """Run `tasks` with -vvv --diff; return (transcript, registered results as text, log text).
    The playbook (which holds the markers) lives in a folder of its own that the search skips."""
    play_dir = tmp_path / "play"
    out_dir = tmp_path / "out"
    play_dir.mkdir()
    out_dir.mkdir()
    results = str(out_dir / "results.json")
    dump = {"name": "what the tasks registered", "copy": {
        "content": "{{ {%s} | to_nice_json }}" % ", ".join("'%s': %s" % (r, r) for r in registered),
        "dest": results}}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks + [dump]}]
    path = play_dir / "site.yml"
    path.write_text(json.dumps(play, indent=1))
    env = dict(_env(), ANSIBLE_LOG_PATH=str(out_dir / "ansible.log"))
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-vvv", "--diff", str(path)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False)
    transcript = proc.stdout + proc.stderr
    assert os.path.exists(results), "the play did not get to its end:\n" + transcript[-6000:]
    with open(results) as handle:
        registered_text = handle.read()
    return transcript, json.loads(registered_text), str(play_dir)


def prove(tmp_path, case, tasks, registered, markers):
    since = time.time() - 1
    transcript, results, skip = run_play(tmp_path, tasks, registered)
    where = [name for name, text in (("transcript", transcript), ("results", json.dumps(results)))
             for m in markers if m in text]
    where += leaked_files(markers, since, skip)
    record("secrets", case, handled=not where, detail="; ".join(where))
    assert not where, "%s leaked into: %s" % (case, where)
    return results


def task(module, args, register, **extra):
    return {"name": register, "virtcloud.core." + module: args, "register": register, **extra}


def secret_options():
    """module -> the no_log options of its service, dotted (graphics.password)."""
    from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Service

    def walk(options, prefix):
        for name, opt in options.items():
            if opt.no_log:
                yield prefix + name
            if opt.options:
                yield from walk(opt.options, prefix + name + ".")

    found = {}
    folder = os.path.join(ROOT, "plugins", "modules")
    for module in sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py")):
        code = importlib.import_module("ansible_collections.virtcloud.core.plugins.modules." + module)
        main = inspect.getsource(code.main)
        for name, obj in vars(code).items():
            if inspect.isclass(obj) and issubclass(obj, Service) and name in main:
                paths = list(walk({**obj.connection, **obj.options}, ""))
                if paths:
                    found[module] = paths
    return found


LXD_TRUST = ["trust_password", "trust_token"]
PROVEN = {"docker_image": ["password"], "libvirt_domain": ["graphics.password"],
          "libvirt_domains": ["graphics.password"], "lxd_info": LXD_TRUST,
          "lxd_image": LXD_TRUST, "lxd_network": LXD_TRUST, "lxd_profile": LXD_TRUST,
          "lxd_instance": LXD_TRUST, "lxd_instances": LXD_TRUST}


def test_every_secret_option_is_proven():
    """A secret option added later must join this proof."""
    assert COLLECTIONS  # the collection is importable from the work tree (conftest puts it on the path)
    assert secret_options() == PROVEN


@pytest.fixture
def guests(libvirt_daemon, unique):
    names = [unique + "-a", unique + "-b"]
    yield names
    for name in names:
        sh("virsh", "-c", URI, "destroy", name, check=False)
        sh("virsh", "-c", URI, "undefine", name, "--nvram", check=False)


def secure_xml(name):
    return sh("virsh", "-c", URI, "dumpxml", "--inactive", "--security-info", name).stdout


def test_docker_registry_password_of_a_refused_pull(docker_daemon, tmp_path):
    secret = marker()
    args = {"name": "127.0.0.1:9/vct/secret:1", "username": "vct", "password": secret, "registry": "127.0.0.1:9"}
    tasks = [task("docker_image", args, "predicted", check_mode=True, ignore_errors=True),
             task("docker_image", args, "pulled", ignore_errors=True)]
    results = prove(tmp_path, "docker_image.password", tasks, ["predicted", "pulled"], [secret])
    assert results["pulled"].get("failed") and "127.0.0.1:9" in results["pulled"]["msg"], results


def test_vnc_password_of_a_running_guest_and_its_change(guests, tmp_path):
    first, second = marker(8), marker(8)
    spec = {"uri": URI, "name": guests[0], "virt_type": "qemu", "memory": 64, "state": "running",
            "graphics": {"type": "vnc", "password": first}}
    changed = {**spec, "graphics": {"type": "vnc", "password": second}}
    tasks = [task("libvirt_domain", spec, "predicted", check_mode=True),
             task("libvirt_domain", spec, "defined"),
             task("libvirt_domain", spec, "rerun"),
             task("libvirt_domain", changed, "change_predicted", check_mode=True),
             task("libvirt_domain", changed, "changed"),
             task("libvirt_domain_info", {"uri": URI, "name": guests[0]}, "info")]
    results = prove(tmp_path, "libvirt_domain.graphics.password", tasks,
                    ["predicted", "defined", "rerun", "change_predicted", "changed", "info"], [first, second])
    assert results["defined"]["changed"] and not results["rerun"]["changed"], results
    assert results["changed"]["changed"], results
    assert "passwd='%s'" % second in secure_xml(guests[0])  # the secret reached libvirt (applied at restart)


def test_graphics_passwords_of_a_batch(guests, tmp_path):
    vnc, spice, vnc2 = marker(8), marker(), marker(8)
    items = [{"name": guests[0], "virt_type": "qemu", "memory": 64, "graphics": {"type": "vnc", "password": vnc}},
             {"name": guests[1], "virt_type": "qemu", "memory": 64,
              "graphics": {"type": "spice", "password": spice}}]
    again = [{**items[0], "graphics": {"type": "vnc", "password": vnc2}}, items[1]]
    tasks = [task("libvirt_domains", {"uri": URI, "domains": items}, "predicted", check_mode=True),
             task("libvirt_domains", {"uri": URI, "domains": items}, "defined"),
             task("libvirt_domains", {"uri": URI, "domains": again}, "changed")]
    results = prove(tmp_path, "libvirt_domains.graphics.password", tasks, ["predicted", "defined", "changed"],
                    [vnc, spice, vnc2])
    assert results["defined"]["changed"] and results["changed"]["changed"], results
    assert "passwd='%s'" % vnc2 in secure_xml(guests[0]) and "passwd='%s'" % spice in secure_xml(guests[1])


def test_graphics_password_in_the_domain_of_an_ova_import(libvirt_daemon, unique, tmp_path):
    """ova_import's `domain` is a dict of libvirt_domain options: its graphics password is a secret
    too. The pool does not exist, so the import fails: after its arguments were logged."""
    secret = marker()
    ova = build(str(tmp_path), unique)[0]
    args = {"uri": URI, "src": ova, "name": unique, "pool": unique + "-nopool", "network_map": {"lan": unique},
            "domain": {"graphics": {"type": "spice", "password": secret}}}
    tasks = [task("ova_import", args, "predicted", check_mode=True, ignore_errors=True),
             task("ova_import", args, "imported", ignore_errors=True)]
    results = prove(tmp_path, "ova_import.domain.graphics.password", tasks, ["predicted", "imported"], [secret])
    assert results["imported"].get("failed"), results


def test_lxd_trust_password_and_token(lxd_remote, tmp_path):
    """The trust password (the server's real one, then a wrong one) and a real join token, against this
    LXD over https: they are used (the certificates become trusted) and appear nowhere."""
    password, wrong = marker(), marker()
    lxd_remote.password(password)
    token = lxd_remote.token("secret")
    base = {"url": lxd_remote.url, "server_cert": lxd_remote.server_cert, "gather": ["profiles"]}
    by_password, by_token, refused = (lxd_remote.client(n) for n in ("bypw", "bytoken", "refused"))
    tasks = [task("lxd_info", {**base, **by_password, "trust_password": password}, "predicted", check_mode=True),
             task("lxd_info", {**base, **by_password, "trust_password": password}, "read"),
             task("lxd_info", {**base, **by_token, "trust_token": token}, "by_token"),
             task("lxd_info", {**base, **refused, "trust_password": wrong}, "refused", ignore_errors=True)]
    results = prove(tmp_path, "lxd_info.trust_password, trust_token", tasks,
                    ["predicted", "read", "by_token", "refused"], [password, wrong, token])
    assert results["read"]["server"]["auth"] == results["by_token"]["server"]["auth"] == "trusted", results
    assert results["refused"].get("failed") and "trust_password" in results["refused"]["msg"], results
    trusted = lxd_remote.trusted()
    assert all(cert_fingerprint(c["client_cert"]) in trusted for c in (by_password, by_token))
    assert cert_fingerprint(refused["client_cert"]) not in trusted


@pytest.fixture
def lxd_objects(lxd_daemon, unique):
    """Names for an image alias, a profile and a network; removed afterwards."""
    names = {"alias": unique + "-img", "profile": unique + "-prof", "network": unique + "n"}
    yield names
    sh("lxc", "image", "delete", names["alias"], check=False)
    sh("lxc", "profile", "delete", names["profile"], check=False)
    sh("lxc", "network", "delete", names["network"], check=False)


def test_lxd_trust_secrets_of_images_profiles_networks(lxd_remote, lxd_objects, tmp_path):
    """The trust password and token of lxd_image, lxd_profile and lxd_network, against this LXD over https:
    used (the image uploaded over TLS by a client the password made trusted, the profile made by one the
    token did) and found nowhere, through a prediction, a create and a removal."""
    password = marker()
    lxd_remote.password(password)
    joined = lxd_remote.token("objects")
    by_password, by_token = lxd_remote.client("objpw"), lxd_remote.client("objects")
    base = {"url": lxd_remote.url, "server_cert": lxd_remote.server_cert}
    meta, rootfs = build_busybox_image(str(tmp_path / "img"), description="vct secrets " + lxd_objects["alias"])
    image = {**base, **by_password, "aliases": [lxd_objects["alias"]], "source": {"metadata": meta, "rootfs": rootfs},
             "properties": {"vct": "1"}, "trust_password": password}
    profile = {**base, **by_token, "name": lxd_objects["profile"], "config": {"user.vct": "1"}, "trust_token": joined}
    network = {**base, **by_password, "name": lxd_objects["network"], "description": "vct", "trust_password": password}
    tasks = [task("lxd_image", image, "image_predicted", check_mode=True), task("lxd_image", image, "image"),
             task("lxd_profile", profile, "profile"), task("lxd_network", network, "network"),
             task("lxd_image", {**image, "state": "absent"}, "image_removed"),
             task("lxd_profile", {**profile, "state": "absent"}, "profile_removed"),
             task("lxd_network", {**network, "state": "absent"}, "network_removed")]
    registered = [t["register"] for t in tasks]
    results = prove(tmp_path, "lxd_image, lxd_profile, lxd_network.trust_password / trust_token", tasks, registered,
                    [password, joined])
    assert all(results[name]["changed"] for name in registered), results
    assert results["image"]["image"]["properties"]["vct"] == "1" and results["profile"]["profile"]["config"] == \
        {"user.vct": "1"}
    trusted = lxd_remote.trusted()
    assert all(cert_fingerprint(c["client_cert"]) in trusted for c in (by_password, by_token))
    assert sh("lxc", "profile", "show", lxd_objects["profile"], check=False).returncode != 0


@pytest.fixture
def lxd_names(lxd_busybox, unique):
    names = [unique + "-a", unique + "-b"]
    yield names
    for name in names:
        sh("lxc", "delete", "--force", name, check=False)


def test_lxd_trust_secrets(lxd_busybox, lxd_names, tmp_path):
    """The trust password and token of the LXD connection: a local daemon trusts the socket's user and
    never needs them, but they are logged with the arguments of every run and must be masked there."""
    password, secret = marker(), marker()
    # a join token as `lxc config trust add` prints it: base64 of JSON naming a certificate and a secret
    token = base64.b64encode(json.dumps({"client_name": "vct", "fingerprint": "ab" * 32, "addresses": [],
                                         "secret": secret, "expires_at": "0001-01-01T00:00:00Z"}).encode()).decode()
    single = {"name": lxd_names[0], "image": lxd_busybox["alias"], "state": "present", "trust_password": password}
    batch = {"instances": [{"name": lxd_names[1], "image": lxd_busybox["alias"], "state": "present"}],
             "trust_token": token}
    tasks = [task("lxd_instance", single, "predicted", check_mode=True),
             task("lxd_instance", single, "created"),
             task("lxd_instances", batch, "batch_predicted", check_mode=True),
             task("lxd_instances", batch, "batch_created"),
             task("lxd_instance", {**single, "trust_token": token}, "refused", ignore_errors=True)]
    results = prove(tmp_path, "lxd_instance(s).trust_password / trust_token", tasks,
                    ["predicted", "created", "batch_predicted", "batch_created", "refused"],
                    [password, token, secret])
    assert results["created"]["changed"] and results["batch_created"]["changed"], results
    assert results["refused"].get("failed") and "trust_token" in results["refused"]["msg"], results
