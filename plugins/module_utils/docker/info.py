# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Docker host has: one listing call per kind of object, never one call per object; or, for
the objects asked for by name, one inspect call each and no listing."""

from __future__ import annotations

import datetime
import re

from ansible.module_utils.parsing.convert_bool import BOOLEANS, boolean

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import InfoService, Opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import names
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import DockerService

HOST_KEYS = {
    "ID": "id", "Name": "name", "ServerVersion": "server_version", "OperatingSystem": "operating_system",
    "KernelVersion": "kernel_version", "Architecture": "architecture", "NCPU": "cpus", "MemTotal": "memory",
    "Driver": "storage_driver", "CgroupVersion": "cgroup_version", "DockerRootDir": "root_dir",
    "Containers": "containers", "ContainersRunning": "containers_running", "Images": "images",
}


def _image(entry):
    return {"id": entry["Id"], "tags": sorted(t for t in entry.get("RepoTags") or [] if t != "<none>:<none>"),
            "created": entry.get("Created"), "size": entry.get("Size"), "labels": entry.get("Labels") or {}}


def _container(entry):
    return {"id": entry["Id"], "name": (entry.get("Names") or ["/"])[0].lstrip("/"), "image": entry.get("Image"),
            "image_id": entry.get("ImageID"), "state": entry.get("State"), "status": entry.get("Status"),
            "labels": entry.get("Labels") or {},
            "networks": sorted((entry.get("NetworkSettings") or {}).get("Networks") or {}),
            "ports": ["%s:%s->%s/%s" % (p.get("IP", ""), p["PublicPort"], p["PrivatePort"], p["Type"])
                      if p.get("PublicPort") else "%s/%s" % (p["PrivatePort"], p["Type"])
                      for p in entry.get("Ports") or []]}


def _network(entry):
    pools = (entry.get("IPAM") or {}).get("Config") or [{}]
    return {"id": entry["Id"], "name": entry["Name"], "driver": entry.get("Driver"), "scope": entry.get("Scope"),
            "internal": bool(entry.get("Internal")), "subnet": pools[0].get("Subnet") if pools else None,
            "labels": entry.get("Labels") or {}}


def _volume(entry):
    return {"name": entry["Name"], "driver": entry.get("Driver"), "mountpoint": entry.get("Mountpoint"),
            "labels": entry.get("Labels") or {}}


def _epoch(stamp):
    """Docker's RFC 3339 time (nanoseconds, Z) -> whole seconds since the epoch, as a listing gives."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)", stamp or "")
    if not match:
        return None
    offset = "+00:00" if match.group(2) == "Z" else match.group(2)
    return int(datetime.datetime.fromisoformat(match.group(1) + offset).timestamp())


def _inspected_image(entry):
    return {"id": entry["Id"], "tags": sorted(t for t in entry.get("RepoTags") or [] if t != "<none>:<none>"),
            "created": _epoch(entry.get("Created")), "size": entry.get("Size"),
            "labels": (entry.get("Config") or {}).get("Labels") or {}}


def _inspected_container(entry):
    state = entry.get("State") or {}
    status = state.get("Status")
    if status == "exited":
        status = "exited (%s)" % state.get("ExitCode")
    elif (state.get("Health") or {}).get("Status"):
        status = "%s (%s)" % (status, state["Health"]["Status"])
    settings = entry.get("NetworkSettings") or {}
    ports = []
    for port, bindings in sorted((settings.get("Ports") or {}).items()):
        private, proto = port.split("/", 1) if "/" in port else (port, "tcp")
        ports += ["%s:%s->%s/%s" % (b.get("HostIp", ""), b.get("HostPort"), private, proto) for b in bindings or []] \
            or ["%s/%s" % (private, proto)]
    return {"id": entry["Id"], "name": (entry.get("Name") or "/").lstrip("/"),
            "image": (entry.get("Config") or {}).get("Image"), "image_id": entry.get("Image"),
            "state": state.get("Status"), "status": status, "labels": (entry.get("Config") or {}).get("Labels") or {},
            "networks": sorted(settings.get("Networks") or {}), "ports": ports}


# kind -> (inspect_<kind> of the SDK, the check of a name or ID, the facts of an inspected object)
KINDS = {
    "images": ("image", names.image, _inspected_image),
    "containers": ("container", names.container, _inspected_container),
    "networks": ("network", names.network, _network),
    "volumes": ("volume", names.volume, _volume),
}


def wanted(value, option):
    """What one kind's option asks for: True (list them all), False, or the names (and IDs) to
    inspect. A single name may be given as a string; a name YAML reads as a boolean goes quoted."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.strip().lower() in BOOLEANS:  # containers=no on the command line
            return boolean(value.strip())
        value = [value]
    if not isinstance(value, list):
        raise InputError(option, "give true (list them all), false, or a list of names; got %r" % (value,))
    check = KINDS[option][1]
    out = []
    for index, item in enumerate(value):
        if isinstance(item, bool):
            raise InputError("%s[%d]" % (option, index), "%r is a boolean, not a name: quote a name YAML reads as "
                                                         "a boolean (e.g. 'no')" % (item,))
        if isinstance(item, int):
            item = str(item)
        check(item, "%s[%d]" % (option, index))
        if item not in out:
            out.append(item)
    return out or False


class DockerInfoService(InfoService, DockerService):
    result_key = None  # host, images, containers, ... top-level
    options = {kind: Opt(type="raw", parse=wanted) for kind in KINDS}

    def desired(self):
        """Each kind: True (list), False, or names. A kind not set is listed, unless another kind
        names objects: then the task asks for those and nothing else."""
        desired = self.parsed()
        named = any(isinstance(value, list) for value in desired.values())
        return {kind: (not named) if value is None else value for kind, value in desired.items()}

    def observe(self, desired, batch=None):
        info = self.api.info()
        state = {"host": {key: info.get(api_key) for api_key, key in HOST_KEYS.items()}}
        listings = {
            "images": lambda: [_image(e) for e in self.api.images()],
            "containers": lambda: [_container(e) for e in self.api.containers(all=True)],
            "networks": lambda: [_network(e) for e in self.api.networks()],
            "volumes": lambda: [_volume(e) for e in self.api.volumes().get("Volumes") or []],
        }
        for kind, listing in listings.items():
            if isinstance(desired[kind], list):
                state[kind] = [self.named(kind, name) for name in desired[kind]]
            elif desired[kind]:
                state[kind] = listing()
        return state

    def named(self, kind, name):
        """One object asked for by name or ID: its facts with exists true, or only the name asked for
        with exists false. An image carries the reference asked for as its name."""
        found = self.inspect(KINDS[kind][0], name)
        if found is None:
            return {"name": name, "exists": False}
        out = KINDS[kind][2](found)
        if kind == "images":
            out["name"] = name
        return {**out, "exists": True}
