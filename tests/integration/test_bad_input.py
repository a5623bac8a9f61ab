"""The bad input matrix (issue 21, "keep proving it"): for every module, cases generated from its
service's option table -- wrong types, values out of range or outside the choices, hostile names and
the option pairs its module_kwargs declare mutually exclusive -- plus a short hand list of
module-specific conflicts. Each runs for real (not in check mode), and must fail with a message that
names the option before anything is written: every case uses names of its own, and after the module's
cases the objects are looked up through docker, virsh or the file system, where none may exist.

A hostile name the backend does take (libvirt names guests with spaces or unicode) is accepted, not
refused: then the module must have made exactly that object, and its rerun must change nothing; the
object is removed again. Every case is recorded under "bad input" (tests/lib/reliability.py)."""

from __future__ import annotations

import concurrent.futures
import glob
import importlib
import json
import os
import re
import uuid

import pytest

from conftest import ROOT, run_module, sh
from dockertest import httpd_image  # noqa: F401 pylint: disable=unused-import
from lib.lxd import build_busybox_image
from lib.reliability import record

URI = "qemu:///system"
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")))
BATCHES = {"libvirt_domains": "domains", "docker_containers": "containers", "lxd_instances": "instances"}
# "{}": the case's own mark, so that side-by-side cases never share a name (".." cannot carry one)
HOSTILE_NAMES = {"dotdot": "..", "slash": "a/b{}", "space": "a {}", "unicode": "gäst{}", "empty": "",
                 "long": "n" * 290 + "{}", "list": ["a", "{}"]}
WORKERS = 16


def service_class(module):
    """The Service class a module file runs (the last `...Service` it imports)."""
    with open(os.path.join(ROOT, "plugins", "modules", module + ".py")) as handle:
        imports = re.findall(r"^from (ansible_collections\S+) import (\w+Service)$", handle.read(), re.M)
    path, name = imports[-1]
    return getattr(importlib.import_module(path), name)


def table(module):
    cls = service_class(module)
    return cls, {**cls.connection, **cls.options}


# ---------------------------------------------------------------- generated cases
def wrong_values(name, opt):
    """(label, value) pairs that are wrong for an option of this type, out of its range or choices."""
    if opt.type == "int":
        yield "a word for an int", "many"
        if name not in MAY_BE_NEGATIVE:
            yield "negative", -1
    elif opt.type == "float":
        yield "a word for a float", "lots"
        yield "negative", -1.5
    elif opt.type == "bool":
        yield "a word for a bool", "maybe"
    elif opt.type == "list":
        yield "a dict for a list", {"x": 1}
        if opt.choices:
            yield "a list item outside the choices", ["bogus"]
    elif opt.type == "dict":
        yield "a list for a dict", ["x"]
    elif opt.type == "str" and opt.choices:
        yield "a list for a string", ["a", "b"]
        yield "outside the choices", "bogus"
    elif opt.type == "raw" and name in SIZES:
        yield "a negative size", "-1GiB"
        yield "a word for a size", "lots"
        yield "a dict for a size", {"x": 1}


SIZES = ("memory", "current_memory", "size", "capacity")
# Docker's own meaning of -1: no limit (pids), wait for ever (stop)
MAY_BE_NEGATIVE = ("pids_limit", "stop_timeout")
# names that are not hostile to a backend: an image repository has path components
NOT_HOSTILE = {"docker_image": ("slash",)}

# module.case -> what is wrong: cases the collection does not handle yet. They are recorded as not
# handled and are the expected failures of their own test (strict: once fixed, it says so)
KNOWN_GAPS = {}  # none left: ansible-core's first message for a list given to a dict option named no option

