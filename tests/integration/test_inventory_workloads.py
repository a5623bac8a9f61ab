"""The virtcloud.core.workloads inventory plugin against the real daemons: a labelled Docker
container, an LXD instance with user.* keys and an address, and a shut-off libvirt guest with
labels in its <metadata>, listed by ansible-inventory; hosts, groups, host variables, keyed_groups,
compose and the cache checked against what the docker CLI, lxc and virsh say."""

from __future__ import annotations

import functools
import json
import os
import random
import tarfile

import pytest

from conftest import VENV_BIN, sh
from dockertest import BUSYBOX
from lib.lxd import lxc

LABELS_NS = "https://virtcloud.dev/xmlns/labels/1"
GUEST = """<domain type='qemu'>
  <name>{name}</name>
  <title>inventory test guest</title>
  <description>made by test_inventory_workloads</description>
  <metadata><l:labels xmlns:l='{ns}'><l:label name='tier'>vm</l:label><l:label name='owner'>{name}</l:label></l:labels></metadata>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>"""


def plain(value):
    """ansible-inventory's JSON without the __ansible_unsafe wrappers of inventory data."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def inventory(path, *extra):
    proc = sh(os.path.join(VENV_BIN, "ansible-inventory"), "-i", path, "--list", *extra)
    return plain(json.loads(proc.stdout))


CONNECTIONS = ("community.docker.docker_api", "community.general.lxd")


@functools.lru_cache(maxsize=None)
def installed_connections():
    """ansible-doc's own answer (it leaves out the plugins it cannot find), asked once."""
    proc = sh(os.path.join(VENV_BIN, "ansible-doc"), "-t", "connection", "-j", *CONNECTIONS)
    return frozenset(json.loads(proc.stdout))


def connection_installed(plugin):
    return plugin in installed_connections()


def members(listing, group):
    return set((listing.get(group) or {}).get("hosts") or [])


@pytest.fixture(scope="module")
def workloads(docker_daemon, lxd_daemon, libvirt_daemon, lxd_busybox, tmp_path_factory):
    """One workload of each kind, all named vct<hex>; removed afterwards, also on failure."""
    name = "vct" + os.urandom(4).hex()
    tmp = tmp_path_factory.mktemp("inv")
    rootfs = tmp / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        tar.add(BUSYBOX, arcname="bin/busybox")
    image = "local/%s:inv" % name
    address = "198.18.11.%d" % random.randint(100, 250)
    try:
        sh("docker", "import", "--change", 'CMD ["/bin/busybox", "sleep", "300"]', str(rootfs), image)
        sh("docker", "run", "-d", "--name", name, "--label", "tier=web", "--label", "port=8080", image)
        lxc("launch", lxd_busybox["alias"], name, "-c", "user.tier=db")
        lxc("exec", name, "--", "ip", "addr", "add", address + "/24", "dev", "eth0")
        (tmp / "guest.xml").write_text(GUEST.format(name=name, ns=LABELS_NS))
        sh("virsh", "-c", "qemu:///system", "define", str(tmp / "guest.xml"))
        yield {"name": name, "image": image, "address": address, "tmp": tmp}
    finally:
        sh("docker", "rm", "-f", name, name + "b", check=False)
        sh("docker", "rmi", "-f", image, check=False)
        lxc("delete", "--force", name, check=False)
        sh("virsh", "-c", "qemu:///system", "undefine", name, check=False)


def write_config(directory, body):
    path = directory / "vc.workloads.yml"
    path.write_text("plugin: virtcloud.core.workloads\n" + body)
    return str(path)


CONFIG = """sources:
  - kind: libvirt
    uri: qemu:///system
  - kind: docker
    url: unix:///var/run/docker.sock
  - kind: lxd
keyed_groups:
  - key: workload_labels.tier | default('none')
    prefix: tier
groups:
  labelled_vm: workload_kind == 'libvirt' and workload_labels.owner is defined
compose:
  app_port: workload_labels.port | default(0) | int
"""


