# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Docker host has: one listing call per kind of object, never one call per object."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import InfoService, Opt
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


class DockerInfoService(InfoService, DockerService):
    result_key = None  # host, images, containers, ... top-level
    options = {kind: Opt(type="bool", default=True)
               for kind in ("images", "containers", "networks", "volumes")}

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
            if desired[kind]:
                state[kind] = listing()
        return state