# module -> (label, option named by the message, args): conflicts and ranges beyond the option table
HAND = {
    "libvirt_domain": [("vcpus 0", "vcpus", {"vcpus": 0}),
                       ("vcpus above max_vcpus", "vcpus", {"vcpus": 4, "max_vcpus": 2}),
                       ("nic on VLAN 5000", "nics", {"nics": [{"network": "vct-none", "vlan": 5000}]})],
    "libvirt_network": [("portgroup on VLAN 5000", "portgroups", {"portgroups": [{"name": "pg", "vlan": 5000}]}),
                        ("mtu 70000", "mtu", {"mtu": 70000})],
    "docker_container": [("port 70000", "published_ports", {"published_ports": ["70000:80"]}),
                         ("log_options without log_driver", "log_driver", {"log_options": {"max-size": "1m"}})],
    "docker_network": [("gateway outside the subnet", "gateway",
                        {"subnet": "198.19.254.0/28", "gateway": "198.19.253.1"}),
                       ("macvlan without parent", "parent", {"driver": "macvlan"})],
    "disk_image": [("source_format without source", "source", {"source_format": "raw"})],
    "docker_info": [("a dict for names", "containers", {"containers": {"x": 1}}),
                    ("a path for a volume name", "volumes", {"volumes": ["../x"]})],
    "libvirt_snapshot": [("keep with state=absent", "keep", {"state": "absent", "keep": 2}),
                         ("max_age not an age", "max_age", {"max_age": "7 days"})],
    "libvirt_volume": [("upload_format without upload", "upload", {"upload_format": "raw"})],
    "lxd_info": [("a kind named but not gathered", "names", {"names": {"images": "x"}}),
                 ("not a join token", "trust_token", {"trust_token": "not-a-token"}),
                 ("http url", "url", {"url": "http://127.0.0.1:8443"})],
    "lxd_image": [("alias with a remote's colon", "aliases", {"aliases": ["remote:x"]}),
                  ("rootfs without metadata", "source.metadata", {"source": {"rootfs": "/nonexistent.tar.gz"}})],
    "lxd_network": [("ipv4.address auto", "config.ipv4.address", {"config": {"ipv4.address": "auto"}}),
                    ("ipv6.address without prefix", "config.ipv6.address", {"config": {"ipv6.address": "2001:db8::1"}})],
    "lxd_profile": [("device without type", "devices.eth0", {"devices": {"eth0": {"network": "lxdbr0"}}})],
    "lxc_container": [("unknown template", "template", {"template": "vct-none"}),
                      ("unknown config key", "config", {"config": {"lxc.vct.none": "1"}}),
                      ("config value LXC refuses", "config", {"config": {"lxc.start.auto": "sometimes"}})],
}

# a valid value for each option a conflict names (the conflict, not the value, must be refused)
VALID = {"build": {"path": "/nonexistent"}, "import_from": "/nonexistent.tar", "load_from": "/nonexistent.tar",
         "platform": "linux/amd64", "ipam_config": [{"subnet": "198.19.252.0/28"}], "subnet": "198.19.251.0/28",
         "gateway": "198.19.251.1", "ip_range": "198.19.251.0/29", "clone_from": "vct-none",
         "upload": "/nonexistent.raw", "template": "busybox", "source": "vct-none", "snapshot": "s1",
         "restore_snapshot": "s1", "backing": "vct-none"}


def conflicts(cls):
    for group in cls.module_kwargs.get("mutually_exclusive", []):
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                yield "%s with %s" % (first, second), first, {first: VALID[first], second: VALID[second]}


def cases(module):
    """(case label, option the message must name, args) of one module."""
    cls, options = table(module)
    out = []
    for name, opt in sorted(options.items()):
        for label, value in wrong_values(name, opt):
            out.append(("%s: %s" % (name, label), name, {name: value}))
        if name == "name" and opt.required and opt.type == "str":
            for label, value in HOSTILE_NAMES.items():
                if label in NOT_HOSTILE.get(module, ()):
                    continue
                out.append(("name: hostile %s" % label, name, {"name": value}))
    out += [("%s: %s" % (option, label), option, args) for label, option, args in conflicts(cls)]
    out += [("%s: %s" % (option, label), option, args) for label, option, args in HAND.get(module, [])]
    return out


