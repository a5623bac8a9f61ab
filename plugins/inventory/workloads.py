# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory of the workloads of libvirt, Docker and LXD hosts: every guest, container and
instance becomes an inventory host."""

from __future__ import annotations

DOCUMENTATION = r"""
name: workloads
short_description: Every libvirt guest, Docker container and LXD instance as an inventory host
description:
  - Lists the workloads of one or more sources (libvirt, Docker, LXD) through the collection's own
    clients (libvirt-python, the docker SDK, LXD's REST API) and adds each as a host.
  - "Host names are the workload's name with a per-source prefix, by default the kind and an underscore:
    C(libvirt_web1), C(docker_web1), C(lxd_web1). Set O(sources[].prefix) to an empty string for bare names
    (then two workloads of the same name in two sources are one host: the later source wins)."
  - "Host variables: C(workload_kind) (libvirt, docker, lxd), C(workload_name), C(workload_id), C(workload_state)
    (running, paused, stopped, or other), C(workload_status) (the backend's own word), C(workload_labels),
    C(workload_addresses) (IPv4 first, then IPv6), C(workload_source) (the URI or URL), C(workload_image)
    (Docker and LXD)."
  - "Labels: Docker container labels; LXD config keys C(user.*) without the C(user.) prefix; for a libvirt
    guest the C(<label name=...>value</label>) children of C(<metadata><labels>) in the namespace
    C(https://virtcloud.dev/xmlns/labels/1), and its C(<title>) and C(<description>) as C(workload_title) and
    C(workload_description)."
  - "Addresses: libvirt from the DHCP leases of libvirt networks, else from the guest agent (a shut off guest
    has none); Docker from each network the container is on; LXD from the instance's state (global scope, not
    the loopback)."
  - "Groups: one per kind (C(libvirt), C(docker), C(lxd)) and one per normalised state (C(running), C(paused),
    C(stopped), C(other)), plus what O(groups), O(keyed_groups) and O(compose) make."
  - "Connection variables (O(connection_vars)): a libvirt guest gets C(ansible_host), its first address (SSH).
    A Docker container gets C(ansible_connection=community.docker.docker_api) and an LXD instance
    C(ansible_connection=community.general.lxd) only when that connection plugin is installed (ansible-core has
    none for either); otherwise none is set, and a play needs the collection or its own connection settings."
  - The inventory file's name must end with C(workloads.yml) or C(workloads.yaml).
author:
  - virtcloud.core contributors (@virtcloud)
