# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LXD bridge networks: description and config, created, changed in place, removed only while
nothing uses them.

LXD picks a random subnet for a bridge whose ipv4.address or ipv6.address is unset or `auto`. Here
nothing gets an address the task did not give: `auto` is refused, and a bridge the task creates
without one of them gets `none` (no address of that family) instead of LXD's pick."""

from __future__ import annotations

import ipaddress

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.lxd import objects

ADDRESSES = {"ipv4.address": 4, "ipv6.address": 6}


def config(value, option):
    """The config map, its addresses checked: an address with its prefix length, or none."""
    out = objects.text_map(value, option)
    for key, version in ADDRESSES.items():
        if out is None or key not in out:
            continue
        where = "%s.%s" % (option, key)
        address = out[key]
        if address is None:
            raise InputError(where, "is null; give none for a bridge without IPv%d" % version)
        if address.strip().lower() == "auto":
            raise InputError(where, "auto lets LXD pick a random subnet; give the address with its prefix length "
                                    "(e.g. %s) or none" % ("198.18.5.1/24" if version == 4 else "2001:db8:5::1/64"))
        out[key] = "none" if address.strip().lower() == "none" else validate.ip_interface(address, where, version)
    return out


class NetworkService(objects.ObjectService):
    result_key = "network"
    kind = "networks"
    what = "network"
    options = {
        "name": name_opt(parse=objects.network_name),
        "description": Opt(),
        "config": Opt(type="dict", parse=config),
        "state": state_opt(["present", "absent"]),
    }

    def state(self, info):
        return {**super().state(info), "type": info.get("type"), "managed": bool(info.get("managed"))}

    def facts(self, state):
        return {k: v for k, v in state.items() if k != "managed"} if state else state

    def resolve(self, desired, observed, batch=None):
        name = desired["name"]
        if observed is not None and not observed["managed"]:
            raise InputError("name", "%s is a host interface (%s) that LXD does not manage; choose another name"
                             % (name, observed["type"] or "unknown type"))
        if observed is not None and observed["type"] != "bridge":
            raise InputError("name", "network %s is a %s network; this module manages bridge networks"
                             % (name, observed["type"]))
        if desired["state"] == "present":
            self._check_overlaps(desired, observed)
        return super().resolve(desired, observed, batch)

    def _check_overlaps(self, desired, observed):
        """LXD takes a subnet another of its networks has (and the host then routes one of them):
        an address the task changes must not share its subnet with another LXD network."""
        others = None
        for key in ADDRESSES:
            want = (desired["config"] or {}).get(key)
            if want in (None, "none") or want == ((observed or {}).get("config") or {}).get(key):
                continue
            mine = ipaddress.ip_interface(want).network
            if others is None:
                others = [n for n in self.lxd.get("/1.0/networks", query={"recursion": 1}) or []
                          if n.get("managed") and n.get("name") != desired["name"]]
            for other in others:
                try:
                    theirs = ipaddress.ip_interface((other.get("config") or {}).get(key) or "").network
                except ValueError:  # none, auto (picked when it starts), unset
                    continue
                if mine.overlaps(theirs):
                    raise InputError("config." + key, "%s overlaps %s of LXD network %s; give a subnet of its own"
                                     % (want, theirs, other["name"]))

    def created(self, desired):
        out = super().created(desired)
        for key in ADDRESSES:
            out["config"].setdefault(key, "none")
        return {**out, "type": "bridge", "managed": True}

    def create_body(self, after):
        return {**super().create_body(after), "type": "bridge"}