# ---------------------------------------------------------------- what each module needs to run
class Place:
    """Valid arguments per module, each case named apart, and how to find what a case left."""

    def __init__(self, tmp, pool, image, prefix, lxd_files, lxd_image=None, switch=None):
        self.tmp, self.pool, self.image, self.prefix = tmp, pool, image, prefix
        self.switch = switch  # an Open vSwitch bridge for host_vlan's ports
        self.lxd_files = lxd_files  # a split LXD image of its own: a case never touches another test's image
        self.lxd_image = lxd_image  # the session's busybox image, for instances

    def base(self, module, tag, index):
        name = "%s%s%03d" % (self.prefix, tag, index)
        subnet = "198.19.%d.0/28" % (200 + index % 50)
        return {
            "disk_image": {"path": os.path.join(self.tmp, name + ".qcow2"), "size": "1MiB", "format": "qcow2"},
            "host_bridge": {"name": name, "enabled": False},
            "host_network_info": {"names": ["lo"], "ovs": "never"},
            "host_vlan": {"name": name, "type": "ovs", "bridge": self.switch, "vlan_id": 10, "internal": True},
            "host_vxlan": {"name": name, "vni": 100 + index, "remotes": ["198.19.250.2"], "enabled": False},
            "docker_container": {"name": name, "image": self.image, "state": "present"},
            "docker_container_exec": {"container": name, "command": "true"},
            "docker_containers": {"name": name, "image": self.image, "state": "present"},
            "docker_image": {"name": "local/%s:1" % name, "pull": "never"},
            "docker_info": {},
            "docker_network": {"name": name, "internal": True, "subnet": subnet},
            "docker_volume": {"name": name},
            "libvirt_domain": {"uri": URI, "name": name, "memory": "64MiB", "virt_type": "qemu"},
            "libvirt_domain_info": {"uri": URI, "name": [name]},
            "libvirt_domains": {"name": name, "memory": "64MiB", "virt_type": "qemu"},
            "libvirt_network": {"uri": URI, "name": name, "active": False, "forward": "isolated",
                                "address": "198.19.%d.1/28" % (200 + index % 50)},
            "libvirt_network_info": {"uri": URI, "name": name},
            "libvirt_pool": {"uri": URI, "name": name, "path": os.path.join(self.tmp, name), "active": False},
            "libvirt_storage_info": {"uri": URI, "name": name},
            "libvirt_snapshot": {"uri": URI, "domain": name, "name": "s1"},
            # the destination is this libvirtd under another URI: reachable, so the cases reach the checks
            "libvirt_migrate": {"uri": URI, "name": name, "dest_uri": "qemu+unix:///system"},
            "libvirt_volume": {"uri": URI, "name": name, "pool": self.pool, "capacity": "1MiB", "format": "qcow2"},
            "lxd_info": {"gather": ["storage_pools"]},
            "lxd_image": {"aliases": [name], "source": {"metadata": self.lxd_files[0], "rootfs": self.lxd_files[1]}},
            "lxd_network": {"name": name, "config": {"ipv4.address": "none"}},
            "lxd_profile": {"name": name, "config": {"user.vct": "1"}},
            "lxc_container": {"name": name, "template": "busybox", "network": "none", "state": "present"},
            "lxd_instance": {"name": name, "image": self.lxd_image, "state": "present"},
            "lxd_instances": {"name": name, "image": self.lxd_image, "state": "present"},
            "ova_export": {"uri": URI, "name": name, "dest": os.path.join(self.tmp, name + ".ova")},
            "ova_import": {"uri": URI, "src": os.path.join(self.tmp, name + ".ova"), "pool": self.pool,
                           "cache_dir": os.path.join(self.tmp, "cache")},
            "ovf_info": {"src": os.path.join(self.tmp, name + ".ova")},
        }[module]

    def args(self, module, tag, index, extra):
        base = self.base(module, tag, index)
        mark = "%s%s%03d" % (self.prefix, tag, index)
        extra = {key: (value.format(mark) if isinstance(value, str) and key == "name" else
                       [v.format(mark) for v in value] if isinstance(value, list) and key == "name" else value)
                 for key, value in extra.items()}
        if module in BATCHES:
            item = {**base, **extra}
            return {"uri": URI, BATCHES[module]: [item]} if module.startswith("libvirt") else \
                {BATCHES[module]: [item]}
        return {**base, **extra}

    def leftovers(self, tag):
        """Every object, file or guest whose name carries this module's tag."""
        mark = self.prefix + tag
        names = []
        for argv in (("virsh", "-c", URI, "list", "--all", "--name"), ("virsh", "-c", URI, "net-list", "--all", "--name"),
                     ("virsh", "-c", URI, "pool-list", "--all", "--name"), ("virsh", "-c", URI, "vol-list", self.pool),
                     ("docker", "ps", "-a", "--format", "{{.Names}}"), ("docker", "network", "ls", "--format", "{{.Name}}"),
                     ("docker", "volume", "ls", "--format", "{{.Name}}"),
                     ("docker", "images", "--format", "{{.Repository}}:{{.Tag}}")):
            names += [line for line in sh(*argv).stdout.splitlines() if mark in line]
        for kind in ("list", "image list", "network list", "profile list"):  # LXD: instances, images, ...
            listed = sh("lxc", *kind.split(), "--format", "json", check=False).stdout or "[]"
            for entry in json.loads(listed):
                labels = [entry.get("name") or ""] + [a.get("name", "") for a in entry.get("aliases") or []]
                names += [label for label in labels if mark in label]
        names += [line for line in sh("lxc-ls", "-1").stdout.split() if mark in line]
        names += [link["ifname"] for link in json.loads(sh("ip", "-j", "link").stdout) if mark in link["ifname"]]
        names += [line for line in sh("ovs-vsctl", "list-ports", self.switch).stdout.split() if mark in line]
        for root, dirs, files in os.walk(self.tmp):
            names += [os.path.join(root, n) for n in dirs + files if mark in n]
        return names