version_added: 0.2.0
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; the file is for this plugin only when it says so.
    required: true
    choices: ['virtcloud.core.workloads']
    type: str
  sources:
    description:
      - Where to list workloads. Each entry is one daemon.
      - Unset or empty - the local ones that exist, C(qemu:///system) (libvirt-python installed and
        libvirtd's socket present), the Docker socket C(/var/run/docker.sock), the LXD socket.
    type: list
    elements: dict
    default: []
    suboptions:
      kind:
        description: The system.
        type: str
        required: true
        choices: [libvirt, docker, lxd]
      uri:
        description: libvirt connection URI.
        type: str
        default: qemu:///system
      url:
        description:
          - Docker - the daemon (C(unix:///var/run/docker.sock) by default, or C(tcp://host:port)).
          - LXD - C(unix:/path/to/unix.socket) (default the local socket). A remote LXD (C(https://)) needs a client
            certificate, which this plugin does not take yet.
        type: str
        aliases: [host, socket]
      tls:
        description: Docker - TLS to a C(tcp://) daemon without checking its certificate.
        type: bool
        default: false
      validate_certs:
        description: Docker - TLS, checking the daemon's certificate against O(sources[].ca_path).
        type: bool
        default: false
      ca_path:
        description: Docker - the CA certificate (PEM) of the daemon's certificate.
        type: path
      client_cert:
        description: Docker - the client certificate (PEM), with O(sources[].client_key).
        type: path
      client_key:
        description: Docker - the client certificate's private key (PEM).
        type: path
      tls_hostname:
        description: Docker - the name the daemon's certificate must carry, when not the host of O(sources[].url).
        type: str
      api_version:
        description: Docker - API version, or C(auto).
        type: str
        default: auto
      timeout:
        description: Docker - seconds to wait for an answer.
        type: int
        default: 60
      project:
        description: LXD project (default the default project).
        type: str
      prefix:
        description: Prefix of the host names of this source; default the kind and C(_).
        type: str
  connection_vars:
    description: Set the connection variables described above.
    type: bool
    default: true
"""

EXAMPLES = r"""
# inventory/workloads.yml
plugin: virtcloud.core.workloads
sources:
  - kind: libvirt
    uri: qemu:///system
  - kind: docker
    url: unix:///var/run/docker.sock
  - kind: lxd
    project: default
keyed_groups:
  - key: workload_labels.tier | default('none')
    prefix: tier
compose:
  web_port: workload_labels.port | default(80)
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/virtcloud-inventory
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

KINDS = ("libvirt", "docker", "lxd")
STATES = ("running", "paused", "stopped", "other")
LABELS_NS = "https://virtcloud.dev/xmlns/labels/1"
LIBVIRT_SOCKETS = ("/var/run/libvirt/libvirt-sock", "/var/run/libvirt/virtqemud-sock")
DOCKER_SOCKET = "/var/run/docker.sock"
DOCKER_SOCKET_URL = "unix://" + DOCKER_SOCKET
# the Docker modules' connection options a docker source takes (their meaning: plugins/doc_fragments/docker.py)
DOCKER_OPTIONS = ("tls", "validate_certs", "ca_path", "client_cert", "client_key", "tls_hostname", "api_version",
                  "timeout")
CONNECTIONS = {"docker": "community.docker.docker_api", "lxd": "community.general.lxd"}

# the backend's own state word -> the normalised one (the group)
_STATE_MAP = {
    "libvirt": {"running": "running", "blocked": "running", "paused": "paused", "pmsuspended": "paused",
                "shutoff": "stopped", "shutdown": "stopped", "crashed": "stopped"},
    "docker": {"running": "running", "restarting": "running", "paused": "paused", "created": "stopped",
               "exited": "stopped", "dead": "stopped"},
    "lxd": {"running": "running", "frozen": "paused", "stopped": "stopped"},
}


def normalise_state(kind, status):
    return _STATE_MAP[kind].get((status or "").lower(), "other")


def sort_addresses(addresses):
    """IPv4 first, then IPv6, each in the backend's order, without duplicates."""
    seen = []
    for address in addresses:
        if address and address not in seen:
            seen.append(address)
    return [a for a in seen if ":" not in a] + [a for a in seen if ":" in a]


def record(kind, name, status, ident=None, labels=None, addresses=(), **extra):
    """A workload as the plugin keeps it (and caches it): plain JSON data."""
    return dict(extra, kind=kind, name=name, id=ident, status=status, state=normalise_state(kind, status),
                labels=dict(labels or {}), addresses=sort_addresses(addresses))


# ---------------------------------------------------------------- backends
def _libvirt_labels(xml_text):
    from xml.etree import ElementTree

    root = ElementTree.fromstring(xml_text)
    labels = {}
    for label in root.findall("metadata/{%s}labels/{%s}label" % (LABELS_NS, LABELS_NS)):
        if label.get("name"):
            labels[label.get("name")] = label.text or ""
    return labels, root.findtext("title"), root.findtext("description")


_LIBVIRT_STATES = {1: "running", 2: "blocked", 3: "paused", 4: "shutdown", 5: "shutoff", 6: "crashed",
                   7: "pmsuspended"}


def list_libvirt(source):
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import (
        LIBVIRT_IMPORT_ERROR, libvirt, listed)

    if libvirt is None:
        raise AnsibleParserError("libvirt source %s: libvirt-python is not installed (%s)"
                                 % (source["uri"], LIBVIRT_IMPORT_ERROR))
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    try:
        conn = libvirt.openReadOnly(source["uri"])
    except libvirt.libvirtError as exc:
        raise AnsibleParserError("cannot connect to libvirt at %s: %s" % (source["uri"], exc.get_error_message()))
    try:
        def read(dom):
            state = dom.state()[0]
            labels, title, description = _libvirt_labels(dom.XMLDesc(0))
            addresses = _libvirt_addresses(libvirt, dom) if state == 1 else []
            return record("libvirt", dom.name(), _LIBVIRT_STATES.get(state, "nostate"), dom.UUIDString(), labels,
                          addresses, title=title, description=description, source=source["uri"])
        return listed(conn.listAllDomains(0), read)
    finally:
        conn.close()


def _libvirt_addresses(libvirt, dom):
    """Addresses from the DHCP leases, else from the guest agent; none when neither knows."""
    for src in (libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT):
        try:
            interfaces = dom.interfaceAddresses(src, 0) or {}
        except libvirt.libvirtError:
            continue
        found = [a["addr"] for name, iface in sorted(interfaces.items()) if name != "lo"
                 for a in (iface.get("addrs") or []) if a.get("addr") and not a["addr"].startswith("127.")]
        if found:
            return found
    return []


def list_docker(source):
    from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
    from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import (
        DOCKER_IMPORT_ERROR, _TLSConfig, connection_settings, docker)

    url = source.get("url") or DOCKER_SOCKET_URL
    if docker is None:
        raise AnsibleParserError("docker source %s: the docker SDK is not installed (%s)" % (url, DOCKER_IMPORT_ERROR))
    params = {key: source.get(key) for key in DOCKER_OPTIONS}
    for key in ("ca_path", "client_cert", "client_key"):
        params[key] = os.path.expanduser(params[key]) if params[key] else None
    params.update(docker_host=url, api_version=source.get("api_version") or "auto", timeout=source.get("timeout") or 60)
    try:
        settings = connection_settings(params)  # the modules' checks: a bad TLS file or pairing names its key
    except InputError as exc:
        raise AnsibleParserError("docker source %s: %s" % (url, exc))
    try:
        api = docker.APIClient(base_url=settings["base_url"], version=settings["version"], timeout=settings["timeout"],
                               tls=_TLSConfig(settings["tls"]) if settings["tls"] else False)
        containers = api.containers(all=True)
    except Exception as exc:  # docker.errors.DockerException, requests' connection and TLS errors
        raise AnsibleParserError("cannot list the containers of Docker at %s: %s" % (url, exc))
    try:
        out = []
        for item in containers:
            networks = ((item.get("NetworkSettings") or {}).get("Networks") or {})
            addresses = [n.get(key) for _net, n in sorted(networks.items())
                         for key in ("IPAddress", "GlobalIPv6Address")]
            name = (item.get("Names") or ["/" + item["Id"][:12]])[0].lstrip("/")
            out.append(record("docker", name, item.get("State"), item["Id"], item.get("Labels"), addresses,
                              image=item.get("Image"), networks=sorted(networks), source=url))
        return out
    finally:
        api.close()


def list_lxd(source):
    from ansible_collections.virtcloud.core.plugins.module_utils.lxd.client import Lxd, LxdError, check_connection
    from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

    params = {"url": source.get("url"), "project": source.get("project"), "timeout": 60}
    try:
        check_connection(params)
        client = Lxd(params)
        client.server()  # a project that does not exist is an error, not an empty listing
        instances = client.listing("/1.0/instances", recursion=2)
    except (InputError, LxdError, OSError) as exc:
        raise AnsibleParserError("cannot list the instances of LXD at %s: %s" % (params["url"] or "the local socket", exc))
    try:
        out = []
        for inst in instances:
            config = inst.get("config") or {}
            labels = {k[len("user."):]: v for k, v in config.items() if k.startswith("user.")}
            network = ((inst.get("state") or {}).get("network") or {})
            addresses = [a["address"] for dev, n in sorted(network.items()) if dev != "lo"
                         for a in (n.get("addresses") or []) if a.get("scope") == "global"]
            out.append(record("lxd", inst["name"], inst.get("status"), inst["name"], labels, addresses,
                              image=config.get("image.description") or config.get("volatile.base_image"),
                              instance_type=inst.get("type"), project=inst.get("project") or source.get("project"),
                              source=client.url))
        return out
    finally:
        client.close()


LISTERS = {"libvirt": list_libvirt, "docker": list_docker, "lxd": list_lxd}


def local_sources():
    """The local daemons that exist, when the inventory names none."""
    from ansible_collections.virtcloud.core.plugins.module_utils.lxd.client import SOCKETS

    found = []
    if any(os.path.exists(p) for p in LIBVIRT_SOCKETS):
        found.append({"kind": "libvirt"})
    if os.path.exists(DOCKER_SOCKET):
        found.append({"kind": "docker"})
    if any(os.path.exists(p) for p in SOCKETS):
        found.append({"kind": "lxd"})
    return found


def check_sources(sources):
    """Each source with its defaults, or AnsibleParserError naming the entry."""
    out = []
    for index, source in enumerate(sources):
        if not isinstance(source, dict) or source.get("kind") not in KINDS:
            raise AnsibleParserError("sources[%d]: give kind, one of %s" % (index, ", ".join(KINDS)))
        source = dict(source)
        unknown = set(source) - {"kind", "uri", "url", "host", "socket", "project", "prefix"} - (
            set(DOCKER_OPTIONS) if source["kind"] == "docker" else set())
        if unknown:
            raise AnsibleParserError("sources[%d]: unknown key(s) %s" % (index, ", ".join(sorted(unknown))))
        if source["kind"] == "libvirt":
            source.setdefault("uri", "qemu:///system")
        source["url"] = source.get("url") or source.pop("host", None) or source.pop("socket", None)
        source.setdefault("prefix", source["kind"] + "_")
        if source["prefix"] is None:
            source["prefix"] = ""
        out.append(source)
    return out


def connection_vars(workload, available):
    """The variables that let Ansible reach the workload; `available(name)` says whether a
    connection plugin is installed."""
    kind = workload["kind"]
    if kind == "libvirt":
        return {"ansible_host": workload["addresses"][0]} if workload["addresses"] else {}
    plugin = CONNECTIONS[kind]
    if not available(plugin):
        return {}
    out = {"ansible_connection": plugin, "ansible_host": workload["name"] if kind == "lxd" else workload["id"]}
    if kind == "docker":
        out["ansible_docker_docker_host"] = workload["source"]
    elif workload.get("project"):
        out["ansible_lxd_project"] = workload["project"]
    if kind == "lxd" and not workload["source"].startswith("unix:"):
        out["ansible_lxd_remote"] = workload["source"]
    return out


def host_vars(workload):
    return {"workload_" + key: value for key, value in workload.items()}


def _connection_available(name):
    """Whether the connection plugin `name` (namespace.collection.plugin) is installed; asked of
    the collection loader quietly (the plugin loader warns about every missing collection)."""
    import importlib.util

    namespace, collection, plugin = name.split(".")
    try:
        return importlib.util.find_spec("ansible_collections.%s.%s.plugins.connection.%s"
                                        % (namespace, collection, plugin)) is not None
    except ImportError:  # the namespace or the collection is not installed
        return False


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "virtcloud.core.workloads"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("workloads.yml", "workloads.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        sources = check_sources(self.get_option("sources") or local_sources())
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        workloads = None
        if use_cache:
            try:
                workloads = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if workloads is None:
            workloads = self.collect(sources)
        if update_cache:
            self._cache[cache_key] = workloads
        self.populate(workloads)

    @staticmethod
    def collect(sources):
        """[(host name, workload)] of every source, in the sources' order."""
        out = []
        for source in sources:
            for workload in LISTERS[source["kind"]](source):
                out.append([source["prefix"] + workload["name"], workload])
        return out

    def populate(self, workloads, available=_connection_available):
        strict = self.get_option("strict")
        for group in KINDS + STATES:
            self.inventory.add_group(group)
        for host, workload in workloads:
            self.inventory.add_host(host, group=workload["kind"])
            self.inventory.add_child(workload["state"], host)
            variables = host_vars(workload)
            if self.get_option("connection_vars"):
                variables.update(connection_vars(workload, available))
            for key, value in variables.items():
                self.inventory.set_variable(host, key, value)
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)