def test_every_workload_is_a_host_with_its_groups_and_variables(workloads):
    name = workloads["name"]
    listing = inventory(write_config(workloads["tmp"], CONFIG))
    hostvars = listing["_meta"]["hostvars"]
    docker, lxd, guest = "docker_" + name, "lxd_" + name, "libvirt_" + name

    # the docker container, against docker inspect
    info = json.loads(sh("docker", "inspect", name).stdout)[0]
    dvars = hostvars[docker]
    assert dvars["workload_kind"] == "docker" and dvars["workload_id"] == info["Id"]
    assert dvars["workload_state"] == "running" and dvars["workload_status"] == info["State"]["Status"]
    assert dvars["workload_labels"] == info["Config"]["Labels"] == {"tier": "web", "port": "8080"}
    expected = [n["IPAddress"] for n in info["NetworkSettings"]["Networks"].values() if n["IPAddress"]]
    assert expected and dvars["workload_addresses"] == expected
    assert dvars["app_port"] == 8080  # compose

    # the LXD instance, against lxc list
    entry = next(e for e in json.loads(lxc("list", name, "--format", "json").stdout) if e["name"] == name)
    lvars = hostvars[lxd]
    assert lvars["workload_state"] == "running" and entry["status"] == "Running"
    assert lvars["workload_labels"] == {"tier": "db"} and entry["config"]["user.tier"] == "db"
    assert workloads["address"] in lvars["workload_addresses"]
    assert lvars["app_port"] == 0

    # the libvirt guest, against virsh
    assert sh("virsh", "-c", "qemu:///system", "domstate", name).stdout.strip() == "shut off"
    gvars = hostvars[guest]
    assert gvars["workload_state"] == "stopped" and gvars["workload_status"] == "shutoff"
    assert gvars["workload_labels"] == {"tier": "vm", "owner": name}
    assert gvars["workload_title"] == "inventory test guest"
    assert gvars["workload_id"] == sh("virsh", "-c", "qemu:///system", "domuuid", name).stdout.strip()
    assert gvars["workload_addresses"] == [] and "ansible_host" not in gvars

    # groups: by kind, by state, keyed_groups, groups
    assert docker in members(listing, "docker") and lxd in members(listing, "lxd")
    assert guest in members(listing, "libvirt") and guest in members(listing, "stopped")
    assert {docker, lxd} <= members(listing, "running") and guest not in members(listing, "running")
    assert docker in members(listing, "tier_web") and lxd in members(listing, "tier_db")
    assert guest in members(listing, "tier_vm") and members(listing, "labelled_vm") == {guest}

    # connection variables only where ansible can use them (ansible-core has no docker/lxd connection)
    for host, plugin in zip((docker, lxd), CONNECTIONS):
        assert (hostvars[host].get("ansible_connection") == plugin) is connection_installed(plugin), hostvars[host]


def test_the_cache_answers_the_second_parse_until_flushed(workloads):
    name = workloads["name"]
    config = CONFIG + "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" % (
        workloads["tmp"] / "cache")
    path = write_config(workloads["tmp"], config)
    first = inventory(path)
    assert "docker_" + name in first["_meta"]["hostvars"]
    sh("docker", "run", "-d", "--name", name + "b", "--label", "tier=late", workloads["image"])
    cached = inventory(path)
    assert cached["_meta"]["hostvars"] == first["_meta"]["hostvars"]  # the backend was not asked
    fresh = inventory(path, "--flush-cache")
    assert "docker_%sb" % name in fresh["_meta"]["hostvars"]
    assert "docker_%sb" % name in members(fresh, "tier_late")


HEAD = """- name: Reach the inventory's web containers
  hosts: docker:&tier_web
  gather_facts: false
"""
PLAY = HEAD + """  tasks:
    - name: Write the host's inventory name and label into the container
      virtcloud.core.docker_container_exec:
        container: "{{ workload_id }}"
        command: ["/bin/busybox", "sh", "-c", "echo {{ inventory_hostname }} {{ workload_labels.tier }} > /seen"]
      delegate_to: localhost
"""


def run_play(workloads, play, config=CONFIG):
    path = workloads["tmp"] / "play.yml"
    path.write_text(play)
    return sh(os.path.join(VENV_BIN, "ansible-playbook"), "-i", write_config(workloads["tmp"], config), str(path))


def test_a_play_targets_the_workloads_by_their_groups_and_variables(workloads):
    """hosts from the plugin's groups, tasks from its variables (delegated: ansible-core has no
    docker connection); the result checked with docker exec."""
    name = workloads["name"]
    proc = run_play(workloads, PLAY)
    assert "docker_%s " % name in proc.stdout and "lxd_" + name not in proc.stdout, proc.stdout
    assert sh("docker", "exec", name, "/bin/busybox", "cat", "/seen").stdout == "docker_%s web\n" % name


def test_a_play_runs_inside_the_container_through_the_connection_variables(workloads):
    if not connection_installed("community.docker.docker_api"):
        pytest.skip("community.docker is not installed: the plugin sets no ansible_connection for containers")
    name = workloads["name"]
    run_play(workloads, HEAD + """  tasks:
    - name: Write a file through the docker_api connection
      ansible.builtin.raw: /bin/busybox sh -c 'echo {{ inventory_hostname }} > /through'
""")
    assert sh("docker", "exec", name, "/bin/busybox", "cat", "/through").stdout == "docker_%s\n" % name


def test_a_source_that_cannot_be_listed_fails_naming_it(lxd_daemon, docker_daemon, unique):
    """Never an empty inventory for a wrong source: LXD answers an empty listing for a project that
    does not exist, so the plugin asks for the project first."""
    from ansible.errors import AnsibleParserError

    from ansible_collections.virtcloud.core.plugins.inventory import workloads as wl

    with pytest.raises(AnsibleParserError, match="no project %r" % unique):
        wl.list_lxd({"kind": "lxd", "url": None, "project": unique})
    with pytest.raises(AnsibleParserError, match="Docker at unix:///%s.sock" % unique):
        wl.list_docker({"kind": "docker", "url": "unix:///%s.sock" % unique})