def cleanup(module, args):
    """Remove what an accepted case made, through the module itself."""
    if module in BATCHES:
        item = dict(args[BATCHES[module]][0], state="absent")
        run_module(module, **dict(args, **{BATCHES[module]: [item]}))
    elif module == "libvirt_pool":
        run_module(module, **dict(args, state="absent", delete_data=True))
    elif module == "disk_image" or module.startswith(("libvirt", "docker", "lxd", "lxc")) or \
            module in ("host_bridge", "host_vlan", "host_vxlan"):
        run_module(module, **dict(args, state="absent"))


def names_option(msg, option, module):
    """The message names the option: it starts with it (the engine's InputError), with the batch
    item's path, or contains it (AnsibleModule's argument spec errors)."""
    prefixes = (option, "%s[0].%s" % (BATCHES.get(module), option))
    return msg.startswith(prefixes) or re.search(r"\b%s\b" % re.escape(option), msg) is not None


def exists(module, args):
    """The object an accepted case made, looked up by its exact name through the backend's CLI."""
    item = args[BATCHES[module]][0] if module in BATCHES else args
    name = item.get("name")
    if module.startswith("libvirt_domain"):
        return sh("virsh", "-c", URI, "dominfo", name, check=False).returncode == 0
    if module == "libvirt_network":
        return sh("virsh", "-c", URI, "net-info", name, check=False).returncode == 0
    if module == "libvirt_pool":
        return sh("virsh", "-c", URI, "pool-info", name, check=False).returncode == 0
    if module == "libvirt_volume":
        return sh("virsh", "-c", URI, "vol-info", name, "--pool", item["pool"], check=False).returncode == 0
    if module.startswith("docker_container"):
        return sh("docker", "container", "inspect", name, check=False).returncode == 0
    if module in ("docker_network", "docker_volume"):
        return sh("docker", module[len("docker_"):], "inspect", name, check=False).returncode == 0
    if module in ("lxd_network", "lxd_profile"):
        return sh("lxc", module[len("lxd_"):], "show", name, check=False).returncode == 0
    if module == "lxc_container":
        return isinstance(name, str) and sh("lxc-info", "-n", name, check=False).returncode == 0
    if module in ("host_bridge", "host_vlan", "host_vxlan"):
        return isinstance(name, str) and sh("ip", "link", "show", "dev", name, check=False).returncode == 0
    if module.startswith("lxd_instance"):  # by exact name: `lxc config show ""` shows the server's config
        return name in [i["name"] for i in json.loads(sh("lxc", "list", "--format", "json").stdout)]
    return False


