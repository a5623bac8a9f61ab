# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an LXD daemon has: one listing call per kind of object (GET /1.0/<kind>?recursion=...),
never one call per object. The server itself comes from the GET /1.0 that connecting makes anyway."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import InfoService, Opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.client import LxdService

VOLATILE = "volatile."


def _own(config):
    """Config without LXD's generated volatile.* keys."""
    return {key: value for key, value in (config or {}).items() if not key.startswith(VOLATILE)}


def _addresses(network, family):
    """Global addresses of one family (inet, inet6) on every interface but loopback, sorted."""
    return sorted(address["address"] for nic in (network or {}).values() if nic.get("type") != "loopback"
                  for address in nic.get("addresses") or []
                  if address.get("family") == family and address.get("scope") == "global")


def _instance(entry):
    config = entry.get("config") or {}
    state = entry.get("state") or {}
    network = state.get("network") or {}
    return {
        "name": entry["name"],
        "project": entry.get("project"),
        "type": entry.get("type"),
        "status": (entry.get("status") or "").lower(),
        "architecture": entry.get("architecture"),
        "description": entry.get("description") or "",
        "ephemeral": bool(entry.get("ephemeral")),
        "stateful": bool(entry.get("stateful")),
        "profiles": list(entry.get("profiles") or []),
        "config": _own(config),
        "devices": entry.get("devices") or {},
        "expanded_config": _own(entry.get("expanded_config")),
        "expanded_devices": entry.get("expanded_devices") or {},
        "volatile": {key: value for key, value in config.items() if key.startswith(VOLATILE)},
        "image": config.get("volatile.base_image"),
        "created_at": entry.get("created_at"),
        "last_used_at": entry.get("last_used_at"),
        "location": entry.get("location"),
        "pid": state.get("pid") or None,
        "processes": state.get("processes") if state.get("pid") else None,
        "memory_usage": (state.get("memory") or {}).get("usage") if state.get("pid") else None,
        "ipv4": _addresses(network, "inet"),
        "ipv6": _addresses(network, "inet6"),
        "network": {name: {"hwaddr": nic.get("hwaddr"), "mtu": nic.get("mtu"), "state": nic.get("state"),
                           "host_name": nic.get("host_name") or None,
                           "addresses": ["%s/%s" % (a["address"], a["netmask"]) for a in nic.get("addresses") or []]}
                    for name, nic in sorted(network.items())},
        "snapshots": sorted(snapshot["name"] for snapshot in entry.get("snapshots") or []),
    }


def _image(entry):
    properties = entry.get("properties") or {}
    return {
        "fingerprint": entry["fingerprint"],
        "aliases": sorted(alias["name"] for alias in entry.get("aliases") or []),
        "description": properties.get("description"),
        "properties": properties,
        "type": entry.get("type"),
        "architecture": entry.get("architecture"),
        "size": entry.get("size"),
        "public": bool(entry.get("public")),
        "cached": bool(entry.get("cached")),
        "auto_update": bool(entry.get("auto_update")),
        "profiles": list(entry.get("profiles") or []),
        "filename": entry.get("filename"),
        "created_at": entry.get("created_at"),
        "uploaded_at": entry.get("uploaded_at"),
        "last_used_at": entry.get("last_used_at"),
        "expires_at": entry.get("expires_at"),
    }


def _network(entry):
    return {"name": entry["name"], "type": entry.get("type"), "managed": bool(entry.get("managed")),
            "description": entry.get("description") or "", "config": entry.get("config") or {},
            "status": entry.get("status") or None, "used_by": sorted(entry.get("used_by") or [])}


def _profile(entry):
    return {"name": entry["name"], "description": entry.get("description") or "",
            "config": entry.get("config") or {}, "devices": entry.get("devices") or {},
            "used_by": sorted(entry.get("used_by") or [])}


def _storage_pool(entry):
    return {"name": entry["name"], "driver": entry.get("driver"), "description": entry.get("description") or "",
            "config": entry.get("config") or {}, "status": entry.get("status") or None,
            "used_by": sorted(entry.get("used_by") or [])}


def _server(info):
    env = info.get("environment") or {}
    return {"api_version": info.get("api_version"), "auth": info.get("auth"),
            "server_name": env.get("server_name"), "server_version": env.get("server_version"),
            "driver": env.get("driver"), "driver_version": env.get("driver_version"),
            "kernel_version": env.get("kernel_version"), "architectures": env.get("architectures") or [],
            "storage": env.get("storage"), "clustered": bool(env.get("server_clustered")),
            "addresses": env.get("addresses") or [], "certificate_fingerprint": env.get("certificate_fingerprint"),
            "project": env.get("project"), "api_extensions": len(info.get("api_extensions") or [])}


def _image_named(image, names):
    """An image answers to its aliases, its fingerprint and a prefix of it (as `lxc image` does)."""
    return any(name in image["aliases"] or image["fingerprint"].startswith(name.lower()) for name in names)


# kind -> (API collection, recursion, normaliser, whether an object answers to one of the names).
# Instances take recursion=2: on LXD 5.0 only that level carries each one's state (pid, addresses,
# memory) and snapshots, still in the one call.
KINDS = {
    "instances": ("/1.0/instances", 2, _instance, None),
    "images": ("/1.0/images", 1, _image, _image_named),
    "networks": ("/1.0/networks", 1, _network, None),
    "profiles": ("/1.0/profiles", 1, _profile, None),
    "storage_pools": ("/1.0/storage-pools", 1, _storage_pool, None),
}


def parse_names(value, option):
    """{kind: name or [names]} -> {kind: [names]}, every kind one of KINDS."""
    out = {}
    for kind, names in value.items():
        if kind not in KINDS:
            raise InputError(option, "%r is not a kind lxd_info reads; choose from %s" % (kind, ", ".join(KINDS)))
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
            raise InputError(option, "%s: give a name or a list of names" % kind)
        out[kind] = names
    return out


class LxdInfoService(InfoService, LxdService):
    result_key = None  # server, instances, images, ... top-level
    options = {
        "gather": Opt(type="list", elements="str", choices=list(KINDS), default=list(KINDS), aliases=["kinds"]),
        "names": Opt(type="dict", parse=parse_names),
    }

    def desired(self):
        desired = super().desired()
        for kind in desired["names"] or {}:
            if kind not in desired["gather"]:
                raise InputError("names", "%s: not among gather (%s); add it there" % (kind, ", ".join(desired["gather"])))
        return desired

    def observe(self, desired, batch=None):
        state = {"server": _server(self.lxd.info)}
        names = desired["names"] or {}
        for kind in KINDS:
            if kind not in desired["gather"]:
                continue
            collection, recursion, normalise, named = KINDS[kind]
            found = sorted((normalise(entry) for entry in self.lxd.listing(collection, recursion)),
                           key=lambda obj: obj.get("name") or obj.get("fingerprint"))
            if kind in names:
                found = [obj for obj in found if (named(obj, names[kind]) if named else obj["name"] in names[kind])]
            state[kind] = found
        return state
