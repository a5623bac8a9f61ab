"""The workloads inventory plugin's pure logic: states, addresses, sources, connection variables,
and the groups populate() makes (on ansible's own InventoryData, with canned workloads)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible import constants as C
from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import get_docstring

from ansible_collections.virtcloud.core.plugins.inventory import workloads as wl


@pytest.mark.parametrize("kind, status, state", [
    ("libvirt", "running", "running"), ("libvirt", "shutoff", "stopped"), ("libvirt", "paused", "paused"),
    ("libvirt", "nostate", "other"), ("docker", "exited", "stopped"), ("docker", "created", "stopped"),
    ("docker", "restarting", "running"), ("docker", "removing", "other"), ("lxd", "Running", "running"),
    ("lxd", "Frozen", "paused"), ("lxd", "Error", "other"), ("lxd", None, "other"),
])
def test_states_are_normalised_per_kind(kind, status, state):
    assert wl.normalise_state(kind, status) == state


def test_addresses_ipv4_first_without_duplicates_or_blanks():
    assert wl.sort_addresses(["fd00::2", "198.18.0.2", "", None, "198.18.0.2", "198.18.1.2"]) == \
        ["198.18.0.2", "198.18.1.2", "fd00::2"]


def test_libvirt_labels_come_from_the_namespaced_metadata_only():
    xml = ("<domain><title>t</title><metadata><l:labels xmlns:l='%s'><l:label name='tier'>vm</l:label>"
           "<l:label>nameless</l:label></l:labels><o:labels xmlns:o='urn:other'><o:label name='x'>y</o:label>"
           "</o:labels></metadata></domain>" % wl.LABELS_NS)
    assert wl._libvirt_labels(xml) == ({"tier": "vm"}, "t", None)


def test_sources_get_their_defaults_and_bad_entries_name_the_index():
    assert wl.check_sources([{"kind": "libvirt"}, {"kind": "docker", "host": "tcp://h:2376"},
                             {"kind": "lxd", "socket": "unix:/s", "prefix": None}]) == [
        {"kind": "libvirt", "uri": "qemu:///system", "url": None, "prefix": "libvirt_"},
        {"kind": "docker", "url": "tcp://h:2376", "prefix": "docker_"},
        {"kind": "lxd", "url": "unix:/s", "prefix": ""}]
    with pytest.raises(AnsibleParserError, match=r"sources\[1\]: give kind"):
        wl.check_sources([{"kind": "docker"}, {"kind": "vmware"}])
    with pytest.raises(AnsibleParserError, match=r"sources\[0\]: unknown key\(s\) uir"):
        wl.check_sources([{"kind": "libvirt", "uir": "qemu:///system"}])


def test_docker_sources_take_the_modules_tls_options_checked_before_connecting(tmp_path):
    assert wl.check_sources([{"kind": "docker", "url": "tcp://198.18.0.1:2376", "validate_certs": True}])
    with pytest.raises(AnsibleParserError, match=r"sources\[0\]: unknown key\(s\) validate_certs"):
        wl.check_sources([{"kind": "lxd", "validate_certs": True}])
    missing = str(tmp_path / "ca.pem")
    with pytest.raises(AnsibleParserError, match="docker source tcp://198.18.0.1:2376: ca_path: %s: no such file" % missing):
        wl.list_docker({"kind": "docker", "url": "tcp://198.18.0.1:2376", "validate_certs": True, "ca_path": missing})
    with pytest.raises(AnsibleParserError, match="validate_certs checks dockerd's certificate"):
        wl.list_docker({"kind": "docker", "url": "tcp://198.18.0.1:2376", "validate_certs": True})


def test_connection_variables_only_for_installed_connection_plugins():
    docker = wl.record("docker", "web", "running", "abc", addresses=["198.18.0.2"], source="unix:///d.sock")
    lxd = wl.record("lxd", "db", "Running", "db", project="p1", source="https://198.18.0.9:8443")
    guest = wl.record("libvirt", "vm", "running", "uuid", addresses=["fd00::5", "198.18.2.5"])
    assert wl.connection_vars(docker, lambda _: True) == {
        "ansible_connection": "community.docker.docker_api", "ansible_host": "abc",
        "ansible_docker_docker_host": "unix:///d.sock"}
    assert wl.connection_vars(lxd, lambda _: True) == {
        "ansible_connection": "community.general.lxd", "ansible_host": "db", "ansible_lxd_project": "p1",
        "ansible_lxd_remote": "https://198.18.0.9:8443"}
    assert wl.connection_vars(docker, lambda _: False) == {} == wl.connection_vars(lxd, lambda _: False)
    assert wl.connection_vars(guest, lambda _: False) == {"ansible_host": "198.18.2.5"}
    assert wl.connection_vars(wl.record("libvirt", "off", "shutoff"), lambda _: True) == {}


def test_a_missing_collection_is_not_an_installed_connection():
    assert wl._connection_available("vctnosuch.collection.plugin") is False


def new_plugin():
    """The plugin with its options (documentation and fragments) registered, as ansible's plugin
    loader would (which would install its collection finder in this test process)."""
    doc = get_docstring(wl.__file__, fragment_loader, collection_name="virtcloud.core")[0]
    C.config.initialize_plugin_configuration_definitions("inventory", wl.InventoryModule.NAME, doc["options"])
    plugin = wl.InventoryModule()
    plugin._load_name = wl.InventoryModule.NAME
    plugin._redirected_names = [wl.InventoryModule.NAME]  # the loader sets it (ansible-core 2.17 requires it)
    return plugin


CANNED = [
    ["docker_web", wl.record("docker", "web", "running", "abc", {"tier": "web"}, ["198.18.0.2"], source="unix:///s")],
    ["lxd_db", wl.record("lxd", "db", "Stopped", "db", {"tier": "db"}, source="unix:/l")],
    ["libvirt_vm", wl.record("libvirt", "vm", "paused", "u", {}, ["198.18.2.5"])],
]


def populated(tmp_path, config, collected=tuple(CANNED)):
    path = tmp_path / "vc.workloads.yml"
    path.write_text("plugin: virtcloud.core.workloads\nsources: [{kind: docker}]\n" + config)
    plugin = new_plugin()
    plugin.collect = lambda sources: list(collected)  # no daemon: the grouping alone
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=False)
    return inventory


def hosts(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts())


def test_groups_by_kind_state_keyed_groups_groups_and_compose(tmp_path):
    inv = populated(tmp_path, "keyed_groups: [{key: workload_labels.tier | default('none'), prefix: tier}]\n"
                              "groups: {reachable: workload_addresses | length > 0}\n"
                              "compose: {short_id: 'workload_id[:2]'}\n")
    assert hosts(inv, "docker") == ["docker_web"] and hosts(inv, "lxd") == ["lxd_db"]
    assert hosts(inv, "libvirt") == ["libvirt_vm"]
    assert hosts(inv, "running") == ["docker_web"] and hosts(inv, "stopped") == ["lxd_db"]
    assert hosts(inv, "paused") == ["libvirt_vm"] and hosts(inv, "other") == []
    assert hosts(inv, "tier_web") == ["docker_web"] and hosts(inv, "tier_db") == ["lxd_db"]
    assert hosts(inv, "tier_none") == ["libvirt_vm"]
    assert hosts(inv, "reachable") == ["docker_web", "libvirt_vm"]
    web = inv.get_host("docker_web").vars
    assert web["short_id"] == "ab" and web["workload_labels"] == {"tier": "web"}
    assert web["workload_kind"] == "docker" and web["workload_state"] == "running"
    assert inv.get_host("libvirt_vm").vars["ansible_host"] == "198.18.2.5"


def test_connection_vars_off_sets_none(tmp_path):
    inv = populated(tmp_path, "connection_vars: false\n")
    assert "ansible_host" not in inv.get_host("libvirt_vm").vars


def test_only_files_named_workloads_yml_are_this_plugins(tmp_path):
    plugin = new_plugin()
    for name, ok in (("workloads.yml", True), ("x.workloads.yaml", True), ("hosts.yml", False)):
        (tmp_path / name).write_text("plugin: virtcloud.core.workloads\n")
        assert plugin.verify_file(str(tmp_path / name)) is ok, name