def attempt(module, case, option, args):
    """Run one case; (handled, detail)."""
    out = run_module(module, **args)
    if out.get("failed"):
        msg = out.get("msg", "")
        if "Traceback" in msg or msg.startswith("unexpected error") or not names_option(msg, option, module):
            return False, "refused without naming %s: %s" % (option, msg[:200])
        if out.get("changed"):
            return False, "refused after a change: %s" % msg[:200]
        if "hostile" in case and exists(module, args):
            return False, "refused, but made the object"
        return True, "refused"
    # accepted: only a name may be, and then exactly that object, a rerun without change
    if "hostile" not in case:
        cleanup(module, args)
        return False, "accepted"
    made = exists(module, args)
    rerun = run_module(module, **args)
    cleanup(module, args)
    if not made:
        return False, "accepted but no object of that exact name"
    if rerun.get("failed") or rerun.get("changed"):
        return False, "accepted, but the rerun changed or failed: %s" % rerun.get("msg", "")
    return True, "accepted: made as named, rerun unchanged"


@pytest.fixture(scope="module")
def place(tmp_path_factory, libvirt_daemon, docker_daemon, lxd_daemon, ovs_daemon, httpd_image, lxd_busybox):  # noqa: F811
    tmp = str(tmp_path_factory.mktemp("badinput"))
    lxd_files = build_busybox_image(str(tmp_path_factory.mktemp("badinput-lxd")), description="vct bad input matrix")
    pool = "vctbad" + uuid.uuid4().hex[:6]
    result = run_module("libvirt_pool", uri=URI, name=pool, path=os.path.join(tmp, "pool"))
    assert result.get("changed"), result
    switch = "vcsw" + uuid.uuid4().hex[:6]
    sh("ovs-vsctl", "add-br", switch, "--", "set", "bridge", switch, "datapath_type=netdev")
    try:
        yield Place(tmp, pool, httpd_image, "vctb" + uuid.uuid4().hex[:4], lxd_files, lxd_busybox["alias"], switch)
    finally:
        sh("ovs-vsctl", "--if-exists", "del-br", switch, check=False)
        for volume in sh("virsh", "-c", URI, "-q", "vol-list", pool, check=False).stdout.splitlines():
            if volume.strip():
                sh("virsh", "-c", URI, "vol-delete", volume.split()[0], "--pool", pool, check=False)
        sh("virsh", "-c", URI, "pool-destroy", pool, check=False)
        sh("virsh", "-c", URI, "pool-undefine", pool, check=False)


@pytest.fixture(scope="module")
def outcomes(place):
    """Every case of every module, run side by side (they never share a name): module -> a list of
    (case, handled, detail), each recorded."""
    todo = [(module, "%02d" % number, index, case, option)
            + (place.args(module, "%02d" % number, index, extra),)
            for number, module in enumerate(MODULES) for index, (case, option, extra) in enumerate(cases(module))]
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda c: attempt(c[0], c[3], c[4], c[5]), todo))
    left = {tag: place.leftovers(tag) for tag in {c[1] for c in todo}}  # looked up once per module
    out = {}
    for (module, tag, index, case, _option, _args), (handled, detail) in zip(todo, results):
        mine = [name for name in left[tag] if "%s%s%03d" % (place.prefix, tag, index) in name]
        if handled and mine:
            handled, detail = False, "left %s behind" % ", ".join(os.path.basename(n) for n in mine)
        record("bad input", "%s.%s" % (module, case), handled, detail=detail)
        out.setdefault(module, []).append(("%s.%s" % (module, case), handled, detail))
    return out


def problems(outcomes, module, known):  # pylint: disable=redefined-outer-name
    return ["%s: %s" % (case, detail) for case, handled, detail in outcomes[module]
            if not handled and (case in KNOWN_GAPS) == known]


@pytest.mark.parametrize("module", [m for m in MODULES if cases(m)])
def test_bad_input_fails_before_any_write_naming_the_option(outcomes, module):  # pylint: disable=redefined-outer-name
    assert not problems(outcomes, module, known=False), "\n".join(problems(outcomes, module, known=False))


@pytest.mark.xfail(strict=True, reason="the collection does not handle these bad inputs yet (KNOWN_GAPS)")
@pytest.mark.parametrize("module", sorted({case.split(".")[0] for case in KNOWN_GAPS}))
def test_known_gaps(outcomes, module):  # pylint: disable=redefined-outer-name
    assert not problems(outcomes, module, known=True), "\n".join(problems(outcomes, module, known=True))
